import { PEER_MESSAGE_TYPES, type PeerMessage } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { samplePeerHandshakes, samplePeerMessages } from './fixtures.js';
import { FRAME_HEADER_BYTES } from './frame.js';
import { packBody } from './msgpack.js';
import {
  decodePeerHandshake,
  decodePeerMessage,
  encodePeerHandshake,
  encodePeerMessage,
  forwardedRequest,
  PEER_PROTOCOL_VERSION,
  peerMessage,
} from './peer-protocol.js';
import { request } from './requests.js';

const body = (frame: Uint8Array) => frame.subarray(FRAME_HEADER_BYTES);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function codecError(run: () => unknown): CodecError {
  try {
    run();
  } catch (error) {
    if (CodecError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a CodecError');
}

describe('peer protocol', () => {
  it('has a schema for every PeerMessage type and samples of each', () => {
    expect([...peerMessage.names].sort()).toEqual([...PEER_MESSAGE_TYPES].sort());
    expect(new Set(samplePeerMessages.map((m) => m.type))).toEqual(new Set(PEER_MESSAGE_TYPES));
    const forwarded = new Set(samplePeerMessages.flatMap((m) => (m.type === 'forward' ? [m.request.op] : [])));
    expect([...forwarded].sort()).toEqual([...request.names, 'createSession'].sort());
    expect(forwardedRequest.names).toContain('createSession');
  });

  it.each(samplePeerMessages.map((m, i) => [`${i} ${m.type}`, m] as const))('round-trips %s', (_, message) => {
    expect(decodePeerMessage(body(encodePeerMessage(message)))).toEqual(message);
  });

  it.each(samplePeerHandshakes.map((m) => [m.type, m] as const))('round-trips the %s frame', (_, message) => {
    expect(decodePeerHandshake(body(encodePeerHandshake(message)))).toEqual(message);
  });

  it('golden bytes freeze the wire format', () => {
    const notification: PeerMessage = {
      type: 'notification',
      leader: 2,
      zxid: 0x1_0000_0003,
      electionEpoch: 4,
      peerEpoch: 1,
      state: 'LOOKING',
    };
    // [100, leader, zxid, electionEpoch, peerEpoch, state]
    expect(hex(encodePeerMessage(notification))).toBe(
      '0000001f' + '9664' + 'd30000000000000002' + 'd30000000100000003' + 'd30000000000000004' + '01' + '00',
    );
    // [ACK, epoch, zxid]
    expect(hex(encodePeerMessage({ type: 'ack', epoch: 1, zxid: 0x1_0000_0003 }))).toBe(
      '0000000c' + '930301' + 'd30000000100000003',
    );
    // [200, protocolVersion, serverId, auth, nonce, proof]
    const none = new Uint8Array(0);
    expect(
      hex(
        encodePeerHandshake({
          type: 'handshake',
          protocolVersion: 3,
          serverId: 3,
          auth: 'none',
          nonce: none,
          proof: none,
        }),
      ),
    ).toBe('00000012' + '96ccc803' + 'd30000000000000003' + '00' + 'c400' + 'c400');
    // [202, proof]
    expect(hex(encodePeerHandshake({ type: 'handshakeProof', proof: Uint8Array.of(1, 2) }))).toBe(
      '00000007' + '92ccca' + 'c4020102',
    );
  });

  it('refuses a handshake of another version, naming protocolVersion', () => {
    const error = codecError(() => decodePeerHandshake(packBody([200, 9, 1n])));
    expect(error.field).toBe('protocolVersion');
    expect(error.message).toContain(
      `peer protocol version 9 is not supported: this end speaks versions 3 to ${PEER_PROTOCOL_VERSION}`,
    );
  });

  it('refuses a handshake where a message is expected and the reverse', () => {
    expect(codecError(() => decodePeerMessage(body(encodePeerHandshake(samplePeerHandshakes[0]!)))).field).toBe('type');
    expect(codecError(() => decodePeerHandshake(body(encodePeerMessage(samplePeerMessages[0]!)))).field).toBe('type');
  });

  it('names the field of a bad entry deep in a proposal', () => {
    // [PROPOSAL, epoch, [[zxid, sessionId, cxid, timeMs, [create, path, data, ...]]]]
    const wire = [2, 1, [[1n, 0n, 0, 0n, [1, '/a', 'x', 0n, false, 0n, 0]]]];
    expect(codecError(() => decodePeerMessage(packBody(wire))).field).toBe('entries[0].txn.data');
  });

  it('refuses an epoch above 32 bits and an unknown state', () => {
    expect(codecError(() => decodePeerMessage(packBody([3, 2 ** 32, 1n]))).field).toBe('epoch');
    const notification = [100, 1n, 1n, 1n, 1, 9];
    expect(codecError(() => decodePeerMessage(packBody(notification))).field).toBe('state');
  });
});
