import { join } from 'node:path';
import type {
  Epochs,
  LogEntry,
  RecoveredState,
  Snapshot,
  SnapshotHeader,
  SnapshotRecord,
  Storage,
  Zxid,
} from '@zabkit/core';
import { isZxid } from '@zabkit/core';
import { writeFileAtomic } from './atomic-file.js';
import { decodeEpochs, EPOCHS_MAGIC, EPOCHS_VERSION, encodeEpochs } from './epochs-file.js';
import { type FileHandle, type FileSystem, nodeFileSystem, writeFully } from './file-system.js';
import { newerFormat, newerFormatVersion } from './format-version.js';
import {
  decodeRecordEntry,
  encodeRecord,
  encodeSegmentHeader,
  findRecordsAfter,
  markBatchStart,
  type RecordLocation,
  readRecordAt,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  SEGMENT_VERSION,
  type SegmentHeader,
  type SegmentScan,
  scanSegment,
} from './log-record.js';
import { readSegmentOnce } from './segment-read.js';
import { SnapshotFormatError, writeSnapshotFile } from './snapshot-file.js';
import { readSnapshotFile } from './snapshot-read.js';
import { StorageError } from './storage-error.js';

/** StorageLogger receives what recovery repaired (a torn tail truncated, a corrupt snapshot skipped). */
export interface StorageLogger {
  warn(message: string, fields: Record<string, unknown>): void;
}

/** FileStorageOptions configure openFileStorage. */
export interface FileStorageOptions {
  /** dir is the data directory; created if missing. One FileStorage per directory at a time. */
  dir: string;
  /** segmentBytesMax: a segment is rolled before a batch once it has reached this size (default 64 MiB). */
  segmentBytesMax?: number;
  /** snapshotRetainCount: newest snapshots kept, with the log they need (default 3, at least 1). */
  snapshotRetainCount?: number;
  /** batchBytesMax: a group-commit batch stops taking appends past this size (default 16 MiB). */
  batchBytesMax?: number;
  /** logger receives recovery warnings (default: console.warn). */
  logger?: StorageLogger;
  /** fileSystem replaces the disk (tests: SimulatedDisk); default node:fs. */
  fileSystem?: FileSystem;
}

export const SEGMENT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
export const SNAPSHOT_RETAIN_COUNT_DEFAULT = 3;
export const BATCH_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
const EPOCHS_FILE = 'epochs';
const SEGMENT_NAME = /^log\.([0-9a-f]+)$/;
const SNAPSHOT_NAME = /^snapshot\.([0-9a-f]+)$/;
const READ_CHUNK_BYTES = 1024 * 1024;

/** segmentName is `log.<first zxid in hex>`, as ZooKeeper names its logs. */
export function segmentName(firstZxid: Zxid): string {
  return `log.${firstZxid.toString(16)}`;
}

/** snapshotName is `snapshot.<zxid in hex>`, as ZooKeeper names its snapshots. */
export function snapshotName(zxid: Zxid): string {
  return `snapshot.${zxid.toString(16)}`;
}

/** Segment is what memory holds of one log file: its header and where each record is. */
interface Segment {
  name: string;
  header: SegmentHeader;
  zxids: Zxid[];
  offsets: number[];
  /** sizeBytes is the end of the last durable record. */
  sizeBytes: number;
  /**
   * crcDeferredBelow is set when load() framed this segment's records without checking their crcs:
   * every record lies below this zxid (the next segment's first), so at or below the snapshot
   * recovery expected to use. They are crc-checked before anything relies on them (verifyDeferred)
   * and, as every record, when read (readEntries). Null once checked, and for segments written since.
   */
  crcDeferredBelow: Zxid | null;
}

/**
 * LoadedSegment is what load() keeps of a segment it read until the entries to recover are known:
 * the entries above the newest snapshot, decoded as the segment was read (`above` is that
 * snapshot's zxid), or the segment's bytes, read and checked whole.
 */
type LoadedSegment = { entries: LogEntry[]; above: Zxid } | { bytes: Uint8Array };

const NO_BYTES = new Uint8Array(0);

/**
 * lastZxidBound is a zxid no record of the segment is above: its last zxid, or for a segment whose
 * crcs load() deferred, the one below the next segment's first (a record's zxid is not trusted
 * before its crc is checked: retention must not delete entries on the word of a rotten one).
 */
function lastZxidBound(segment: Segment): Zxid {
  return segment.crcDeferredBelow !== null ? segment.crcDeferredBelow - 1 : (segment.zxids.at(-1) as Zxid);
}

interface AppendOp {
  kind: 'append';
  entries: readonly LogEntry[];
  records: Uint8Array[];
  resolve(): void;
  reject(error: unknown): void;
}
interface TaskOp {
  kind: 'task';
  run(): Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}
type Op = AppendOp | TaskOp;

const consoleLogger: StorageLogger = {
  warn: (message, fields) => console.warn(`@zabkit/storage: ${message}`, fields),
};

/**
 * openFileStorage creates the data directory if needed and returns a FileStorage over it; call
 * `load()` next, as the Storage contract requires.
 */
export async function openFileStorage(options: FileStorageOptions): Promise<FileStorage> {
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  await fileSystem.mkdir(options.dir);
  return new FileStorage(options);
}

/**
 * FileStorage implements core's Storage on a directory: a segmented transaction log with a crc per
 * record and one write plus one fdatasync per group-commit batch, epochs in one atomically replaced
 * file, and chunked fuzzy snapshots with retention. Every mutation (batches, truncation, snapshot
 * installation, retention) runs one at a time from one queue, in call order; snapshot files are
 * written beside it. See the README for the format and the recovery rules.
 */
export class FileStorage implements Storage {
  private readonly dir: string;
  private readonly fileSystem: FileSystem;
  private readonly logger: StorageLogger;
  private readonly segmentBytesMax: number;
  private readonly snapshotRetainCount: number;
  private readonly batchBytesMax: number;

  private state: 'new' | 'loading' | 'open' | 'closing' | 'closed' = 'new';
  /** failure is set by the first I/O error of a mutation; from then on every call rejects with it. */
  private failure: StorageError | null = null;
  private segments: Segment[] = [];
  /** active is the open handle of the newest segment, or null when there is no segment. */
  private active: FileHandle | null = null;
  /** logStartZxid is the previousZxid a new first segment gets when the log is empty. */
  private logStartZxid: Zxid = 0;
  /** rollPreviousZxid, when set, forces the next batch into a new segment with this previousZxid (a snapshot jumped past the log). */
  private rollPreviousZxid: Zxid | null = null;
  /** snapshotZxids are the snapshot files present, ascending. */
  private snapshotZxids: Zxid[] = [];
  private readonly queue: Op[] = [];
  private draining = false;
  private readonly snapshotWrites = new Set<Promise<unknown>>();
  private tempCounter = 0;

  constructor(options: FileStorageOptions) {
    this.dir = options.dir;
    this.fileSystem = options.fileSystem ?? nodeFileSystem;
    this.logger = options.logger ?? consoleLogger;
    this.segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_MAX_DEFAULT;
    this.snapshotRetainCount = options.snapshotRetainCount ?? SNAPSHOT_RETAIN_COUNT_DEFAULT;
    this.batchBytesMax = options.batchBytesMax ?? BATCH_BYTES_MAX_DEFAULT;
    if (!Number.isInteger(this.snapshotRetainCount) || this.snapshotRetainCount < 1) {
      throw new StorageError(
        'INVALID_ARGUMENT',
        `snapshotRetainCount must be an integer >= 1, not ${this.snapshotRetainCount}`,
      );
    }
    if (!(this.segmentBytesMax > 0) || !(this.batchBytesMax > 0)) {
      throw new StorageError('INVALID_ARGUMENT', 'segmentBytesMax and batchBytesMax must be positive');
    }
  }

  /** lastZxid is the zxid of the last durable entry, or 0 when the log is empty. */
  get lastZxid(): Zxid {
    return this.segments.at(-1)?.zxids.at(-1) ?? 0;
  }

  // -------------------------------------------------------------------------------------------
  // Recovery.

  async load(): Promise<RecoveredState> {
    if (this.state !== 'new') throw this.stateError();
    this.state = 'loading';
    try {
      const names = await this.fileSystem.readdir(this.dir);
      await this.removeTempFiles(names);
      const epochs = await this.loadEpochs(names);
      this.snapshotZxids = names
        .map((name) => SNAPSHOT_NAME.exec(name))
        .filter((match) => match !== null)
        .map((match) => Number.parseInt(match[1] as string, 16))
        .sort((a, b) => a - b);
      // The bytes of the segments checked whole, kept until their entries are decoded below.
      const loaded = await this.loadSegments(names, this.snapshotZxids.at(-1) ?? 0);
      const snapshot = await this.chooseSnapshot(loaded);
      // A SNAP installed past the end of the log, and no append since: the next batch must still
      // start a segment that marks the jump (the mark was only in memory before the restart).
      const logEnd = this.segments.length > 0 ? this.lastZxid : this.logStartZxid;
      if (snapshot !== null && snapshot.header.zxid > logEnd) this.rollPreviousZxid = snapshot.header.zxid;
      const last = this.segments.at(-1);
      if (last !== undefined) this.active = await this.fileSystem.open(join(this.dir, last.name), 'r+');
      const entries = await this.loadedEntries(snapshot?.header.zxid ?? 0, loaded);
      this.state = 'open';
      return { epochs, snapshot, entries };
    } catch (error) {
      this.state = 'closed';
      await this.active?.close().catch(() => undefined);
      this.active = null;
      throw error;
    }
  }

  private async removeTempFiles(names: string[]): Promise<void> {
    const temps = names.filter((name) => name.startsWith('.') && name.endsWith('.tmp'));
    for (const name of temps) await this.fileSystem.unlink(join(this.dir, name));
    if (temps.length > 0) await this.fileSystem.syncDirectory(this.dir);
  }

  private async loadEpochs(names: string[]): Promise<Epochs> {
    if (!names.includes(EPOCHS_FILE)) return { acceptedEpoch: 0, currentEpoch: 0 };
    const path = join(this.dir, EPOCHS_FILE);
    const bytes = await this.fileSystem.readFile(path);
    const newer = newerFormatVersion(bytes, EPOCHS_MAGIC, 4, EPOCHS_VERSION);
    if (newer !== null) throw newerFormat('the epochs file', newer, EPOCHS_VERSION, path);
    const epochs = decodeEpochs(bytes);
    // The file is replaced atomically, so a bad one is not a torn write: refuse rather than guess.
    if (epochs === null)
      throw new StorageError('CORRUPT_EPOCHS', 'epochs file fails validation', { file: path, offset: 0 });
    return epochs;
  }

  /**
   * loadSegments validates every segment and builds the index. A bad record in the newest segment
   * with no valid batch start after it is a torn last batch: truncated, with a warning. Any other bad
   * record, a bad header before the newest segment, or zxids out of order refuse to start.
   *
   * A segment that is not the newest and whose records all lie at or below `snapshotZxid` (the
   * newest snapshot's: the next segment's name, its first zxid, is at most one above it) is only
   * framed: header crc, every record's magic and length, zxid order; its record crcs wait for
   * verifyDeferred, which runs before recovery uses any of its entries. Returns the bytes of the
   * segments read whole, for loadedEntries.
   */
  private async loadSegments(names: string[], snapshotZxid: Zxid): Promise<Map<string, LoadedSegment>> {
    const loaded = new Map<string, LoadedSegment>();
    const found = names
      .map((name) => ({ name, match: SEGMENT_NAME.exec(name) }))
      .filter((item) => item.match !== null)
      .map((item) => ({ name: item.name, firstZxid: Number.parseInt(item.match?.[1] as string, 16) }))
      .sort((a, b) => a.firstZxid - b.firstZxid);
    let previousLast = 0;
    for (const [index, { name, firstZxid }] of found.entries()) {
      const path = join(this.dir, name);
      const newest = index === found.length - 1;
      const nextFirstZxid = found[index + 1]?.firstZxid;
      // Every record of this segment is below the next one's first zxid.
      const crcDeferredBelow = nextFirstZxid !== undefined && nextFirstZxid <= snapshotZxid + 1 ? nextFirstZxid : null;
      // The usual case: read once through a small buffer, decoding the entries recovery will use.
      const streamed = await readSegmentOnce(this.fileSystem, path, crcDeferredBelow === null, snapshotZxid);
      let bytes: Uint8Array = NO_BYTES;
      let scan: SegmentScan;
      if (streamed !== null) {
        scan = { header: streamed.header, records: streamed.records, badOffset: null };
      } else {
        // Not simply intact: read whole, for the rules below (a torn tail, a newer format, a bad header).
        bytes = await this.fileSystem.readFile(path);
        const newer = newerFormatVersion(bytes, SEGMENT_MAGIC, 2, SEGMENT_VERSION);
        if (newer !== null) throw newerFormat('log segment', newer, SEGMENT_VERSION, path);
        scan = scanSegment(bytes, crcDeferredBelow === null);
      }
      if (scan.header === null) {
        if (!newest || findRecordsAfter(bytes, -1).length > 0) {
          throw new StorageError('CORRUPT_LOG', 'segment header fails validation', { file: path, offset: 0 });
        }
        // A header is fsynced before any record is written: an invalid one with no records is a
        // segment whose creation was cut short.
        this.logger.warn('removing a log segment whose creation was cut short', { file: path, bytes: bytes.length });
        await this.removeFile(path);
        continue;
      }
      if (scan.header.firstZxid !== firstZxid) {
        throw new StorageError('CORRUPT_LOG', `header says first zxid 0x${scan.header.firstZxid.toString(16)}`, {
          file: path,
          offset: 0,
        });
      }
      const records = scan.records;
      let last = previousLast;
      for (const [position, record] of records.entries()) {
        const wrongFirst = position === 0 && record.zxid !== firstZxid;
        if (record.zxid <= last || wrongFirst) {
          throw new StorageError('CORRUPT_LOG', `record zxid 0x${record.zxid.toString(16)} out of order`, {
            file: path,
            offset: record.offset,
          });
        }
        last = record.zxid;
      }
      let sizeBytes = streamed?.sizeBytes ?? bytes.length;
      if (scan.badOffset !== null) {
        const later = newest ? findRecordsAfter(bytes, scan.badOffset) : [];
        const batchStartAfter = later.find((record) => record.batchStart);
        if (!newest || batchStartAfter !== undefined) {
          throw new StorageError(
            'CORRUPT_LOG',
            newest
              ? `bad record before a later batch (batch at offset ${batchStartAfter?.offset})`
              : 'bad record in a segment that is not the newest',
            { file: path, offset: scan.badOffset },
          );
        }
        this.logger.warn('truncating a torn or corrupt tail of the newest log segment', {
          file: path,
          offset: scan.badOffset,
          bytesDropped: bytes.length - scan.badOffset,
          validRecordsDropped: later.length,
        });
        const file = await this.fileSystem.open(path, 'r+');
        try {
          await file.truncate(scan.badOffset);
          await file.datasync();
        } finally {
          await file.close();
        }
        sizeBytes = scan.badOffset;
      }
      if (records.length === 0) {
        if (!newest) {
          throw new StorageError('CORRUPT_LOG', 'empty segment before the newest', {
            file: path,
            offset: SEGMENT_HEADER_BYTES,
          });
        }
        // A segment is created right before its first batch: empty means that batch never became durable.
        this.logger.warn('removing an empty newest log segment', { file: path });
        await this.removeFile(path);
        continue;
      }
      previousLast = last;
      this.segments.push({
        name,
        header: scan.header,
        zxids: records.map((record) => record.zxid),
        offsets: records.map((record) => record.offset),
        sizeBytes,
        crcDeferredBelow,
      });
      if (crcDeferredBelow === null) {
        loaded.set(
          name,
          streamed !== null
            ? { entries: streamed.entries, above: snapshotZxid }
            : { bytes: bytes.subarray(0, sizeBytes) },
        );
      }
    }
    this.logStartZxid = this.segments[0]?.header.previousZxid ?? 0;
    // The newest segment is the one appends continue: its records are checked whole even when a
    // newer one was removed above (cut short, or empty).
    const last = this.segments.at(-1);
    if (last !== undefined && last.crcDeferredBelow !== null) await this.verifySegment(last, loaded);
    return loaded;
  }

  /**
   * verifyDeferred checks the record crcs that load() deferred in every segment that may hold
   * entries above `afterZxid`, before anything relies on them: recovery from an older snapshot, a
   * truncation below the snapshot loaded. A bad record is CORRUPT_LOG, as at load.
   */
  private async verifyDeferred(afterZxid: Zxid, loaded?: Map<string, LoadedSegment>): Promise<void> {
    for (const segment of this.segments) {
      if (segment.crcDeferredBelow !== null && segment.crcDeferredBelow > afterZxid + 1) {
        await this.verifySegment(segment, loaded);
      }
    }
  }

  /** verifySegment reads a segment whose record crcs load() deferred and checks every record against the index. */
  private async verifySegment(segment: Segment, loaded?: Map<string, LoadedSegment>): Promise<void> {
    const path = join(this.dir, segment.name);
    const bytes = (await this.fileSystem.readFile(path)).subarray(0, segment.sizeBytes);
    const scan = scanSegment(bytes);
    const mismatch = segment.zxids.findIndex(
      (zxid, position) =>
        scan.records[position]?.zxid !== zxid || scan.records[position]?.offset !== segment.offsets[position],
    );
    if (scan.header === null || mismatch >= 0 || scan.badOffset !== null) {
      throw new StorageError('CORRUPT_LOG', 'bad record in a segment that is not the newest', {
        file: path,
        offset: scan.header === null ? 0 : (scan.badOffset ?? segment.offsets[mismatch]),
      });
    }
    segment.crcDeferredBelow = null;
    loaded?.set(segment.name, { bytes });
  }

  /**
   * loadedEntries returns the entries above `afterZxid`: those loadSegments decoded as it read each
   * segment (the entries above the newest snapshot), or decoded from the segment bytes
   * verifyDeferred or loadSegments read and checked whole. A segment read for a newer snapshot than
   * the one recovery fell back to is read and checked whole again (verifySegment).
   */
  private async loadedEntries(afterZxid: Zxid, loaded: Map<string, LoadedSegment>): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for (const segment of this.segments) {
      if ((segment.zxids.at(-1) as Zxid) <= afterZxid) continue;
      let held = loaded.get(segment.name);
      if (held !== undefined && 'entries' in held) {
        if (held.above <= afterZxid) {
          for (const entry of held.entries) if (entry.zxid > afterZxid) entries.push(entry);
          continue;
        }
        await this.verifySegment(segment, loaded);
        held = loaded.get(segment.name);
      }
      if (held === undefined || !('bytes' in held) || segment.crcDeferredBelow !== null) {
        throw new Error(`FileStorage: segment ${segment.name} holds entries to recover but was not checked whole`);
      }
      const { bytes } = held;
      const { zxids, offsets } = segment;
      for (let position = 0; position < zxids.length; position++) {
        const zxid = zxids[position] as Zxid;
        if (zxid <= afterZxid) continue;
        const offset = offsets[position] as number;
        const end = offsets[position + 1] ?? segment.sizeBytes;
        entries.push(decodeRecordEntry(bytes, { zxid, offset, bytes: end - offset, batchStart: false }));
      }
    }
    return entries;
  }

  /**
   * chooseSnapshot returns the newest snapshot that validates and that the log continues without a
   * gap; older ones stand in for a corrupt newer one (with a warning). With none, the log alone is
   * used when it starts at the beginning. Otherwise recovery refuses with the newest snapshot's error.
   */
  private async chooseSnapshot(loaded: Map<string, LoadedSegment>): Promise<Snapshot | null> {
    let firstError: StorageError | null = null;
    for (const zxid of [...this.snapshotZxids].reverse()) {
      const path = join(this.dir, snapshotName(zxid));
      let snapshot: Snapshot;
      try {
        // Read once, checked whole while it is decoded straight into the form the tree keeps; a
        // failure anywhere drops what was decoded and the next older snapshot is tried.
        snapshot = await readSnapshotFile(this.fileSystem, path, this.entriesAbove(zxid));
        if (snapshot.header.zxid !== zxid) throw new SnapshotFormatError('header zxid differs from the file name', 8);
      } catch (error) {
        // Not skipped as corrupt: an older snapshot and the log may not hold what a later release wrote.
        if (StorageError.isInstance(error) && error.code === 'NEWER_FORMAT') throw error;
        const offset = error instanceof SnapshotFormatError ? error.offset : undefined;
        const failure = new StorageError('CORRUPT_SNAPSHOT', `snapshot fails validation: ${(error as Error).message}`, {
          file: path,
          offset,
          cause: error,
        });
        this.logger.warn('skipping a snapshot that fails validation', {
          file: path,
          offset,
          reason: (error as Error).message,
        });
        firstError ??= failure;
        continue;
      }
      // The entries above this snapshot must be checked whole before the gap check reads their zxids.
      await this.verifyDeferred(zxid, loaded);
      const gap = this.findGap(zxid);
      if (gap !== null) {
        this.logger.warn('skipping a snapshot the log does not continue', { snapshot: path, ...gap });
        firstError ??= new StorageError('LOG_GAP', `log does not continue snapshot 0x${zxid.toString(16)}`, gap);
        continue;
      }
      return snapshot;
    }
    await this.verifyDeferred(0, loaded);
    if (this.findGap(0) === null && (this.segments.length > 0 || this.snapshotZxids.length === 0)) {
      if (firstError !== null) this.logger.warn('no valid snapshot: replaying the whole log', {});
      return null;
    }
    throw firstError ?? new StorageError('LOG_GAP', 'the log does not start at the beginning and there is no snapshot');
  }

  /** entriesAbove is how many log entries the index holds above `zxid` (what a replay from a snapshot there applies). */
  private entriesAbove(zxid: Zxid): number {
    let count = 0;
    for (const segment of this.segments) {
      const { zxids } = segment;
      if ((zxids.at(-1) as Zxid) <= zxid) continue;
      let first = 0;
      while (first < zxids.length && (zxids[first] as Zxid) <= zxid) first++;
      count += zxids.length - first;
    }
    return count;
  }

  /**
   * findGap returns where the log fails to hold every entry above `afterZxid` (a segment whose
   * previousZxid is not what precedes it), or null when it holds them all.
   */
  private findGap(afterZxid: Zxid): { file: string; offset: number; compacted: boolean } | null {
    let relevant = false;
    for (const [index, segment] of this.segments.entries()) {
      if ((segment.zxids.at(-1) as Zxid) <= afterZxid) continue;
      const previousLast = index === 0 ? null : (this.segments[index - 1]?.zxids.at(-1) as Zxid);
      const continues = relevant
        ? segment.header.previousZxid === previousLast
        : segment.header.firstZxid <= afterZxid || segment.header.previousZxid <= afterZxid;
      if (!continues) return { file: join(this.dir, segment.name), offset: 0, compacted: !relevant && index === 0 };
      relevant = true;
    }
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // The log.

  append(entries: readonly LogEntry[]): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    let records: Uint8Array[];
    try {
      // Encoding here, not in the batch loop, overlaps it with the fsync in flight.
      records = entries.map((entry) => {
        if (!isZxid(entry.zxid) || entry.zxid === 0) {
          throw new StorageError('INVALID_ARGUMENT', `not an appendable zxid: ${String(entry.zxid)}`);
        }
        return encodeRecord(entry);
      });
    } catch (error) {
      return Promise.reject(
        StorageError.isInstance(error) ? error : new StorageError('INVALID_ARGUMENT', (error as Error).message),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'append', entries, records, resolve, reject });
      this.drain();
    });
  }

  truncateAfter(zxid: Zxid): Promise<void> {
    if (!Number.isSafeInteger(zxid) || zxid < 0) {
      return Promise.reject(new StorageError('INVALID_ARGUMENT', `not a zxid: ${String(zxid)}`));
    }
    return this.enqueueTask(() => this.truncateNow(zxid));
  }

  /**
   * truncateNow removes entries above `zxid` so that every state a crash can leave is a prefix of
   * the log before: snapshots above `zxid` first (they contain what is being removed), then later
   * segments newest first (each unlink made durable before the next, or a lost unlink could leave a
   * hole), then the tail of the segment that keeps entries.
   */
  private async truncateNow(zxid: Zxid): Promise<void> {
    // Below the snapshot loaded (Zab never truncates there): the index must be checked before it is cut.
    await this.verifyDeferred(zxid);
    const doomedSnapshots = this.snapshotZxids.filter((snapshotZxid) => snapshotZxid > zxid);
    if (doomedSnapshots.length > 0) {
      // Zab never truncates below an applied zxid; a snapshot above the truncation point would
      // bring the removed transactions back at the next start.
      this.logger.warn('truncateAfter removes snapshots above the truncation point', {
        zxid,
        snapshots: doomedSnapshots.map((value) => `0x${value.toString(16)}`),
      });
      for (const snapshotZxid of doomedSnapshots.reverse()) {
        await this.fileSystem.unlink(join(this.dir, snapshotName(snapshotZxid)));
      }
      await this.fileSystem.syncDirectory(this.dir);
      this.snapshotZxids = this.snapshotZxids.filter((snapshotZxid) => snapshotZxid <= zxid);
    }
    if (this.rollPreviousZxid !== null && this.rollPreviousZxid > zxid) {
      this.rollPreviousZxid = zxid > this.lastZxid ? zxid : null;
    }
    const firstSegment = this.segments[0];
    while (this.segments.length > 0 && (this.segments.at(-1) as Segment).header.firstZxid > zxid) {
      const segment = this.segments.pop() as Segment;
      await this.active?.close();
      this.active = null;
      await this.fileSystem.unlink(join(this.dir, segment.name));
      await this.fileSystem.syncDirectory(this.dir);
    }
    const keeper = this.segments.at(-1);
    if (keeper === undefined) {
      // Entries up to min(zxid, previousZxid) are gone with the log; a new first segment says so.
      if (firstSegment !== undefined) this.logStartZxid = Math.min(zxid, firstSegment.header.previousZxid);
      return;
    }
    this.active ??= await this.fileSystem.open(join(this.dir, keeper.name), 'r+');
    let keep = keeper.zxids.length;
    while (keep > 0 && (keeper.zxids[keep - 1] as Zxid) > zxid) keep--;
    if (keep === keeper.zxids.length) return;
    const offset = keeper.offsets[keep] as number;
    await this.active.truncate(offset);
    await this.active.datasync();
    keeper.zxids.length = keep;
    keeper.offsets.length = keep;
    keeper.sizeBytes = offset;
  }

  readFrom(afterZxid: Zxid): AsyncIterable<LogEntry> {
    const refused = this.refusal();
    if (refused !== null) {
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(refused) }),
      };
    }
    return this.readEntries(afterZxid);
  }

  /**
   * readEntries yields the durable entries above `afterZxid` as the index stands when iteration
   * starts, checking each record's crc again (the disk may have rotted since load).
   */
  private async *readEntries(afterZxid: Zxid): AsyncGenerator<LogEntry> {
    const gap = this.findGap(afterZxid);
    if (gap !== null) {
      throw new StorageError(
        gap.compacted ? 'LOG_COMPACTED' : 'LOG_GAP',
        `the log no longer holds every entry after 0x${afterZxid.toString(16)}`,
        gap,
      );
    }
    const plan = this.segments
      .filter((segment) => (segment.zxids.at(-1) as Zxid) > afterZxid)
      .map((segment) => ({
        name: segment.name,
        zxids: segment.zxids.slice(),
        offsets: segment.offsets.slice(),
        sizeBytes: segment.sizeBytes,
      }));
    for (const segment of plan) {
      const path = join(this.dir, segment.name);
      let first = 0;
      while (first < segment.zxids.length && (segment.zxids[first] as Zxid) <= afterZxid) first++;
      let file: FileHandle;
      try {
        file = await this.fileSystem.open(path, 'r');
      } catch (error) {
        throw new StorageError('LOG_COMPACTED', 'a segment was removed while it was being read', {
          file: path,
          cause: error,
        });
      }
      try {
        let index = first;
        while (index < segment.zxids.length) {
          const start = segment.offsets[index] as number;
          // Read whole records, about READ_CHUNK_BYTES at a time.
          let endIndex = index + 1;
          while (
            endIndex < segment.zxids.length &&
            (segment.offsets[endIndex + 1] ?? segment.sizeBytes) - start <= READ_CHUNK_BYTES
          ) {
            endIndex++;
          }
          const end = segment.offsets[endIndex] ?? segment.sizeBytes;
          const bytes = new Uint8Array(end - start);
          let read = 0;
          while (read < bytes.length) {
            const count = await file.read(bytes, read, bytes.length - read, start + read);
            if (count === 0) break;
            read += count;
          }
          for (let position = index; position < endIndex; position++) {
            const offset = (segment.offsets[position] as number) - start;
            const record: RecordLocation | null = readRecordAt(bytes.subarray(0, read), offset);
            if (record === null || record.zxid !== segment.zxids[position]) {
              throw new StorageError('CORRUPT_LOG', 'record fails validation on read', {
                file: path,
                offset: segment.offsets[position],
              });
            }
            yield decodeRecordEntry(bytes, record);
          }
          index = endIndex;
        }
      } finally {
        await file.close();
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Epochs and snapshots.

  saveEpochs(epochs: Epochs): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeEpochs(epochs);
    } catch (error) {
      return Promise.reject(new StorageError('INVALID_ARGUMENT', (error as Error).message));
    }
    // Through the queue, so epochs become durable after every append issued before them.
    return this.enqueueTask(() => writeFileAtomic(join(this.dir, EPOCHS_FILE), bytes, this.fileSystem));
  }

  async saveSnapshot(
    header: SnapshotHeader,
    records: Iterable<SnapshotRecord> | AsyncIterable<SnapshotRecord>,
  ): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) throw refused;
    if (!isZxid(header.zxid)) throw new StorageError('INVALID_ARGUMENT', `not a zxid: ${String(header.zxid)}`);
    const saving = this.writeAndInstallSnapshot(header, records);
    // close() waits for snapshots in progress, installation included.
    this.snapshotWrites.add(saving);
    try {
      await saving;
    } finally {
      this.snapshotWrites.delete(saving);
    }
  }

  private async writeAndInstallSnapshot(
    header: SnapshotHeader,
    records: Iterable<SnapshotRecord> | AsyncIterable<SnapshotRecord>,
  ): Promise<void> {
    const temp = join(this.dir, `.${snapshotName(header.zxid)}.${this.tempCounter++}.tmp`);
    try {
      await writeSnapshotFile(this.fileSystem, temp, header, records);
    } catch (error) {
      await this.fileSystem.unlink(temp).catch(() => undefined);
      throw error;
    }
    // Installing it goes through the queue: it must not race a truncation or a retention pass.
    await this.enqueueTask(async () => {
      await this.fileSystem.rename(temp, join(this.dir, snapshotName(header.zxid)));
      await this.fileSystem.syncDirectory(this.dir);
      if (!this.snapshotZxids.includes(header.zxid)) {
        this.snapshotZxids.push(header.zxid);
        this.snapshotZxids.sort((a, b) => a - b);
      }
      const logEnd = this.segments.length > 0 ? this.lastZxid : this.logStartZxid;
      // The log will continue after the snapshot, not after its own last entry: mark the jump so
      // that readFrom across it and a replay from an older snapshot see a gap, not a history.
      if (header.zxid > logEnd) this.rollPreviousZxid = Math.max(header.zxid, this.rollPreviousZxid ?? 0);
      await this.retain();
    }, true);
  }

  /**
   * retain deletes snapshots beyond the newest snapshotRetainCount, then every segment whose entries
   * are all at or below the oldest kept snapshot (never the newest segment: appends go there).
   */
  private async retain(): Promise<void> {
    let changed = false;
    while (this.snapshotZxids.length > this.snapshotRetainCount) {
      const zxid = this.snapshotZxids.shift() as Zxid;
      await this.fileSystem.unlink(join(this.dir, snapshotName(zxid)));
      changed = true;
    }
    const oldestKept = this.snapshotZxids[0];
    if (oldestKept !== undefined) {
      while (this.segments.length > 1 && lastZxidBound(this.segments[0] as Segment) <= oldestKept) {
        const segment = this.segments.shift() as Segment;
        await this.fileSystem.unlink(join(this.dir, segment.name));
        changed = true;
      }
    }
    if (changed) await this.fileSystem.syncDirectory(this.dir);
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    await Promise.allSettled([...this.snapshotWrites]);
    await new Promise<void>((resolve) => {
      this.queue.push({
        kind: 'task',
        run: async () => undefined,
        resolve,
        reject: () => resolve(),
      });
      this.drain();
    });
    await this.active?.close().catch(() => undefined);
    this.active = null;
    this.state = 'closed';
  }

  // -------------------------------------------------------------------------------------------
  // The queue: group commit.

  private refusal(): StorageError | null {
    if (this.failure !== null) return this.failure;
    if (this.state !== 'open') return this.stateError();
    return null;
  }

  private stateError(): StorageError {
    if (this.state === 'new' || this.state === 'loading') return new StorageError('NOT_LOADED', 'call load() first');
    return new StorageError('CLOSED', 'storage is closed');
  }

  private enqueueTask(run: () => Promise<void>, whileClosing = false): Promise<void> {
    const refused = whileClosing && this.state === 'closing' ? this.failure : this.refusal();
    if (refused !== null) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'task', run, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drainLoop();
  }

  /** drainLoop runs queued ops one at a time; it clears `draining` in the same turn it sees the queue empty, so no op is left behind. */
  private async drainLoop(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.failure !== null) {
        for (const op of this.queue.splice(0)) op.reject(this.failure);
        break;
      }
      const head = this.queue[0] as Op;
      if (head.kind === 'task') {
        this.queue.shift();
        try {
          await head.run();
          head.resolve();
        } catch (error) {
          head.reject(this.failWith(error));
        }
        continue;
      }
      const batch: AppendOp[] = [];
      let batchBytes = 0;
      while (this.queue[0]?.kind === 'append' && (batch.length === 0 || batchBytes < this.batchBytesMax)) {
        const op = this.queue.shift() as AppendOp;
        batch.push(op);
        for (const record of op.records) batchBytes += record.length;
      }
      await this.writeBatch(batch);
    }
    this.draining = false;
  }

  /** failWith records an I/O failure (every later call refuses) and returns the error to reject with. */
  private failWith(error: unknown): StorageError {
    if (StorageError.isInstance(error) && error.code !== 'IO_FAILED') return error;
    this.failure ??= new StorageError(
      'IO_FAILED',
      `I/O failed, storage refuses further work: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
    return this.failure;
  }

  /** writeBatch writes every valid append of `batch` with one write and one fdatasync, then resolves them. */
  private async writeBatch(batch: AppendOp[]): Promise<void> {
    const accepted: AppendOp[] = [];
    let last = this.lastZxid;
    let bytes = 0;
    for (const op of batch) {
      const previous = last;
      const bad = op.entries.find((entry) => {
        const ok = entry.zxid > last;
        last = entry.zxid;
        return !ok;
      });
      if (bad !== undefined) {
        last = previous;
        op.reject(
          new StorageError(
            'APPEND_OUT_OF_ORDER',
            `append of 0x${bad.zxid.toString(16)} is not above 0x${previous.toString(16)}`,
          ),
        );
        continue;
      }
      accepted.push(op);
      for (const record of op.records) bytes += record.length;
    }
    if (bytes === 0) {
      for (const op of accepted) op.resolve();
      return;
    }
    const buffer = new Uint8Array(bytes);
    const zxids: Zxid[] = [];
    const relativeOffsets: number[] = [];
    let position = 0;
    for (const op of accepted) {
      for (const [index, record] of op.records.entries()) {
        buffer.set(record, position);
        zxids.push((op.entries[index] as LogEntry).zxid);
        relativeOffsets.push(position);
        position += record.length;
      }
    }
    markBatchStart(buffer, 0);
    try {
      let segment = this.segments.at(-1);
      if (segment === undefined || segment.sizeBytes >= this.segmentBytesMax || this.rollPreviousZxid !== null) {
        segment = await this.rollSegment(zxids[0] as Zxid);
      }
      const active = this.active as FileHandle;
      await writeFully(active, buffer, segment.sizeBytes);
      await active.datasync();
      for (const [index, zxid] of zxids.entries()) {
        segment.zxids.push(zxid);
        segment.offsets.push(segment.sizeBytes + (relativeOffsets[index] as number));
      }
      segment.sizeBytes += bytes;
    } catch (error) {
      const failure = this.failWith(error);
      for (const op of accepted) op.reject(failure);
      return;
    }
    for (const op of accepted) op.resolve();
  }

  /** rollSegment creates the next segment and makes its header and its directory entry durable before any record goes in. */
  private async rollSegment(firstZxid: Zxid): Promise<Segment> {
    const previousZxid = this.rollPreviousZxid ?? (this.segments.length > 0 ? this.lastZxid : this.logStartZxid);
    const header: SegmentHeader = { firstZxid, previousZxid };
    const name = segmentName(firstZxid);
    const file = await this.fileSystem.open(join(this.dir, name), 'w');
    try {
      await writeFully(file, encodeSegmentHeader(header), 0);
      await file.datasync();
      await this.fileSystem.syncDirectory(this.dir);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    await this.active?.close();
    this.active = file;
    const segment: Segment = {
      name,
      header,
      zxids: [],
      offsets: [],
      sizeBytes: SEGMENT_HEADER_BYTES,
      crcDeferredBelow: null,
    };
    this.segments.push(segment);
    this.rollPreviousZxid = null;
    return segment;
  }

  private async removeFile(path: string): Promise<void> {
    await this.fileSystem.unlink(path);
    await this.fileSystem.syncDirectory(this.dir);
  }
}
