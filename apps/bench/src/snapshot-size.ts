import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Conn } from './target.js';

/** SnapshotFile is one `snapshot.<zxid in hex>` file (both systems name their snapshots so). */
export interface SnapshotFile {
  name: string;
  zxid: bigint;
  bytes: number;
}

const SNAPSHOT_NAME = /^snapshot\.([0-9a-f]+)$/;

/** snapshotFiles lists the finished-looking snapshot files of a directory, oldest zxid first. */
export function snapshotFiles(dir: string): SnapshotFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: SnapshotFile[] = [];
  for (const name of names) {
    const match = SNAPSHOT_NAME.exec(name);
    if (!match) continue;
    try {
      files.push({ name, zxid: BigInt(`0x${match[1]}`), bytes: statSync(join(dir, name)).size });
    } catch {
      // Removed by retention between the listing and the stat.
    }
  }
  return files.sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
}

/**
 * mzxidOf reads the mzxid of the Stat a `set` returned: a number from the zabkit client, an
 * 8-byte big-endian Buffer from node-zookeeper-client.
 */
export function mzxidOf(stat: unknown): bigint {
  const mzxid = (stat as { mzxid?: unknown } | null)?.mzxid;
  if (typeof mzxid === 'number' || typeof mzxid === 'bigint') return BigInt(mzxid);
  if (mzxid instanceof Uint8Array && mzxid.length === 8) {
    return new DataView(mzxid.buffer, mzxid.byteOffset, 8).getBigUint64(0);
  }
  throw new TypeError(`no mzxid in ${String(stat)}`);
}

/** SnapshotResult is the first snapshot that holds the whole loaded tree, and what it took to get it. */
export interface SnapshotResult extends SnapshotFile {
  /** fillerWrites: the `set`s sent after the load to make the member reach its next snapshot. */
  fillerWrites: number;
}

/**
 * snapshotOfTree waits for member `dir`'s first snapshot that holds every znode written so far:
 * it marks the end of the load with a `set` of `path` (its mzxid: a snapshot named at or above it
 * began after every create was applied), then keeps `set`ting `path` (empty data, 64 in flight, so
 * the tree does not grow) until such a file is there and its size holds still for half a second
 * (ZooKeeper may write it in place). Both systems snapshot after a count of transactions
 * (snapshotEveryTxns; snapCount, at a random point between half and all of it), so at most that
 * many fillers are needed.
 */
export async function snapshotOfTree(
  conns: Conn[],
  dir: string,
  options: { path: string; fillerWritesMax: number; timeoutMs?: number; onProgress?: (fraction: number) => void },
): Promise<SnapshotResult> {
  const empty = new Uint8Array(0);
  const mark = mzxidOf(await (conns[0] as Conn).set(options.path, empty));
  const covering = () => snapshotFiles(dir).filter((file) => file.zxid >= mark);
  let fillerWrites = 0;
  let stop = false;
  const slot = async (conn: Conn) => {
    while (!stop && fillerWrites < options.fillerWritesMax) {
      fillerWrites++;
      try {
        await conn.set(options.path, empty);
      } catch {
        await new Promise((resume) => setTimeout(resume, 10));
      }
    }
  };
  const workers = Array.from({ length: 64 }, (_, i) => slot(conns[i % conns.length] as Conn));
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  try {
    let previous: SnapshotFile | undefined;
    while (Date.now() < deadline) {
      await new Promise((resume) => setTimeout(resume, 500));
      options.onProgress?.(Math.min(1, fillerWrites / options.fillerWritesMax));
      const file = covering()[0];
      if (file !== undefined) stop = true;
      if (file !== undefined && previous?.name === file.name && previous.bytes === file.bytes) {
        return { ...file, fillerWrites };
      }
      previous = file;
    }
    throw new Error(
      `no snapshot at or above zxid 0x${mark.toString(16)} in ${dir} after ${fillerWrites} writes (${snapshotFiles(dir)
        .map((file) => file.name)
        .join(', ')})`,
    );
  } finally {
    stop = true;
    await Promise.all(workers);
  }
}
