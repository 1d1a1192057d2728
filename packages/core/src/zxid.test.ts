import { describe, expect, it } from 'vitest';
import {
  compareZxid,
  formatZxid,
  makeZxid,
  parseZxid,
  ZXID_COUNTER_MAX,
  ZXID_EPOCH_MAX,
  zxidCounter,
  zxidEpoch,
  zxidFromBigInt,
  zxidToBigInt,
} from './zxid.js';

describe('zxid', () => {
  it('splits into the epoch and counter it was made from (ZooKeeper: epoch in the high 32 bits)', () => {
    const zxid = makeZxid(5, 7);
    expect(zxidEpoch(zxid)).toBe(5);
    expect(zxidCounter(zxid)).toBe(7);
    expect(zxidToBigInt(zxid)).toBe((5n << 32n) | 7n);
  });

  it('orders by epoch first, then counter', () => {
    expect(compareZxid(makeZxid(1, ZXID_COUNTER_MAX), makeZxid(2, 0))).toBeLessThan(0);
    expect(compareZxid(makeZxid(2, 1), makeZxid(2, 0))).toBeGreaterThan(0);
    expect(compareZxid(makeZxid(3, 3), makeZxid(3, 3))).toBe(0);
  });

  it('is exact at the largest epoch and counter', () => {
    const zxid = makeZxid(ZXID_EPOCH_MAX, ZXID_COUNTER_MAX);
    expect(Number.isSafeInteger(zxid)).toBe(true);
    expect(zxidFromBigInt(zxidToBigInt(zxid))).toBe(zxid);
    expect(zxidEpoch(zxid)).toBe(ZXID_EPOCH_MAX);
    expect(zxidCounter(zxid)).toBe(ZXID_COUNTER_MAX);
  });

  it('refuses out-of-range parts and 64-bit values', () => {
    expect(() => makeZxid(ZXID_EPOCH_MAX + 1, 0)).toThrow(RangeError);
    expect(() => makeZxid(0, ZXID_COUNTER_MAX + 1)).toThrow(RangeError);
    expect(() => makeZxid(-1, 0)).toThrow(RangeError);
    expect(() => zxidFromBigInt(1n << 60n)).toThrow(RangeError);
    expect(() => zxidFromBigInt(-1n)).toThrow(RangeError);
  });

  it('formats as ZooKeeper logs do and parses back', () => {
    expect(formatZxid(makeZxid(1, 1))).toBe('0x100000001');
    expect(parseZxid('0x100000001')).toBe(makeZxid(1, 1));
    expect(parseZxid('42')).toBe(42);
    expect(() => parseZxid('zz')).toThrow(RangeError);
  });
});
