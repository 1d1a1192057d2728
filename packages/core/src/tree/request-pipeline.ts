import type {
  ACL,
  AuthId,
  CheckRequest,
  CheckTxn,
  CloseSessionTxn,
  CreateRequest,
  CreateSessionTxn,
  CreateTxn,
  DeleteRequest,
  DeleteTxn,
  ErrorCode,
  ErrorTxn,
  MultiRequest,
  MultiTxn,
  MultiTxnOp,
  SessionId,
  SetACLRequest,
  SetACLTxn,
  SetDataRequest,
  SetDataTxn,
  Txn,
  WriteRequest,
} from '../types.js';
import { CreateMode, OPEN_ACL_UNSAFE, Perms } from '../types.js';
import { formatZxid, type Zxid } from '../zxid.js';
import { checkAcl, fixupAcl, NO_AUTH_IDS } from './acl.js';
import type { DataTree } from './data-tree.js';
import { formatSequence, isSystemPath, parentPath, validateCreatePath, validatePath } from './path-utils.js';
import type { SessionTracker } from './session-tracker.js';

/** DATA_BYTES_MAX_DEFAULT is the default limit on one znode's data: 1 MiB, as ZooKeeper's jute.maxbuffer. */
export const DATA_BYTES_MAX_DEFAULT = 1024 * 1024;
/** TTL_MS_MAX is the largest TTL ZooKeeper accepts (EphemeralType.TTL: 40 bits of milliseconds). */
export const TTL_MS_MAX = 2 ** 40 - 1;

export interface RequestPipelineOptions {
  /** dataBytesMax refuses data (per znode, and in total per multi) above it with BAD_ARGUMENTS; default 1 MiB. */
  dataBytesMax?: number;
}

/**
 * ChangeRecord is ZooKeeper's ChangeRecord: the state a path will have once a proposed, not yet
 * committed transaction is applied (`exists: false` for a pending delete).
 */
interface ChangeRecord {
  /** zxid of the proposal that made this change; PENDING until noteProposed. */
  zxid: number;
  path: string;
  exists: boolean;
  version: number;
  cversion: number;
  numChildren: number;
  ephemeralOwner: SessionId;
  container: boolean;
  ttlMs: number;
  mtime: number;
  aversion: number;
  acl: readonly ACL[];
}

const PENDING = -1;

class PrepError {
  constructor(readonly code: ErrorCode) {}
}

function fail(code: ErrorCode): never {
  throw new PrepError(code);
}

function errorTxn(code: ErrorCode): ErrorTxn {
  return { type: 'error', code };
}

const SEQUENTIAL_MODES: ReadonlySet<number> = new Set([
  CreateMode.PERSISTENT_SEQUENTIAL,
  CreateMode.EPHEMERAL_SEQUENTIAL,
  CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
]);
const TTL_MODES: ReadonlySet<number> = new Set([
  CreateMode.PERSISTENT_WITH_TTL,
  CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
]);
const CREATE_MODES: ReadonlySet<number> = new Set(Object.values(CreateMode));

/**
 * RequestPipeline is ZooKeeper's PrepRequestProcessor, run by the leader: it turns a client's
 * write request into the transaction to propose, checked against the tree plus the outstanding
 * changes (proposed, not yet applied), or into an ErrorTxn (a failed multi into a MultiTxn of
 * ErrorTxns: the failing op its code, the others RUNTIME_INCONSISTENCY).
 *
 * The host loop, per write request:
 * 1. `txn = pipeline.prepare(sessionId, cxid, request, timeMs)`;
 * 2. assign the next zxid and call `pipeline.noteProposed(zxid, txn)` (or `discardPrepared()`
 *    if it will not be proposed) before the next prepare;
 * 3. after `tree.applyTxn(entry)` of a committed entry, call `pipeline.noteApplied(entry.zxid)`.
 * Error transactions are proposed like the others (ZooKeeper logs them too), which keeps each
 * session's replies in order.
 */
export class RequestPipeline {
  readonly dataBytesMax: number;
  private readonly outstanding = new Map<string, ChangeRecord>();
  /** proposed holds change records in zxid order, for noteApplied. */
  private proposed: ChangeRecord[] = [];
  private proposedHead = 0;
  private lastProposedZxid: Zxid = -1;
  /** The txn of the last prepare and the records it staged, with the values they replaced. */
  private stagedTxn: Txn | null = null;
  private staged: { record: ChangeRecord; previous: ChangeRecord | undefined }[] = [];
  private stagedClosing: SessionId | null = null;

  constructor(
    private readonly tree: DataTree,
    private readonly sessions: SessionTracker,
    options: RequestPipelineOptions = {},
  ) {
    this.dataBytesMax = options.dataBytesMax ?? DATA_BYTES_MAX_DEFAULT;
    if (!(Number.isInteger(this.dataBytesMax) && this.dataBytesMax >= 0)) {
      throw new RangeError(`dataBytesMax must be a non-negative integer: ${options.dataBytesMax}`);
    }
  }

  /** outstandingCount is the number of paths with a proposed, not yet applied change. */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /**
   * prepare checks a write request of a live session and returns the transaction to propose.
   * (Session liveness in time is the Zab leader's: zab/sessions.ts.) `cxid` only labels assertion
   * messages: the LogEntry carries it. `auth` are the ids the requesting connection holds: the
   * znodes' ACLs are checked against them here, where the write is prepared (as ZooKeeper's
   * PrepRequestProcessor), and `auth` entries of a new ACL are expanded to them.
   */
  prepare(
    sessionId: SessionId,
    cxid: number,
    request: WriteRequest,
    timeMs: number,
    auth: readonly AuthId[] = NO_AUTH_IDS,
  ): Txn {
    this.beginPrepare(`prepare(session ${sessionId}, cxid ${cxid})`);
    const sessionError = this.sessions.checkSession(sessionId);
    if (sessionError !== null) return this.finishPrepare(errorTxn(sessionError));
    try {
      switch (request?.op) {
        case 'create':
          return this.finishPrepare(this.prepCreate(sessionId, request, timeMs, 0, auth).txn);
        case 'delete':
          return this.finishPrepare(this.prepDelete(request, auth));
        case 'setData':
          return this.finishPrepare(this.prepSetData(request, timeMs, 0, auth));
        case 'setACL':
          return this.finishPrepare(this.prepSetAcl(request, auth));
        case 'multi':
          return this.finishPrepare(this.prepMulti(sessionId, request, timeMs, auth));
        case 'closeSession':
          return this.finishPrepare(this.prepCloseSession(sessionId));
        default:
          return this.finishPrepare(errorTxn('UNIMPLEMENTED'));
      }
    } catch (error) {
      if (!(error instanceof PrepError)) throw error;
      this.rollback(0);
      return this.finishPrepare(errorTxn(error.code));
    }
  }

  /**
   * prepareCreateSession tracks a new session as live and returns its CreateSessionTxn; the caller
   * chose the id and negotiated the timeout (zab/sessions.ts: the id is the zxid the transaction
   * will have). noteProposed/discardPrepared follow as for prepare.
   */
  prepareCreateSession(sessionId: SessionId, timeoutMs: number, password: Uint8Array): CreateSessionTxn {
    this.beginPrepare('prepareCreateSession');
    this.sessions.addSession(sessionId, timeoutMs);
    return this.finishPrepare({ type: 'createSession', sessionId, timeoutMs, password });
  }

  /**
   * prepareCloseSession returns the CloseSessionTxn for a session the leader closes itself (an
   * expired one, zab/sessions.ts): its ephemerals, as the tree plus outstanding changes
   * will hold them, are deleted in that one transaction.
   */
  prepareCloseSession(sessionId: SessionId): CloseSessionTxn {
    this.beginPrepare(`prepareCloseSession(${sessionId})`);
    return this.finishPrepare(this.prepCloseSession(sessionId));
  }

  /**
   * prepareExpiredNodeDelete returns the DeleteTxn for a container without children that had some
   * (cversion > 0), or a childless TTL znode not modified for longer than its TTL, as the tree plus
   * outstanding changes stand; null (nothing to propose, nothing staged) when the path no longer
   * qualifies. Paths come from DataTree.expiredNodes(nowMs).
   */
  prepareExpiredNodeDelete(path: string, timeMs: number): DeleteTxn | null {
    const node = this.getRecord(path);
    if (node === null || node.numChildren !== 0 || isSystemPath(path) || path === '/') return null;
    const expired = node.container ? node.cversion > 0 : node.ttlMs > 0 && timeMs - node.mtime > node.ttlMs;
    if (!expired) return null;
    this.beginPrepare(`prepareExpiredNodeDelete(${path})`);
    // The leader's own delete: no ACL stands in its way (ZooKeeper's container manager runs as the server).
    return this.finishPrepare(this.prepDelete({ op: 'delete', path, version: -1 }, null));
  }

  /** noteProposed records the prepared txn's changes as outstanding under the zxid it was proposed with. */
  noteProposed(zxid: Zxid, txn: Txn): void {
    if (this.stagedTxn === null || txn !== this.stagedTxn) {
      throw new Error('noteProposed: txn is not the one prepared last');
    }
    if (!(zxid > this.lastProposedZxid)) {
      throw new Error(`noteProposed: zxid ${formatZxid(zxid)} after ${formatZxid(this.lastProposedZxid)}`);
    }
    this.lastProposedZxid = zxid;
    for (const { record } of this.staged) {
      record.zxid = zxid;
      this.proposed.push(record);
    }
    this.clearStage();
  }

  /** discardPrepared undoes the last prepare (the leader will not propose it). */
  discardPrepared(): void {
    if (this.stagedTxn === null) return;
    this.rollback(0);
    if (this.stagedClosing !== null) this.sessions.setClosing(this.stagedClosing, false);
    this.clearStage();
  }

  /** noteApplied drops the outstanding changes of every proposal up to `zxid`, now in the tree. */
  noteApplied(zxid: Zxid): void {
    while (this.proposedHead < this.proposed.length && this.proposed[this.proposedHead]!.zxid <= zxid) {
      const record = this.proposed[this.proposedHead++]!;
      if (this.outstanding.get(record.path) === record) this.outstanding.delete(record.path);
    }
    if (this.proposedHead > 1024 && this.proposedHead * 2 > this.proposed.length) {
      this.proposed = this.proposed.slice(this.proposedHead);
      this.proposedHead = 0;
    }
  }

  // -------------------------------------------------------------------------------------------

  private beginPrepare(what: string): void {
    if (this.stagedTxn !== null) {
      throw new Error(`${what}: the previous prepared txn was neither noteProposed nor discardPrepared`);
    }
  }

  private finishPrepare<T extends Txn>(txn: T): T {
    this.stagedTxn = txn;
    return txn;
  }

  private clearStage(): void {
    this.stagedTxn = null;
    this.staged = [];
    this.stagedClosing = null;
  }

  /** rollback undoes staged changes down to `mark` (a multi's failed ops). */
  private rollback(mark: number): void {
    for (let i = this.staged.length - 1; i >= mark; i--) {
      const { record, previous } = this.staged[i]!;
      if (previous === undefined) this.outstanding.delete(record.path);
      else this.outstanding.set(record.path, previous);
    }
    this.staged.length = mark;
  }

  private addChange(record: ChangeRecord): void {
    this.staged.push({ record, previous: this.outstanding.get(record.path) });
    this.outstanding.set(record.path, record);
  }

  /** getRecord is the state of a path once every outstanding change is applied, or null if it will not exist. */
  private getRecord(path: string): ChangeRecord | null {
    const pending = this.outstanding.get(path);
    if (pending !== undefined) return pending.exists ? pending : null;
    const info = this.tree.describe(path);
    if (info === null) return null;
    return {
      zxid: info.stat.mzxid,
      path,
      exists: true,
      version: info.stat.version,
      cversion: info.stat.cversion,
      numChildren: info.stat.numChildren,
      ephemeralOwner: info.stat.ephemeralOwner,
      container: info.container,
      ttlMs: info.ttlMs,
      mtime: info.stat.mtime,
      aversion: info.stat.aversion,
      acl: info.acl,
    };
  }

  /** requirePerm fails with NO_AUTH unless `auth` holds one of the `perm` bits on `record` (null `auth`: the leader itself). */
  private requirePerm(record: ChangeRecord, perm: number, auth: readonly AuthId[] | null): void {
    if (auth !== null && !checkAcl(record.acl, perm, auth)) fail('NO_AUTH');
  }

  /** requireAcl is fixupAcl or INVALID_ACL. */
  private requireAcl(acl: readonly ACL[], auth: readonly AuthId[]): ACL[] {
    return fixupAcl(acl, auth) ?? fail('INVALID_ACL');
  }

  private requireRecord(path: string): ChangeRecord {
    return this.getRecord(path) ?? fail('NO_NODE');
  }

  private checkData(data: Uint8Array): number {
    if (!(data instanceof Uint8Array)) fail('BAD_ARGUMENTS');
    if (data.length > this.dataBytesMax) fail('BAD_ARGUMENTS');
    return data.length;
  }

  /** checkVersion is ZooKeeper's checkAndIncVersion: -1 matches any version; returns the next version (a Java int). */
  private checkVersion(current: number, expected: number): number {
    if (!Number.isInteger(expected)) fail('BAD_ARGUMENTS');
    if (expected !== -1 && expected !== current) fail('BAD_VERSION');
    return (current + 1) | 0;
  }

  private prepCreate(
    sessionId: SessionId,
    request: CreateRequest,
    timeMs: number,
    multiBytes: number,
    auth: readonly AuthId[],
  ): { txn: CreateTxn; bytes: number } {
    const mode = request.mode;
    if (!CREATE_MODES.has(mode)) fail('BAD_ARGUMENTS');
    const sequential = SEQUENTIAL_MODES.has(mode);
    const ephemeral = mode === CreateMode.EPHEMERAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL;
    if (validateCreatePath(request.path, sequential) !== null) fail('INVALID_PATH');
    const ttlMs = request.ttlMs ?? 0;
    if (TTL_MODES.has(mode)) {
      if (!(Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= TTL_MS_MAX)) fail('BAD_ARGUMENTS');
    } else if (ttlMs !== 0) fail('BAD_ARGUMENTS');
    if (ephemeral && sessionId === 0) fail('BAD_ARGUMENTS');
    const bytes = this.checkData(request.data);
    if (multiBytes + bytes > this.dataBytesMax) fail('BAD_ARGUMENTS');
    if (isSystemPath(sequential ? `${request.path}0` : request.path)) fail('NO_AUTH');
    const acl = this.requireAcl(request.acl ?? OPEN_ACL_UNSAFE, auth);
    const parent = this.requireRecord(parentPath(request.path));
    this.requirePerm(parent, Perms.CREATE, auth);
    const path = sequential ? request.path + formatSequence(parent.cversion) : request.path;
    if (validatePath(path) !== null) fail('INVALID_PATH');
    if (this.getRecord(path) !== null) fail('NODE_EXISTS');
    if (parent.ephemeralOwner !== 0) fail('NO_CHILDREN_FOR_EPHEMERALS');
    const parentCversion = (parent.cversion + 1) | 0;
    const ephemeralOwner = ephemeral ? sessionId : 0;
    const container = mode === CreateMode.CONTAINER;
    this.addChange({ ...parent, zxid: PENDING, cversion: parentCversion, numChildren: parent.numChildren + 1 });
    this.addChange({
      zxid: PENDING,
      path,
      exists: true,
      version: 0,
      cversion: 0,
      numChildren: 0,
      ephemeralOwner,
      container,
      ttlMs,
      mtime: timeMs,
      aversion: 0,
      acl,
    });
    return {
      txn: { type: 'create', path, data: request.data, ephemeralOwner, container, ttlMs, parentCversion, acl },
      bytes,
    };
  }

  private prepDelete(request: DeleteRequest, auth: readonly AuthId[] | null): DeleteTxn {
    const path = request.path;
    if (validatePath(path) !== null) fail('INVALID_PATH');
    if (path === '/') fail('BAD_ARGUMENTS');
    if (isSystemPath(path)) fail('NO_AUTH');
    const parent = this.requireRecord(parentPath(path));
    this.requirePerm(parent, Perms.DELETE, auth);
    const node = this.requireRecord(path);
    this.checkVersion(node.version, request.version);
    if (node.numChildren > 0) fail('NOT_EMPTY');
    this.addChange({ ...parent, zxid: PENDING, numChildren: parent.numChildren - 1 });
    this.addChange({ ...node, zxid: PENDING, exists: false });
    return { type: 'delete', path };
  }

  private prepSetData(
    request: SetDataRequest,
    timeMs: number,
    multiBytes: number,
    auth: readonly AuthId[],
  ): SetDataTxn {
    const path = request.path;
    if (validatePath(path) !== null) fail('INVALID_PATH');
    if (isSystemPath(path)) fail('NO_AUTH');
    const bytes = this.checkData(request.data);
    if (multiBytes + bytes > this.dataBytesMax) fail('BAD_ARGUMENTS');
    const node = this.requireRecord(path);
    this.requirePerm(node, Perms.WRITE, auth);
    const version = this.checkVersion(node.version, request.version);
    this.addChange({ ...node, zxid: PENDING, version, mtime: timeMs });
    return { type: 'setData', path, data: request.data, version };
  }

  /** prepSetAcl: ADMIN on the znode, a valid list, the expected aversion (ZooKeeper's setACL prep). */
  private prepSetAcl(request: SetACLRequest, auth: readonly AuthId[]): SetACLTxn {
    const path = request.path;
    if (validatePath(path) !== null) fail('INVALID_PATH');
    if (isSystemPath(path)) fail('NO_AUTH');
    const acl = this.requireAcl(request.acl, auth);
    const node = this.requireRecord(path);
    this.requirePerm(node, Perms.ADMIN, auth);
    const version = this.checkVersion(node.aversion, request.version);
    this.addChange({ ...node, zxid: PENDING, aversion: version, acl });
    return { type: 'setACL', path, acl, version };
  }

  private prepCheck(request: CheckRequest, auth: readonly AuthId[]): CheckTxn {
    if (validatePath(request.path) !== null) fail('INVALID_PATH');
    const node = this.requireRecord(request.path);
    this.requirePerm(node, Perms.READ, auth);
    this.checkVersion(node.version, request.version);
    return { type: 'check', path: request.path, version: node.version };
  }

  private prepMulti(sessionId: SessionId, request: MultiRequest, timeMs: number, auth: readonly AuthId[]): MultiTxn {
    if (!Array.isArray(request.ops)) fail('BAD_ARGUMENTS');
    const txns: MultiTxnOp[] = [];
    let bytes = 0;
    for (let i = 0; i < request.ops.length; i++) {
      const op = request.ops[i]!;
      try {
        switch (op?.op) {
          case 'create': {
            const prepared = this.prepCreate(sessionId, op, timeMs, bytes, auth);
            bytes += prepared.bytes;
            txns.push(prepared.txn);
            break;
          }
          case 'delete':
            txns.push(this.prepDelete(op, auth));
            break;
          case 'setData': {
            const txn = this.prepSetData(op, timeMs, bytes, auth);
            bytes += txn.data.length;
            txns.push(txn);
            break;
          }
          case 'check':
            txns.push(this.prepCheck(op, auth));
            break;
          default:
            // Reads and anything else do not belong in a multi (ZooKeeper rejects mixing them).
            fail('BAD_ARGUMENTS');
        }
      } catch (error) {
        if (!(error instanceof PrepError)) throw error;
        this.rollback(0);
        return {
          type: 'multi',
          txns: request.ops.map((_, j) => errorTxn(j === i ? error.code : 'RUNTIME_INCONSISTENCY')),
        };
      }
    }
    return { type: 'multi', txns };
  }

  private prepCloseSession(sessionId: SessionId): CloseSessionTxn {
    // ZooKeeper's closeSession prep: the tree's ephemerals of the session, adjusted by the
    // outstanding changes (pending creates add, pending deletes remove).
    const paths = new Set(this.tree.ephemeralsOf(sessionId));
    for (const record of this.outstanding.values()) {
      if (!record.exists) paths.delete(record.path);
      else if (record.ephemeralOwner === sessionId) paths.add(record.path);
    }
    const sorted = [...paths].sort();
    for (const path of sorted) {
      const parent = this.getRecord(parentPath(path));
      if (parent !== null) this.addChange({ ...parent, zxid: PENDING, numChildren: parent.numChildren - 1 });
      const node = this.getRecord(path)!;
      this.addChange({ ...node, zxid: PENDING, exists: false });
    }
    this.sessions.setClosing(sessionId, true);
    this.stagedClosing = sessionId;
    return { type: 'closeSession', sessionId, paths: sorted };
  }
}
