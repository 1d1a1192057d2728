import { describe, expect, it } from 'vitest';
import { isXidAfter, nextXid, XID_MAX } from './xid.js';

describe('client xids (serial numbers modulo 2^31)', () => {
  it('after 2^31 - 1 comes 1, as ZooKeeper clients wrap', () => {
    expect(nextXid(1)).toBe(2);
    expect(nextXid(XID_MAX - 1)).toBe(XID_MAX);
    expect(nextXid(XID_MAX)).toBe(1);
  });

  it('a wrapped xid is after the last one before the wrap, and not the other way round', () => {
    expect(isXidAfter(1, XID_MAX)).toBe(true);
    expect(isXidAfter(0, XID_MAX)).toBe(true); // clients that wrap to 0 (go-zookeeper)
    expect(isXidAfter(5, XID_MAX - 3)).toBe(true);
    expect(isXidAfter(XID_MAX, 1)).toBe(false);
    expect(isXidAfter(7, 7)).toBe(false);
    expect(isXidAfter(6, 7)).toBe(false);
    expect(isXidAfter(8, 7)).toBe(true);
  });

  it('a whole wrap of sequential xids is always after its predecessor', () => {
    let xid = XID_MAX - 1000;
    for (let i = 0; i < 3000; i++) {
      const next = nextXid(xid);
      expect(isXidAfter(next, xid)).toBe(true);
      expect(isXidAfter(xid, next)).toBe(false);
      xid = next;
    }
  });
});
