import { describe, expect, it } from 'vitest';
import {
  CLIENT_PROTOCOL_VERSION,
  CLIENT_PROTOCOL_VERSIONS,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
} from './client-protocol.js';
import { CodecError } from './errors.js';
import {
  decodePeerHandshake,
  encodePeerHandshake,
  PEER_PROTOCOL_VERSION,
  PEER_PROTOCOL_VERSIONS,
} from './peer-protocol.js';
import {
  checkProtocolVersions,
  describeProtocolVersions,
  fallbackProtocolVersion,
  protocolVersion,
  speaksProtocolVersion,
} from './protocol-version.js';

const body = (frame: Uint8Array) => frame.subarray(4);

function codecError(run: () => unknown): CodecError {
  try {
    run();
  } catch (error) {
    if (CodecError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a CodecError');
}

const handshake = (version: number) =>
  encodePeerHandshake({
    type: 'handshake',
    protocolVersion: version,
    serverId: 2,
    auth: 'none',
    nonce: new Uint8Array(0),
    proof: new Uint8Array(0),
  });

describe('protocol version ranges', () => {
  it('today: the peer protocol is version 4 (membership changes) and the previous, 3 (no version 2 messages are kept); the client protocol 1', () => {
    expect(PEER_PROTOCOL_VERSIONS).toEqual({ min: 3, max: 4 });
    expect(PEER_PROTOCOL_VERSION).toBe(4);
    expect(CLIENT_PROTOCOL_VERSIONS).toEqual({ min: 1, max: 1 });
    expect(CLIENT_PROTOCOL_VERSION).toBe(1);
  });

  it('speaks every version from min to max and nothing else', () => {
    const versions = { min: 3, max: 4 };
    expect([2, 3, 4, 5].map((v) => speaksProtocolVersion(versions, v))).toEqual([false, true, true, false]);
    expect(describeProtocolVersions(versions)).toBe('versions 3 to 4');
    expect(describeProtocolVersions({ min: 3, max: 3 })).toBe('version 3');
  });

  it('refuses a range that is not one', () => {
    expect(() => checkProtocolVersions({ min: 4, max: 3 }, 'peer')).toThrow(RangeError);
    expect(() => checkProtocolVersions({ min: -1, max: 3 }, 'peer')).toThrow(RangeError);
    expect(() => checkProtocolVersions({ min: 1.5, max: 3 }, 'peer')).toThrow(RangeError);
    expect(() => protocolVersion({ min: 2, max: 1 }, 'client')).toThrow(RangeError);
  });

  it('the field accepts the range and names it when it refuses', () => {
    const field = protocolVersion({ min: 3, max: 4 }, 'peer');
    expect(field.decode(3)).toBe(3);
    expect(field.decode(4n)).toBe(4);
    expect(codecError(() => field.decode(5)).message).toBe(
      'peer protocol version 5 is not supported: this end speaks versions 3 to 4',
    );
    expect(codecError(() => field.decode(2)).message).toBe(
      'peer protocol version 2 is not supported: this end speaks versions 3 to 4',
    );
    // A single version reads as before.
    expect(codecError(() => protocolVersion(1, 'client').decode(2)).message).toBe(
      'client protocol version 2 is not supported: this end speaks version 1',
    );
  });

  it('falls back once, to the acceptor’s version, only inside its own range', () => {
    const versions = { min: 3, max: 4 };
    // A version-3 acceptor refuses an offer of 4 naming 3: retry at 3.
    expect(fallbackProtocolVersion(versions, 4, 3)).toBe(3);
    // Below our min: the two share no version.
    expect(fallbackProtocolVersion(versions, 4, 2)).toBeUndefined();
    // The acceptor speaks more than we offered (it refused us as too old): nothing to retry.
    expect(fallbackProtocolVersion(versions, 3, 5)).toBeUndefined();
    // It refused the very version it names, or a retry was refused again: never loop.
    expect(fallbackProtocolVersion(versions, 3, 3)).toBeUndefined();
    expect(fallbackProtocolVersion({ min: 3, max: 3 }, 3, 3)).toBeUndefined();
  });
});

describe('handshakes decoded against a range', () => {
  it('a peer handshake: every version of the range, the version checked before anything else', () => {
    const versions = { min: 3, max: 4 };
    expect(decodePeerHandshake(body(handshake(4)), versions)).toMatchObject({ type: 'handshake', protocolVersion: 4 });
    expect(decodePeerHandshake(body(handshake(3)), versions)).toMatchObject({ protocolVersion: 3 });
    // The default range is today's: versions 3 and 4.
    expect(decodePeerHandshake(body(handshake(4)))).toMatchObject({ protocolVersion: 4 });
    const error = codecError(() => decodePeerHandshake(body(handshake(5))));
    expect(error.field).toBe('protocolVersion');
    expect(error.message).toBe(
      'protocolVersion: peer protocol version 5 is not supported: this end speaks versions 3 to 4',
    );
    expect(codecError(() => decodePeerHandshake(body(handshake(4)), { min: 3, max: 3 })).message).toContain(
      'this end speaks version 3',
    );
    expect(codecError(() => decodePeerHandshake(body(handshake(2)), versions)).message).toContain(
      'this end speaks versions 3 to 4',
    );
  });

  it('a refusal is read whatever its version (its shape is frozen)', () => {
    const refusal = encodePeerHandshake({
      type: 'handshakeRefused',
      protocolVersion: 9,
      reason: 'PROTOCOL_VERSION',
      message: 'newer',
    });
    expect(decodePeerHandshake(body(refusal), { min: 3, max: 3 })).toMatchObject({ protocolVersion: 9 });
  });

  it('a client connect and its response, against the server’s and the client’s range', () => {
    const request = {
      kind: 'connectRequest' as const,
      protocolVersion: 2,
      lastZxidSeen: 0,
      timeoutMs: 10_000,
      sessionId: 0,
      password: new Uint8Array(16),
      readOnly: false,
    };
    expect(decodeClientMessage(body(encodeClientMessage(request)), { min: 1, max: 2 })).toMatchObject({
      protocolVersion: 2,
    });
    expect(codecError(() => decodeClientMessage(body(encodeClientMessage(request)))).field).toBe('protocolVersion');
    const response = {
      kind: 'connectResponse' as const,
      protocolVersion: 2,
      timeoutMs: 10_000,
      sessionId: 5,
      password: new Uint8Array(16),
      readOnly: false,
    };
    expect(decodeServerMessage(body(encodeServerMessage(response)), { min: 1, max: 2 })).toMatchObject({
      protocolVersion: 2,
    });
    expect(codecError(() => decodeServerMessage(body(encodeServerMessage(response)))).message).toBe(
      'protocolVersion: client protocol version 2 is not supported: this end speaks version 1',
    );
  });
});
