import type {
  AuthId,
  ErrorCode,
  LogEntry,
  Request,
  Result,
  SessionId,
  SnapshotRecord,
  Txn,
  WatchEvent,
} from '../types.js';
import type { Zxid } from '../zxid.js';

/** ApplyOutcome is what applying one committed entry produced. */
export interface ApplyOutcome {
  /** result is the success result for the request the entry answers, or null with `error` set. */
  result: Result | null;
  error: ErrorCode | null;
  /** events are the watch notifications the entry fired, per session, in order. */
  events: { sessionId: SessionId; event: WatchEvent }[];
}

/** ReadOutcome answers a read (or a watch registration) from the local replica. */
export interface ReadOutcome {
  result: Result | null;
  error: ErrorCode | null;
  /** events fire at once (setWatches for changes the client missed). */
  events: { sessionId: SessionId; event: WatchEvent }[];
}

/**
 * ReplicatedMachine is what Zab replicates: the data tree with its sessions, watches and the
 * leader's request pipeline. Zab calls it; it never calls Zab. Every method is deterministic.
 */
export interface ReplicatedMachine {
  /** lastAppliedZxid is the zxid of the last entry applied (the snapshot's zxid after a load). */
  readonly lastAppliedZxid: Zxid;
  /** apply applies a committed entry; entries arrive in strictly increasing zxid order. */
  apply(entry: LogEntry): ApplyOutcome;
  /** read answers a read or watch request of a session from the applied state, as the ids in `auth` may. */
  read(sessionId: SessionId, request: Request, auth: readonly AuthId[]): ReadOutcome;
  /**
   * prepare turns a write into a transaction (an ErrorTxn on failure) against applied state plus
   * outstanding proposals (leader only), as the ids in `auth` (the requesting connection's) may.
   */
  prepare(sessionId: SessionId, request: Request, timeMs: number, auth: readonly AuthId[]): Txn;
  /** noteProposed records a proposed (uncommitted) entry so later prepares see its effect. */
  noteProposed(entry: LogEntry): void;
  /** clearOutstanding forgets every proposed-but-unapplied change (on losing leadership). */
  clearOutstanding(): void;
  /** sessions lists every live session and its timeout. */
  sessions(): { sessionId: SessionId; timeoutMs: number }[];
  /** hasSession tells whether a session is live in the applied state. */
  hasSession(sessionId: SessionId): boolean;
  /** negotiateTimeoutMs clamps a requested session timeout into the configured bounds. */
  negotiateTimeoutMs(requestedMs: number): number;
  /** expiredNodes lists container and TTL znodes the leader should delete now. */
  expiredNodes(nowMs: number): string[];
  /** dropSessionWatches forgets a session's watches on this server (its client went away). */
  dropSessionWatches(sessionId: SessionId): void;
  /** snapshotRecords yields the applied state as records (fuzzy if the machine changes meanwhile). */
  snapshotRecords(): Iterable<SnapshotRecord>;
  /** restore replaces the whole state with a snapshot's records; `recordsHint` is about how many there are (0: unknown). */
  restore(zxid: Zxid, records: Iterable<SnapshotRecord>, recordsHint?: number): void;
  /** stats counts what the machine holds, for status pages and metrics. */
  stats(): { znodes: number; sessions: number; watches: number };
  /** sessionTimeoutMs is a live session's negotiated timeout, or undefined. */
  sessionTimeoutMs(sessionId: SessionId): number | undefined;
  /** sessionPassword is a live session's password (empty for a session from before passwords), or undefined. */
  sessionPassword(sessionId: SessionId): Uint8Array | undefined;
  /** digest is a deterministic fingerprint of the applied state (for comparing replicas). */
  digest(): string;
}
