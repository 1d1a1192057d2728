#!/usr/bin/env node
// pnpm sim --seeds N [--seed S] [--nodes 1|3|5|7] [--observers K] [--safety-ms MS] [--membership [--spares K]]
//   [--history N] (entries each member keeps in memory: small values send learners to DIFF from disk or SNAP)
import { parseArgs } from 'node:util';
import { runSeeds } from './run-seeds.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    nodes: { type: 'string', default: '3' },
    observers: { type: 'string', default: '0' },
    'safety-ms': { type: 'string' },
    membership: { type: 'boolean', default: false },
    spares: { type: 'string' },
    unsafe: { type: 'string' },
    'skip-commit-quorum-check': { type: 'boolean', default: false },
    history: { type: 'string' },
  },
});
const number = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`sim: --${name} must be a whole number, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
};
const nodes = number('nodes', values.nodes, 3);
if (![1, 3, 5, 7].includes(nodes)) {
  process.stderr.write('sim: --nodes must be 1, 3, 5 or 7\n');
  process.exit(2);
}
const observers = number('observers', values.observers, 0);
const replay = values.seed !== undefined;
const firstSeed = number('seed', values.seed, (Date.now() % 1_000_000_000) + 1);
const seeds = number('seeds', values.seeds, replay ? 1 : 100);
const safetyMs = values['safety-ms'] === undefined ? undefined : number('safety-ms', values['safety-ms'], 20_000);
const membership = values.membership === true;
const spares = values.spares === undefined ? undefined : number('spares', values.spares, 2);
// --unsafe new-config-only: every member counts a logged change's configuration alone (the test that it is caught).
const unsafe = values.unsafe;
if (unsafe !== undefined && unsafe !== 'new-config-only') {
  process.stderr.write('sim: --unsafe must be new-config-only\n');
  process.exit(2);
}
// --skip-commit-quorum-check: commit-on-member-quorum off, to see what else a wrong rule breaks.
const skipCommitQuorumCheck = values['skip-commit-quorum-check'] === true;
const history = values.history === undefined ? undefined : number('history', values.history, 200);
const flags = `--nodes ${nodes} --observers ${observers}${history !== undefined ? ` --history ${history}` : ''}${membership ? ' --membership' : ''}${spares !== undefined ? ` --spares ${spares}` : ''}${unsafe !== undefined ? ` --unsafe ${unsafe}` : ''}${skipCommitQuorumCheck ? ' --skip-commit-quorum-check' : ''}`;

process.stdout.write(`first seed: ${firstSeed} (replay one with: pnpm sim --seed ${firstSeed} ${flags})\n`);
const started = Date.now();
const tty = process.stdout.isTTY === true;
let lastPrinted = 0;
const { results, violation } = await runSeeds({
  firstSeed,
  seeds,
  nodes,
  observers,
  ...(safetyMs !== undefined && { safetyMs }),
  ...(membership && { membership }),
  ...(spares !== undefined && { spares }),
  ...(unsafe !== undefined && { unsafeMembershipRule: unsafe }),
  ...(skipCommitQuorumCheck && { commitQuorumCheck: false }),
  ...(history !== undefined && { historyEntriesMax: Math.max(1, history) }),
  onProgress: (done, total) => {
    const now = Date.now();
    if (done !== total && now - lastPrinted < 250) return;
    lastPrinted = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds, ${((now - started) / 1000).toFixed(1)} s`;
    process.stdout.write(tty ? `\r${bar}` : `${bar}\n`);
  },
});
if (tty) process.stdout.write('\n');
if (violation) {
  process.stdout.write(`\nVIOLATION at seed ${violation.seed}: ${violation.invariant}\n  ${violation.detail}\n`);
  if (violation.trace.length > 0)
    process.stdout.write(`last events:\n${violation.trace.map((line) => `  ${line}`).join('\n')}\n`);
  process.stdout.write(`replay: pnpm sim --seed ${violation.seed} ${flags}\n`);
}
const committed = results.reduce((n, r) => n + r.committed, 0);
process.stdout.write(
  `committed transactions: ${committed}, client operations: ${results.reduce((n, r) => n + r.operations, 0)}\n`,
);
const syncs = { DIFF: 0, TRUNC: 0, SNAP: 0, diskReads: 0 };
for (const r of results) for (const key of Object.keys(syncs) as (keyof typeof syncs)[]) syncs[key] += r.syncs[key];
process.stdout.write(
  `syncs: DIFF ${syncs.DIFF} (disk reads ${syncs.diskReads}), TRUNC ${syncs.TRUNC}, SNAP ${syncs.SNAP}\n`,
);
if (membership) {
  const proposed = results.reduce((n, r) => n + r.reconfigs.proposed, 0);
  const committedChanges = results.reduce((n, r) => n + r.reconfigs.committed, 0);
  const refused: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(r.reconfigs.refused)) refused[code] = (refused[code] ?? 0) + n;
  process.stdout.write(
    `membership changes: ${proposed} asked, ${committedChanges} committed, refused ${JSON.stringify(refused)}\n`,
  );
}
process.stdout.write(`seeds: ${results.length + (violation ? 1 : 0)}, violations: ${violation ? 1 : 0}\n`);
process.exit(violation ? 1 : 0);
