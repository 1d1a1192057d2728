import { deriveLimits, type Limits, multiResultBytesMax } from '../limits.js';
import { DataTree, type LocalRequest } from '../tree/data-tree.js';
import { RequestPipeline } from '../tree/request-pipeline.js';
import { SessionTracker } from '../tree/session-tracker.js';
import { SnapshotImage } from '../tree/snapshot-image.js';
import type {
  AuthId,
  ClusterConfig,
  LogEntry,
  Request,
  SessionId,
  SnapshotRecord,
  Txn,
  WatchEvent,
  WriteRequest,
} from '../types.js';
import { HEADER_BYTES, INT_BYTES, txnBytes } from '../wire-size.js';
import type { Zxid } from '../zxid.js';
import type { ApplyOutcome, ReadOutcome, ReplicatedMachine } from './machine.js';
import { configText, membersJson } from './membership.js';
import { negotiateSessionTimeoutMs, type SessionTimeoutBounds, sessionTimeoutBounds } from './sessions.js';

/** TreeMachineOptions bound what the data tree accepts. */
export interface TreeMachineOptions {
  /** tickMs is the tick length the session bounds default from. */
  tickMs: number;
  /** sessionTimeoutMsMin / Max: negotiated session timeouts are clamped into these (default 2× and 20× tickMs). */
  sessionTimeoutMsMin?: number;
  sessionTimeoutMsMax?: number;
  /**
   * limits: the member's byte limits (see limits.ts; default {@link deriveLimits}()). The machine
   * uses dataBytesMax, watchesPerSessionMax, entryBytesMax and clientFrameBytesMax.
   */
  limits?: Limits;
  /**
   * systemNodes: the host's children of `/zookeeper` (`config`: the ensemble in ZooKeeper's
   * dynamic-config format; `quota`), set on this replica only (DataTree.setSystemNode).
   */
  systemNodes?: Readonly<Record<string, Uint8Array>>;
}

/**
 * createTreeMachine is the ReplicatedMachine Zab replicates in zabkit: the DataTree, the leader's
 * RequestPipeline over it, and the set of live sessions the pipeline checks requests against.
 * Session ids, timeouts and expiry are the Zab leader's (zab/sessions.ts), which issues closeSession.
 */
export function createTreeMachine(options: TreeMachineOptions): ReplicatedMachine {
  return new TreeMachine(options);
}

class TreeMachine implements ReplicatedMachine {
  private tree = new DataTree();
  private sessionTracker: SessionTracker;
  private pipeline: RequestPipeline;
  private lastPrepared: Txn | null = null;
  private readonly limits: Limits;
  private readonly timeoutBounds: SessionTimeoutBounds;

  constructor(options: TreeMachineOptions) {
    this.timeoutBounds = sessionTimeoutBounds(options.tickMs, options.sessionTimeoutMsMin, options.sessionTimeoutMsMax);
    this.limits = options.limits ?? deriveLimits();
    this.tree.watchManager.watchesPerSessionMax = this.limits.watchesPerSessionMax;
    this.sessionTracker = this.newTracker();
    this.pipeline = this.newPipeline();
    this.systemNodes = options.systemNodes ?? {};
    this.installSystemNodes();
  }

  private readonly systemNodes: Readonly<Record<string, Uint8Array>>;

  /** replicatedConfig: the membership the last reconfig (or snapshot config record) set, shown at /zookeeper/config. */
  private replicatedConfig: ClusterConfig | null = null;

  private installSystemNodes(): void {
    for (const [name, data] of Object.entries(this.systemNodes)) this.tree.setSystemNode(name, data);
    // Once the membership changed, /zookeeper/config shows the replicated one, not the host's static text.
    if (this.replicatedConfig !== null && this.replicatedConfig.version > 0) {
      this.tree.setSystemNode('config', asciiBytes(configText(this.replicatedConfig)));
      this.tree.setSystemNode('members', asciiBytes(membersJson(this.replicatedConfig)));
    }
  }

  get lastAppliedZxid(): Zxid {
    return this.tree.lastProcessedZxid;
  }

  apply(entry: LogEntry): ApplyOutcome {
    const outcome = this.tree.applyTxn(entry);
    const txn = entry.txn;
    if (txn.type === 'reconfig') {
      this.replicatedConfig = { version: entry.zxid, members: txn.members };
      this.installSystemNodes();
    }
    if (txn.type === 'createSession' && !this.sessionTracker.isLive(txn.sessionId)) {
      this.sessionTracker.addSession(txn.sessionId, txn.timeoutMs);
    } else if (txn.type === 'closeSession') {
      this.sessionTracker.removeSession(txn.sessionId);
    }
    this.pipeline.noteApplied(entry.zxid);
    return { result: outcome.result, error: outcome.error, events: expand(outcome.watches) };
  }

  read(sessionId: SessionId, request: Request, auth: readonly AuthId[]): ReadOutcome {
    const outcome = this.tree.processLocal(sessionId, request as LocalRequest, auth);
    return { result: outcome.result, error: outcome.error, events: expand(outcome.watches) };
  }

  prepare(sessionId: SessionId, request: Request, timeMs: number, auth: readonly AuthId[]): Txn {
    this.pipeline.discardPrepared();
    // lastPrepared is set only for transactions the pipeline staged, the ones noteProposed must record.
    this.lastPrepared = null;
    if (request.op === 'multi' && multiResultBytesMax(request.ops) > this.limits.clientFrameBytesMax) {
      // Its reply could not be sent: refuse before anything commits (the client would never learn the outcome).
      return { type: 'error', code: 'MARSHALLING_ERROR' };
    }
    if (request.op === 'closeSession') {
      if (!this.sessionTracker.isLive(sessionId)) return { type: 'error', code: 'SESSION_EXPIRED' };
      const close = this.pipeline.prepareCloseSession(sessionId);
      // Applying a closeSession deletes every ephemeral the session holds, listed or not: past the
      // entry limit (a session with very many ephemerals) the list is left out, never the close.
      if (!this.entryFits(close)) close.paths = [];
      this.lastPrepared = close;
      return close;
    }
    if (sessionId === 0 && request.op === 'delete') {
      // A container or TTL znode the leader removes on its own; null when it no longer qualifies.
      this.lastPrepared = this.pipeline.prepareExpiredNodeDelete(request.path, timeMs);
      if (this.lastPrepared === null) return { type: 'error', code: 'NO_NODE' };
    } else {
      this.lastPrepared = this.pipeline.prepare(sessionId, 0, request as WriteRequest, timeMs, auth);
    }
    if (!this.entryFits(this.lastPrepared)) {
      // Over the entry limit no peer frame could carry it: the request fails alone.
      this.pipeline.discardPrepared();
      this.lastPrepared = null;
      return { type: 'error', code: 'MARSHALLING_ERROR' };
    }
    return this.lastPrepared;
  }

  /** entryFits: the transaction, with its LogEntry header, is within entryBytesMax. */
  private entryFits(txn: Txn): boolean {
    return HEADER_BYTES + 4 * INT_BYTES + txnBytes(txn) <= this.limits.entryBytesMax;
  }

  noteProposed(entry: LogEntry): void {
    if (entry.txn === this.lastPrepared) this.pipeline.noteProposed(entry.zxid, entry.txn);
    this.lastPrepared = null;
  }

  clearOutstanding(): void {
    this.lastPrepared = null;
    this.pipeline = this.newPipeline();
  }

  sessions(): { sessionId: SessionId; timeoutMs: number }[] {
    return this.tree.sessions().map(([sessionId, timeoutMs]) => ({ sessionId, timeoutMs }));
  }

  hasSession(sessionId: SessionId): boolean {
    return this.tree.hasSession(sessionId);
  }

  negotiateTimeoutMs(requestedMs: number): number {
    return negotiateSessionTimeoutMs(requestedMs, this.timeoutBounds);
  }

  expiredNodes(nowMs: number): string[] {
    return this.tree.expiredNodes(nowMs);
  }

  dropSessionWatches(sessionId: SessionId): void {
    this.tree.dropWatches(sessionId);
  }

  snapshotRecords(): Iterable<SnapshotRecord> {
    return this.tree.snapshotRecords();
  }

  restore(zxid: Zxid, records: Iterable<SnapshotRecord>, recordsHint = 0): void {
    this.replicatedConfig = null;
    if (SnapshotImage.isInstance(records)) {
      const config = records.config();
      if (config !== null) this.replicatedConfig = { version: config.version, members: config.members };
      this.install(DataTree.fromSnapshot({ zxid, timeMs: 0 }, records, recordsHint));
      return;
    }
    const self = this;
    function* tap(): Generator<SnapshotRecord> {
      for (const record of records) {
        if (record.kind === 'config') self.replicatedConfig = { version: record.version, members: record.members };
        yield record;
      }
    }
    this.install(DataTree.fromSnapshot({ zxid, timeMs: 0 }, tap(), recordsHint));
  }

  /** install makes a tree just restored from a snapshot the machine's state. */
  private install(tree: DataTree): void {
    this.tree = tree;
    this.tree.watchManager.watchesPerSessionMax = this.limits.watchesPerSessionMax;
    this.installSystemNodes();
    this.sessionTracker = this.newTracker();
    for (const [sessionId, timeoutMs] of this.tree.sessions()) this.sessionTracker.addSession(sessionId, timeoutMs);
    this.pipeline = this.newPipeline();
    this.lastPrepared = null;
  }

  stats(): { znodes: number; sessions: number; watches: number } {
    return {
      znodes: this.tree.nodeCount,
      sessions: this.tree.sessions().length,
      watches: this.tree.watchManager.watchCount,
    };
  }

  sessionTimeoutMs(sessionId: SessionId): number | undefined {
    return this.tree.sessionTimeoutMs(sessionId);
  }

  sessionPassword(sessionId: SessionId): Uint8Array | undefined {
    return this.tree.sessionPassword(sessionId);
  }

  digest(): string {
    // FNV-1a over the sorted snapshot records: equal trees give equal digests, however they were built.
    const lines: string[] = [];
    for (const record of this.tree.snapshotRecords()) {
      lines.push(
        JSON.stringify(record, (_key, value) => (value instanceof Uint8Array ? Array.from(value).join('.') : value)),
      );
    }
    lines.sort();
    let hash = 0x811c9dc5;
    for (const line of lines) {
      for (let i = 0; i < line.length; i++) hash = Math.imul(hash ^ line.charCodeAt(i), 0x01000193) >>> 0;
    }
    return `${this.tree.lastProcessedZxid}:${hash.toString(16)}`;
  }

  private newTracker(): SessionTracker {
    return new SessionTracker();
  }

  private newPipeline(): RequestPipeline {
    // The pipeline checks sessions against the tracker, which mirrors the tree's sessions.
    if (this.sessionTracker.size === 0) {
      for (const [sessionId, timeoutMs] of this.tree.sessions()) this.sessionTracker.addSession(sessionId, timeoutMs);
    }
    return new RequestPipeline(this.tree, this.sessionTracker, { dataBytesMax: this.limits.dataBytesMax });
  }
}

function expand(triggers: readonly { event: WatchEvent; sessionIds: ReadonlySet<SessionId> }[]) {
  const events: { sessionId: SessionId; event: WatchEvent }[] = [];
  for (const trigger of triggers)
    for (const sessionId of trigger.sessionIds) events.push({ sessionId, event: trigger.event });
  return events;
}

/** asciiBytes encodes text as bytes, one per character (core has no TextEncoder; non-ASCII becomes `?`). */
function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out[i] = code < 0x80 ? code : 0x3f;
  }
  return out;
}
