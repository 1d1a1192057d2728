import type { Request, Txn } from '@zabkit/core';

/**
 * OP_CODES: ZooKeeper's OpCode numbers (ZooDefs.OpCode), which the wire uses for request, result
 * and transaction kinds. `error` (-1) marks a failed op inside a multi, `createSession` (-10) and
 * `closeSession` (-11) are session transactions, `ping` (11) is ZooKeeper's heartbeat, `reconfig`
 * (16) a membership change.
 */
export const OP_CODES = {
  error: -1,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  check: 13,
  multi: 14,
  reconfig: 16,
  removeWatches: 18,
  multiRead: 22,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
} as const satisfies Record<Request['op'] | Txn['type'] | 'ping', number>;
