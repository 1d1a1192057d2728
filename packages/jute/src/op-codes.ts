/**
 * OP: ZooKeeper's op codes (ZooDefs.OpCode), the `type` of a RequestHeader and of a MultiHeader.
 * `error` (-1) is the type of an error result inside a multi and of a multi's end marker.
 */
export const OP = {
  notification: 0,
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
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;
export type OpCode = (typeof OP)[keyof typeof OP];

/**
 * XID: the xids ZooKeeper reserves (ClientCnxn): a reply with xid -1 is a watch notification; a
 * client sends pings with -2, AuthPackets with -4 and SetWatches with -8, and the server answers
 * each with the same xid. Ordinary requests use xids counting up from 1.
 */
export const XID = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

/**
 * KEEPER_STATE: ZooKeeper's Watcher.Event.KeeperState values, the `state` of a WatcherEvent. Every
 * notification about a znode carries SyncConnected (3); a read-only server's carry
 * ConnectedReadOnly (5).
 */
export const KEEPER_STATE = {
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Closed: 7,
  Expired: -112,
} as const;

/** OP_NAMES: the name of each op code, for messages and logs. */
export const OP_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(OP).map(([name, code]) => [code, name]));

/** opName is an op code's name (`getData`), or `op <n>` for a code ZooKeeper does not define. */
export function opName(op: number): string {
  return OP_NAMES.get(op) ?? `op ${op}`;
}
