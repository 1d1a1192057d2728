/**
 * Client xids: a session numbers its requests 1, 2, 3, … and after 2^31 − 1 starts again at 1, as
 * ZooKeeper's ClientCnxn does (negative xids are reserved for notifications, pings and auth; some
 * clients wrap to 0). A server never orders requests by xid: it answers each session in the order
 * the requests arrived, and matches replies to requests by xid only. So a wrapped xid, or a session
 * resumed by a new client process that starts again at 1, is just another request. (A leader drops
 * late copies of forwarded requests by the learner's followId, not by xid.)
 */

/** XID_MAX is the largest client xid; the next one is 1. */
export const XID_MAX = 0x7fff_ffff;

/** nextXid is the xid a client sends after `xid`: xid + 1, and 1 after XID_MAX. */
export function nextXid(xid: number): number {
  return xid >= XID_MAX ? 1 : xid + 1;
}
