import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { LogEntry, SnapshotRecord, Zxid } from '@zabkit/core';
import { createPrng, makeZxid, OPEN_ACL_UNSAFE, zxidCounter } from '@zabkit/core';
import { openFileStorage } from './file-storage.js';

/**
 * The SIGKILL crash test: a child process appends entries (several appends in flight, so group
 * commit batches them), takes snapshots and saves epochs, printing each acknowledgement to stdout
 * only after its Promise resolved; the parent kills it with SIGKILL at a random moment, reopens
 * the directory and checks that everything acknowledged is there, intact, and that the log is a
 * contiguous prefix of what was appended. The next round continues in the same directory.
 */

const CRASH_EPOCH = 1;
export const CRASH_SEGMENT_BYTES_MAX = 32 * 1024;
export const CRASH_SNAPSHOT_RETAIN_COUNT = 2;

/** crashEntry is the entry the workload appends at a counter: its content is a function of the zxid alone. */
export function crashEntry(counter: number): LogEntry {
  const data = new Uint8Array(40 + (counter % 300));
  for (let index = 0; index < data.length; index++) data[index] = (counter * 31 + index) & 0xff;
  return {
    zxid: makeZxid(CRASH_EPOCH, counter),
    sessionId: 2 ** 36 + (counter % 5),
    cxid: counter,
    timeMs: 1_700_000_000_000 + counter,
    txn: { type: 'setData', path: `/crash/${counter % 97}`, data, version: counter },
  };
}

/** crashSnapshotRecords are the records of the snapshot at a zxid. */
export function crashSnapshotRecords(zxid: Zxid): SnapshotRecord[] {
  const records: SnapshotRecord[] = [
    { kind: 'session', sessionId: zxid, timeoutMs: 4_000, password: new Uint8Array(16).fill(zxid % 251) },
  ];
  for (let index = 0; index < 200; index++) {
    records.push({
      kind: 'node',
      path: `/crash/${index}`,
      data: new Uint8Array([index & 0xff, zxid & 0xff]),
      czxid: 1,
      mzxid: zxid,
      pzxid: zxid,
      ctime: 1,
      mtime: zxid,
      version: index,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      acl: OPEN_ACL_UNSAFE,
    });
  }
  return records;
}

/** runCrashChild is the child's whole life: recover, then append until killed. */
export async function runCrashChild(dir: string, seed: number): Promise<never> {
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const random = createPrng(seed);
  const storage = await openFileStorage({
    dir,
    segmentBytesMax: CRASH_SEGMENT_BYTES_MAX,
    snapshotRetainCount: CRASH_SNAPSHOT_RETAIN_COUNT,
    logger: { warn: (message, fields) => process.stderr.write(`${message} ${JSON.stringify(fields)}\n`) },
  });
  const state = await storage.load();
  let counter = zxidCounter(state.entries.at(-1)?.zxid ?? state.snapshot?.header.zxid ?? 0);
  let epoch = state.epochs.acceptedEpoch;
  let acked = counter;
  let batches = 0;
  out('ready');
  const chain = async (): Promise<void> => {
    for (;;) {
      const batch: LogEntry[] = [];
      const size = 1 + random.int(16);
      for (let index = 0; index < size; index++) batch.push(crashEntry(++counter));
      const first = zxidCounter(batch[0]?.zxid ?? 0);
      const last = counter;
      await storage.append(batch);
      acked = Math.max(acked, last);
      out(`a ${first} ${last}`);
      batches++;
      if (batches % 40 === 0) {
        const at = acked;
        const zxid = makeZxid(CRASH_EPOCH, at);
        void storage.saveSnapshot({ zxid, timeMs: at }, crashSnapshotRecords(zxid)).then(() => out(`s ${at}`));
      }
      if (batches % 25 === 0) {
        const next = ++epoch;
        void storage.saveEpochs({ acceptedEpoch: next, currentEpoch: next }).then(() => out(`e ${next}`));
      }
    }
  };
  await Promise.all([chain(), chain(), chain(), chain()]);
  throw new Error('unreachable');
}

/** CrashRoundsOptions configure runCrashRounds. */
export interface CrashRoundsOptions {
  /** childScript is a JS file that calls runCrashChild(argv[2], Number(argv[3])). */
  childScript: string;
  /** nodeArgs go before the script (e.g. ['--import', 'tsx']). */
  nodeArgs?: string[];
  kills: number;
  seed: number;
  /** lanes run in parallel, each in its own directory. */
  lanes?: number;
  /** killDelayMsMax: the child is killed up to this long after it recovered. */
  killDelayMsMax?: number;
  /** timeBudgetMs: no new round starts after this long (a loaded machine runs fewer kills, each still checked). */
  timeBudgetMs?: number;
  log?: (line: string) => void;
}

/** CrashReport sums up runCrashRounds. */
export interface CrashReport {
  kills: number;
  acknowledgedEntries: number;
  recoveredEntriesMax: number;
  tornTailsTruncated: number;
}

/** runCrashRounds kills children `kills` times and checks each recovery; throws on the first violation. */
export async function runCrashRounds(options: CrashRoundsOptions): Promise<CrashReport> {
  const lanes = options.lanes ?? 2;
  const random = createPrng(options.seed);
  const report: CrashReport = { kills: 0, acknowledgedEntries: 0, recoveredEntriesMax: 0, tornTailsTruncated: 0 };
  let started = 0;
  const deadline = Date.now() + (options.timeBudgetMs ?? Number.POSITIVE_INFINITY);
  const lane = async (laneIndex: number, laneSeed: number): Promise<void> => {
    const dir = await mkdtemp(join(tmpdir(), `zabkit-crash-${laneIndex}-`));
    const laneRandom = createPrng(laneSeed);
    try {
      let round = 0;
      while (started < options.kills && Date.now() < deadline) {
        started++;
        round++;
        await crashOnce(
          dir,
          laneRandom.int(0x7fff_ffff),
          laneRandom.int(options.killDelayMsMax ?? 60),
          report,
          () => `seed ${options.seed} lane ${laneIndex} round ${round}`,
        );
        report.kills++;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const crashOnce = async (
    dir: string,
    childSeed: number,
    killDelayMs: number,
    totals: CrashReport,
    label: () => string,
  ): Promise<void> => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.childScript, dir, String(childSeed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.startsWith('ready\n')) resolve();
      });
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.on('exit', (code) =>
        reject(new Error(`${label()}: child exited (${code}) before it was ready: ${stderr}`)),
      );
    });
    await new Promise((resolve) => setTimeout(resolve, killDelayMs));
    child.kill('SIGKILL');
    await exited;
    if (/CORRUPT|Error/.test(stderr)) throw new Error(`${label()}: child failed: ${stderr}`);

    let ackedMax = 0;
    let ackedSnapshot = 0;
    let ackedEpoch = 0;
    for (const line of stdout.split('\n')) {
      const [kind, first, last] = line.split(' ');
      if (kind === 'a') {
        ackedMax = Math.max(ackedMax, Number(last));
        totals.acknowledgedEntries += Number(last) - Number(first) + 1;
      } else if (kind === 's') ackedSnapshot = Math.max(ackedSnapshot, Number(first));
      else if (kind === 'e') ackedEpoch = Math.max(ackedEpoch, Number(first));
    }

    let torn = 0;
    const storage = await openFileStorage({
      dir,
      segmentBytesMax: CRASH_SEGMENT_BYTES_MAX,
      snapshotRetainCount: CRASH_SNAPSHOT_RETAIN_COUNT,
      logger: { warn: (message) => void (message.startsWith('truncating') && torn++) },
    });
    const state = await storage.load();
    await storage.close();
    totals.tornTailsTruncated += torn;
    const base = zxidCounter(state.snapshot?.header.zxid ?? 0);
    const fail = (what: string): never => {
      throw new Error(`${label()}: ${what}`);
    };
    if (state.epochs.acceptedEpoch < ackedEpoch)
      fail(`epoch ${ackedEpoch} acknowledged, ${state.epochs.acceptedEpoch} recovered`);
    if (base < ackedSnapshot) fail(`snapshot ${ackedSnapshot} acknowledged, ${base} recovered`);
    if (
      state.snapshot !== null &&
      !isDeepStrictEqual([...state.snapshot.records], crashSnapshotRecords(state.snapshot.header.zxid))
    ) {
      fail(`snapshot ${base} records differ`);
    }
    state.entries.forEach((item, index) => {
      if (item.zxid !== makeZxid(CRASH_EPOCH, base + index + 1)) {
        fail(`log is not contiguous after ${base}: entry ${index} is 0x${item.zxid.toString(16)}`);
      }
      if (!isDeepStrictEqual(item, crashEntry(base + index + 1))) {
        fail(`entry ${base + index + 1} is not intact`);
      }
    });
    const recoveredLast = base + state.entries.length;
    if (recoveredLast < ackedMax) fail(`acknowledged up to ${ackedMax}, recovered up to ${recoveredLast}`);
    totals.recoveredEntriesMax = Math.max(totals.recoveredEntriesMax, recoveredLast);
    options.log?.(`${label()}: acked ${ackedMax}, recovered ${recoveredLast} (snapshot ${base}, torn tails ${torn})`);
  };
  await Promise.all(Array.from({ length: lanes }, (_, index) => lane(index, random.int(0x7fff_ffff))));
  return report;
}
