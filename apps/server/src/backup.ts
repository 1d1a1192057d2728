import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatZxid,
  type LogEntry,
  readLogEntries,
  type SnapshotRecord,
  type Storage,
  type ZabPeer,
  type Zxid,
} from '@zabkit/core';
import { encodeBackupTail, nodeFileSystem, writeFuzzySnapshot } from '@zabkit/storage';

/** BackupSource is what a backup reads from a member (its ZabPeer, and its log on disk). */
export interface BackupSource {
  snapshot(): { zxid: Zxid; records: Iterable<SnapshotRecord> };
  /** appliedEntriesAfter: the entries applied above `zxid`, from memory or the log on disk; null if neither holds them all. */
  appliedEntriesAfter(zxid: Zxid): Promise<LogEntry[] | null>;
}

/**
 * memberBackupSource is a member's BackupSource: its peer's snapshot, and the entries applied after
 * it from memory or, once memory no longer holds them all (past historyEntriesMax), from its log on
 * disk, where the peer says the log continues its history (never below a SNAP it installed).
 */
export function memberBackupSource(peer: ZabPeer, storage: Pick<Storage, 'readFrom'>): BackupSource {
  return {
    snapshot: () => peer.snapshot(),
    async appliedEntriesAfter(zxid) {
      const held = peer.appliedEntriesAfter(zxid);
      if (held !== null || !peer.diskLogHolds(zxid)) return held;
      const toZxid = peer.status().lastAppliedZxid;
      return readLogEntries(storage, { afterZxid: zxid, toZxid, bytesMax: Number.POSITIVE_INFINITY }).catch(() => null);
    },
  };
}

/** BackupParts: a fuzzy snapshot written to `snapshotPath` and the tail that makes it consistent at `zxid`. */
export interface BackupParts {
  dir: string;
  snapshotPath: string;
  snapshotBytes: number;
  fuzzyZxid: Zxid;
  zxid: Zxid;
  tail: Uint8Array;
}

/** BackupUnavailable: the backup could not be completed now (the member trimmed its history meanwhile); try again. */
export class BackupUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupUnavailable';
  }
}

/**
 * takeBackup writes a fuzzy snapshot of the live tree to a private temporary directory (yielding
 * to the event loop between chunks, so the member keeps serving: the same path as its own
 * snapshots), then collects every transaction applied above the snapshot's start since: together
 * they are the tree at one zxid (storage's backup.ts). The caller removes `dir` when done.
 */
export async function takeBackup(source: BackupSource): Promise<BackupParts> {
  const dir = await mkdtemp(join(tmpdir(), 'zabkit-backup-'));
  try {
    const { zxid: fuzzyZxid, records } = source.snapshot();
    const snapshotPath = join(dir, 'snapshot');
    await writeFuzzySnapshot(nodeFileSystem, snapshotPath, { zxid: fuzzyZxid, timeMs: Date.now() }, records);
    const entries = await source.appliedEntriesAfter(fuzzyZxid);
    if (entries === null) {
      throw new BackupUnavailable(
        'the transactions the member applied while the snapshot was written are no longer in memory or in its log (a snapshot of its own compacted the log meanwhile, or it installed a SNAP): try again',
      );
    }
    const tail = encodeBackupTail(fuzzyZxid, entries);
    const zxid = entries.at(-1)?.zxid ?? fuzzyZxid;
    return { dir, snapshotPath, snapshotBytes: (await stat(snapshotPath)).size, fuzzyZxid, zxid, tail };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** running: the sources a backup is being taken of (one at a time each). */
const running = new WeakSet<BackupSource>();

/**
 * serveBackup answers GET /api/snapshot: 200 with the snapshot part then the tail part as one
 * octet stream, their split in `x-zabkit-snapshot-bytes`, the consistent zxid in `x-zabkit-zxid`;
 * 409 while another backup of this member runs; 503 if it could not be completed.
 */
export async function serveBackup(source: BackupSource, response: ServerResponse): Promise<void> {
  const fail = (status: number, error: string) => {
    if (response.headersSent) {
      response.destroy(new Error(error));
      return;
    }
    const body = JSON.stringify({ error });
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  if (running.has(source)) {
    fail(409, 'a backup of this member is already running');
    return;
  }
  running.add(source);
  let parts: BackupParts | undefined;
  try {
    parts = await takeBackup(source);
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': parts.snapshotBytes + parts.tail.length,
      'cache-control': 'no-store',
      'x-zabkit-snapshot-bytes': String(parts.snapshotBytes),
      'x-zabkit-fuzzy-zxid': formatZxid(parts.fuzzyZxid),
      'x-zabkit-zxid': formatZxid(parts.zxid),
    });
    const file = createReadStream(parts.snapshotPath);
    await new Promise<void>((resolve, reject) => {
      file.on('error', reject);
      file.on('end', resolve);
      file.pipe(response, { end: false });
    });
    await new Promise<void>((resolve, reject) => {
      response.end(parts?.tail, () => resolve());
      response.on('error', reject);
    });
  } catch (error) {
    fail(error instanceof BackupUnavailable ? 503 : 500, (error as Error).message);
  } finally {
    running.delete(source);
    if (parts !== undefined) await rm(parts.dir, { recursive: true, force: true });
  }
}
