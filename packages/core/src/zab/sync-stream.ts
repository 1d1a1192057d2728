import type { LogEntry, SnapshotRecord } from '../types.js';
import { logEntryBytes, snapshotRecordBytes } from '../wire-size.js';
import { formatZxid, makeZxid, type Zxid } from '../zxid.js';
import type { PeerContext } from './context.js';
import type { History } from './history.js';
import { assert } from './invariant.js';
import { withConfigRecord } from './membership.js';
import type { PeerMessage, SyncMode } from './messages.js';

/** SyncPlan is how a leader brings one learner up to its history, and where the stream starts. */
export interface SyncPlan {
  mode: SyncMode;
  /** truncZxid: for TRUNC, the last zxid both hold; the learner drops what it has above it. */
  truncZxid: Zxid;
  /** from: the stream sends the history after this zxid (for SNAP, the applied zxid the records start from). */
  from: Zxid;
}

/**
 * planSync chooses, from the learner's last zxid: DIFF when its history is a prefix of ours that
 * we still hold, TRUNC to the last zxid we share when it has entries we do not, and SNAP when it is
 * behind our history's base (or diverged below it).
 */
export function planSync(log: History, appliedZxid: Zxid, peerLast: Zxid): SyncPlan {
  const last = log.lastLoggedZxid();
  const base = log.base;
  if (peerLast === last) return { mode: 'DIFF', truncZxid: 0, from: last };
  if (peerLast === base || (peerLast > base && log.findIndex(peerLast) !== -1)) {
    return { mode: 'DIFF', truncZxid: 0, from: peerLast };
  }
  if (peerLast > base) {
    // The learner has entries we do not: truncate it to the last zxid we share below its end.
    let index = log.length - 1;
    while (index >= 0 && log.at(index).zxid > peerLast) index--;
    if (index >= 0) {
      const truncZxid = log.at(index).zxid;
      return { mode: 'TRUNC', truncZxid, from: truncZxid };
    }
  }
  return { mode: 'SNAP', truncZxid: 0, from: appliedZxid };
}

/**
 * SyncStream is the leader's cursor in the synchronization it streams to one learner after SYNC:
 * SNAP records (a live, fuzzy walk of the tree, replayed from the snapshot zxid by the learner),
 * then history entries after `sentZxid` (proposals made meanwhile included: they are in the log),
 * then NEWLEADER, which ends it. At most syncWindowBytes are in flight unacknowledged: the learner
 * acknowledges what it received with SYNCACK, once per Ready.
 */
export class SyncStream {
  private records: Iterator<SnapshotRecord> | null;
  /** heldRecord: the record read from `records` that did not fit in the last chunk. */
  private heldRecord: SnapshotRecord | null = null;
  /** sentZxid: every history entry up to here has been streamed; trimming keeps the entries above it. */
  sentZxid: Zxid;
  /** chunkBytes: sizes of the stream messages sent and not yet acknowledged, oldest first. */
  private readonly chunkBytes: number[] = [];
  private inflightBytes = 0;
  private chunksSent = 0;
  private chunksAcked = 0;

  constructor(
    private readonly context: PeerContext,
    private readonly learnerId: number,
    private readonly epoch: number,
    plan: SyncPlan,
  ) {
    // A SNAP carries the membership at its zxid first (membership.ts): the learner's base configuration.
    this.records =
      plan.mode === 'SNAP'
        ? withConfigRecord(context.log.configAt(plan.from), context.machine.snapshotRecords())[Symbol.iterator]()
        : null;
    this.sentZxid = plan.from;
  }

  /**
   * pump sends the next messages while the window allows: snapChunk messages of records, then
   * entries messages, then NEWLEADER. Returns true once NEWLEADER is sent (the stream is over).
   */
  pump(): boolean {
    const { limits, snapChunkRecordsMax, syncBatchEntriesMax } = this.context.settings;
    const log = this.context.log;
    const epoch = this.epoch;
    const target = limits.batchBytesTarget;
    while (this.inflightBytes < limits.syncWindowBytes) {
      if (this.records !== null) {
        const records: SnapshotRecord[] = [];
        let bytes = 0;
        for (;;) {
          let record = this.heldRecord;
          this.heldRecord = null;
          if (record === null) {
            const next = this.records.next();
            if (next.done) {
              this.records = null;
              break;
            }
            record = next.value;
          }
          const size = snapshotRecordBytes(record);
          if (records.length > 0 && (bytes + size > target || records.length >= snapChunkRecordsMax)) {
            this.heldRecord = record;
            break;
          }
          records.push(record);
          bytes += size;
        }
        if (records.length > 0) this.sendChunk({ type: 'snapChunk', epoch, records }, bytes);
        continue;
      }
      let index = this.sentZxid === log.base ? 0 : log.findIndex(this.sentZxid) + 1;
      assert(index > 0 || this.sentZxid === log.base, () => `stream cursor ${formatZxid(this.sentZxid)} trimmed`);
      if (index >= log.length) {
        this.context.outbox.send(this.learnerId, { type: 'newLeader', epoch, zxid: makeZxid(epoch, 0) });
        return true;
      }
      const entries: LogEntry[] = [];
      let bytes = 0;
      while (index < log.length && entries.length < syncBatchEntriesMax) {
        const entry = log.at(index);
        const size = logEntryBytes(entry);
        if (entries.length > 0 && bytes + size > target) break;
        entries.push(entry);
        bytes += size;
        index++;
      }
      this.sentZxid = (entries[entries.length - 1] as LogEntry).zxid;
      this.sendChunk({ type: 'entries', epoch, entries }, bytes);
    }
    return false;
  }

  /** acknowledge takes a SYNCACK for the first `chunks` messages; false if it acknowledges nothing new (or too much). */
  acknowledge(chunks: number): boolean {
    if (chunks <= this.chunksAcked || chunks > this.chunksSent) return false;
    while (this.chunksAcked < chunks) {
      this.inflightBytes -= this.chunkBytes.shift() as number;
      this.chunksAcked++;
    }
    return true;
  }

  private sendChunk(message: PeerMessage, bytes: number): void {
    this.context.outbox.send(this.learnerId, message);
    this.chunkBytes.push(bytes);
    this.inflightBytes += bytes;
    this.chunksSent++;
  }
}
