import type { LogEntry, PeerMessage } from '@zabkit/core';
import { OPEN_ACL_UNSAFE } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { peerFrameBytes, peerFrameBytesEncoded } from './wire.js';

function entry(counter: number, dataBytes: number): LogEntry {
  return {
    zxid: 7 * 2 ** 32 + counter,
    sessionId: 2 ** 40 + counter,
    cxid: counter,
    timeMs: 1_700_000_000_000 + counter,
    txn: {
      type: 'create',
      path: `/n-${counter}`,
      data: new Uint8Array(dataBytes).fill(counter & 0xff),
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      parentCversion: counter,
      acl: OPEN_ACL_UNSAFE,
    },
  };
}

describe('peerFrameBytes', () => {
  it('measures messages of entries in parts exactly as encoding them whole', () => {
    for (const count of [0, 1, 15, 16, 17, 200]) {
      const entries = Array.from({ length: count }, (_, i) => entry(i, (i * 97) % 3000));
      for (const type of ['proposal', 'inform', 'entries'] as const) {
        const message = { type, epoch: 7, entries } as PeerMessage;
        expect(peerFrameBytes(message)).toBe(peerFrameBytesEncoded(message));
      }
    }
  });

  it('measures other messages by encoding them', () => {
    const message: PeerMessage = { type: 'ack', epoch: 3, zxid: 3 * 2 ** 32 + 9 };
    expect(peerFrameBytes(message)).toBe(peerFrameBytesEncoded(message));
    expect(peerFrameBytes(message)).toBeGreaterThan(0);
  });
});
