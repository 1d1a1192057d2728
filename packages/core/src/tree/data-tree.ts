import type {
  ACL,
  AddWatchRequest,
  AuthId,
  CheckRequest,
  CheckResult,
  EmptyResult,
  ErrorCode,
  ErrorResult,
  ExistsResult,
  GetACLResult,
  GetAllChildrenNumberResult,
  GetChildrenResult,
  GetDataResult,
  GetEphemeralsResult,
  LogEntry,
  MultiReadOp,
  MultiReadResult,
  ReadRequest,
  RemoveWatchesRequest,
  Result,
  SessionId,
  SetWatchesRequest,
  SnapshotHeader,
  SnapshotRecord,
  Stat,
} from '../types.js';
import { AddWatchMode, Perms, READ_ACL_UNSAFE, type WatcherType } from '../types.js';
import { formatZxid, type Zxid } from '../zxid.js';
import { checkAcl, NO_AUTH_IDS, SUPER_SCHEME } from './acl.js';
import { AclCache, OPEN_ACL_REF } from './acl-cache.js';
import { NodeIndexes } from './node-indexes.js';
import { restoreStat, type SessionState, snapshotRecordsOf, statOf } from './node-records.js';
import { EMPTY_DATA, type NodeFields, NodeTable, ROW, VERSION } from './node-table.js';
import { validatePathBytes } from './path-bytes.js';
import { parentPath, SYSTEM_PATH, validatePath } from './path-utils.js';
import { setWatchesOn } from './set-watches.js';
import { SnapshotImage } from './snapshot-image.js';
import { TxnApplier } from './txn-apply.js';
import { WatchKind, WatchManager, type WatchTrigger, watchKindsOf } from './watch-manager.js';

/**
 * ApplyResult is what applying one committed transaction produced: `error`/`result` answer the
 * request (ZooKeeper's ProcessTxnResult; the server that holds the session replies with them) and
 * `watches` are the events to deliver, in order, before any reply carrying a later zxid.
 */
export interface ApplyResult {
  error: ErrorCode | null;
  result: Result | null;
  watches: WatchTrigger[];
}

/** LocalRequest: requests a server answers from its own replica without a transaction. */
export type LocalRequest = ReadRequest | CheckRequest | AddWatchRequest | RemoveWatchesRequest | SetWatchesRequest;

/** LocalOutcome answers a LocalRequest; `watches` carries events setWatches fires at once. */
export interface LocalOutcome {
  error: ErrorCode | null;
  result: Result | null;
  watches: WatchTrigger[];
}

/** ZnodeInfo is what the request pipeline needs to know about a znode. */
export interface ZnodeInfo {
  stat: Stat;
  container: boolean;
  ttlMs: number;
  acl: readonly ACL[];
}

const NO_WATCHES: WatchTrigger[] = [];

/** SYSTEM_PATH_BYTES is /zookeeper as the node table keeps it (ASCII, so one byte per character). */
const SYSTEM_PATH_BYTES: Uint8Array = Uint8Array.from(SYSTEM_PATH, (c) => c.charCodeAt(0));

/** matchesBytes tells whether `bytes` from `start` begin with `expected`. */
function matchesBytes(bytes: Uint8Array, start: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[start + i] !== expected[i]) return false;
  return true;
}

/** FRESH_NODE is how `/` and `/zookeeper` start in a new tree: empty, zxid 0, open to anyone. */
const FRESH_NODE: Readonly<NodeFields> = {
  data: EMPTY_DATA,
  zxid: 0,
  timeMs: 0,
  ephemeralOwner: 0,
  container: false,
  ttlMs: 0,
  aclRef: OPEN_ACL_REF,
};
Object.freeze(NO_WATCHES);

function errorResult(code: ErrorCode): ErrorResult {
  return { op: 'error', code };
}

/**
 * DataTree is ZooKeeper's DataTree: the znodes, the sessions with their ephemerals, and the watch
 * manager of the sessions connected to this server. It is the state machine Zab replicates:
 * {@link DataTree.applyTxn} applies committed transactions in zxid order, deterministically and
 * idempotently (a fuzzy snapshot plus a replay of the log from the snapshot's zxid converges to
 * the live tree). Reads never change it except for the watches they register.
 *
 * A fresh tree holds `/` and the reserved `/zookeeper` (see README: system subtree), both with a
 * zeroed Stat, as ZooKeeper's.
 */
export class DataTree {
  // nodes, acls and applier are replaced only by fromSnapshot, when it adopts a SnapshotImage.
  private nodes = new NodeTable();
  /** acls: each distinct access list once; a znode holds a reference (ZooKeeper's ACL cache). */
  private acls = new AclCache();
  /** watchManager holds the watches of sessions connected to this server. */
  readonly watchManager = new WatchManager();
  /** sessionRecords: each live session's timeout and password, as its createSession carried them. */
  private readonly sessionRecords = new Map<SessionId, SessionState>();
  /** indexes: each session's ephemerals, the containers and the TTL znodes. */
  private readonly indexes = new NodeIndexes();
  /** applier applies committed transactions to the parts above. */
  private applier = new TxnApplier(this.nodes, this.acls, this.indexes, this.watchManager, this.sessionRecords);
  private lastZxid: Zxid = 0;
  /** watchesRefused counts the watches the last setWatches could not register (the session's limit). */
  private watchesRefused = 0;

  constructor() {
    const root = this.nodes.insert('/', -1, FRESH_NODE);
    this.nodes.insert(SYSTEM_PATH, root, FRESH_NODE);
  }

  /**
   * setSystemNode sets a child of `/zookeeper` that the host provides (ZooKeeper's
   * `/zookeeper/config`, the ensemble in its dynamic-config format, and `/zookeeper/quota`),
   * creating it if needed. It is local to this replica: never in a transaction or a snapshot (the
   * host sets it again after a restore), and clients may read it, never write it.
   */
  setSystemNode(name: string, data: Uint8Array): void {
    const path = `${SYSTEM_PATH}/${name}`;
    if (validatePath(path) !== null || name.includes('/')) throw new Error(`setSystemNode: bad name ${name}`);
    const slot = this.nodes.slotOf(path);
    if (slot >= 0) {
      this.nodes.values.set(slot, data);
      return;
    }
    this.nodes.insert(path, this.nodes.slotOf(SYSTEM_PATH), {
      data,
      zxid: 0,
      timeMs: 0,
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      aclRef: this.acls.acquire(READ_ACL_UNSAFE),
    });
  }

  /** lastProcessedZxid is the zxid of the last transaction applied (or of the snapshot loaded). */
  get lastProcessedZxid(): Zxid {
    return this.lastZxid;
  }

  /** nodeCount is the number of znodes, `/` and `/zookeeper` included. */
  get nodeCount(): number {
    return this.nodes.size;
  }

  // -------------------------------------------------------------------------------------------
  // Applying transactions.

  /**
   * applyTxn applies one committed transaction. Zxids must strictly increase (asserted). A
   * transaction that finds the tree already past it (replay over a fuzzy snapshot) is a no-op with
   * ZooKeeper's fix-ups: a create of an existing path still raises the parent's cversion/pzxid, a
   * delete or setData of a missing path does nothing; the error it reports then is informational.
   */
  applyTxn(entry: LogEntry): ApplyResult {
    if (!(entry.zxid > this.lastZxid)) {
      throw new Error(`applyTxn out of order: ${formatZxid(entry.zxid)} after ${formatZxid(this.lastZxid)}`);
    }
    const { txn, zxid, timeMs } = entry;
    const out: WatchTrigger[] = [];
    const outcome = this.applier.apply(txn, zxid, timeMs, out);
    this.lastZxid = zxid;
    return { error: outcome.error, result: outcome.result, watches: out.length === 0 ? NO_WATCHES : out };
  }

  // -------------------------------------------------------------------------------------------
  // Reads.

  private statOf(slot: number): Stat {
    return statOf(this.nodes, slot);
  }

  /** stat is a znode's Stat, or null when it does not exist. */
  stat(path: string): Stat | null {
    const slot = this.nodes.slotOf(path);
    return slot < 0 ? null : this.statOf(slot);
  }

  /** describe is what the request pipeline needs of a znode, or null when it does not exist. */
  describe(path: string): ZnodeInfo | null {
    const slot = this.nodes.slotOf(path);
    if (slot < 0) return null;
    return {
      stat: this.statOf(slot),
      container: this.nodes.isContainer(slot),
      ttlMs: this.nodes.ttlOf(slot),
      acl: this.acls.get(this.nodes.aclRefs[slot]!),
    };
  }

  /** allows tells whether `auth` holds one of the `perm` bits on the znode in `slot`. */
  private allows(slot: number, perm: number, auth: readonly AuthId[]): boolean {
    return checkAcl(this.acls.get(this.nodes.aclRefs[slot]!), perm, auth);
  }

  /** distinctAcls is the number of distinct access lists the tree holds (OPEN_ACL_UNSAFE included). */
  get distinctAcls(): number {
    return this.acls.size;
  }

  /** getData returns data and Stat; with `watchSessionId`, leaves a one-shot data watch (not on NO_NODE, as ZooKeeper). */
  getData(
    path: string,
    watchSessionId?: SessionId,
    auth: readonly AuthId[] = NO_AUTH_IDS,
  ): GetDataResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    const slot = this.nodes.slotOf(path);
    if (slot < 0) return errorResult('NO_NODE');
    if (!this.allows(slot, Perms.READ, auth)) return errorResult('NO_AUTH');
    if (watchSessionId !== undefined && !this.watchManager.add(WatchKind.DATA, path, watchSessionId)) {
      return errorResult('QUOTA_EXCEEDED');
    }
    return { op: 'getData', data: this.nodes.values.get(slot), stat: this.statOf(slot) };
  }

  /** exists returns the Stat or null; with `watchSessionId`, leaves a one-shot watch either way (NodeCreated fires it if missing). */
  exists(path: string, watchSessionId?: SessionId): ExistsResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    if (watchSessionId !== undefined && !this.watchManager.add(WatchKind.DATA, path, watchSessionId)) {
      return errorResult('QUOTA_EXCEEDED');
    }
    return { op: 'exists', stat: this.stat(path) };
  }

  /** getChildren returns the children's names, sorted, and the Stat; with `watchSessionId`, leaves a one-shot child watch. */
  getChildren(
    path: string,
    watchSessionId?: SessionId,
    auth: readonly AuthId[] = NO_AUTH_IDS,
  ): GetChildrenResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    const slot = this.nodes.slotOf(path);
    if (slot < 0) return errorResult('NO_NODE');
    if (!this.allows(slot, Perms.READ, auth)) return errorResult('NO_AUTH');
    if (watchSessionId !== undefined && !this.watchManager.add(WatchKind.CHILD, path, watchSessionId)) {
      return errorResult('QUOTA_EXCEEDED');
    }
    const children = this.nodes.childSlots(slot).map((child) => this.nodes.nameOf(child));
    children.sort();
    return { op: 'getChildren', children, stat: this.statOf(slot) };
  }

  /** getAcl returns a znode's access list and Stat: READ or ADMIN on it is needed (as ZooKeeper's getACL). */
  getAcl(path: string, auth: readonly AuthId[] = NO_AUTH_IDS): GetACLResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    const slot = this.nodes.slotOf(path);
    if (slot < 0) return errorResult('NO_NODE');
    if (!this.allows(slot, Perms.READ | Perms.ADMIN, auth)) return errorResult('NO_AUTH');
    const list = this.acls.get(this.nodes.aclRefs[slot]!);
    // Without ADMIN, digest ids are shown as `user:x` (ZooKeeper 3.6+): READ does not give out hashes to crack.
    const acl = this.allows(slot, Perms.ADMIN, auth)
      ? [...list]
      : list.map((entry) =>
          entry.id.scheme === 'digest'
            ? { perms: entry.perms, id: { scheme: 'digest', id: entry.id.id.replace(/:.*$/s, ':x') } }
            : entry,
        );
    return { op: 'getACL', acl, stat: this.statOf(slot) };
  }

  /** getAllChildrenNumber counts every znode below `path` (ZooKeeper's getAllChildrenNumber): READ on it is needed. */
  getAllChildrenNumber(path: string, auth: readonly AuthId[] = NO_AUTH_IDS): GetAllChildrenNumberResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    const slot = this.nodes.slotOf(path);
    if (slot < 0) return errorResult('NO_NODE');
    if (!this.allows(slot, Perms.READ, auth)) return errorResult('NO_AUTH');
    let count = 0;
    const stack = [slot];
    while (stack.length > 0) {
      for (const child of this.nodes.childSlots(stack.pop() as number)) {
        count++;
        stack.push(child);
      }
    }
    return { op: 'getAllChildrenNumber', count };
  }

  /** getEphemerals lists a session's ephemerals at or below `prefixPath`, sorted (ZooKeeper's getEphemerals). */
  getEphemerals(sessionId: SessionId, prefixPath: string): GetEphemeralsResult | ErrorResult {
    if (validatePath(prefixPath) !== null) return errorResult('INVALID_PATH');
    return { op: 'getEphemerals', paths: this.indexes.ephemeralsOf(sessionId, prefixPath) };
  }

  /** check answers a version check outside a multi: NO_NODE, BAD_VERSION (version -1 matches any) or ok. */
  check(path: string, version: number, auth: readonly AuthId[] = NO_AUTH_IDS): CheckResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    const slot = this.nodes.slotOf(path);
    if (slot < 0) return errorResult('NO_NODE');
    if (!this.allows(slot, Perms.READ, auth)) return errorResult('NO_AUTH');
    if (version !== -1 && version !== this.nodes.i[slot * ROW + VERSION]) return errorResult('BAD_VERSION');
    return { op: 'check' };
  }

  /** multiRead answers each op on its own (not all-or-nothing, as ZooKeeper's multiRead): a failed op is an ErrorResult. */
  multiRead(ops: readonly MultiReadOp[], sessionId: SessionId, auth: readonly AuthId[] = NO_AUTH_IDS): MultiReadResult {
    const results = ops.map((op) => {
      const watch = op.watch ? sessionId : undefined;
      if (op.op === 'getData') return this.getData(op.path, watch, auth);
      if (op.op === 'getChildren') return this.getChildren(op.path, watch, auth);
      return errorResult('BAD_ARGUMENTS');
    });
    return { op: 'multiRead', results };
  }

  /** ephemeralsOf lists a session's ephemerals, sorted. */
  ephemeralsOf(sessionId: SessionId): string[] {
    return this.indexes.ephemeralsOf(sessionId);
  }

  // -------------------------------------------------------------------------------------------
  // Sessions as replicated (expiry is the leader's: see zab/sessions.ts).

  /** hasSession tells whether a createSession was applied and no closeSession yet. */
  hasSession(sessionId: SessionId): boolean {
    return this.sessionRecords.has(sessionId);
  }

  /** sessionTimeoutMs is a live session's negotiated timeout, or undefined. */
  sessionTimeoutMs(sessionId: SessionId): number | undefined {
    return this.sessionRecords.get(sessionId)?.timeoutMs;
  }

  /** sessionPassword is a live session's password (empty if it was created before passwords), or undefined. */
  sessionPassword(sessionId: SessionId): Uint8Array | undefined {
    return this.sessionRecords.get(sessionId)?.password;
  }

  /** sessions lists the live sessions and their timeouts (a new leader restarts their expiry from them: zab/sessions.ts). */
  sessions(): [SessionId, number][] {
    return [...this.sessionRecords].map(([sessionId, { timeoutMs }]) => [sessionId, timeoutMs]);
  }

  // -------------------------------------------------------------------------------------------
  // Watches.

  /**
   * processLocal answers a request a server serves from its own replica: reads (with the watches
   * they leave), check, addWatch, removeWatches and setWatches, as the ids in `auth` may (checked
   * where served, as ZooKeeper's FinalRequestProcessor: NO_NODE before NO_AUTH).
   */
  processLocal(sessionId: SessionId, request: LocalRequest, auth: readonly AuthId[] = NO_AUTH_IDS): LocalOutcome {
    let result: Result | ErrorResult;
    let watches = NO_WATCHES;
    switch (request.op) {
      case 'getData':
        result = this.getData(request.path, request.watch ? sessionId : undefined, auth);
        break;
      case 'exists':
        result = this.exists(request.path, request.watch ? sessionId : undefined);
        break;
      case 'getChildren':
        result = this.getChildren(request.path, request.watch ? sessionId : undefined, auth);
        break;
      case 'getACL':
        result = this.getAcl(request.path, auth);
        break;
      case 'getAllChildrenNumber':
        result = this.getAllChildrenNumber(request.path, auth);
        break;
      case 'whoAmI':
        // The ids the connection holds, as the host gave them (ZooKeeper's whoAmI); the super id is the host's own.
        result = { op: 'whoAmI', ids: auth.filter((id) => id.scheme !== SUPER_SCHEME).map((id) => ({ ...id })) };
        break;
      case 'getEphemerals':
        result = this.getEphemerals(sessionId, request.prefixPath);
        break;
      case 'multiRead':
        result = this.multiRead(request.ops, sessionId, auth);
        break;
      case 'check':
        result = this.check(request.path, request.version, auth);
        break;
      case 'addWatch':
        result = this.addWatch(sessionId, request.path, request.mode, auth);
        break;
      case 'removeWatches':
        result = this.removeWatches(sessionId, request.path, request.watcherType);
        break;
      case 'setWatches':
        this.watchesRefused = 0;
        watches = this.setWatches(sessionId, request);
        // The events still go out; the client learns that some watches are not registered.
        result = this.watchesRefused > 0 ? errorResult('QUOTA_EXCEEDED') : { op: 'setWatches' };
        break;
      default:
        result = errorResult('UNIMPLEMENTED');
    }
    if (result.op === 'error') return { error: result.code, result: null, watches };
    return { error: null, result, watches };
  }

  /** addWatch registers a persistent or persistent-recursive watch (ZooKeeper's addWatch); the path need not exist. */
  addWatch(
    sessionId: SessionId,
    path: string,
    mode: AddWatchMode,
    auth: readonly AuthId[] = NO_AUTH_IDS,
  ): EmptyResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    // READ on the znode, when it exists (ZooKeeper's addWatch: a missing path has no ACL to check).
    const slot = this.nodes.slotOf(path);
    if (slot >= 0 && !this.allows(slot, Perms.READ, auth)) return errorResult('NO_AUTH');
    let added: boolean;
    if (mode === AddWatchMode.PERSISTENT) added = this.watchManager.add(WatchKind.PERSISTENT, path, sessionId);
    else if (mode === AddWatchMode.PERSISTENT_RECURSIVE) {
      added = this.watchManager.add(WatchKind.PERSISTENT_RECURSIVE, path, sessionId);
    } else return errorResult('BAD_ARGUMENTS');
    return added ? { op: 'addWatch' } : errorResult('QUOTA_EXCEEDED');
  }

  /**
   * removeWatches removes the session's watches of `watcherType` on `path`: CHILDREN and DATA the
   * one-shot ones (DATA includes exists watches), PERSISTENT and PERSISTENT_RECURSIVE those of
   * addWatch, ANY all four. NO_WATCHER when there was none. The *_WATCH_REMOVED events are the
   * client's to raise (as ZooKeeper's ZKWatchManager does); the server sends none.
   */
  removeWatches(sessionId: SessionId, path: string, watcherType: WatcherType): EmptyResult | ErrorResult {
    if (validatePath(path) !== null) return errorResult('INVALID_PATH');
    const kinds = watchKindsOf(watcherType);
    if (kinds.length === 0) return errorResult('BAD_ARGUMENTS');
    let removed = false;
    for (const kind of kinds) removed = this.watchManager.remove(kind, path, sessionId) || removed;
    return removed ? { op: 'removeWatches' } : errorResult('NO_WATCHER');
  }

  /** setWatches re-registers a reconnecting session's watches, firing those already missed (see {@link setWatchesOn}). */
  setWatches(sessionId: SessionId, request: SetWatchesRequest): WatchTrigger[] {
    return setWatchesOn(this.nodes, this.lastZxid, sessionId, request, (kind, path) => {
      // Counted so that processLocal can answer QUOTA_EXCEEDED past the session's limit.
      if (!this.watchManager.add(kind, path, sessionId)) this.watchesRefused++;
    });
  }

  /** dropWatches removes every watch of a session (its connection to this server closed; the session may live on elsewhere). */
  dropWatches(sessionId: SessionId): void {
    this.watchManager.dropSession(sessionId);
  }

  // -------------------------------------------------------------------------------------------
  // Containers and TTL znodes: the leader deletes them with transactions it issues.

  /** emptyContainers lists containers that had children (cversion > 0) and have none now, sorted (ZooKeeper's ContainerManager). */
  emptyContainers(): string[] {
    return this.indexes.emptyContainers(this.nodes);
  }

  /** expiredTtlNodes lists childless TTL znodes not modified for longer than their TTL (nowMs - mtime > ttlMs), sorted. */
  expiredTtlNodes(nowMs: number): string[] {
    return this.indexes.expiredTtlNodes(this.nodes, nowMs);
  }

  /** expiredNodes is emptyContainers() and expiredTtlNodes(nowMs) together, sorted: what the leader should delete now. */
  expiredNodes(nowMs: number): string[] {
    return [...this.emptyContainers(), ...this.expiredTtlNodes(nowMs)].sort();
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots.

  /** snapshotHeader is the header of a snapshot started now: records follow from {@link snapshotRecords}. */
  snapshotHeader(timeMs: number): SnapshotHeader {
    return { zxid: this.lastZxid, timeMs };
  }

  /** snapshotRecords yields every znode, parents first, then every session; fuzzy-safe (see {@link snapshotRecordsOf}). */
  *snapshotRecords(): Generator<SnapshotRecord> {
    yield* snapshotRecordsOf(this.nodes, this.sessionRecords, this.acls);
  }

  /**
   * fromSnapshot builds a tree from a snapshot's header and records (as {@link snapshotRecords}
   * yields them: a node's parent before it). lastProcessedZxid is the header's zxid; replay the log
   * entries above it to catch up. Throws on a record whose parent is missing or a duplicate path.
   * `recordsHint` (by default the records' `length`, when they have one: an array, a snapshot
   * file's records) sizes the node table once instead of growing it as records come. Records that
   * are a {@link SnapshotImage} (what FileStorage recovers) are adopted, not copied: the image is
   * the tree's afterwards.
   */
  static fromSnapshot(
    header: SnapshotHeader,
    records: Iterable<SnapshotRecord> & { readonly length?: number },
    recordsHint = records.length ?? 0,
  ): DataTree {
    if (SnapshotImage.isInstance(records)) return DataTree.fromImage(header, records, recordsHint);
    const tree = new DataTree();
    const nodes = tree.nodes;
    nodes.reserve(recordsHint + 2);
    // / and /zookeeper exist in a fresh tree; the records set them (once each) rather than insert them.
    let rootSeen = false;
    let systemSeen = false;
    // Siblings come together after their parent: the last parent found is nearly always the next one's.
    let lastParent = '';
    let lastParentSlot = -1;
    for (const record of records) {
      if (record.kind === 'session') {
        tree.sessionRecords.set(record.sessionId, { timeoutMs: record.timeoutMs, password: record.password.slice() });
        continue;
      }
      // The membership record is Zab's (zab/membership.ts); the tree machine reads it for /zookeeper/config.
      if (record.kind === 'config') continue;
      const path = record.path;
      const reason = validatePath(path);
      if (reason !== null) throw new Error(`snapshot record with invalid path ${JSON.stringify(path)}: ${reason}`);
      let slot: number;
      if (path === '/' || path === SYSTEM_PATH) {
        if (path === '/' ? rootSeen : systemSeen) throw new Error(`snapshot holds ${path} twice`);
        if (path === '/') rootSeen = true;
        else if (!rootSeen) throw new Error(`snapshot record ${path} comes before its parent`);
        else systemSeen = true;
        slot = nodes.slotOf(path);
        nodes.values.set(slot, record.data);
        const previous = nodes.aclRefs[slot]!;
        nodes.aclRefs[slot] = tree.acls.acquire(record.acl);
        tree.acls.release(previous);
      } else {
        if (!rootSeen) throw new Error(`snapshot record ${path} comes before its parent`);
        const parent = parentPath(path);
        if (parent !== lastParent) {
          lastParentSlot = nodes.slotOf(parent);
          lastParent = parent;
          // /zookeeper is in a fresh tree: it is a parent only once its own record came.
          if (lastParentSlot < 0 || (parent === SYSTEM_PATH && !systemSeen)) {
            throw new Error(`snapshot record ${path} comes before its parent`);
          }
        }
        slot = nodes.insertIfAbsent(path, lastParentSlot, {
          data: record.data,
          zxid: record.czxid,
          timeMs: record.ctime,
          ephemeralOwner: record.ephemeralOwner,
          container: record.container,
          ttlMs: record.ttlMs,
          aclRef: tree.acls.acquire(record.acl),
        });
        // The tree is thrown away with the error: the reference just acquired need not be released.
        if (slot < 0) throw new Error(`snapshot holds ${path} twice`);
      }
      restoreStat(nodes, slot, record);
      tree.indexes.add(path, record.ephemeralOwner, record.container, record.ttlMs);
    }
    if (!rootSeen) throw new Error('snapshot has no root record');
    tree.lastZxid = header.zxid;
    return tree;
  }

  /**
   * fromImage builds a tree around a SnapshotImage's node table: each znode is checked (its path,
   * its parent before it, no path twice) and indexed and linked in its slot, as fromSnapshot does
   * for records, with nothing copied. `/` and `/zookeeper` keep a plain znode's flags, as they do
   * there; a snapshot without `/zookeeper` gets a fresh one.
   */
  private static fromImage(header: SnapshotHeader, image: SnapshotImage, slotsHint: number): DataTree {
    const tree = new DataTree();
    const { nodes, acls, nodeCount, others } = image.adopt();
    nodes.reserve(Math.max(slotsHint, nodeCount) + 2);
    tree.nodes = nodes;
    tree.acls = acls;
    tree.applier = new TxnApplier(nodes, acls, tree.indexes, tree.watchManager, tree.sessionRecords);
    const paths = nodes.paths;
    let rootSlot = -1;
    let systemSeen = false;
    // Siblings come together after their parent: the last parent found is nearly always the next
    // one's. Paths are read as the bytes the table keeps: no string per znode (path-bytes.ts).
    let lastParentSlot = -1;
    let lastParentLength = -1;
    for (let slot = 0; slot < nodeCount; slot++) {
      const bytes = paths.arrayOf(slot);
      const start = paths.startOf(slot);
      const length = paths.length(slot);
      const reason = validatePathBytes(bytes, start, length);
      if (reason !== null) {
        throw new Error(`snapshot record with invalid path ${JSON.stringify(nodes.pathOf(slot))}: ${reason}`);
      }
      let parentSlot: number;
      if (length === 1) {
        // A valid path of one byte is /.
        if (rootSlot >= 0) throw new Error('snapshot holds / twice');
        rootSlot = slot;
        parentSlot = -1;
        nodes.clearSpecial(slot);
      } else {
        if (rootSlot < 0) throw new Error(`snapshot record ${nodes.pathOf(slot)} comes before its parent`);
        let slash = start + length - 1;
        while (bytes[slash] !== 0x2f) slash--;
        const parentLength = slash === start ? 1 : slash - start;
        if (parentLength !== lastParentLength || !paths.matches(lastParentSlot, bytes, start, parentLength)) {
          lastParentSlot = nodes.slotOfBytes(bytes, start, parentLength);
          lastParentLength = parentLength;
          if (lastParentSlot < 0) throw new Error(`snapshot record ${nodes.pathOf(slot)} comes before its parent`);
        }
        parentSlot = lastParentSlot;
        if (length === SYSTEM_PATH_BYTES.length && matchesBytes(bytes, start, SYSTEM_PATH_BYTES)) {
          if (systemSeen) throw new Error(`snapshot holds ${SYSTEM_PATH} twice`);
          systemSeen = true;
          nodes.clearSpecial(slot);
        }
      }
      if (!nodes.link(slot, parentSlot)) throw new Error(`snapshot holds ${nodes.pathOf(slot)} twice`);
      const owner = nodes.ownerOf(slot);
      const container = nodes.isContainer(slot);
      const ttlMs = nodes.ttlOf(slot);
      // The indexes hold only special znodes: the path string is made for those alone.
      if (owner !== 0 || container || ttlMs > 0) tree.indexes.add(nodes.pathOf(slot), owner, container, ttlMs);
    }
    if (rootSlot < 0) throw new Error('snapshot has no root record');
    if (!systemSeen) {
      nodes.insert(SYSTEM_PATH, rootSlot, FRESH_NODE);
    }
    for (const record of others) {
      if (record.kind === 'session') {
        tree.sessionRecords.set(record.sessionId, { timeoutMs: record.timeoutMs, password: record.password.slice() });
      }
    }
    tree.lastZxid = header.zxid;
    return tree;
  }
}
