import type { MemoryReport, System, SystemMemory } from './memory.js';

const MIB = 1024 * 1024;

function mib(bytes: number | null): string {
  return bytes === null || !Number.isFinite(bytes) ? '—' : (bytes / MIB).toFixed(1);
}

function whole(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '' : `${value.toFixed(2)}×`;
}

/** ROWS: one line of the table per figure, read from each system's results. */
const ROWS: { label: string; cell: (result: SystemMemory) => string; ratio?: keyof MemoryReport['ratios'] }[] = [
  {
    label: 'live memory per znode (B)',
    cell: (r) => whole(r.liveBytesPerZnode),
    ratio: 'liveBytesPerZnode',
  },
  { label: 'live memory, empty → loaded (MiB)', cell: (r) => `${mib(r.empty.liveBytes)} → ${mib(r.loaded.liveBytes)}` },
  {
    label: '  of which heap used, loaded (MiB)',
    cell: (r) => mib(r.loaded.heapUsedBytes),
  },
  {
    label: '  of which off-heap (external), loaded (MiB)',
    cell: (r) => (r.loaded.externalBytes === null ? 'on heap' : mib(r.loaded.externalBytes)),
  },
  {
    label: 'RSS, empty → loaded (MiB)',
    cell: (r) => `${mib(r.empty.rssBytes)} → ${mib(r.loaded.rssBytes)}`,
    ratio: 'rssLoaded',
  },
  { label: 'RSS per znode (B)', cell: (r) => whole(r.rssBytesPerZnode) },
  { label: 'snapshot file (MiB)', cell: (r) => mib(r.snapshot.bytes) },
  {
    label: 'snapshot per znode (B)',
    cell: (r) => whole(r.snapshot.bytesPerZnode),
    ratio: 'snapshotBytesPerZnode',
  },
  {
    label: 'restart → first read (ms, median)',
    cell: (r) => whole(r.restart.firstReadMsMedian),
    ratio: 'firstReadMs',
  },
  { label: '  trials (ms)', cell: (r) => r.restart.trials.map((t) => whole(t.firstReadMs)).join(', ') },
  {
    label: 'RSS right after restart (MiB, median)',
    cell: (r) => mib(r.restart.rssBytesAfterMedian),
    ratio: 'rssAfterRestart',
  },
  { label: 'load (creates/s)', cell: (r) => whole(r.load.createsPerSec) },
];

const NAMES: Record<System, string> = { zabkit: 'zabkit', zookeeper: 'ZooKeeper' };

/** formatMemoryTable renders a `--memory` report: a figure per line, a column per system, and the method. */
export function formatMemoryTable(report: MemoryReport): string {
  const systems = report.systems.filter((system) => report.results[system] !== undefined);
  const both = systems.length === 2;
  const rows: string[][] = [['figure', ...systems.map((system) => NAMES[system]), ...(both ? ['zabkit/ZK'] : [])]];
  for (const row of ROWS) {
    rows.push([
      row.label,
      ...systems.map((system) => row.cell(report.results[system] as SystemMemory)),
      ...(both ? [row.ratio === undefined ? '' : ratio(report.ratios[row.ratio])] : []),
    ]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  const { settings } = report;
  const members = systems.map((system) => {
    const r = report.results[system] as SystemMemory;
    return `${NAMES[system]}: memory of member ${r.measuredMember} (the leader), snapshot ${r.snapshot.name} of member ${r.snapshot.member} after ${r.snapshot.fillerWrites.toLocaleString('en-US')} filler writes, restarts of member ${r.restart.trials.map((t) => t.member).join(', ')} (a follower); live memory by ${r.loaded.method}.`;
  });
  const legend = [
    '',
    `${settings.znodes.toLocaleString('en-US')} znodes of ${settings.valueBytes} B (${settings.inFlight} creates in flight over ${settings.connections} sessions), 3 members per system, one system at a time; ${report.machine.cpus} cores.`,
    'live memory: of the leader after a forced full GC, loaded tree minus empty tree, divided by the znodes (Node: JS heap used + external, which counts ArrayBuffers; JVM: heap used).',
    `snapshot: the first snapshot file of the leader that holds the whole tree (both snapshot every ${settings.snapshotEveryTxns.toLocaleString('en-US')} transactions), divided by the znodes.`,
    `restart: kill -9 of a follower, then from starting it again on its data to its first answered read (a new session with it alone), median of ${settings.trials}; RSS of that member then.`,
    ...(systems.includes('zookeeper') ? [`ZooKeeper's JVMs: -Xms512m -Xmx${settings.zookeeperHeapMbMax}m.`] : []),
    ...members,
  ];
  return [...lines, ...legend].join('\n');
}
