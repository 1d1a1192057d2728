// Restart cost of a member holding 1 M znodes (issue 17), offline and paired: FileStorage.load()
// and the tree built from what it recovered (the server's path: a ZabPeer over createTreeMachine),
// for two builds alternately in one run. Each run is a fresh child process (a restart is one),
// so every run starts from a collected heap and its peak RSS is its own. Wall time and CPU time
// (user + system, all threads) of each phase are reported: on a machine busy with other work the
// wall times swing with it, the CPU times much less.
//
//   nice -n 19 pnpm --filter @zabkit/storage bench:restart [OLD_ROOT] [NEW_ROOT]
//
// OLD_ROOT and NEW_ROOT (absolute paths) are checkouts of this repository with `pnpm turbo run build` done (their
// packages/storage/dist and packages/core/dist are loaded); the default for both is this checkout.
// Env: RESTART_RUNS (default 5 per build), RESTART_ZNODES (1,000,000), RESTART_ENTRIES (100,000
// log entries above the snapshot), RESTART_DIR (the data directory; built once, reused when it
// exists with the same sizes). The data directory is built with NEW_ROOT's storage.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LogEntry, SnapshotRecord } from '@zabkit/core';

const here = fileURLToPath(import.meta.url);
const defaultRoot = resolve(here, '../../../..');
const ZNODES = Number(process.env.RESTART_ZNODES ?? 1_000_000);
const ENTRIES = Number(process.env.RESTART_ENTRIES ?? 100_000);
const RUNS = Number(process.env.RESTART_RUNS ?? 5);
const DIR = process.env.RESTART_DIR ?? join(tmpdir(), `zabkit-restart-${ZNODES}-${ENTRIES}`);
/** Log entry data: about 75 MiB of log for 100,000 entries, as in the profile issue 17 cites. */
const ENTRY_DATA_BYTES = 700;
const EPOCH = 1;

type CoreModule = typeof import('@zabkit/core');
type StorageModule = typeof import('../src/index.js');

interface RunResult {
  loadMs: number;
  treeMs: number;
  totalMs: number;
  /** CPU time (user + system, every thread of the process): what a busy machine changes least. */
  loadCpuMs: number;
  treeCpuMs: number;
  totalCpuMs: number;
  peakRssMiB: number;
  znodes: number;
  entries: number;
}

async function modulesAt(root: string): Promise<{ core: CoreModule; storage: StorageModule }> {
  const storage = (await import(pathToFileURL(join(root, 'packages/storage/dist/index.js')).href)) as StorageModule;
  const core = (await import(pathToFileURL(join(root, 'packages/core/dist/index.js')).href)) as CoreModule;
  return { core, storage };
}

function zxid(counter: number): number {
  return EPOCH * 2 ** 32 + counter;
}

function* znodes(count: number): Generator<SnapshotRecord> {
  const data = new Uint8Array(100).fill(9);
  const node = (path: string, at: number): SnapshotRecord => ({
    kind: 'node',
    path,
    data,
    czxid: zxid(at),
    mzxid: zxid(at),
    pzxid: zxid(at),
    ctime: 1_700_000_000_000 + at,
    mtime: 1_700_000_000_000 + at,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0,
    container: false,
    ttlMs: 0,
    acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
  });
  const empty = { ...node('/', 0), data: new Uint8Array(0) } as SnapshotRecord;
  yield empty;
  yield { ...empty, path: '/zookeeper' } as SnapshotRecord;
  yield { ...empty, path: '/bench' } as SnapshotRecord;
  const parents = Math.ceil(count / 1000);
  let made = 0;
  for (let parent = 0; parent < parents; parent++) {
    yield { ...empty, path: `/bench/${parent}` } as SnapshotRecord;
    for (let child = 0; child < 1000 && made < count; child++, made++)
      yield node(`/bench/${parent}/n${made}`, made + 1);
  }
}

/** buildDataDirectory writes the snapshot at zxid ZNODES and ENTRIES setData entries above it, once. */
async function buildDataDirectory(root: string): Promise<void> {
  const marker = join(DIR, 'restart-bench.json');
  const want = JSON.stringify({ znodes: ZNODES, entries: ENTRIES, entryDataBytes: ENTRY_DATA_BYTES });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  const { storage: storageModule } = await modulesAt(root);
  const storage = await storageModule.openFileStorage({ dir: DIR });
  await storage.load();
  const base = ZNODES;
  await storage.saveEpochs({ acceptedEpoch: EPOCH, currentEpoch: EPOCH });
  await storage.saveSnapshot({ zxid: zxid(base), timeMs: 1_700_000_000_000 }, znodes(ZNODES));
  const data = new Uint8Array(ENTRY_DATA_BYTES).fill(7);
  for (let first = 1; first <= ENTRIES; first += 1000) {
    const batch: LogEntry[] = [];
    for (let counter = first; counter < first + 1000 && counter <= ENTRIES; counter++) {
      const target = (counter * 7919) % ZNODES;
      batch.push({
        zxid: zxid(base + counter),
        sessionId: 2 ** 40 + 1,
        cxid: counter,
        timeMs: 1_700_000_000_000 + base + counter,
        txn: { type: 'setData', path: `/bench/${Math.floor(target / 1000)}/n${target}`, data, version: -1 },
      });
    }
    await storage.append(batch);
  }
  await storage.close();
  writeFileSync(marker, want);
}

/** child: one restart of the build at `root` over DIR; prints a RunResult as JSON. */
async function child(root: string): Promise<void> {
  const { core, storage: storageModule } = await modulesAt(root);
  const cpuMs = (): number => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  };
  const startedCpu = cpuMs();
  const started = performance.now();
  const storage = await storageModule.openFileStorage({
    dir: DIR,
    logger: { warn: (message) => console.error(`warn: ${message}`) },
  });
  const recovered = await storage.load();
  const loaded = performance.now();
  const loadedCpu = cpuMs();
  const machine = core.createTreeMachine({ tickMs: 100 });
  const peer = new core.ZabPeer(
    { id: 1, voters: [1, 2, 3], random: core.createPrng(1), machine, tickMs: 100 },
    recovered,
  );
  const built = performance.now();
  const builtCpu = cpuMs();
  const znodes = machine.stats().znodes;
  if (znodes < ZNODES) throw new Error(`tree holds ${znodes} znodes, not ${ZNODES}`);
  if (peer === null || recovered.entries.length !== ENTRIES) throw new Error('entries lost');
  await storage.close();
  const result: RunResult = {
    loadMs: loaded - started,
    treeMs: built - loaded,
    totalMs: built - started,
    loadCpuMs: loadedCpu - startedCpu,
    treeCpuMs: builtCpu - loadedCpu,
    totalCpuMs: builtCpu - startedCpu,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    znodes,
    entries: recovered.entries.length,
  };
  console.log(JSON.stringify(result));
}

function runChild(root: string): RunResult {
  const outcome = spawnSync(process.execPath, [...process.execArgv, here, '--child', root], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 1 << 20,
  });
  if (outcome.status !== 0) throw new Error(`child for ${root} failed: ${outcome.stderr}`);
  const line = outcome.stdout.trim().split('\n').at(-1) as string;
  return JSON.parse(line) as RunResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function report(name: string, root: string, runs: RunResult[]): void {
  const field = (key: keyof RunResult, digits: number): string =>
    `${median(runs.map((run) => run[key])).toFixed(digits)} [${runs.map((run) => run[key].toFixed(digits)).join(', ')}]`;
  console.log(`${name} (${root})`);
  console.log(`  load()      ms: ${field('loadMs', 0)}`);
  console.log(`  tree build  ms: ${field('treeMs', 0)}`);
  console.log(`  total       ms: ${field('totalMs', 0)}`);
  console.log(`  load() CPU  ms: ${field('loadCpuMs', 0)}`);
  console.log(`  tree CPU    ms: ${field('treeCpuMs', 0)}`);
  console.log(`  total CPU   ms: ${field('totalCpuMs', 0)}`);
  console.log(`  peak RSS   MiB: ${field('peakRssMiB', 0)}`);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3] as string);
    return;
  }
  const oldRoot = resolve(process.argv[2] ?? defaultRoot);
  const newRoot = resolve(process.argv[3] ?? defaultRoot);
  await buildDataDirectory(newRoot);
  let bytes = 0;
  for (const name of await readdir(DIR)) bytes += (await stat(join(DIR, name))).size;
  console.log(
    `data directory ${DIR}: ${ZNODES} znodes of 100 B in a snapshot, ${ENTRIES} entries above it, ${(bytes / 2 ** 20).toFixed(0)} MiB`,
  );
  // One unmeasured run each warms the page cache; then old and new alternate.
  runChild(oldRoot);
  runChild(newRoot);
  const olds: RunResult[] = [];
  const news: RunResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    olds.push(runChild(oldRoot));
    news.push(runChild(newRoot));
    const last = news.at(-1) as RunResult;
    console.log(
      `run ${run + 1}: old ${(olds.at(-1) as RunResult).totalMs.toFixed(0)} ms, new ${last.totalMs.toFixed(0)} ms`,
    );
  }
  report('old', oldRoot, olds);
  report('new', newRoot, news);
}

await main();
