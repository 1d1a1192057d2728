/**
 * The shared vocabulary of zabkit: what a client asks for (Request), what Zab replicates (Txn in a
 * LogEntry), what the tree reports (Stat, WatchEvent) and what a snapshot is made of. The codec
 * encodes exactly these shapes; storage persists exactly these shapes.
 */
import type { Zxid } from './zxid.js';

/** SessionId is a session's 64-bit id, kept as a safe integer (see README: ids). */
export type SessionId = number;

/** CreateMode, with ZooKeeper's wire values (CreateMode.java). */
export const CreateMode = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;
export type CreateMode = (typeof CreateMode)[keyof typeof CreateMode];

/** Stat is ZooKeeper's znode metadata (zookeeper.jute `class Stat`). Times are ms since the Unix epoch. */
export interface Stat {
  czxid: Zxid;
  mzxid: Zxid;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: SessionId;
  dataLength: number;
  numChildren: number;
  pzxid: Zxid;
}

/**
 * AuthId is ZooKeeper's Id (zookeeper.jute `class Id`): an identity in a scheme. A connection
 * holds the ids it authenticated as (`ip` always, `x509` from its client certificate, `digest`
 * from addAuth, `super` for the configured super user); an ACL entry names the id it grants to.
 */
export interface AuthId {
  scheme: string;
  id: string;
}

/** Perms: ZooKeeper's ZooDefs.Perms bits. */
export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/** ACL is one entry of a znode's access list (zookeeper.jute `class ACL`): the perms granted to an id. */
export interface ACL {
  perms: number;
  id: AuthId;
}

/** ACL_SCHEMES are the schemes an ACL entry may name (`auth` is expanded when the ACL is set). */
export const ACL_SCHEMES = ['world', 'auth', 'digest', 'ip', 'x509'] as const;

/** OPEN_ACL_UNSAFE: everyone may do everything (ZooDefs.Ids.OPEN_ACL_UNSAFE), the default. */
export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([
  Object.freeze({ perms: Perms.ALL, id: Object.freeze({ scheme: 'world', id: 'anyone' }) }),
]);
/** CREATOR_ALL_ACL: every right to the ids the creating connection authenticated as (ZooDefs.Ids.CREATOR_ALL_ACL). */
export const CREATOR_ALL_ACL: readonly ACL[] = Object.freeze([
  Object.freeze({ perms: Perms.ALL, id: Object.freeze({ scheme: 'auth', id: '' }) }),
]);
/** READ_ACL_UNSAFE: everyone may read (ZooDefs.Ids.READ_ACL_UNSAFE). */
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([
  Object.freeze({ perms: Perms.READ, id: Object.freeze({ scheme: 'world', id: 'anyone' }) }),
]);

/** ErrorCode: ZooKeeper's KeeperException codes by name; ERROR_CODE_NUMBERS gives the wire numbers. */
export type ErrorCode =
  | 'SYSTEM_ERROR'
  | 'RUNTIME_INCONSISTENCY'
  | 'DATA_INCONSISTENCY'
  | 'CONNECTION_LOSS'
  | 'MARSHALLING_ERROR'
  | 'UNIMPLEMENTED'
  | 'OPERATION_TIMEOUT'
  | 'BAD_ARGUMENTS'
  | 'UNKNOWN_SESSION'
  | 'API_ERROR'
  | 'NO_NODE'
  | 'NO_AUTH'
  | 'BAD_VERSION'
  | 'NO_CHILDREN_FOR_EPHEMERALS'
  | 'NODE_EXISTS'
  | 'NOT_EMPTY'
  | 'SESSION_EXPIRED'
  | 'INVALID_CALLBACK'
  | 'INVALID_ACL'
  | 'AUTH_FAILED'
  | 'SESSION_MOVED'
  | 'NOT_READ_ONLY'
  | 'NO_WATCHER'
  | 'REQUEST_TIMEOUT'
  | 'QUOTA_EXCEEDED'
  | 'THROTTLED'
  | 'INVALID_PATH'
  | 'NOT_LEADER'
  | 'NEW_CONFIG_NO_QUORUM'
  | 'RECONFIG_IN_PROGRESS'
  | 'RECONFIG_DISABLED';

/**
 * ERROR_CODE_NUMBERS: KeeperException.Code values. INVALID_PATH (ZooKeeper throws
 * IllegalArgumentException on the client) and NOT_LEADER (zabkit's: a read barrier or
 * linearizable read on a server that is not, or no longer, established) have no ZooKeeper number;
 * zabkit uses -200 and -201.
 */
export const ERROR_CODE_NUMBERS: Readonly<Record<ErrorCode, number>> = {
  SYSTEM_ERROR: -1,
  RUNTIME_INCONSISTENCY: -2,
  DATA_INCONSISTENCY: -3,
  CONNECTION_LOSS: -4,
  MARSHALLING_ERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATION_TIMEOUT: -7,
  BAD_ARGUMENTS: -8,
  UNKNOWN_SESSION: -12,
  NEW_CONFIG_NO_QUORUM: -13,
  RECONFIG_IN_PROGRESS: -14,
  API_ERROR: -100,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NO_CHILDREN_FOR_EPHEMERALS: -108,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
  INVALID_CALLBACK: -113,
  INVALID_ACL: -114,
  AUTH_FAILED: -115,
  SESSION_MOVED: -118,
  NOT_READ_ONLY: -119,
  NO_WATCHER: -121,
  REQUEST_TIMEOUT: -122,
  RECONFIG_DISABLED: -123,
  QUOTA_EXCEEDED: -125,
  THROTTLED: -127,
  INVALID_PATH: -200,
  NOT_LEADER: -201,
};

// ---------------------------------------------------------------------------------------------
// Requests: what a client asks a server for. `version: -1` matches any version, as ZooKeeper.

export interface CreateRequest {
  op: 'create';
  path: string;
  data: Uint8Array;
  mode: CreateMode;
  /** ttlMs is required (> 0) for the TTL modes and must be 0 otherwise. */
  ttlMs: number;
  /**
   * acl is the new znode's access list; ids of scheme `auth` become the creator's authenticated
   * ids. Left out, it is OPEN_ACL_UNSAFE (the wire of clients from before ACLs).
   */
  acl?: readonly ACL[];
}
export interface DeleteRequest {
  op: 'delete';
  path: string;
  version: number;
}
export interface SetDataRequest {
  op: 'setData';
  path: string;
  data: Uint8Array;
  version: number;
}
export interface CheckRequest {
  op: 'check';
  path: string;
  version: number;
}
/** MultiOp is one operation of a multi: all of them commit, or none. */
export type MultiOp = CreateRequest | DeleteRequest | SetDataRequest | CheckRequest;
export interface MultiRequest {
  op: 'multi';
  ops: MultiOp[];
}
export interface GetDataRequest {
  op: 'getData';
  path: string;
  watch: boolean;
}
export interface ExistsRequest {
  op: 'exists';
  path: string;
  watch: boolean;
}
export interface GetChildrenRequest {
  op: 'getChildren';
  path: string;
  watch: boolean;
}
export interface GetACLRequest {
  op: 'getACL';
  path: string;
}
export interface SetACLRequest {
  op: 'setACL';
  path: string;
  acl: readonly ACL[];
  /** version is the expected aversion (-1 matches any). */
  version: number;
}
/** GetAllChildrenNumberRequest counts every znode below a path (ZooKeeper's getAllChildrenNumber). */
export interface GetAllChildrenNumberRequest {
  op: 'getAllChildrenNumber';
  path: string;
}
/** WhoAmIRequest asks which ids the connection holds (ZooKeeper's whoAmI). */
export interface WhoAmIRequest {
  op: 'whoAmI';
}
export interface GetEphemeralsRequest {
  op: 'getEphemerals';
  /** prefixPath limits the answer to ephemerals under it ('/' for all), as ZooKeeper's getEphemerals. */
  prefixPath: string;
}
export type MultiReadOp = GetDataRequest | GetChildrenRequest;
export interface MultiReadRequest {
  op: 'multiRead';
  ops: MultiReadOp[];
}
export interface SyncRequest {
  op: 'sync';
  path: string;
}
/** AddWatchMode: ZooKeeper's addWatch modes. */
export const AddWatchMode = { PERSISTENT: 0, PERSISTENT_RECURSIVE: 1 } as const;
export type AddWatchMode = (typeof AddWatchMode)[keyof typeof AddWatchMode];
export interface AddWatchRequest {
  op: 'addWatch';
  path: string;
  mode: AddWatchMode;
}
/** WatcherType: ZooKeeper's values for removeWatches. */
export const WatcherType = { CHILDREN: 1, DATA: 2, ANY: 3, PERSISTENT: 4, PERSISTENT_RECURSIVE: 5 } as const;
export type WatcherType = (typeof WatcherType)[keyof typeof WatcherType];
export interface RemoveWatchesRequest {
  op: 'removeWatches';
  path: string;
  watcherType: WatcherType;
}
/** SetWatchesRequest re-registers a reconnecting client's watches (ZooKeeper's SetWatches2). */
export interface SetWatchesRequest {
  op: 'setWatches';
  /** relativeZxid is the last zxid the client saw: events after it that the watches would have fired are sent. */
  relativeZxid: Zxid;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}
export interface CloseSessionRequest {
  op: 'closeSession';
}

/**
 * ReconfigRequest asks the leader to change the membership to `members` (the whole new list, as
 * ZooKeeper's non-incremental reconfig) if `fromVersion` is the version in force (-1: whatever it
 * is). Only the super user may ask (NO_AUTH otherwise). Refusals: RECONFIG_IN_PROGRESS,
 * NEW_CONFIG_NO_QUORUM, BAD_VERSION, BAD_ARGUMENTS (core README "Membership changes").
 */
export interface ReconfigRequest {
  op: 'reconfig';
  members: ClusterMember[];
  fromVersion: Zxid;
}

/** WriteRequest: requests that go through Zab (they become transactions). */
export type WriteRequest =
  | CreateRequest
  | DeleteRequest
  | SetDataRequest
  | SetACLRequest
  | MultiRequest
  | ReconfigRequest
  | CloseSessionRequest;
/** ReadRequest: requests a server answers from its own replica. */
export type ReadRequest =
  | GetDataRequest
  | ExistsRequest
  | GetChildrenRequest
  | GetACLRequest
  | GetEphemeralsRequest
  | GetAllChildrenNumberRequest
  | WhoAmIRequest
  | MultiReadRequest;
/** Request: every operation a client session can send after connecting. */
export type Request =
  | WriteRequest
  | ReadRequest
  | CheckRequest
  | SyncRequest
  | AddWatchRequest
  | RemoveWatchesRequest
  | SetWatchesRequest;

// ---------------------------------------------------------------------------------------------
// Transactions: what Zab replicates, idempotent to apply (a fuzzy snapshot plus replay converges).

export interface CreateTxn {
  type: 'create';
  path: string;
  data: Uint8Array;
  /** ephemeralOwner is the owning session for ephemerals, 0 otherwise. */
  ephemeralOwner: SessionId;
  /** container marks a container znode (deleted by the leader once it had and lost all children). */
  container: boolean;
  /** ttlMs > 0 marks a TTL znode. */
  ttlMs: number;
  /** parentCversion is the parent's cversion after this create (ZooKeeper's CreateTxn.parentCVersion). */
  parentCversion: number;
  /** acl is the znode's access list as checked and expanded by the leader (no `auth` ids left). */
  acl: readonly ACL[];
}
export interface DeleteTxn {
  type: 'delete';
  path: string;
}
export interface SetDataTxn {
  type: 'setData';
  path: string;
  data: Uint8Array;
  /** version is the znode's version after this change. */
  version: number;
}
export interface SetACLTxn {
  type: 'setACL';
  path: string;
  acl: readonly ACL[];
  /** version is the znode's aversion after this change. */
  version: number;
}
export interface CheckTxn {
  type: 'check';
  path: string;
  version: number;
}
/** ErrorTxn records a request that failed; inside a multi it stands for each op of a failed multi. */
export interface ErrorTxn {
  type: 'error';
  code: ErrorCode;
}
export type MultiTxnOp = CreateTxn | DeleteTxn | SetDataTxn | CheckTxn | ErrorTxn;
export interface MultiTxn {
  type: 'multi';
  txns: MultiTxnOp[];
}
export interface CreateSessionTxn {
  type: 'createSession';
  sessionId: SessionId;
  timeoutMs: number;
  /**
   * password is the session's secret (SESSION_PASSWORD_BYTES random bytes chosen by the member the
   * client asked), replicated so that any member can check a resume. Empty for a session written
   * by a version before it: such a session cannot be resumed (zab/sessions.ts).
   */
  password: Uint8Array;
}
export interface CloseSessionTxn {
  type: 'closeSession';
  sessionId: SessionId;
  /** paths are the session's ephemerals, deleted with it in this one transaction. */
  paths: string[];
}
/** MemberRole: a participant votes (a voter); an observer learns without voting (ZooKeeper's words). */
export type MemberRole = 'participant' | 'observer';

/**
 * ClusterMember is one server of a configuration. `address` (how peers reach it, e.g.
 * `host:peerPort:peerPort`) and `clientAddress` (e.g. `host:clientPort`, may be empty) are the
 * host's, opaque to core: they are replicated with the configuration and shown in `/zookeeper/config`.
 * `endpoints` is the host's own description of the member's other ports (zabkit's server: JSON with
 * its native client and admin addresses), replicated with it, opaque to core and not shown there.
 */
export interface ClusterMember {
  id: number;
  role: MemberRole;
  address: string;
  clientAddress: string;
  endpoints: string;
}

/**
 * ClusterConfig is the ensemble's membership. `version` is the zxid of the reconfig transaction that
 * made it (ZooKeeper's `version=`), 0 for the static configuration a member starts from.
 */
export interface ClusterConfig {
  version: Zxid;
  members: readonly ClusterMember[];
}

/** ReconfigTxn replaces the membership with `members` (the whole new list); its zxid is the new version. */
export interface ReconfigTxn {
  type: 'reconfig';
  members: ClusterMember[];
}

export type Txn =
  | ReconfigTxn
  | CreateTxn
  | DeleteTxn
  | SetDataTxn
  | SetACLTxn
  | MultiTxn
  | CreateSessionTxn
  | CloseSessionTxn
  | ErrorTxn;

/**
 * LogEntry is one replicated transaction with ZooKeeper's TxnHeader: the session and client xid
 * it answers (0 and 0 for transactions the leader issues itself), its zxid and the leader's
 * wall-clock time when it was proposed (ctime and mtime come from it, never from a follower's clock).
 */
export interface LogEntry {
  zxid: Zxid;
  sessionId: SessionId;
  cxid: number;
  timeMs: number;
  txn: Txn;
}

// ---------------------------------------------------------------------------------------------
// Watches.

/** WatchEventType, with ZooKeeper's values (Watcher.Event.EventType). */
export const WatchEventType = {
  NODE_CREATED: 1,
  NODE_DELETED: 2,
  NODE_DATA_CHANGED: 3,
  NODE_CHILDREN_CHANGED: 4,
  DATA_WATCH_REMOVED: 5,
  CHILD_WATCH_REMOVED: 6,
  PERSISTENT_WATCH_REMOVED: 7,
} as const;
export type WatchEventType = (typeof WatchEventType)[keyof typeof WatchEventType];

/** WatchEvent is one notification to one session; `zxid` is the transaction that fired it. */
export interface WatchEvent {
  type: WatchEventType;
  path: string;
  zxid: Zxid;
}

// ---------------------------------------------------------------------------------------------
// Snapshots: a snapshot is a header and a sequence of records, in the order the tree emits them.

/** SnapshotNodeRecord is one znode as persisted (ZooKeeper's StatPersisted: no dataLength, numChildren). */
export interface SnapshotNodeRecord {
  kind: 'node';
  path: string;
  data: Uint8Array;
  czxid: Zxid;
  mzxid: Zxid;
  pzxid: Zxid;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: SessionId;
  container: boolean;
  ttlMs: number;
  /** acl: the znode's access list (OPEN_ACL_UNSAFE for a record written before ACLs). */
  acl: readonly ACL[];
}
export interface SnapshotSessionRecord {
  kind: 'session';
  sessionId: SessionId;
  timeoutMs: number;
  /** password: as CreateSessionTxn's. */
  password: Uint8Array;
}
/**
 * SnapshotConfigRecord is the membership as of the snapshot's zxid (written first by Zab, which
 * owns it: ZabPeer.snapshot and SNAP). A snapshot without one is from before reconfig: the
 * member's static configuration applies.
 */
export interface SnapshotConfigRecord {
  kind: 'config';
  version: Zxid;
  members: ClusterMember[];
}
export type SnapshotRecord = SnapshotNodeRecord | SnapshotSessionRecord | SnapshotConfigRecord;

/**
 * SnapshotHeader: `zxid` is the last zxid applied when the fuzzy snapshot started; replaying the
 * log from after it (transactions already in the snapshot included) yields the tree at any later zxid.
 */
export interface SnapshotHeader {
  zxid: Zxid;
  timeMs: number;
}

// ---------------------------------------------------------------------------------------------
// Results: what a request answers with when it succeeds.

export interface CreateResult {
  op: 'create';
  /** path is the created path (with the sequence suffix for sequential modes). */
  path: string;
  stat: Stat;
}
export interface DeleteResult {
  op: 'delete';
}
export interface SetDataResult {
  op: 'setData';
  stat: Stat;
}
export interface CheckResult {
  op: 'check';
}
export interface SetACLResult {
  op: 'setACL';
  stat: Stat;
}
export interface GetACLResult {
  op: 'getACL';
  acl: ACL[];
  stat: Stat;
}
export interface ErrorResult {
  op: 'error';
  code: ErrorCode;
}
/** MultiResult: one per op; on failure every op reports an error (the failing op its own code, the rest RUNTIME_INCONSISTENCY, as ZooKeeper). */
export type MultiOpResult = CreateResult | DeleteResult | SetDataResult | CheckResult | ErrorResult;
export interface MultiResult {
  op: 'multi';
  results: MultiOpResult[];
}
export interface GetDataResult {
  op: 'getData';
  data: Uint8Array;
  stat: Stat;
}
/** ExistsResult has `stat: null` when the znode does not exist (ZooKeeper's client turns NONODE into null). */
export interface ExistsResult {
  op: 'exists';
  stat: Stat | null;
}
export interface GetChildrenResult {
  op: 'getChildren';
  /** children are names (not paths), sorted. */
  children: string[];
  stat: Stat;
}
export interface GetAllChildrenNumberResult {
  op: 'getAllChildrenNumber';
  count: number;
}
export interface WhoAmIResult {
  op: 'whoAmI';
  ids: AuthId[];
}
export interface GetEphemeralsResult {
  op: 'getEphemerals';
  paths: string[];
}
export type MultiReadOpResult = GetDataResult | GetChildrenResult | ErrorResult;
export interface MultiReadResult {
  op: 'multiRead';
  results: MultiReadOpResult[];
}
export interface SyncResult {
  op: 'sync';
  path: string;
}
/** ReconfigResult: the change committed; `version` is the new configuration's (the reconfig's zxid). */
export interface ReconfigResult {
  op: 'reconfig';
  version: Zxid;
}
export interface EmptyResult {
  op: 'addWatch' | 'removeWatches' | 'setWatches' | 'closeSession';
}
export type Result =
  | CreateResult
  | DeleteResult
  | SetDataResult
  | SetACLResult
  | CheckResult
  | MultiResult
  | GetDataResult
  | ExistsResult
  | GetChildrenResult
  | GetACLResult
  | GetEphemeralsResult
  | GetAllChildrenNumberResult
  | WhoAmIResult
  | MultiReadResult
  | SyncResult
  | ReconfigResult
  | EmptyResult;

/**
 * Reply answers one request of a session: `zxid` is the last zxid the server had applied when it
 * answered (the client's lastZxidSeen moves to it), `error` is null on success.
 */
export interface Reply {
  sessionId: SessionId;
  xid: number;
  zxid: Zxid;
  error: ErrorCode | null;
  result: Result | null;
}
