#!/usr/bin/env node
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { MEMORY_DEFAULTS, runMemory } from './memory.js';
import { formatMemoryTable } from './memory-table.js';
import { profileNodeOptions } from './profile.js';
import { Progress } from './progress.js';
import { median } from './stats.js';
import type { Conn, Target } from './target.js';
import {
  type FailoverTrial,
  failover,
  prepare,
  runWorkload,
  WORKLOADS,
  type WorkloadName,
  type WorkloadResult,
} from './workloads.js';
import { startZabkit } from './zabkit.js';
import { startZookeeper, zookeeperMissing } from './zookeeper.js';
// pnpm bench: throughput, latency and failover of a 3-member zabkit ensemble on loopback (fsync
// on), optionally beside a 3-server ZooKeeper driven the same way in the same run (--vs zookeeper).
import { unparsedReplies } from './zookeeper-client-guard.js';

const USAGE = `usage: pnpm bench [--vs zookeeper] [--json] [--only W1,R1,C1,L1,F1] [--duration s] [--warmup s]
                  [--rounds n] [--trials n] [--connections n] [--profile dir] [--tls]
                  [--client native|zookeeper]
       pnpm bench --memory [--znodes n] [--vs zookeeper] [--json] [--trials n] [--connections n]
                  [--tls] [--client native|zookeeper]

  --vs zookeeper  also run a 3-server ZooKeeper (Debian's zookeeper package) with the same
                  settings, alternating workloads, and print zabkit/ZooKeeper ratios
  --json          print the results as JSON on stdout (the progress bar stays on stderr)
  --only          the workloads to run (default all: W1 R1 C1 L1 F1)
  --duration      measured seconds per workload and round (default 8)
  --warmup        unmeasured seconds before each measurement (default 2)
  --rounds        repetitions of each steady workload; medians are reported (default 1)
  --trials        failover trials (default 10); with --memory, restart trials (default 3)
  --connections   client connections (sessions) per system (default 8)
  --profile dir   write V8 CPU profiles of the zabkit members to dir (.cpuprofile, as node --cpu-prof)
  --client        how zabkit is driven: native (@zabkit/client, default) or zookeeper (node-zookeeper-
                  client on zabkit's ZooKeeper port, the client --vs zookeeper drives ZooKeeper with)
  --tls           run zabkit hardened: clients over the TLS client port, members over mutual TLS
                  (certificates made for the run with openssl)
  --memory        instead of the workloads: load a tree of --znodes znodes of 100 B and report the
                  leader's live memory per znode (after a forced full GC) and RSS, the snapshot file
                  per znode, and the time from restarting a killed follower to its first read
  --znodes        znodes in the --memory tree (default 1000000; try 20000 first)`;

type System = 'zabkit' | 'zookeeper';
const STEADY: WorkloadName[] = ['W1', 'R1', 'C1', 'L1'];

interface Report {
  machine: { cpus: number; cpuModel: string; node: string };
  settings: { durationS: number; warmupS: number; rounds: number; trials: number; connections: number };
  systems: System[];
  workloads: Partial<Record<WorkloadName, Partial<Record<System, { median: WorkloadResult; runs: WorkloadResult[] }>>>>;
  failover: Partial<
    Record<System, { medianMs: number; maxMs: number; electedMedianMs: number; trials: FailoverTrial[] }>
  >;
  ratios: Partial<
    Record<string, { opsPerSec?: number; p50?: number; p90?: number; p99?: number; max?: number; medianMs?: number }>
  >;
}

function medianResult(runs: WorkloadResult[]): WorkloadResult {
  const pick = (key: keyof WorkloadResult) => median(runs.map((run) => run[key]));
  return {
    ops: pick('ops'),
    errors: pick('errors'),
    seconds: pick('seconds'),
    opsPerSec: pick('opsPerSec'),
    p50: pick('p50'),
    p90: pick('p90'),
    p99: pick('p99'),
    max: pick('max'),
    serverCpuSeconds: pick('serverCpuSeconds'),
    loadCpuSeconds: pick('loadCpuSeconds'),
  };
}

function formatTable(report: Report): string {
  const rows: string[][] = [
    ['workload', 'system', 'ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'server CPU s', 'load CPU s'],
  ];
  const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  const ratio = (value: number | undefined) =>
    value === undefined || !Number.isFinite(value) ? '' : `${value.toFixed(2)}×`;
  for (const name of STEADY) {
    const bySystem = report.workloads[name];
    if (!bySystem) continue;
    for (const system of report.systems) {
      const result = bySystem[system]?.median;
      if (!result) continue;
      rows.push([
        name,
        system,
        result.opsPerSec.toFixed(0),
        ms(result.p50),
        ms(result.p90),
        ms(result.p99),
        ms(result.max),
        String(result.errors),
        result.serverCpuSeconds.toFixed(1),
        result.loadCpuSeconds.toFixed(1),
      ]);
    }
    const r = report.ratios[name];
    if (r)
      rows.push([
        name,
        'zabkit/ZK',
        ratio(r.opsPerSec),
        ratio(r.p50),
        ratio(r.p90),
        ratio(r.p99),
        ratio(r.max),
        '',
        '',
        '',
      ]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  '),
  );
  const failoverLines = report.systems.flatMap((system) => {
    const f = report.failover[system];
    if (!f) return [];
    return [
      `F1 ${system.padEnd(9)} kill -9 of the leader under W1 → first write: median ${f.medianMs.toFixed(0)} ms, max ${f.maxMs.toFixed(0)} ms (${f.trials.length} trials: ${f.trials.map((t) => t.recoveryMs.toFixed(0)).join(', ')}); new leader serving after a median ${f.electedMedianMs.toFixed(0)} ms`,
    ];
  });
  const f1 = report.ratios.F1;
  if (f1?.medianMs !== undefined) failoverLines.push(`F1 zabkit/ZK median ${ratio(f1.medianMs)}`);
  const legend = [
    '',
    `ops/s and latencies: medians over ${report.settings.rounds} round(s) of ${report.settings.durationS} s measured after ${report.settings.warmupS} s of warm-up; ${report.settings.connections} connections per system.`,
    `CPU: user+system seconds of the 3 server processes and of the load generator (this process) in the measured window; ${report.machine.cpus} cores shared by all.`,
  ];
  return [...lines, '', ...failoverLines, ...legend].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      vs: { type: 'string' },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      duration: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '1' },
      trials: { type: 'string' },
      connections: { type: 'string', default: '8' },
      profile: { type: 'string' },
      tls: { type: 'boolean', default: false },
      client: { type: 'string', default: 'native' },
      memory: { type: 'boolean', default: false },
      znodes: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.client !== 'native' && values.client !== 'zookeeper') {
    process.stderr.write(`--client: native or zookeeper\n${USAGE}\n`);
    return 2;
  }
  if (values.client === 'zookeeper' && values.tls) {
    process.stderr.write(`--client zookeeper: node-zookeeper-client has no TLS; leave out --tls\n${USAGE}\n`);
    return 2;
  }
  if (values.vs !== undefined && values.vs !== 'zookeeper') {
    process.stderr.write(`--vs: only "zookeeper" is known\n${USAGE}\n`);
    return 2;
  }
  const systems: System[] = values.vs === 'zookeeper' ? ['zabkit', 'zookeeper'] : ['zabkit'];
  if (values.vs === 'zookeeper') {
    const missing = zookeeperMissing();
    if (missing) {
      process.stderr.write(`${missing}\n`);
      return 1;
    }
  }
  if (values.znodes !== undefined && !values.memory) {
    process.stderr.write(`--znodes goes with --memory\n${USAGE}\n`);
    return 2;
  }
  if (values.memory) {
    const znodes = Number(values.znodes ?? MEMORY_DEFAULTS.znodes);
    if (!Number.isInteger(znodes) || znodes < 1) {
      process.stderr.write(`--znodes: a whole number of znodes, at least 1\n${USAGE}\n`);
      return 2;
    }
    if (values.only !== undefined || values.profile !== undefined) {
      process.stderr.write(`--memory runs no workloads: leave out --only and --profile\n${USAGE}\n`);
      return 2;
    }
    const report = await runMemory({
      systems,
      znodes,
      valueBytes: MEMORY_DEFAULTS.valueBytes,
      connections: Math.max(1, Number(values.connections)),
      inFlight: MEMORY_DEFAULTS.inFlight,
      trials: Math.max(1, Number(values.trials ?? MEMORY_DEFAULTS.trials)),
      tls: values.tls,
      zookeeperClient: values.client === 'zookeeper',
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatMemoryTable(report)}\n`);
    return 0;
  }
  const selected = (values.only ?? 'W1,R1,C1,L1,F1').split(',').map((s) => s.trim().toUpperCase());
  for (const name of selected) {
    if (!(name in WORKLOADS) && name !== 'F1') {
      process.stderr.write(`--only: unknown workload ${name}\n${USAGE}\n`);
      return 2;
    }
  }
  const steady = STEADY.filter((name) => selected.includes(name));
  const settings = {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    rounds: Math.max(1, Number(values.rounds)),
    trials: selected.includes('F1') ? Math.max(1, Number(values.trials ?? '10')) : 0,
    connections: Math.max(1, Number(values.connections)),
  };
  const report: Report = {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings,
    systems,
    workloads: {},
    failover: {},
    ratios: {},
  };

  const targets = new Map<System, { target: Target; conns: Conn[] }>();
  const cleanup = async () => {
    await Promise.allSettled(
      [...targets.values()].map(async ({ target, conns }) => {
        await Promise.allSettled(conns.map((conn) => conn.close()));
        await target.close();
      }),
    );
    targets.clear();
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping the ensembles\n');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = new Progress(systems.length * (1 + steady.length * settings.rounds + settings.trials), false);
  try {
    for (const system of systems) {
      progress.step(`starting ${system}`);
      let target: Target;
      if (system === 'zabkit') {
        const previous = process.env.NODE_OPTIONS;
        if (values.profile) process.env.NODE_OPTIONS = `${previous ?? ''} ${profileNodeOptions(values.profile)}`;
        try {
          target = await startZabkit({ tls: values.tls, zookeeperClient: values.client === 'zookeeper' });
        } finally {
          if (values.profile) {
            if (previous === undefined) delete process.env.NODE_OPTIONS;
            else process.env.NODE_OPTIONS = previous;
          }
        }
      } else {
        target = await startZookeeper();
      }
      const conns = await Promise.all(Array.from({ length: settings.connections }, () => target.connect()));
      targets.set(system, { target, conns });
      await prepare(conns[0] as Conn);
    }
    for (let round = 0; round < settings.rounds; round++) {
      for (const name of steady) {
        // Alternate which system goes first, so neither always runs on the warmer machine.
        const order = (round + STEADY.indexOf(name)) % 2 === 0 ? systems : [...systems].reverse();
        for (const system of order) {
          const { target, conns } = targets.get(system) as { target: Target; conns: Conn[] };
          progress.step(
            `${name} ${system}${settings.rounds > 1 ? ` round ${round + 1}/${settings.rounds}` : ''}: ${WORKLOADS[name].title}`,
          );
          const result = await runWorkload(target, conns, name, {
            warmupMs: settings.warmupS * 1000,
            durationMs: settings.durationS * 1000,
            onProgress: (fraction) => progress.within(fraction),
          });
          const bySystem = report.workloads[name] ?? {};
          report.workloads[name] = bySystem;
          const runs = [...(bySystem[system]?.runs ?? []), result];
          bySystem[system] = { median: medianResult(runs), runs };
        }
      }
    }
    const trials = new Map<System, FailoverTrial[]>(systems.map((system) => [system, []]));
    for (let trial = 0; trial < settings.trials; trial++) {
      const order = trial % 2 === 0 ? systems : [...systems].reverse();
      for (const system of order) {
        const { target, conns } = targets.get(system) as { target: Target; conns: Conn[] };
        progress.step(`F1 ${system} trial ${trial + 1}/${settings.trials}: kill -9 of the leader under W1`);
        trials.get(system)?.push(await failover(target, conns));
      }
    }
    for (const [system, list] of trials) {
      if (list.length === 0) continue;
      const times = list.map((t) => t.recoveryMs);
      report.failover[system] = {
        medianMs: median(times),
        maxMs: Math.max(...times),
        electedMedianMs: median(list.map((t) => t.electedMs)),
        trials: list,
      };
    }
    progress.finish();
  } finally {
    await cleanup();
  }

  if (systems.includes('zookeeper')) {
    for (const name of steady) {
      const ours = report.workloads[name]?.zabkit?.median;
      const theirs = report.workloads[name]?.zookeeper?.median;
      if (!ours || !theirs) continue;
      report.ratios[name] = {
        opsPerSec: ours.opsPerSec / theirs.opsPerSec,
        p50: ours.p50 / theirs.p50,
        p90: ours.p90 / theirs.p90,
        p99: ours.p99 / theirs.p99,
        max: ours.max / theirs.max,
      };
    }
    const ours = report.failover.zabkit;
    const theirs = report.failover.zookeeper;
    if (ours && theirs) report.ratios.F1 = { medianMs: ours.medianMs / theirs.medianMs };
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatTable(report)}\n`);
  if (unparsedReplies() > 0) {
    process.stderr.write(
      `note: node-zookeeper-client met ${unparsedReplies()} reply(ies) it could not parse; each dropped its connection (zookeeper-client-guard.ts)\n`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
