import { describe, expect, it } from 'vitest';
import { BYTE_SLAB_BYTES, ByteSlab } from './byte-slab.js';
import { decodeRecordEntry, encodeRecord, readRecordAt } from './log-record.js';
import { entry } from './storage-contract.test-suite.js';

describe('ByteSlab', () => {
  it('copies small arrays into shared buffers and large ones into their own, all plain Uint8Arrays', () => {
    const slab = new ByteSlab();
    const source = Buffer.alloc(BYTE_SLAB_BYTES, 1);
    const small = slab.copy(source.subarray(0, 10));
    const next = slab.copy(source.subarray(10, 30));
    const large = slab.copy(source.subarray(0, 100_000));
    source.fill(2);
    expect(small).toEqual(new Uint8Array(10).fill(1));
    expect(next).toEqual(new Uint8Array(20).fill(1));
    expect(large).toEqual(new Uint8Array(100_000).fill(1));
    expect(small.buffer).toBe(next.buffer);
    expect(large.buffer).not.toBe(small.buffer);
    for (const copy of [small, next, large]) expect(Object.getPrototypeOf(copy)).toBe(Uint8Array.prototype);
    // Past the end of a buffer, the next one starts.
    const filler = slab.copy(new Uint8Array(60_000));
    let last = filler;
    for (let count = 0; count < 20; count++) last = slab.copy(new Uint8Array(60_000));
    expect(last.buffer).not.toBe(small.buffer);
  });

  it('a log entry decoded into a slab equals the one decoded on its own, and keeps nothing of the record', () => {
    const record = encodeRecord(entry(3, 7));
    const location = readRecordAt(record, 0)!;
    const own = decodeRecordEntry(record, location);
    const slabbed = decodeRecordEntry(record, location, new ByteSlab());
    expect(slabbed).toEqual(own);
    expect(slabbed).toEqual(entry(3, 7));
    record.fill(0);
    expect(slabbed).toEqual(entry(3, 7));
  });
});
