import { describe, expect, it } from 'vitest';
import { nextXid, XID_MAX } from './xid.js';

describe('client xids', () => {
  it('after 2^31 - 1 comes 1, as ZooKeeper clients wrap', () => {
    expect(nextXid(1)).toBe(2);
    expect(nextXid(XID_MAX - 1)).toBe(XID_MAX);
    expect(nextXid(XID_MAX)).toBe(1);
  });
});
