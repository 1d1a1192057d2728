import type {
  CloseSessionTxn,
  CreateResult,
  CreateTxn,
  ErrorCode,
  ErrorResult,
  MultiOpResult,
  MultiTxn,
  Result,
  SessionId,
  SetACLResult,
  SetACLTxn,
  SetDataResult,
  SetDataTxn,
  Stat,
  Txn,
} from '../types.js';
import type { Zxid } from '../zxid.js';
import type { AclCache } from './acl-cache.js';
import type { NodeIndexes } from './node-indexes.js';
import { type SessionState, statOf } from './node-records.js';
import {
  AVERSION,
  CVERSION,
  F_ROW,
  MTIME,
  MZXID,
  type NodeTable,
  NUM_CHILDREN,
  OWNER,
  PARENT,
  PZXID,
  ROW,
  VERSION,
} from './node-table.js';
import { parentPath, SYSTEM_PATH } from './path-utils.js';
import type { WatchManager, WatchTrigger } from './watch-manager.js';

/** TxnOutcome is what one transaction answers: a result, or an error (informational on replay). */
export type TxnOutcome = { error: ErrorCode | null; result: Result | null };
type OpOutcome = TxnOutcome;
type SubOpOutcome = { error: ErrorCode | null; result: Exclude<MultiOpResult, ErrorResult> | null };

function errorResult(code: ErrorCode): ErrorResult {
  return { op: 'error', code };
}

/**
 * TxnApplier is the write half of the DataTree: it applies committed transactions to the tree's
 * parts (the node table, the ACL cache, the indexes, the watches to fire, the sessions),
 * deterministically and idempotently (see DataTree.applyTxn). The DataTree keeps the order check
 * and lastProcessedZxid; reads and snapshots stay there.
 */
export class TxnApplier {
  constructor(
    private readonly nodes: NodeTable,
    private readonly acls: AclCache,
    private readonly indexes: NodeIndexes,
    private readonly watchManager: WatchManager,
    private readonly sessionRecords: Map<SessionId, SessionState>,
  ) {}

  /** apply applies one transaction at `zxid`, appending the watches it fires to `out`. */
  apply(txn: Txn, zxid: Zxid, timeMs: number, out: WatchTrigger[]): TxnOutcome {
    let outcome: TxnOutcome;
    switch (txn.type) {
      case 'setData':
        outcome = this.applySetData(txn, zxid, timeMs, out);
        break;
      case 'create':
        outcome = this.applyCreate(txn, zxid, timeMs, out);
        break;
      case 'delete':
        outcome = this.applyDelete(txn.path, zxid, out);
        break;
      case 'setACL':
        outcome = this.applySetAcl(txn);
        break;
      case 'multi':
        outcome = this.applyMulti(txn, zxid, timeMs, out);
        break;
      case 'createSession':
        if (!(txn.timeoutMs > 0)) throw new Error(`createSession with timeout ${txn.timeoutMs}`);
        this.sessionRecords.set(txn.sessionId, { timeoutMs: txn.timeoutMs, password: txn.password.slice() });
        outcome = { error: null, result: null };
        break;
      case 'closeSession':
        outcome = this.applyCloseSession(txn, zxid, out);
        break;
      case 'error':
        outcome = { error: txn.code, result: null };
        break;
      case 'reconfig':
        // The membership is Zab's (zab/membership.ts); the tree machine shows it at /zookeeper/config.
        // A client that asked for it learns the new version (the reconfig's zxid); watchers of the
        // configuration nodes learn of the change (ZooKeeper fires NodeDataChanged on /zookeeper/config).
        this.watchManager.triggerDataChanged('/zookeeper/config', zxid, out);
        this.watchManager.triggerDataChanged('/zookeeper/members', zxid, out);
        outcome = { error: null, result: { op: 'reconfig', version: zxid } };
        break;
      default:
        throw new Error(`applyTxn: unknown transaction type ${(txn as { type: unknown }).type}`);
    }
    return outcome;
  }

  private statOf(slot: number): Stat {
    return statOf(this.nodes, slot);
  }

  private applyCreate(txn: CreateTxn, zxid: Zxid, timeMs: number, out: WatchTrigger[]): SubOpOutcome {
    const path = txn.path;
    if (path === '/') return { error: 'NODE_EXISTS', result: null };
    const nodes = this.nodes;
    const parentSlot = nodes.slotOf(parentPath(path));
    if (parentSlot < 0) return { error: 'NO_NODE', result: null };
    // Serial-number comparison so the fix-up keeps working after the signed 32-bit cversion wraps.
    const raisesCversion = ((txn.parentCversion - nodes.i[parentSlot * ROW + CVERSION]!) | 0) > 0;
    if (nodes.slotOf(path) >= 0) {
      // Replay over a fuzzy snapshot (ZooKeeper's processTxn NODEEXISTS fix-up).
      if (raisesCversion) {
        nodes.i[parentSlot * ROW + CVERSION] = txn.parentCversion;
        nodes.f[parentSlot * F_ROW + PZXID] = zxid;
      }
      return { error: 'NODE_EXISTS', result: null };
    }
    const slot = nodes.insert(path, parentSlot, {
      data: txn.data,
      zxid,
      timeMs,
      ephemeralOwner: txn.ephemeralOwner,
      container: txn.container,
      ttlMs: txn.ttlMs,
      aclRef: this.acls.acquire(txn.acl),
    });
    if (raisesCversion) {
      nodes.i[parentSlot * ROW + CVERSION] = txn.parentCversion;
      nodes.f[parentSlot * F_ROW + PZXID] = zxid;
    }
    this.indexes.add(path, txn.ephemeralOwner, txn.container, txn.ttlMs);
    this.watchManager.triggerCreated(path, zxid, out);
    const result: CreateResult = { op: 'create', path, stat: this.statOf(slot) };
    return { error: null, result };
  }

  private applySetData(txn: SetDataTxn, zxid: Zxid, timeMs: number, out: WatchTrigger[]): SubOpOutcome {
    const nodes = this.nodes;
    const slot = nodes.slotOf(txn.path);
    if (slot < 0) return { error: 'NO_NODE', result: null };
    nodes.values.set(slot, txn.data);
    nodes.i[slot * ROW + VERSION] = txn.version;
    nodes.f[slot * F_ROW + MZXID] = zxid;
    nodes.f[slot * F_ROW + MTIME] = timeMs;
    this.watchManager.triggerDataChanged(txn.path, zxid, out);
    const result: SetDataResult = { op: 'setData', stat: this.statOf(slot) };
    return { error: null, result };
  }

  /** applySetAcl replaces a znode's access list and sets its aversion; it fires no watch (as ZooKeeper). */
  private applySetAcl(txn: SetACLTxn): OpOutcome {
    const nodes = this.nodes;
    const slot = nodes.slotOf(txn.path);
    if (slot < 0) return { error: 'NO_NODE', result: null };
    const previous = nodes.aclRefs[slot]!;
    nodes.aclRefs[slot] = this.acls.acquire(txn.acl);
    this.acls.release(previous);
    nodes.i[slot * ROW + AVERSION] = txn.version;
    const result: SetACLResult = { op: 'setACL', stat: this.statOf(slot) };
    return { error: null, result };
  }

  private applyDelete(path: string, zxid: Zxid, out: WatchTrigger[]): SubOpOutcome {
    const nodes = this.nodes;
    const slot = nodes.slotOf(path);
    if (slot < 0) {
      this.raisePzxidOfParent(path, zxid);
      return { error: 'NO_NODE', result: null };
    }
    if (path === '/' || path === SYSTEM_PATH) throw new Error(`applyTxn: delete of ${path}`);
    // A live delete is always of a childless znode (the pipeline checks NOT_EMPTY). Replay over a
    // fuzzy snapshot can meet children that were created later: they go too, and their own create
    // transactions, later in the log, bring them back.
    const subtree = [slot];
    for (let i = 0; i < subtree.length; i++) {
      for (const child of nodes.childSlots(subtree[i]!)) subtree.push(child);
    }
    for (let i = subtree.length - 1; i >= 0; i--) this.removeNode(subtree[i]!, zxid, out);
    return { error: null, result: { op: 'delete' } };
  }

  /**
   * raisePzxidOfParent: a delete replayed over a fuzzy snapshot may find its znode already gone
   * (the snapshot read the parent before the delete and the child after it). The live tree set the
   * parent's pzxid to this zxid; so does the replay, or the replica's Stat would differ
   * (ZooKeeper's ZOOKEEPER-3145). Live, a delete of a missing znode never reaches the tree.
   */
  private raisePzxidOfParent(path: string, zxid: Zxid): void {
    if (path === '/') return;
    const parentSlot = this.nodes.slotOf(parentPath(path));
    if (parentSlot >= 0 && zxid > this.nodes.f[parentSlot * F_ROW + PZXID]!)
      this.nodes.f[parentSlot * F_ROW + PZXID] = zxid;
  }

  private removeNode(slot: number, zxid: Zxid, out: WatchTrigger[]): void {
    const nodes = this.nodes;
    const path = nodes.pathOf(slot);
    const parentSlot = nodes.i[slot * ROW + PARENT]!;
    // Only raise pzxid: a replayed delete must not lower a pzxid set by a later create (ZooKeeper's deleteNode).
    if (zxid > nodes.f[parentSlot * F_ROW + PZXID]!) nodes.f[parentSlot * F_ROW + PZXID] = zxid;
    this.indexes.remove(path, nodes.f[slot * F_ROW + OWNER]!, nodes.isContainer(slot), nodes.ttlOf(slot));
    this.acls.release(nodes.aclRefs[slot]!);
    nodes.remove(slot);
    this.watchManager.triggerDeleted(path, zxid, out);
  }

  private applyMulti(txn: MultiTxn, zxid: Zxid, timeMs: number, out: WatchTrigger[]): OpOutcome {
    const results: MultiOpResult[] = [];
    // A multi that failed in the pipeline carries an ErrorTxn: nothing is applied, every op reports
    // an error (its own code, or RUNTIME_INCONSISTENCY), as ZooKeeper's DataTree.processTxn.
    let failedCode: ErrorCode | null = null;
    for (const op of txn.txns) {
      if (op.type === 'error' && (failedCode === null || failedCode === 'RUNTIME_INCONSISTENCY')) failedCode = op.code;
    }
    if (failedCode !== null) {
      for (const op of txn.txns) results.push(errorResult(op.type === 'error' ? op.code : 'RUNTIME_INCONSISTENCY'));
      return { error: failedCode, result: { op: 'multi', results } };
    }
    let firstError: ErrorCode | null = null;
    for (const op of txn.txns) {
      let opOutcome: SubOpOutcome;
      switch (op.type) {
        case 'create':
          opOutcome = this.applyCreate(op, zxid, timeMs, out);
          break;
        case 'delete':
          opOutcome = this.applyDelete(op.path, zxid, out);
          break;
        case 'setData':
          opOutcome = this.applySetData(op, zxid, timeMs, out);
          break;
        case 'check':
          opOutcome = { error: null, result: { op: 'check' } };
          break;
        default:
          throw new Error(`applyTxn: unknown multi op ${(op as { type: unknown }).type}`);
      }
      // Only replay over a fuzzy snapshot gets here with an error; report it, apply the rest.
      if (opOutcome.error !== null) firstError ??= opOutcome.error;
      results.push(opOutcome.result ?? errorResult(opOutcome.error!));
    }
    return { error: firstError, result: { op: 'multi', results } };
  }

  private applyCloseSession(txn: CloseSessionTxn, zxid: Zxid, out: WatchTrigger[]): OpOutcome {
    // The session is gone: it gets no events, not even for its own ephemerals.
    this.watchManager.dropSession(txn.sessionId);
    const listed = new Set(txn.paths);
    // The txn lists the ephemerals the leader knew of; any other this replica holds for the session
    // (none, when the pipeline did its job) go too, so that no ephemeral outlives its session.
    const extra = this.indexes.ephemeralsOf(txn.sessionId).filter((path) => !listed.has(path));
    for (const path of [...txn.paths, ...extra]) {
      const slot = this.nodes.slotOf(path);
      // The owner check keeps a replayed close from deleting a later, unrelated znode at that path.
      if (
        slot >= 0 &&
        this.nodes.f[slot * F_ROW + OWNER] === txn.sessionId &&
        this.nodes.i[slot * ROW + NUM_CHILDREN] === 0
      ) {
        this.removeNode(slot, zxid, out);
      } else if (slot < 0) {
        this.raisePzxidOfParent(path, zxid);
      }
    }
    this.indexes.dropSession(txn.sessionId);
    this.sessionRecords.delete(txn.sessionId);
    return { error: null, result: { op: 'closeSession' } };
  }
}
