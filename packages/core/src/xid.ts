/**
 * Client xids: a session numbers its requests 1, 2, 3, … and after 2^31 − 1 starts again (at 1, as
 * ZooKeeper's ClientCnxn and zabkit's client do; some clients wrap to 0). Negative xids are
 * reserved for notifications, pings and auth. Comparing two xids therefore uses serial-number
 * arithmetic modulo 2^31 (RFC 1982): `a` is after `b` when it is at most 2^30 ahead of it.
 */

/** XID_MAX is the largest client xid; the next one is 1. */
export const XID_MAX = 0x7fff_ffff;

const MODULUS = 2 ** 31;
const HALF = 2 ** 30;

/** nextXid is the xid a client sends after `xid`: xid + 1, and 1 after XID_MAX. */
export function nextXid(xid: number): number {
  return xid >= XID_MAX ? 1 : xid + 1;
}

/** isXidAfter tells whether xid `a` comes after `b` in a session's sequence, across the wrap-around. */
export function isXidAfter(a: number, b: number): boolean {
  const distance = (((a - b) % MODULUS) + MODULUS) % MODULUS;
  return distance > 0 && distance < HALF;
}
