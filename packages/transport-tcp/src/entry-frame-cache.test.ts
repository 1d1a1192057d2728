import { decodePeerMessage, encodePeerMessage } from '@zabkit/codec';
import type { LogEntry, PeerMessage } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { EntryFrameCache } from './entry-frame-cache.js';

const entry = (counter: number): LogEntry => ({
  zxid: 2 ** 32 + counter,
  sessionId: 5,
  cxid: counter,
  timeMs: 1_700_000_000_000,
  txn: { type: 'setData', path: `/k${counter}`, data: new Uint8Array([counter]), version: counter },
});

/** counting wraps the codec's encoder and counts its calls. */
function counting(): { cache: EntryFrameCache; encodes: () => number } {
  let encodes = 0;
  const cache = new EntryFrameCache((message) => {
    encodes++;
    return encodePeerMessage(message);
  });
  return { cache, encodes: () => encodes };
}

const decoded = (frame: Uint8Array): PeerMessage => decodePeerMessage(frame.subarray(4));

describe('EntryFrameCache', () => {
  it('encodes a PROPOSAL once for two followers whose messages hold the same entries', () => {
    const { cache, encodes } = counting();
    const entries = [entry(1), entry(2), entry(3)];
    const toTwo: PeerMessage = { type: 'proposal', epoch: 1, entries: [...entries] };
    const toThree: PeerMessage = { type: 'proposal', epoch: 1, entries: [...entries] };
    const first = cache.frameOf(toTwo);
    expect(cache.frameOf(toThree)).toBe(first);
    expect(encodes()).toBe(1);
    expect(decoded(first)).toEqual(toThree);
  });

  it('encodes again when the type, the epoch, the count, the order or any entry object differs', () => {
    const { cache, encodes } = counting();
    const a = entry(1);
    const b = entry(2);
    const variants: PeerMessage[] = [
      { type: 'proposal', epoch: 1, entries: [a, b] },
      { type: 'inform', epoch: 1, entries: [a, b] },
      { type: 'inform', epoch: 2, entries: [a, b] },
      { type: 'inform', epoch: 2, entries: [a] },
      { type: 'inform', epoch: 2, entries: [b, a] },
      // Equal content, another object: encoded again rather than compared deeply.
      { type: 'inform', epoch: 2, entries: [b, entry(1)] },
    ];
    for (const message of variants) expect(decoded(cache.frameOf(message))).toEqual(message);
    expect(encodes()).toBe(variants.length);
  });

  it('does not hand out a stale frame when the first message grew after it was encoded', () => {
    const { cache } = counting();
    const entries = [entry(1)];
    const message: PeerMessage = { type: 'proposal', epoch: 1, entries };
    cache.frameOf(message);
    entries.push(entry(2));
    expect(decoded(cache.frameOf(message))).toEqual({ type: 'proposal', epoch: 1, entries: [entry(1), entry(2)] });
  });

  it('encodes every other message each time', () => {
    const { cache, encodes } = counting();
    const ack: PeerMessage = { type: 'ack', epoch: 1, zxid: 2 ** 32 + 1 };
    cache.frameOf(ack);
    cache.frameOf(ack);
    expect(encodes()).toBe(2);
  });
});
