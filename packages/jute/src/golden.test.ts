// Golden bytes, written by hand from zookeeper.jute: each frame is what a ZooKeeper client or
// server puts on the wire. Changing one of these is a compatibility bug, not a refactoring.
import { describe, expect, it } from 'vitest';
import { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest, encodeConnectResponse } from './connect.js';
import { OP } from './op-codes.js';
import { decodeNotification, decodeReply, encodeNotification, encodeReply } from './replies.js';
import { decodeRequest, encodeRequest, type JuteRequestFrame } from './requests.js';

/** hex turns spaced hex into bytes; `|` marks record boundaries for the reader and is ignored. */
function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/[\s|]+/g, ''), 'hex'));
}
const body = (frame: Uint8Array) => frame.subarray(4);

const stat = {
  czxid: 0x1_0000_0003,
  mzxid: 0x2_0000_0007,
  ctime: 1000,
  mtime: 2000,
  version: 1,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0,
  dataLength: 2,
  numChildren: 0,
  pzxid: 0x1_0000_0003,
};
const STAT_HEX =
  '0000000100000003 0000000200000007 00000000000003e8 00000000000007d0 00000001 00000000 00000000 0000000000000000 00000002 00000000 0000000100000003';

describe('golden bytes', () => {
  it('ConnectRequest with the readOnly byte (3.5+ clients)', () => {
    const request = {
      protocolVersion: 0,
      lastZxidSeen: 0x1_0000_0005,
      timeoutMs: 30_000,
      sessionId: 0,
      password: new Uint8Array(16),
      readOnly: false,
      readOnlySent: true,
    };
    // length 45 | protocolVersion | lastZxidSeen | timeOut 30000 | sessionId | passwd: 16 bytes | readOnly
    const frame = hex(
      '0000002d | 00000000 | 0000000100000005 | 00007530 | 0000000000000000 | 00000010 00000000000000000000000000000000 | 00',
    );
    expect(encodeConnectRequest(request)).toEqual(frame);
    expect(decodeConnectRequest(body(frame))).toEqual(request);
  });

  it('ConnectRequest without the readOnly byte (clients from before read-only mode)', () => {
    const request = {
      protocolVersion: 0,
      lastZxidSeen: 0x1_0000_0005,
      timeoutMs: 30_000,
      sessionId: 0x1_0000_0001,
      password: Uint8Array.from({ length: 16 }, (_, i) => i),
      readOnly: false,
      readOnlySent: false,
    };
    const frame = hex(
      '0000002c | 00000000 | 0000000100000005 | 00007530 | 0000000100000001 | 00000010 000102030405060708090a0b0c0d0e0f',
    );
    expect(encodeConnectRequest(request)).toEqual(frame);
    expect(decodeConnectRequest(body(frame))).toEqual(request);
  });

  it('ConnectResponse with and without the readOnly byte', () => {
    const response = {
      protocolVersion: 0,
      timeoutMs: 4000,
      sessionId: 0x1_0000_0001,
      password: new Uint8Array(16).fill(0xab),
      readOnly: true,
    };
    const withByte = hex(
      '00000025 | 00000000 | 00000fa0 | 0000000100000001 | 00000010 abababababababababababababababab | 01',
    );
    const without = hex(
      '00000024 | 00000000 | 00000fa0 | 0000000100000001 | 00000010 abababababababababababababababab',
    );
    expect(encodeConnectResponse(response, true)).toEqual(withByte);
    expect(encodeConnectResponse(response, false)).toEqual(without);
    expect(decodeConnectResponse(body(withByte))).toEqual({ ...response, readOnlySent: true });
    expect(decodeConnectResponse(body(without))).toEqual({ ...response, readOnly: false, readOnlySent: false });
  });

  it('create2 request with an ACL', () => {
    const frame: JuteRequestFrame = {
      xid: 2,
      op: OP.create2,
      request: {
        kind: 'core',
        request: {
          op: 'create',
          path: '/a',
          data: new TextEncoder().encode('hi'),
          mode: 1,
          ttlMs: 0,
          acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
        },
      },
    };
    // RequestHeader {xid 2, type 15} | path | data | acl: 1 × {perms 31, Id {"world", "anyone"}} | flags 1 (EPHEMERAL)
    const bytes = hex(
      '00000033 | 00000002 0000000f | 00000002 2f61 | 00000002 6869 | 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 | 00000001',
    );
    expect(encodeRequest(frame)).toEqual(bytes);
    expect(decodeRequest(body(bytes))).toEqual(frame);
  });

  it('getData reply with a Stat', () => {
    // ReplyHeader {xid 7, zxid 0x200000007, err 0} | GetDataResponse {data "hi", Stat}
    const bytes = hex(`0000005a | 00000007 0000000200000007 00000000 | 00000002 6869 | ${STAT_HEX}`);
    const response = { op: 'getData' as const, data: new TextEncoder().encode('hi'), stat };
    expect(encodeReply(7, 0x2_0000_0007, 0, response)).toEqual(bytes);
    expect(decodeReply(body(bytes), OP.getData)).toEqual({ xid: 7, zxid: 0x2_0000_0007, err: 0, response });
  });

  it('an error reply has no body', () => {
    // NONODE (-101 = 0xffffff9b)
    const bytes = hex('00000010 | 00000007 0000000200000007 ffffff9b');
    expect(encodeReply(7, 0x2_0000_0007, -101, { op: 'getData', data: new Uint8Array(0), stat })).toEqual(bytes);
    expect(decodeReply(body(bytes), OP.getData)).toEqual({ xid: 7, zxid: 0x2_0000_0007, err: -101, response: null });
  });

  it('multi request: MultiHeader before each op and the {-1, true, -1} end marker', () => {
    const frame: JuteRequestFrame = {
      xid: 16,
      op: OP.multi,
      request: {
        kind: 'core',
        request: {
          op: 'multi',
          ops: [
            { op: 'check', path: '/a', version: 2 },
            { op: 'delete', path: '/b', version: -1 },
          ],
        },
      },
      multiOps: [OP.check, OP.delete],
    };
    const bytes = hex(
      '00000037 | 00000010 0000000e | 0000000d 00 ffffffff | 00000002 2f61 00000002 | 00000002 00 ffffffff | 00000002 2f62 ffffffff | ffffffff 01 ffffffff',
    );
    expect(encodeRequest(frame)).toEqual(bytes);
    expect(decodeRequest(body(bytes))).toEqual(frame);
  });

  it('multi response: results with their MultiHeaders, errors written twice', () => {
    const ok = hex(
      '00000031 | 00000010 000000010000000a 00000000 | 00000001 00 00000000 00000002 2f63 | 00000002 00 00000000 | ffffffff 01 ffffffff',
    );
    const okResponse = {
      op: 'multi' as const,
      results: [{ op: 'create' as const, path: '/c' }, { op: 'delete' as const }],
    };
    expect(encodeReply(16, 0x1_0000_000a, 0, okResponse)).toEqual(ok);
    expect(decodeReply(body(ok), OP.multi)).toEqual({ xid: 16, zxid: 0x1_0000_000a, err: 0, response: okResponse });

    // BADVERSION (-103 = 0xffffff99) in the header's err and in the ErrorResponse; RUNTIMEINCONSISTENCY (-2).
    const failed = hex(
      '00000033 | 00000010 000000010000000a 00000000 | ffffffff 00 ffffff99 ffffff99 | ffffffff 00 fffffffe fffffffe | ffffffff 01 ffffffff',
    );
    const failedResponse = {
      op: 'multi' as const,
      results: [
        { op: 'error' as const, err: -103 },
        { op: 'error' as const, err: -2 },
      ],
    };
    expect(encodeReply(16, 0x1_0000_000a, 0, failedResponse)).toEqual(failed);
    expect(decodeReply(body(failed), OP.multi)).toEqual({
      xid: 16,
      zxid: 0x1_0000_000a,
      err: 0,
      response: failedResponse,
    });
  });

  it('watch notification: ReplyHeader {-1, -1, 0} and WatcherEvent', () => {
    // type 3 (NodeDataChanged), state 3 (SyncConnected), path "/a"
    const bytes = hex('0000001e | ffffffff ffffffffffffffff 00000000 | 00000003 00000003 00000002 2f61');
    expect(encodeNotification({ type: 3, path: '/a' })).toEqual(bytes);
    expect(decodeNotification(body(bytes))).toEqual({ type: 3, state: 3, path: '/a', zxid: -1 });
  });

  it('auth packet: xid -4, op 100, AuthPacket {type 0, scheme, auth}', () => {
    const frame: JuteRequestFrame = {
      xid: -4,
      op: OP.auth,
      request: { kind: 'auth', scheme: 'digest', credentials: new TextEncoder().encode('u:p') },
    };
    const bytes = hex('0000001d | fffffffc 00000064 | 00000000 | 00000006 646967657374 | 00000003 753a70');
    expect(encodeRequest(frame)).toEqual(bytes);
    expect(decodeRequest(body(bytes))).toEqual(frame);
  });

  it('setWatches2: relativeZxid and five vectors of paths', () => {
    const frame: JuteRequestFrame = {
      xid: -8,
      op: OP.setWatches2,
      request: {
        kind: 'core',
        request: {
          op: 'setWatches',
          relativeZxid: 0x1_0000_0009,
          dataWatches: ['/a'],
          existWatches: [],
          childWatches: [],
          persistentWatches: ['/p'],
          persistentRecursiveWatches: [],
        },
      },
    };
    const bytes = hex(
      '00000030 | fffffff8 00000069 | 0000000100000009 | 00000001 00000002 2f61 | 00000000 | 00000000 | 00000001 00000002 2f70 | 00000000',
    );
    expect(encodeRequest(frame)).toEqual(bytes);
    expect(decodeRequest(body(bytes))).toEqual(frame);
  });

  it('ping: a RequestHeader {-2, 11} alone, answered by a ReplyHeader alone', () => {
    const bytes = hex('00000008 | fffffffe 0000000b');
    expect(encodeRequest({ xid: -2, op: OP.ping, request: { kind: 'ping' } })).toEqual(bytes);
    expect(decodeRequest(body(bytes))).toEqual({ xid: -2, op: OP.ping, request: { kind: 'ping' } });
    expect(encodeReply(-2, 0x1_0000_0009, 0, { op: 'empty' })).toEqual(
      hex('00000010 | fffffffe 0000000100000009 00000000'),
    );
  });

  it('addWatch reply: ErrorResponse {err 0}, the 4-byte body the Java client reads', () => {
    const bytes = hex('00000014 | 00000018 0000000000000009 00000000 | 00000000');
    expect(encodeReply(24, 9, 0, { op: 'addWatch' })).toEqual(bytes);
    expect(decodeReply(body(bytes), OP.addWatch).response).toEqual({ op: 'addWatch' });
  });

  it('reconfig: a null ustring (-1) reads as empty, a long of -1 as -1', () => {
    // joiningServers "" | leavingServers null | newMembers "/a" | curConfigId -1
    const bytes = hex('0000001e | 00000001 00000010 | 00000000 | ffffffff | 00000002 2f61 | ffffffffffffffff');
    expect(decodeRequest(body(bytes))).toEqual({
      xid: 1,
      op: OP.reconfig,
      request: { kind: 'reconfig', joiningServers: '', leavingServers: '', newMembers: '/a', curConfigId: -1 },
    });
  });
});
