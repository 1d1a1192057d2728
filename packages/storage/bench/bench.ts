// pnpm --filter @zabkit/storage bench: log appends/s with fsync at batch sizes 1, 16, 256 beside this
// disk's raw fdatasync rate; snapshot write and load of 1 M znodes of 100 B. Medians of RUNS runs.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry, SnapshotRecord } from '@zabkit/core';
import { makeZxid, OPEN_ACL_UNSAFE } from '@zabkit/core';
import { openFileStorage } from '../src/file-storage.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ZNODES = Number(process.env.BENCH_ZNODES ?? 1_000_000);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'zabkit-bench-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** rawFsyncsPerSecond: a loop of write(1 KiB) + fdatasync on one file, as the log's floor. */
async function rawFsyncsPerSecond(): Promise<number> {
  return withDir(async (dir) => {
    const fd = openSync(join(dir, 'probe'), 'w');
    const bytes = Buffer.alloc(1024, 7);
    const count = 2000;
    const started = performance.now();
    for (let index = 0; index < count; index++) {
      writeSync(fd, bytes);
      fdatasyncSync(fd);
    }
    const seconds = (performance.now() - started) / 1000;
    closeSync(fd);
    return count / seconds;
  });
}

function logEntry(counter: number, data: Uint8Array): LogEntry {
  return {
    zxid: makeZxid(1, counter),
    sessionId: 2 ** 40 + 1,
    cxid: counter,
    timeMs: 1_700_000_000_000,
    txn: { type: 'setData', path: `/bench/${counter % 1000}`, data, version: counter },
  };
}

/** appendRate: one append of `batch` entries at a time, each awaited (one write + one fdatasync per batch). */
async function appendRate(
  batch: number,
  totalEntries: number,
): Promise<{ entriesPerSecond: number; mbPerSecond: number }> {
  return withDir(async (dir) => {
    const storage = await openFileStorage({ dir });
    await storage.load();
    const data = new Uint8Array(1024).fill(42);
    let counter = 0;
    const batches: LogEntry[][] = [];
    for (let index = 0; index < totalEntries / batch; index++) {
      const entries: LogEntry[] = [];
      for (let inner = 0; inner < batch; inner++) entries.push(logEntry(++counter, data));
      batches.push(entries);
    }
    await storage.append([logEntry(++counter + 10_000_000, data)]); // creates the segment outside the timing
    const base = counter + 10_000_000;
    const shifted = batches.map((entries) => entries.map((item) => ({ ...item, zxid: item.zxid + base })));
    const started = performance.now();
    for (const entries of shifted) await storage.append(entries);
    const seconds = (performance.now() - started) / 1000;
    await storage.close();
    return { entriesPerSecond: totalEntries / seconds, mbPerSecond: (totalEntries * 1024) / seconds / 1e6 };
  });
}

/** groupCommitRate: `concurrency` single-entry appends in flight at all times; group commit batches them. */
async function groupCommitRate(concurrency: number, totalEntries: number): Promise<number> {
  return withDir(async (dir) => {
    const storage = await openFileStorage({ dir });
    await storage.load();
    const data = new Uint8Array(1024).fill(42);
    let counter = 0;
    await storage.append([logEntry(++counter, data)]);
    const started = performance.now();
    const lane = async (): Promise<void> => {
      while (counter < totalEntries) await storage.append([logEntry(++counter, data)]);
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    const seconds = (performance.now() - started) / 1000;
    await storage.close();
    return totalEntries / seconds;
  });
}

function* znodes(count: number): Iterable<SnapshotRecord> {
  const data = new Uint8Array(100).fill(9);
  for (let index = 0; index < count; index++) {
    yield {
      kind: 'node',
      path: `/bench/${Math.floor(index / 1000)}/node-${index}`,
      data,
      czxid: index + 1,
      mzxid: index + 1,
      pzxid: index + 1,
      ctime: 1_700_000_000_000,
      mtime: 1_700_000_000_000,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      acl: OPEN_ACL_UNSAFE,
    };
  }
}

async function snapshotTimes(count: number): Promise<{ writeSeconds: number; loadSeconds: number; bytes: number }> {
  return withDir(async (dir) => {
    const storage = await openFileStorage({ dir });
    await storage.load();
    let started = performance.now();
    await storage.saveSnapshot({ zxid: makeZxid(1, count), timeMs: 0 }, znodes(count));
    const writeSeconds = (performance.now() - started) / 1000;
    await storage.close();
    const { stat } = await import('node:fs/promises');
    const bytes = (await stat(join(dir, `snapshot.${makeZxid(1, count).toString(16)}`))).size;
    const reopened = await openFileStorage({ dir });
    started = performance.now();
    const state = await reopened.load();
    // load() validates the file; the records decode as they are iterated (a restore does): count both.
    let decoded = 0;
    for (const record of state.snapshot?.records ?? []) if (record.kind === 'node') decoded++;
    const loadSeconds = (performance.now() - started) / 1000;
    if (state.snapshot?.records.length !== count || decoded !== count) throw new Error('snapshot lost records');
    await reopened.close();
    return { writeSeconds, loadSeconds, bytes };
  });
}

const fsyncs: number[] = [];
for (let run = 0; run < RUNS; run++) fsyncs.push(await rawFsyncsPerSecond());
console.log(
  `raw write(1 KiB)+fdatasync: ${median(fsyncs).toFixed(0)} /s (runs: ${fsyncs.map((v) => v.toFixed(0)).join(', ')})`,
);

for (const [batch, total] of [
  [1, 3000],
  [16, 32_000],
  [256, 256 * 250],
] as const) {
  const runs: { entriesPerSecond: number; mbPerSecond: number }[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await appendRate(batch, total));
  const entries = median(runs.map((r) => r.entriesPerSecond));
  const mb = median(runs.map((r) => r.mbPerSecond));
  console.log(
    `append 1 KiB entries, batch ${batch}: ${entries.toFixed(0)} entries/s, ${mb.toFixed(1)} MB/s, ${(entries / batch).toFixed(0)} fsyncs/s (runs: ${runs.map((r) => r.entriesPerSecond.toFixed(0)).join(', ')})`,
  );
}
for (const concurrency of [16, 256]) {
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await groupCommitRate(concurrency, 40_000));
  console.log(
    `group commit, ${concurrency} single-entry appends in flight: ${median(runs).toFixed(0)} entries/s (runs: ${runs.map((v) => v.toFixed(0)).join(', ')})`,
  );
}

const snapshots: { writeSeconds: number; loadSeconds: number; bytes: number }[] = [];
for (let run = 0; run < RUNS; run++) snapshots.push(await snapshotTimes(ZNODES));
console.log(
  `snapshot of ${ZNODES} znodes (100 B data, ${(median(snapshots.map((s) => s.bytes)) / 1e6).toFixed(0)} MB): write ${median(snapshots.map((s) => s.writeSeconds)).toFixed(2)} s, load ${median(snapshots.map((s) => s.loadSeconds)).toFixed(2)} s (runs: write ${snapshots.map((s) => s.writeSeconds.toFixed(2)).join(', ')}; load ${snapshots.map((s) => s.loadSeconds.toFixed(2)).join(', ')})`,
);
