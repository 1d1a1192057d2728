import { describe, expect, it } from 'vitest';
import {
  CLIENT_PROTOCOL_VERSION,
  type ClientMessage,
  clientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  type ServerMessage,
  serverMessage,
} from './client-protocol.js';
import { CodecError } from './errors.js';
import { sampleClientMessages, sampleServerMessages } from './fixtures.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from './frame.js';
import { packBody } from './msgpack.js';
import { request } from './requests.js';
import { result } from './results.js';

function body(frame: Uint8Array): Uint8Array {
  return frame.subarray(FRAME_HEADER_BYTES);
}
function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
function codecError(run: () => unknown): CodecError {
  try {
    run();
  } catch (error) {
    if (CodecError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a CodecError');
}

describe('client protocol round trip', () => {
  it('covers every kind, op and result in the samples', () => {
    const kinds = (messages: { kind: string }[]) => new Set(messages.map((m) => m.kind));
    expect([...kinds(sampleClientMessages)].sort()).toEqual([...clientMessage.names].sort());
    expect([...kinds(sampleServerMessages)].sort()).toEqual([...serverMessage.names].sort());
    const ops = new Set(sampleClientMessages.flatMap((m) => (m.kind === 'request' ? [m.request.op] : [])));
    expect([...ops].sort()).toEqual([...request.names].sort());
    const resultOps = new Set(
      sampleServerMessages.flatMap((m) => (m.kind === 'reply' && m.result ? [m.result.op] : [])),
    );
    expect([...resultOps].sort()).toEqual([...result.names].sort());
  });

  it.each(sampleClientMessages.map((m, i) => [`${i} ${m.kind}`, m] as const))('client message %s', (_, message) => {
    const frame = encodeClientMessage(message);
    const [decodedBody, ...rest] = new FrameDecoder().push(frame);
    expect(rest).toEqual([]);
    expect(decodeClientMessage(decodedBody!)).toEqual(message);
  });

  it.each(sampleServerMessages.map((m, i) => [`${i} ${m.kind}`, m] as const))('server message %s', (_, message) => {
    expect(decodeServerMessage(body(encodeServerMessage(message)))).toEqual(message);
  });

  it('decodes bytes as a plain Uint8Array that does not alias the frame', () => {
    const message: ClientMessage = {
      kind: 'request',
      xid: 1,
      request: { op: 'setData', path: '/a', data: Uint8Array.of(9, 9, 9), version: -1 },
    };
    const frame = body(encodeClientMessage(message));
    const decoded = decodeClientMessage(frame);
    frame.fill(0);
    if (decoded.kind !== 'request' || decoded.request.op !== 'setData') throw new Error('wrong kind');
    expect(decoded.request.data.constructor).toBe(Uint8Array);
    expect([...decoded.request.data]).toEqual([9, 9, 9]);
  });
});

describe('client protocol golden bytes', () => {
  // These freeze the wire format: a change here is a protocol change and needs a version bump.
  // A frame is a 4-byte big-endian length and a msgpack array: [kind, ...fields in schema order].
  it('ping: [3]', () => {
    expect(hex(encodeClientMessage({ kind: 'ping' }))).toBe('00000002' + '9103');
  });
  it('getData request: [2, xid, [4, path, watch], linearizable]', () => {
    const frame = encodeClientMessage({ kind: 'request', xid: 7, request: { op: 'getData', path: '/a', watch: true } });
    expect(hex(frame)).toBe('0000000a' + '940207' + '9304a22f61c3' + 'c2');
  });
  it('a request frame without the trailing linearizable field (an older client) decodes as not linearizable', () => {
    const body = Uint8Array.from([0x93, 0x02, 0x07, 0x93, 0x04, 0xa2, 0x2f, 0x61, 0xc3]);
    expect(decodeClientMessage(body)).toEqual({
      kind: 'request',
      xid: 7,
      request: { op: 'getData', path: '/a', watch: true },
      linearizable: false,
    });
  });
  it('reply with an error: [18, xid, zxid as int64, err, nil]', () => {
    const frame = encodeServerMessage({ kind: 'reply', xid: 7, zxid: 0x1_0000_0002, error: 'NO_NODE', result: null });
    expect(hex(frame)).toBe('0000000f' + '951207' + 'd30000000100000002' + 'd09b' + 'c0');
  });
  it('watch event: [19, -1, [type, path, zxid]]', () => {
    const frame = encodeServerMessage({ kind: 'watchEvent', xid: -1, event: { type: 3, path: '/a', zxid: 5 } });
    expect(hex(frame)).toBe('00000011' + '9313ff' + '9303a22f61d30000000000000005');
  });
  it('connect request: [1, version, lastZxidSeen, timeoutMs, sessionId, password, readOnly]', () => {
    const frame = encodeClientMessage({
      kind: 'connectRequest',
      protocolVersion: 1,
      lastZxidSeen: 0,
      timeoutMs: 30_000,
      sessionId: 0,
      password: new Uint8Array(16),
      readOnly: false,
    });
    expect(hex(frame)).toBe(
      '0000002b' +
        '970101' +
        'd30000000000000000' +
        'cd7530' +
        'd30000000000000000' +
        'c410' +
        '00000000000000000000000000000000' +
        'c2',
    );
  });
});

describe('client protocol defensive decoding', () => {
  const decode = (value: unknown) => codecError(() => decodeClientMessage(packBody(value)));
  // Wire shapes: [kind, ...fields]; a request frame is [2, xid, [op, ...fields]].
  const connect = (fields: { lastZxidSeen?: unknown; sessionId?: unknown; password?: unknown } = {}) => [
    1,
    1,
    fields.lastZxidSeen ?? 0n,
    1000,
    fields.sessionId ?? 0n,
    fields.password ?? new Uint8Array(16),
  ];

  it('names an unknown kind', () => {
    expect(decode([99]).message).toBe('kind: unknown client message kind number 99');
    expect(decode([]).message).toBe('kind: missing');
  });
  it('refuses a server message sent by a client', () => {
    const frame = body(encodeServerMessage({ kind: 'pong' }));
    expect(codecError(() => decodeClientMessage(frame)).field).toBe('kind');
  });
  it('names an unknown op', () => {
    expect(decode([2, 1, [77]]).field).toBe('request.op');
  });
  it('names a missing field', () => {
    expect(decode([2, 1, [4, '/a']]).message).toBe('request.watch: expected boolean, got nothing (missing)');
    expect(decode([2, 1]).message).toBe('request: expected request (array), got nothing (missing)');
  });
  it('names a path that is not a string', () => {
    expect(decode([2, 1, [4, 5, false]]).message).toBe('request.path: expected string, got number 5');
  });
  it('names data that is not bytes', () => {
    expect(decode([2, 1, [5, '/a', 'text', 1]]).message).toBe(
      'request.data: expected bytes, got string of 4 characters',
    );
  });
  it('names a number out of range', () => {
    expect(decode([2, 2 ** 31, [4, '/a', false]]).field).toBe('xid');
    expect(decode([2, 1.5, [4, '/a', false]]).field).toBe('xid');
    expect(decode([2, 1, [1, '/a', new Uint8Array(0), 9, 0n]]).field).toBe('request.mode');
  });
  it('names a field inside a multi', () => {
    const error = decode([
      2,
      1,
      [
        14,
        [
          [13, '/a', 1],
          [2, null, 1],
        ],
      ],
    ]);
    expect(error.field).toBe('request.ops[1].path');
  });
  it('refuses zxids and session ids that are negative or above 2^53 - 1, naming the field', () => {
    expect(decode(connect({ lastZxidSeen: 2n ** 53n })).field).toBe('lastZxidSeen');
    expect(decode(connect({ sessionId: -1n })).field).toBe('sessionId');
    expect(decode(connect({ sessionId: -1 })).field).toBe('sessionId');
    expect(decode(connect({ sessionId: 2 ** 53 })).field).toBe('sessionId');
    expect(decode(connect({ password: new Uint8Array(15) })).field).toBe('password');
    // Small plain integers from another encoder are accepted; a missing readOnly means false.
    const decoded = decodeClientMessage(packBody(connect({ lastZxidSeen: 12, sessionId: 2n ** 53n - 1n })));
    expect(decoded).toMatchObject({ lastZxidSeen: 12, sessionId: 2 ** 53 - 1, readOnly: false });
  });
  it('refuses another protocol version with a clear error, before looking at other fields', () => {
    const error = decode([1, 2, 'what']);
    expect(error.field).toBe('protocolVersion');
    expect(error.message).toBe(
      `protocolVersion: client protocol version 2 is not supported: this end speaks version ${CLIENT_PROTOCOL_VERSION}`,
    );
  });
  it('never lets __proto__ or constructor keys reach a prototype', () => {
    // A raw msgpack map {"__proto__": {"polluted": true}} where a frame belongs, built by hand.
    const raw = Buffer.concat([
      Buffer.from([0x81, 0xa9]),
      Buffer.from('__proto__'),
      Buffer.from([0x81, 0xa8]),
      Buffer.from('polluted'),
      Buffer.from([0xc3]),
    ]);
    expect(codecError(() => decodeClientMessage(raw)).message).toBe('expected client message kind (array), got map');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Nested where a request belongs: refused the same way, nothing copied.
    expect(decode([2, 1, { constructor: { prototype: { polluted: true } } }]).field).toBe('request');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Decoded objects are built from the schema's names only, on a plain prototype.
    const decoded = decodeClientMessage(packBody([3, '__proto__', 'constructor']));
    expect(decoded).toEqual({ kind: 'ping' });
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
  });
  it('refuses values of extension types where an array is expected', () => {
    // msgpack timestamp extension decodes to a Date.
    const error = codecError(() => decodeClientMessage(Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1)));
    expect(error.message).toBe('expected client message kind (array), got extension value');
  });
  it('turns msgpack garbage into a CodecError on body', () => {
    expect(codecError(() => decodeClientMessage(Uint8Array.of(0xd4, 0x05, 0x00))).field).toBe('body');
    expect(codecError(() => decodeClientMessage(Uint8Array.of(0x93, 1))).field).toBe('body');
    expect(codecError(() => decodeClientMessage(new Uint8Array(0))).field).toBe('body');
  });
  it('refuses to encode a value out of range, naming the field', () => {
    const message = {
      kind: 'request',
      xid: 1,
      request: { op: 'exists', path: '/a', watch: 1 },
    } as unknown as ClientMessage;
    expect(codecError(() => encodeClientMessage(message)).field).toBe('request.watch');
    const reply = { kind: 'reply', xid: 1, zxid: 2 ** 53, error: null, result: null } as ServerMessage;
    expect(codecError(() => encodeServerMessage(reply)).field).toBe('zxid');
  });
  it('refuses to encode a frame over the limit', () => {
    const message: ClientMessage = {
      kind: 'request',
      xid: 1,
      request: { op: 'setData', path: '/a', data: new Uint8Array(2000), version: -1 },
    };
    expect(codecError(() => encodeClientMessage(message, 1024)).field).toBe('frame');
  });
});
