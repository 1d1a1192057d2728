import { DataTree, type LogEntry, type SnapshotHeader, type SnapshotRecord, type Zxid } from '@zabkit/core';
import type { FileSystem } from './file-system.js';
import { decodeRecordEntry, encodeRecord, encodeSegmentHeader, scanSegment } from './log-record.js';
import { decodeSnapshot, writeSnapshotFile } from './snapshot-file.js';

/*
 * A backup of a running member, in two parts (what GET /api/snapshot sends):
 * - a fuzzy snapshot file taken at `fuzzyZxid` while the member kept applying transactions (the
 *   same format as a data directory's snapshot: header, chunks, trailer with a crc), and
 * - the tail: every transaction the member applied above `fuzzyZxid` until the snapshot was
 *   written, as one log segment (the data directory's log format, a crc per record).
 * Replaying the tail onto the snapshot (idempotently, as recovery replays a log onto a fuzzy
 * snapshot) gives the tree exactly as it was at the tail's last zxid; {@link consolidateBackup} does
 * that, and {@link writeConsolidatedSnapshot} writes it as one ordinary snapshot file, which a new
 * data directory can start from and `inspect snapshot` can read.
 */

/** encodeBackupTail writes `entries` (zxid order, all above `fuzzyZxid`) as one log segment. */
export function encodeBackupTail(fuzzyZxid: Zxid, entries: readonly LogEntry[]): Uint8Array {
  const parts = [encodeSegmentHeader({ firstZxid: entries[0]?.zxid ?? fuzzyZxid, previousZxid: fuzzyZxid })];
  let previous = fuzzyZxid;
  for (const entry of entries) {
    if (entry.zxid <= previous) throw new RangeError(`backup tail out of order at 0x${entry.zxid.toString(16)}`);
    previous = entry.zxid;
    parts.push(encodeRecord(entry));
  }
  return Buffer.concat(parts);
}

/** ConsolidatedBackup is a backup replayed into one tree: consistent at `zxid`. */
export interface ConsolidatedBackup {
  /** zxid: the last transaction the tree holds (the tail's last, or the snapshot's if the tail is empty). */
  zxid: Zxid;
  /** fuzzyZxid: where the member's fuzzy snapshot started. */
  fuzzyZxid: Zxid;
  tree: DataTree;
  /** tailEntries: how many transactions were replayed onto the snapshot. */
  tailEntries: number;
}

/** BackupFormatError says which part of a backup is damaged. */
export class BackupFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFormatError';
  }
}

/**
 * consolidateBackup validates both parts (the snapshot's crcs, every tail record's crc, the tail
 * starting right after the snapshot and leaving nothing unread) and replays the tail onto the
 * snapshot. Throws a BackupFormatError naming what is wrong.
 */
export function consolidateBackup(snapshotBytes: Uint8Array, tailBytes: Uint8Array): ConsolidatedBackup {
  let snapshot: ReturnType<typeof decodeSnapshot>;
  try {
    snapshot = decodeSnapshot(snapshotBytes);
  } catch (error) {
    throw new BackupFormatError(`the snapshot part is damaged: ${(error as Error).message}`);
  }
  const scan = scanSegment(tailBytes);
  if (scan.header === null) throw new BackupFormatError('the tail part has no valid log segment header');
  if (scan.badOffset !== null) throw new BackupFormatError(`the tail part is damaged at byte ${scan.badOffset}`);
  const fuzzyZxid = snapshot.header.zxid;
  if (scan.header.previousZxid !== fuzzyZxid) {
    throw new BackupFormatError(
      `the tail continues 0x${scan.header.previousZxid.toString(16)}, not the snapshot's 0x${fuzzyZxid.toString(16)}`,
    );
  }
  let tree: DataTree;
  try {
    tree = DataTree.fromSnapshot(snapshot.header, snapshot.records);
  } catch (error) {
    throw new BackupFormatError(`the snapshot part does not form a tree: ${(error as Error).message}`);
  }
  for (const location of scan.records) tree.applyTxn(decodeRecordEntry(tailBytes, location));
  return {
    zxid: scan.records.at(-1)?.zxid ?? fuzzyZxid,
    fuzzyZxid,
    tree,
    tailEntries: scan.records.length,
  };
}

/** writeConsolidatedSnapshot writes a consolidated backup to `path` as one snapshot file (fsynced); returns its record count. */
export function writeConsolidatedSnapshot(
  fileSystem: FileSystem,
  path: string,
  backup: ConsolidatedBackup,
  timeMs: number,
): Promise<number> {
  const header: SnapshotHeader = { zxid: backup.zxid, timeMs };
  const records: Iterable<SnapshotRecord> = backup.tree.snapshotRecords();
  return writeSnapshotFile(fileSystem, path, header, records);
}

/** writeFuzzySnapshot writes the first part of a backup: a fuzzy snapshot of a live tree, yielding between chunks. */
export function writeFuzzySnapshot(
  fileSystem: FileSystem,
  path: string,
  header: SnapshotHeader,
  records: Iterable<SnapshotRecord>,
): Promise<number> {
  return writeSnapshotFile(fileSystem, path, header, records);
}

/** readSnapshotFile decodes a whole snapshot file's bytes (as written by a member or by a backup), validating its crcs. */
export function readSnapshotBytes(bytes: Uint8Array): ReturnType<typeof decodeSnapshot> {
  return decodeSnapshot(bytes);
}
