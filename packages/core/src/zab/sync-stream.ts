import type { LogEntry, SnapshotRecord } from '../types.js';
import { logEntryBytes, snapshotRecordBytes } from '../wire-size.js';
import { formatZxid, makeZxid, type Zxid } from '../zxid.js';
import type { PeerContext } from './context.js';
import type { History } from './history.js';
import { assert } from './invariant.js';
import { withConfigRecord } from './membership.js';
import type { PeerMessage, SyncMode } from './messages.js';
import type { LogRead } from './outbox.js';

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
 * we still hold in memory; TRUNC to the last zxid we share when it has entries we do not; DIFF
 * read from the disk log when it is behind our in-memory history but its last zxid is one we
 * trimmed (so its history is a prefix of ours: a zxid names one proposal), what it lacks is at
 * most `diskDiffFactor` times the znodes we hold (past that a snapshot is cheaper; ZooKeeper's
 * snapshotSizeFactor compares bytes instead) and at most historyBytesMax bytes (a learner holds a
 * whole DIFF in memory until NEWLEADER, as it did when only the in-memory history was sent);
 * otherwise SNAP.
 */
export function planSync(
  log: History,
  appliedZxid: Zxid,
  peerLast: Zxid,
  disk: { factor: number; znodes: number; bytesMax: number } = { factor: 0, znodes: 0, bytesMax: 0 },
): SyncPlan {
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
  } else if (disk.factor > 0 && log.trimmed.holds(peerLast)) {
    // The learner holds a whole DIFF in memory until NEWLEADER: no more than the history may hold.
    const lacking = log.trimmed.countAfter(peerLast) + log.length;
    const lackingBytes = log.trimmed.bytesAfter(peerLast) + log.bytes;
    if (lacking <= disk.factor * disk.znodes && lackingBytes <= disk.bytesMax) {
      return { mode: 'DIFF', truncZxid: 0, from: peerLast };
    }
  }
  return { mode: 'SNAP', truncZxid: 0, from: appliedZxid };
}

/** syncStartHeld tells whether a plan's start is in the history: its base, an entry held, or a zxid trimmed to disk. */
export function syncStartHeld(log: History, from: Zxid): boolean {
  return from === log.base || log.findIndex(from) !== -1 || (from < log.base && log.trimmed.holds(from));
}

/**
 * SyncStream is the leader's cursor in the synchronization it streams to one learner after SYNC:
 * SNAP records (a live, fuzzy walk of the tree, replayed from the snapshot zxid by the learner),
 * then history entries after `sentZxid` (proposals made meanwhile included: they are in the log),
 * then NEWLEADER, which ends it. Entries trimmed from memory are read from the disk log through the
 * host (a LogRead in the Ready, answered by {@link readDone}); one read is outstanding at a time.
 * At most syncWindowBytes are in flight unacknowledged: the learner acknowledges what it received
 * with SYNCACK, once per Ready.
 */
export class SyncStream {
  /** reading: a LogRead for this stream is out; it sends nothing more until {@link readDone}. */
  private reading: LogRead | null = null;
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
    /** id tells this stream's reads from an earlier stream's to the same learner. */
    readonly id: number,
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
      if (this.sentZxid < log.base) {
        // Trimmed from memory since: the next entries come from the disk log.
        if (this.reading === null) {
          this.reading = {
            learnerId: this.learnerId,
            epoch,
            streamId: this.id,
            afterZxid: this.sentZxid,
            toZxid: log.base,
            bytesMax: Math.max(target, limits.syncWindowBytes - this.inflightBytes),
          };
          this.context.outbox.ready.logReads.push(this.reading);
        }
        return false;
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

  /**
   * readDone takes the entries the host read from the disk log for this stream's outstanding read
   * and sends them. Each must be the next zxid trimmed from our history (so nothing is skipped, and
   * nothing from an older history below the floor is sent); false if they are not, or the read
   * failed (`null`): the leader then gives up on the learner.
   */
  readDone(read: LogRead, entries: readonly LogEntry[] | null): boolean {
    if (this.reading === null || this.reading.afterZxid !== read.afterZxid) return true;
    this.reading = null;
    if (entries === null || entries.length === 0) return false;
    const { limits, syncBatchEntriesMax } = this.context.settings;
    const trimmed = this.context.log.trimmed;
    let expected = trimmed.next(this.sentZxid);
    for (const entry of entries) {
      if (entry.zxid !== expected || entry.zxid > read.toZxid) return false;
      expected = trimmed.next(entry.zxid);
    }
    let batch: LogEntry[] = [];
    let bytes = 0;
    for (const entry of entries) {
      const size = logEntryBytes(entry);
      if (batch.length > 0 && (bytes + size > limits.batchBytesTarget || batch.length >= syncBatchEntriesMax)) {
        this.sendChunk({ type: 'entries', epoch: this.epoch, entries: batch }, bytes);
        batch = [];
        bytes = 0;
      }
      batch.push(entry);
      bytes += size;
    }
    this.sendChunk({ type: 'entries', epoch: this.epoch, entries: batch }, bytes);
    this.sentZxid = (entries[entries.length - 1] as LogEntry).zxid;
    return true;
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
