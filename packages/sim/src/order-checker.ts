import { formatZxid, type Zxid } from '@zabkit/core';

/** ORDER_INVARIANT is the name the simulator reports a broken check under. */
export const ORDER_INVARIANT = 'applied-in-order';

/** checkAppliedOrder: each member applies zxids in strictly increasing order. Returns what is wrong, or null. */
export function checkAppliedOrder(id: number, lastApplied: Zxid, zxid: Zxid): string | null {
  return zxid <= lastApplied ? `server ${id} applied ${formatZxid(zxid)} after ${formatZxid(lastApplied)}` : null;
}
