import { processCpuSeconds, selfCpuSeconds } from './cpu.js';
import { Recorder, type Summary } from './stats.js';
import type { Conn, Target } from './target.js';

/** The steady workloads of issue 9; F1 (failover) is {@link failover}. */
export const WORKLOADS = {
  W1: { title: 'set 1 KiB, 64 in flight, 100 keys', inFlight: 64, op: 'set' },
  R1: { title: 'get 1 KiB, 64 in flight, 100 keys', inFlight: 64, op: 'get' },
  C1: { title: 'create persistent-sequential 100 B, 64 in flight', inFlight: 64, op: 'create' },
  L1: { title: 'set 1 KiB, one in flight', inFlight: 1, op: 'set' },
} as const;
export type WorkloadName = keyof typeof WORKLOADS;

export const KEYS = 100;
const VALUE = new Uint8Array(1024).fill(0x61);
const SMALL = new Uint8Array(100).fill(0x62);
const keyPaths = Array.from({ length: KEYS }, (_, i) => `/bench/k${String(i).padStart(3, '0')}`);

/** WorkloadResult is one run of one workload against one target. */
export interface WorkloadResult extends Summary {
  /** serverCpuSeconds: user + system CPU of the three member processes during the measured window. */
  serverCpuSeconds: number;
  /** loadCpuSeconds: CPU of the load generator (this process) during the measured window. */
  loadCpuSeconds: number;
}

/** prepare creates /bench, the 100 keys of 1 KiB and /bench/seq (idempotent). */
export async function prepare(conn: Conn): Promise<void> {
  await conn.create('/bench', new Uint8Array(0), false);
  await conn.create('/bench/seq', new Uint8Array(0), false);
  await Promise.all(keyPaths.map((path) => conn.create(path, VALUE, false)));
}

function cpuOf(target: Target): number {
  let sum = 0;
  for (const pid of target.serverPids()) sum += processCpuSeconds(pid);
  return sum;
}

/**
 * runWorkload drives `inFlight` requests spread over the connections (a closed loop: each slot
 * sends its next request when the previous one is answered) for `warmupMs` unmeasured, then
 * `durationMs` measured: every reply in the window is a sample of its latency.
 */
export async function runWorkload(
  target: Target,
  conns: Conn[],
  name: WorkloadName,
  options: { warmupMs: number; durationMs: number; onProgress?: (fraction: number) => void },
): Promise<WorkloadResult> {
  const workload = WORKLOADS[name];
  const recorder = new Recorder();
  const slots = workload.inFlight;
  const started = performance.now();
  const windowStart = started + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let serverCpu0 = 0;
  let loadCpu0 = 0;
  let cpuTaken = false;
  const takeCpu = () => {
    if (cpuTaken) return;
    cpuTaken = true;
    serverCpu0 = cpuOf(target);
    loadCpu0 = selfCpuSeconds();
  };
  const cpuTimer = setTimeout(takeCpu, options.warmupMs);
  const progressTimer = setInterval(
    () => options.onProgress?.(Math.min(1, (performance.now() - started) / (windowEnd - started))),
    100,
  );
  let counter = 0;
  const slot = async (conn: Conn) => {
    for (;;) {
      const sent = performance.now();
      if (sent >= windowEnd) return;
      const n = counter++;
      try {
        if (workload.op === 'set') await conn.set(keyPaths[n % KEYS] as string, VALUE);
        else if (workload.op === 'get') await conn.get(keyPaths[n % KEYS] as string);
        else await conn.create('/bench/seq/s-', SMALL, true);
        const done = performance.now();
        if (done >= windowStart && done < windowEnd) recorder.record((done - sent) * 1000);
      } catch {
        if (performance.now() >= windowStart) recorder.errors++;
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < slots; i++) workers.push(slot(conns[i % conns.length] as Conn));
  await new Promise((done) => setTimeout(done, windowEnd - performance.now()));
  const serverCpu1 = cpuOf(target);
  const loadCpu1 = selfCpuSeconds();
  // A request the server never answers must not hang the bench: give up on stragglers after 30 s.
  await Promise.race([Promise.all(workers), new Promise((done) => setTimeout(done, 30_000).unref())]);
  clearTimeout(cpuTimer);
  clearInterval(progressTimer);
  takeCpu();
  return {
    ...recorder.summary(options.durationMs / 1000),
    serverCpuSeconds: serverCpu1 - serverCpu0,
    loadCpuSeconds: loadCpu1 - loadCpu0,
  };
}

/** FailoverTrial: milliseconds from kill -9 of the leader to the first write sent after it that succeeded. */
export interface FailoverTrial {
  killedLeader: number;
  recoveryMs: number;
  /** electedMs: until the remaining members agreed on a new leader that serves (polled every 50 ms). */
  electedMs: number;
}

/**
 * failover runs W1 load, kills the leader with SIGKILL, and measures the time until a write sent
 * after the kill succeeds; then it stops the load, restarts the killed member and waits until the
 * whole ensemble serves again.
 */
export async function failover(
  target: Target,
  conns: Conn[],
  options: { loadMs?: number } = {},
): Promise<FailoverTrial> {
  const leader = await target.leader();
  let killedAt = Number.POSITIVE_INFINITY;
  let recoveredAt = Number.POSITIVE_INFINITY;
  let stop = false;
  let counter = 0;
  let resolveRecovered: () => void = () => {};
  const recovered = new Promise<void>((resolve) => {
    resolveRecovered = resolve;
  });
  const slot = async (conn: Conn) => {
    while (!stop) {
      const sent = performance.now();
      try {
        await conn.set(keyPaths[counter++ % KEYS] as string, VALUE);
        if (sent >= killedAt) {
          const done = performance.now();
          if (done < recoveredAt) recoveredAt = done;
          resolveRecovered();
        }
      } catch {
        // CONNECTION_LOSS and friends while the ensemble elects: try again shortly.
        await new Promise((done) => setTimeout(done, 5));
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < 64; i++) workers.push(slot(conns[i % conns.length] as Conn));
  await new Promise((done) => setTimeout(done, options.loadMs ?? 500));
  killedAt = performance.now();
  await target.kill(leader);
  const elected = target.leader().then(
    () => performance.now() - killedAt,
    () => Number.NaN,
  );
  const timeout = new Promise<void>((done) => setTimeout(done, 30_000));
  await Promise.race([recovered, timeout]);
  const electedMs = await elected;
  stop = true;
  await Promise.race([Promise.all(workers), new Promise((done) => setTimeout(done, 15_000))]);
  await target.restart(leader);
  return { killedLeader: leader, recoveryMs: recoveredAt - killedAt, electedMs };
}
