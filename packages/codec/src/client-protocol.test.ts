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
  it('ping', () => {
    expect(hex(encodeClientMessage({ kind: 'ping' }))).toBe('00000009de0001a46b696e6403');
  });
  it('getData request', () => {
    const frame = encodeClientMessage({ kind: 'request', xid: 7, request: { op: 'getData', path: '/a', watch: true } });
    expect(hex(frame)).toBe(
      '0000002cde0003a46b696e6402a378696407a772657175657374de0003a26f7004a470617468a22f61a57761746368c3',
    );
  });
  it('reply with an error', () => {
    const frame = encodeServerMessage({ kind: 'reply', xid: 7, zxid: 0x1_0000_0002, error: 'NO_NODE', result: null });
    expect(hex(frame)).toBe(
      '0000002cde0005a46b696e6412a378696407a47a786964d30000000100000002a56572726f72d09ba6726573756c74c0',
    );
  });
  it('watch event', () => {
    const frame = encodeServerMessage({ kind: 'watchEvent', xid: -1, event: { type: 3, path: '/a', zxid: 5 } });
    expect(hex(frame)).toBe(
      '00000033de0003a46b696e6413a3786964ffa56576656e74de0003a47479706503a470617468a22f61a47a786964d30000000000000005',
    );
  });
  it('connect request', () => {
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
      '00000075de0007a46b696e6401af70726f746f636f6c56657273696f6e01ac6c6173745a7869645365656ed30000000000000000a974696d656f75744d73cd7530a973657373696f6e4964d30000000000000000a870617373776f7264c41000000000000000000000000000000000a8726561644f6e6c79c2',
    );
  });
});

describe('client protocol defensive decoding', () => {
  const decode = (value: unknown) => codecError(() => decodeClientMessage(packBody(value)));
  const getData = (fields: Record<string, unknown>) => ({
    kind: 2,
    xid: 1,
    request: { op: 4, path: '/a', watch: false, ...fields },
  });

  it('names an unknown kind', () => {
    expect(decode({ kind: 99 }).message).toBe('kind: unknown client message kind number 99');
    expect(decode({ xid: 1 }).message).toBe('kind: missing');
  });
  it('refuses a server message sent by a client', () => {
    const frame = body(encodeServerMessage({ kind: 'pong' }));
    expect(codecError(() => decodeClientMessage(frame)).field).toBe('kind');
  });
  it('names an unknown op', () => {
    expect(decode({ kind: 2, xid: 1, request: { op: 77 } }).field).toBe('request.op');
  });
  it('names a missing field', () => {
    expect(decode({ kind: 2, xid: 1, request: { op: 4, watch: false } }).message).toBe(
      'request.path: expected string, got nothing (missing)',
    );
  });
  it('names a path that is not a string', () => {
    expect(decode(getData({ path: 5 })).message).toBe('request.path: expected string, got number 5');
  });
  it('names data that is not bytes', () => {
    const error = decode({ kind: 2, xid: 1, request: { op: 5, path: '/a', data: 'text', version: 1 } });
    expect(error.message).toBe('request.data: expected bytes, got string of 4 characters');
  });
  it('names a number out of range', () => {
    expect(decode({ kind: 2, xid: 2 ** 31, request: { op: 4, path: '/a', watch: false } }).field).toBe('xid');
    expect(decode({ kind: 2, xid: 1.5, request: { op: 4, path: '/a', watch: false } }).field).toBe('xid');
  });
  it('names a field inside a multi', () => {
    const error = decode({
      kind: 2,
      xid: 1,
      request: {
        op: 14,
        ops: [
          { op: 13, path: '/a', version: 1 },
          { op: 2, path: null, version: 1 },
        ],
      },
    });
    expect(error.field).toBe('request.ops[1].path');
  });
  it('refuses zxids and session ids that are negative or above 2^53 - 1, naming the field', () => {
    const connect = (fields: Record<string, unknown>) => ({
      kind: 1,
      protocolVersion: 1,
      lastZxidSeen: 0n,
      timeoutMs: 1000,
      sessionId: 0n,
      password: new Uint8Array(16),
      ...fields,
    });
    expect(decode(connect({ lastZxidSeen: 2n ** 53n })).field).toBe('lastZxidSeen');
    expect(decode(connect({ sessionId: -1n })).field).toBe('sessionId');
    expect(decode(connect({ sessionId: -1 })).field).toBe('sessionId');
    expect(decode(connect({ password: new Uint8Array(15) })).field).toBe('password');
    // Small plain integers from another encoder are accepted; readOnly defaults to false.
    const decoded = decodeClientMessage(packBody(connect({ lastZxidSeen: 12, sessionId: 2n ** 53n - 1n })));
    expect(decoded).toMatchObject({ lastZxidSeen: 12, sessionId: 2 ** 53 - 1, readOnly: false });
  });
  it('refuses another protocol version with a clear error, before looking at other fields', () => {
    const error = decode({ kind: 1, protocolVersion: 2, lastZxidSeen: 'what' });
    expect(error.field).toBe('protocolVersion');
    expect(error.message).toBe(
      `protocolVersion: client protocol version 2 is not supported: this end speaks version ${CLIENT_PROTOCOL_VERSION}`,
    );
  });
  it('never lets __proto__ or constructor keys reach a prototype', () => {
    // A raw msgpack map {"__proto__": {"polluted": true}, kind: 3} built by hand.
    const raw = Buffer.concat([
      Buffer.from([0x82, 0xa9]),
      Buffer.from('__proto__'),
      Buffer.from([0x81, 0xa8]),
      Buffer.from('polluted'),
      Buffer.from([0xc3, 0xa4]),
      Buffer.from('kind'),
      Buffer.from([0x03]),
    ]);
    const decoded = decodeClientMessage(raw);
    expect(decoded).toEqual({ kind: 'ping' });
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const withConstructor = decodeClientMessage(packBody({ kind: 3, constructor: { prototype: { x: 1 } } }));
    expect(Object.keys(withConstructor)).toEqual(['kind']);
    expect(withConstructor.constructor).toBe(Object);
  });
  it('refuses values of extension types where a map is expected', () => {
    // msgpack timestamp extension decodes to a Date.
    const error = codecError(() => decodeClientMessage(Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1)));
    expect(error.message).toBe('expected client message kind, got extension value');
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
