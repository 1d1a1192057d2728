import type {
  LogEntry,
  SnapshotConfigRecord,
  SnapshotHeader,
  SnapshotNodeRecord,
  SnapshotRecord,
  SnapshotSessionRecord,
} from './types.js';
import { logEntryBytes } from './wire-size.js';
import type { Zxid } from './zxid.js';

/** Epochs are the two numbers Zab persists besides the log (ZooKeeper's acceptedEpoch and currentEpoch files). */
export interface Epochs {
  /** acceptedEpoch is the last epoch this server accepted from a NEWEPOCH/LEADERINFO. */
  acceptedEpoch: number;
  /** currentEpoch is the last epoch whose NEWLEADER this server acknowledged. */
  currentEpoch: number;
}

/**
 * SnapshotRecords are a snapshot's records in order: an array, or (from a snapshot file) a
 * SnapshotImage (tree/snapshot-image.ts) that the file was decoded into once, whose iteration
 * builds each record from it as it goes, so a million records are never all objects at once.
 * `length` is how many an iteration yields. A tree restored from an image (DataTree.fromSnapshot,
 * so a ZabPeer built from a RecoveredState) adopts it: iterate it before that, never after.
 */
export type SnapshotRecords = Iterable<SnapshotRecord> & { readonly length: number };

/**
 * SnapshotNodeFields is a znode as a snapshot decoder hands it to a {@link SnapshotSink}: a node
 * record whose data is `dataLength` bytes of `source` from `dataStart` rather than an array of its
 * own, and whose path is `pathLength` UTF-8 bytes of `pathSource` from `pathStart` rather than a
 * string (a restore of a million znodes made a million strings). The decoder fills one such object
 * again for every znode: a sink copies what it keeps.
 */
export interface SnapshotNodeFields extends Omit<SnapshotNodeRecord, 'kind' | 'data' | 'path'> {
  source: Uint8Array;
  dataStart: number;
  dataLength: number;
  pathSource: Uint8Array;
  pathStart: number;
  pathLength: number;
}

/**
 * SnapshotSink receives a snapshot's records from a decoder, in order, without a record object
 * per znode (issue 17: a restore of a million znodes built and collected a million of them).
 * `node` must not keep `fields`, `fields.source` nor `fields.pathSource` past the call. A decoder that finds the
 * snapshot bad after it started feeding a sink throws, and the sink's contents must then be
 * thrown away.
 */
export interface SnapshotSink {
  node(fields: Readonly<SnapshotNodeFields>): void;
  record(record: SnapshotSessionRecord | SnapshotConfigRecord): void;
}

/** Snapshot is a header and every record of one snapshot. */
export interface Snapshot {
  header: SnapshotHeader;
  records: SnapshotRecords;
}

/** RecoveredState is everything that was durable when the process last stopped. */
export interface RecoveredState {
  epochs: Epochs;
  /** snapshot is the newest valid snapshot, or null when there is none. */
  snapshot: Snapshot | null;
  /** entries are the log entries with zxid above the snapshot's (or all), in zxid order, ending at the last intact one. */
  entries: LogEntry[];
}

/**
 * Storage is the contract between Zab and a durable medium (etcd raft's `Storage`). Every method
 * that returns a Promise has made its effect durable when the Promise resolves, and not before:
 * the host acknowledges nothing to anyone until then. Calls are made one at a time by the host
 * loop, in the order the host issues them; an implementation may batch appends that arrive while
 * an fsync is running (group commit) but resolves each only once it is synced.
 *
 * `truncateAfter(z)` also removes snapshots above z. After a SNAP at zxid S, log entries at or
 * below S may remain from an older history: recovery never replays them (it starts after the
 * newest snapshot), and zabkit's Zab never reads them back: a leader's DIFF from disk (`readFrom`,
 * through {@link readLogEntries}) starts at or above the snapshot its history was rooted at
 * (FileStorage reports a jump across a snapshot as LOG_GAP).
 *
 * Ordering rules the host follows (they are what ZooKeeper's data-loss bugs broke):
 * - `truncateAfter` before `append` of the entries that replace the truncated ones;
 * - on SNAP: `truncateAfter(snapshot zxid)`, then `saveSnapshot`, then appends;
 * - `saveEpochs` with a new currentEpoch only after everything synced in that epoch is durable.
 */
export interface Storage {
  /** load reads what is durable. Called once, before any other method. */
  load(): Promise<RecoveredState>;
  /** append adds entries with strictly increasing zxids above the last one; durable on resolve. */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** truncateAfter removes every entry with a zxid above `zxid`; durable on resolve. */
  truncateAfter(zxid: Zxid): Promise<void>;
  /** readFrom yields the entries with a zxid above `afterZxid`, in order (DIFF from disk). */
  readFrom(afterZxid: Zxid): AsyncIterable<LogEntry>;
  /** saveEpochs replaces both epochs atomically; durable on resolve. */
  saveEpochs(epochs: Epochs): Promise<void>;
  /** saveSnapshot writes a snapshot; records may be produced while the tree keeps changing (fuzzy). */
  saveSnapshot(
    header: SnapshotHeader,
    records: Iterable<SnapshotRecord> | AsyncIterable<SnapshotRecord>,
  ): Promise<void>;
  /** close releases files; pending work is finished first. */
  close(): Promise<void>;
}

/**
 * readLogEntries carries out a core LogRead (Ready.logReads) over any Storage: the entries above
 * `afterZxid` up to `toZxid`, stopping once `bytesMax` encoded bytes are gathered (always at least
 * one entry). Rejects with the storage's error when the log no longer holds them; the host then
 * answers the peer with null.
 */
export async function readLogEntries(
  storage: Pick<Storage, 'readFrom'>,
  read: { afterZxid: Zxid; toZxid: Zxid; bytesMax: number },
): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  let bytes = 0;
  for await (const entry of storage.readFrom(read.afterZxid)) {
    if (entry.zxid > read.toZxid) break;
    entries.push(entry);
    bytes += logEntryBytes(entry);
    if (bytes >= read.bytesMax) break;
  }
  return entries;
}

/**
 * MemoryStorage keeps everything in memory and is durable only as long as the object lives: for
 * tests, the simulator's reference, and embedding without a disk. It enforces the same argument
 * rules as the disk implementation (increasing zxids), so both pass one contract test suite.
 */
export class MemoryStorage implements Storage {
  private epochs: Epochs = { acceptedEpoch: 0, currentEpoch: 0 };
  private entries: LogEntry[] = [];
  private snapshots: Snapshot[] = [];
  private closed = false;

  async load(): Promise<RecoveredState> {
    this.assertOpen();
    const snapshot = this.snapshots.at(-1) ?? null;
    const after = snapshot?.header.zxid ?? -1;
    return {
      epochs: { ...this.epochs },
      snapshot: snapshot && { header: { ...snapshot.header }, records: [...snapshot.records] },
      entries: this.entries.filter((entry) => entry.zxid > after),
    };
  }

  async append(entries: readonly LogEntry[]): Promise<void> {
    this.assertOpen();
    // zxid 0 means "before any transaction": never an entry (FileStorage refuses it too).
    let last = this.entries.at(-1)?.zxid ?? 0;
    for (const entry of entries) {
      if (entry.zxid <= last)
        throw new RangeError(`append out of order: 0x${entry.zxid.toString(16)} after 0x${last.toString(16)}`);
      last = entry.zxid;
    }
    this.entries.push(...entries);
  }

  async truncateAfter(zxid: Zxid): Promise<void> {
    this.assertOpen();
    let keep = this.entries.length;
    while (keep > 0 && (this.entries[keep - 1] as LogEntry).zxid > zxid) keep--;
    this.entries.length = keep;
    // A snapshot above the truncation point holds truncated transactions: drop it, as FileStorage does.
    this.snapshots = this.snapshots.filter((snapshot) => snapshot.header.zxid <= zxid);
  }

  async *readFrom(afterZxid: Zxid): AsyncIterable<LogEntry> {
    this.assertOpen();
    for (const entry of this.entries) if (entry.zxid > afterZxid) yield entry;
  }

  async saveEpochs(epochs: Epochs): Promise<void> {
    this.assertOpen();
    this.epochs = { ...epochs };
  }

  async saveSnapshot(
    header: SnapshotHeader,
    records: Iterable<SnapshotRecord> | AsyncIterable<SnapshotRecord>,
  ): Promise<void> {
    this.assertOpen();
    const collected: SnapshotRecord[] = [];
    for await (const record of records) collected.push(record);
    this.snapshots.push({ header: { ...header }, records: collected });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('storage is closed');
  }
}
