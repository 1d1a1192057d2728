import type { Epochs, Snapshot } from '../storage.js';
import type { ErrorCode, LogEntry, Reply, SessionId, WatchEvent } from '../types.js';
import type { Zxid } from '../zxid.js';
import type { PeerMessage } from './messages.js';

/** Outbound is one message for the host to send. */
export interface Outbound {
  to: number;
  message: PeerMessage;
}

/** ClientOutput is one thing for a client session, in the order the session must see it. */
export type ClientOutput =
  | { type: 'reply'; reply: Reply }
  | { type: 'event'; sessionId: SessionId; event: WatchEvent }
  | { type: 'sessionCreated'; connectId: number; sessionId: SessionId; timeoutMs: number }
  | { type: 'connectFailed'; connectId: number; error: ErrorCode }
  | { type: 'sessionClosed'; sessionId: SessionId };

/**
 * LogRead asks the host for entries of this member's durable log, for a DIFF a leader streams from
 * disk (sync-stream.ts): the entries above `afterZxid`, in order, up to `toZxid`, stopping once
 * `bytesMax` encoded bytes are gathered (at least one entry). The host answers with
 * `ZabPeer.logRead(read, entries)`, or `null` when the log no longer holds them; `readLogEntries`
 * (storage.ts) does it over any Storage.
 */
export interface LogRead {
  /** learnerId, epoch and streamId name the stream that asked: an answer for an older one is ignored. */
  learnerId: number;
  epoch: number;
  streamId: number;
  afterZxid: Zxid;
  toZxid: Zxid;
  bytesMax: number;
}

/**
 * Ready is one batch of work for the host, which must carry it out in this order:
 *  1. persist: `truncateAfter` (if not null), then `snapshot` (if not null), then append `entries`,
 *     then save `epochs` (if not null) — each durably (fsync) before the next step;
 *  2. send `messages` (only now: they acknowledge what step 1 persisted);
 *  3. deliver `toClients` in order (replies, watch events, session notices) — these may go before
 *     step 1 too: they show only entries applied here, which are committed and durable here;
 *  4. drop the connections to the peers in `disconnect` (they reconnect as after any break);
 *  5. call `advance()`.
 * `applied` lists the entries applied to the tree in this batch, for metrics and checks.
 * `logReads` are reads of the durable log the host makes whenever it likes (they depend on nothing in
 * this batch: only entries durable long since are asked for), answering each with `logRead`.
 */
export interface Ready {
  truncateAfter: Zxid | null;
  snapshot: Snapshot | null;
  entries: LogEntry[];
  epochs: Epochs | null;
  messages: Outbound[];
  toClients: ClientOutput[];
  applied: LogEntry[];
  /**
   * disconnect lists peers whose connection the host should drop: a leader gave up on a learner
   * (its synchronization stalled) and the learner must learn it at once, as ZooKeeper's leader
   * closes the socket, instead of waiting out initLimit on a connection that is still up.
   */
  disconnect: number[];
  /**
   * peers, when not null, is the new set of servers this member must be connected to (every
   * member of a configuration in force, sorted; membership.ts): a change was logged, committed or
   * truncated. The host connects to the ones it lacks and drops the others, after step 2.
   */
  peers: number[] | null;
  logReads: LogRead[];
}

/**
 * EarlyClientOutputs are the client outputs queued since the last Ready was taken, and the entries
 * applied meanwhile that they may show (for a host's checks: they are the replica's state now).
 */
export interface EarlyClientOutputs {
  outputs: ClientOutput[];
  applied: LogEntry[];
}

/**
 * Outbox fills the next {@link Ready}. A PROPOSAL or INFORM that follows one of its own kind to the
 * same peer joins it, and a cumulative ACK, COMMIT or SYNCACK moves the one already queued forward,
 * so a Ready carries one of each per peer however many requests it holds; order per peer is kept.
 */
export class Outbox {
  /** ready is the batch being filled; {@link take} hands it out and starts the next. */
  ready: Ready = emptyReady();
  /** lastSent: the last message queued to each peer in `ready`. */
  private readonly lastSent = new Map<number, PeerMessage>();
  /** lastSentBytes: the size of `lastSent`'s entries, so merging stops at batchBytesTarget. */
  private readonly lastSentBytes = new Map<number, number>();
  /** appliedTaken: how many of `ready.applied` {@link takeClientOutputs} has handed out already. */
  private appliedTaken = 0;

  constructor(
    private readonly batchEntriesMax: number,
    private readonly batchBytesTarget: number,
  ) {}

  send(to: number, message: PeerMessage): void {
    this.ready.messages.push({ to, message });
    this.lastSent.set(to, message);
    this.lastSentBytes.delete(to);
  }

  /**
   * sendEntry queues an entry for a peer in a PROPOSAL or INFORM: it joins the message of that
   * kind already queued to the peer in this Ready while that stays under batchBytesTarget (and
   * syncBatchEntriesMax entries), so a Ready carries few such messages and none over the frame limit.
   */
  sendEntry(to: number, type: 'proposal' | 'inform', epoch: number, entry: LogEntry, bytes: number): void {
    const last = this.lastSent.get(to);
    if (
      last?.type === type &&
      last.epoch === epoch &&
      last.entries.length < this.batchEntriesMax &&
      (this.lastSentBytes.get(to) ?? 0) + bytes <= this.batchBytesTarget
    ) {
      last.entries.push(entry);
      this.lastSentBytes.set(to, (this.lastSentBytes.get(to) ?? 0) + bytes);
      return;
    }
    this.send(to, { type, epoch, entries: [entry] });
    this.lastSentBytes.set(to, bytes);
  }

  /** sendAck queues a cumulative ACK: it goes out only once this Ready's entries are durable, so one per Ready. */
  sendAck(to: number, epoch: number, zxid: Zxid): void {
    const last = this.lastSent.get(to);
    if (last?.type === 'ack' && last.epoch === epoch) last.zxid = zxid;
    else this.send(to, { type: 'ack', epoch, zxid });
  }

  /** sendCommit queues a COMMIT; it is cumulative, so a later round in the same Ready moves the queued one forward. */
  sendCommit(to: number, epoch: number, zxid: Zxid): void {
    const last = this.lastSent.get(to);
    if (last?.type === 'commit' && last.epoch === epoch) last.zxid = zxid;
    else this.send(to, { type: 'commit', epoch, zxid });
  }

  /** sendSyncAck acknowledges the sync stream's messages received so far (flow control; one SYNCACK per Ready). */
  sendSyncAck(to: number, epoch: number, chunks: number): void {
    const last = this.lastSent.get(to);
    if (last?.type === 'syncAck' && last.epoch === epoch) last.chunks = chunks;
    else this.send(to, { type: 'syncAck', epoch, chunks });
  }

  toClient(output: ClientOutput): void {
    this.ready.toClients.push(output);
  }

  /** reply answers a client request. */
  reply(sessionId: SessionId, xid: number, zxid: Zxid, error: ErrorCode | null, result: Reply['result']): void {
    this.ready.toClients.push({ type: 'reply', reply: { sessionId, xid, zxid, error, result } });
  }

  isEmpty(): boolean {
    const out = this.ready;
    return !(
      out.truncateAfter !== null ||
      out.snapshot !== null ||
      out.entries.length > 0 ||
      out.epochs !== null ||
      out.messages.length > 0 ||
      out.toClients.length > 0 ||
      out.applied.length > 0 ||
      out.disconnect.length > 0 ||
      out.logReads.length > 0
    );
  }

  /**
   * takeClientOutputs hands out the client outputs queued so far and the entries applied since the
   * last take (they stay in the batch's `applied` too), leaving the rest of the batch.
   */
  takeClientOutputs(): EarlyClientOutputs {
    const outputs = this.ready.toClients;
    this.ready.toClients = [];
    const applied = this.ready.applied.slice(this.appliedTaken);
    this.appliedTaken = this.ready.applied.length;
    return { outputs, applied };
  }

  /** take hands out the batch filled so far and starts an empty one. */
  take(): Ready {
    const batch = this.ready;
    this.ready = emptyReady();
    this.appliedTaken = 0;
    this.lastSent.clear();
    this.lastSentBytes.clear();
    return batch;
  }
}

function emptyReady(): Ready {
  return {
    truncateAfter: null,
    snapshot: null,
    entries: [],
    epochs: null,
    messages: [],
    toClients: [],
    applied: [],
    disconnect: [],
    peers: null,
    logReads: [],
  };
}
