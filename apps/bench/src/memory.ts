// pnpm bench --memory: what a tree of N znodes costs each system in memory, on disk (its snapshot)
// and in time when a member restarts on it (issue 17).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { heapProbeNodeOptions, jcmdPath, jvmLiveMemory, type LiveMemory, nodeLiveMemory } from './live-memory.js';
import { type LoadResult, loadTree, prepareTree, TREE_ROOT } from './load-tree.js';
import { Progress } from './progress.js';
import { type RestartTrial, restartFollower } from './restart.js';
import { snapshotOfTree } from './snapshot-size.js';
import { median } from './stats.js';
import type { Conn, Target } from './target.js';
import { startZabkit } from './zabkit.js';
import { JAVA, startZookeeper } from './zookeeper.js';

export type System = 'zabkit' | 'zookeeper';

/** MEMORY_DEFAULTS: issue 17's tree (a million znodes of 100 B), creates in flight, restart trials. */
export const MEMORY_DEFAULTS = { znodes: 1_000_000, valueBytes: 100, inFlight: 256, trials: 3 } as const;

/** MemoryOptions: what `pnpm bench --memory` was asked for. */
export interface MemoryOptions {
  systems: System[];
  znodes: number;
  valueBytes: number;
  connections: number;
  inFlight: number;
  trials: number;
  tls: boolean;
  zookeeperClient: boolean;
}

/** SystemMemory is every figure of one system. Per-znode figures divide by the loaded znodes. */
export interface SystemMemory {
  /** measuredMember: the leader whose memory was read (empty and loaded). */
  measuredMember: number;
  load: LoadResult;
  empty: LiveMemory;
  loaded: LiveMemory;
  /** liveBytesPerZnode: (loaded.liveBytes − empty.liveBytes) / znodes. */
  liveBytesPerZnode: number;
  /** rssBytesPerZnode: (loaded.rssBytes − empty.rssBytes) / znodes. */
  rssBytesPerZnode: number;
  /** snapshot: the file (its zxid in hex: JSON has no 64-bit integers) and its size per znode. */
  snapshot: {
    member: number;
    name: string;
    zxid: string;
    bytes: number;
    bytesPerZnode: number;
    fillerWrites: number;
  };
  restart: { firstReadMsMedian: number; rssBytesAfterMedian: number; trials: RestartTrial[] };
}

/** MemoryReport is what `--memory` prints (`--json` as is). */
export interface MemoryReport {
  machine: { cpus: number; cpuModel: string; node: string };
  settings: {
    znodes: number;
    valueBytes: number;
    connections: number;
    inFlight: number;
    trials: number;
    /** snapshotEveryTxns: zabkit's snapshotEveryTxns and ZooKeeper's snapCount, the same. */
    snapshotEveryTxns: number;
    /** zookeeperHeapMbMax: the JVMs' -Xmx. */
    zookeeperHeapMbMax: number;
  };
  systems: System[];
  results: Partial<Record<System, SystemMemory>>;
  /** ratios: zabkit / ZooKeeper of each figure, with --vs zookeeper. */
  ratios: Partial<
    Record<'liveBytesPerZnode' | 'rssLoaded' | 'snapshotBytesPerZnode' | 'firstReadMs' | 'rssAfterRestart', number>
  >;
}

/**
 * snapshotEveryTxnsFor: both systems' default (100,000) for a tree of a million znodes or more, a
 * tenth of the tree for smaller ones (at least 1,000), so a small run still snapshots after its
 * load without waiting for 100,000 filler writes.
 */
export function snapshotEveryTxnsFor(znodes: number): number {
  return Math.min(100_000, Math.max(1_000, Math.ceil(znodes / 10)));
}

/** zookeeperHeapMbFor: -Xmx of the JVMs: the bench's 512 MiB plus 2 KiB per znode (a tree must fit). */
export function zookeeperHeapMbFor(znodes: number): number {
  return 512 + Math.ceil((znodes * 2048) / (1024 * 1024));
}

interface Running {
  target: Target;
  conns: Conn[];
}

/** measureLive reads the live memory of member `id` of a running system. */
type MeasureLive = (id: number) => Promise<LiveMemory>;

async function start(system: System, options: MemoryOptions, probeDir: string): Promise<[Target, MeasureLive]> {
  const snapshotEveryTxns = snapshotEveryTxnsFor(options.znodes);
  if (system === 'zabkit') {
    const target = await startZabkit({
      tls: options.tls,
      zookeeperClient: options.zookeeperClient,
      config: { snapshotEveryTxns },
      nodeOptions: heapProbeNodeOptions(probeDir),
      readyTimeoutMs: 300_000,
    });
    const pidOf = (id: number) => target.serverPids()[id - 1] ?? null;
    return [
      target,
      async (id) => {
        const pid = pidOf(id);
        if (pid === null) throw new Error(`zabkit member ${id} is not running`);
        return nodeLiveMemory(pid, probeDir);
      },
    ];
  }
  const target = await startZookeeper({
    heapMbMax: zookeeperHeapMbFor(options.znodes),
    snapCount: snapshotEveryTxns,
  });
  const jcmd = jcmdPath(JAVA);
  return [
    target,
    async (id) => {
      const pid = target.serverPids()[id - 1] ?? null;
      if (pid === null) throw new Error(`ZooKeeper server ${id} is not running`);
      return jvmLiveMemory(pid, jcmd);
    },
  ];
}

async function measureSystem(
  system: System,
  options: MemoryOptions,
  progress: Progress,
  track: (running: Running | null) => void,
): Promise<SystemMemory> {
  const probeDir = mkdtempSync(join(tmpdir(), 'zabkit-bench-heap-'));
  let running: Running | null = null;
  try {
    progress.step(`${system}: starting`);
    const [target, measureLive] = await start(system, options, probeDir);
    running = { target, conns: [] };
    track(running);
    for (let i = 0; i < options.connections; i++) running.conns.push(await target.connect());
    const conns = running.conns;
    await prepareTree(conns[0] as Conn, options.znodes);

    progress.step(`${system}: live memory of the empty tree (leader, after a full GC)`);
    const measuredMember = await target.leader();
    const empty = await measureLive(measuredMember);

    progress.step(`${system}: loading ${options.znodes.toLocaleString('en-US')} znodes of ${options.valueBytes} B`);
    const load = await loadTree(conns, {
      znodes: options.znodes,
      valueBytes: options.valueBytes,
      inFlight: options.inFlight,
      onProgress: (fraction) => progress.within(fraction),
    });

    progress.step(`${system}: live memory of the loaded tree`);
    const leader = await target.leader();
    if (leader !== measuredMember) throw new Error(`${system}: the leader changed during the load`);
    const loaded = await measureLive(measuredMember);

    progress.step(`${system}: waiting for a snapshot of the whole tree`);
    const snapshotEveryTxns = snapshotEveryTxnsFor(options.znodes);
    const file = await snapshotOfTree(conns, target.snapshotDir(measuredMember), {
      path: TREE_ROOT,
      fillerWritesMax: 3 * snapshotEveryTxns,
      onProgress: (fraction) => progress.within(fraction),
    });

    const trials: RestartTrial[] = [];
    for (let trial = 0; trial < options.trials; trial++) {
      progress.step(`${system}: restart trial ${trial + 1}/${options.trials} (kill -9 of a follower)`);
      trials.push(await restartFollower(target, { path: TREE_ROOT }));
    }

    const perZnode = (after: number | null, before: number | null) =>
      after === null || before === null ? Number.NaN : (after - before) / options.znodes;
    return {
      measuredMember,
      load,
      empty,
      loaded,
      liveBytesPerZnode: perZnode(loaded.liveBytes, empty.liveBytes),
      rssBytesPerZnode: perZnode(loaded.rssBytes, empty.rssBytes),
      snapshot: {
        member: measuredMember,
        name: file.name,
        zxid: `0x${file.zxid.toString(16)}`,
        bytes: file.bytes,
        bytesPerZnode: file.bytes / options.znodes,
        fillerWrites: file.fillerWrites,
      },
      restart: {
        firstReadMsMedian: median(trials.map((t) => t.firstReadMs)),
        rssBytesAfterMedian: median(trials.map((t) => t.rssBytesAfter ?? Number.NaN)),
        trials,
      },
    };
  } finally {
    progress.step(`${system}: stopping`);
    if (running !== null) await close(running);
    track(null);
    rmSync(probeDir, { recursive: true, force: true });
  }
}

async function close({ target, conns }: Running): Promise<void> {
  await Promise.allSettled(conns.map((conn) => conn.close()));
  await target.close();
}

/**
 * runMemory measures each system in turn (never both at once: each gets the machine alone):
 * start 3 members, load the tree, read the leader's live memory before and after, wait for a
 * snapshot that holds the tree, then restart a follower `trials` times. The members are stopped
 * and their directories removed at the end, also on Ctrl-C.
 */
export async function runMemory(options: MemoryOptions): Promise<MemoryReport> {
  const snapshotEveryTxns = snapshotEveryTxnsFor(options.znodes);
  const report: MemoryReport = {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: {
      znodes: options.znodes,
      valueBytes: options.valueBytes,
      connections: options.connections,
      inFlight: options.inFlight,
      trials: options.trials,
      snapshotEveryTxns,
      zookeeperHeapMbMax: zookeeperHeapMbFor(options.znodes),
    },
    systems: options.systems,
    results: {},
    ratios: {},
  };
  let current: Running | null = null;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping the ensemble\n');
    void (current === null ? Promise.resolve() : close(current)).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = new Progress(options.systems.length * (6 + options.trials), false);
  try {
    for (const system of options.systems) {
      report.results[system] = await measureSystem(system, options, progress, (running) => {
        current = running;
      });
    }
    progress.finish();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const ours = report.results.zabkit;
  const theirs = report.results.zookeeper;
  if (ours && theirs) {
    report.ratios = {
      liveBytesPerZnode: ours.liveBytesPerZnode / theirs.liveBytesPerZnode,
      rssLoaded: (ours.loaded.rssBytes ?? Number.NaN) / (theirs.loaded.rssBytes ?? Number.NaN),
      snapshotBytesPerZnode: ours.snapshot.bytesPerZnode / theirs.snapshot.bytesPerZnode,
      firstReadMs: ours.restart.firstReadMsMedian / theirs.restart.firstReadMsMedian,
      rssAfterRestart: ours.restart.rssBytesAfterMedian / theirs.restart.rssBytesAfterMedian,
    };
  }
  return report;
}
