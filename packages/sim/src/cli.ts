#!/usr/bin/env node
// pnpm sim --seeds N [--seed S] [--nodes 1|3|5|7] [--observers K] [--safety-ms MS]
import { parseArgs } from 'node:util';
import { runSeeds } from './run-seeds.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    seed: { type: 'string' },
    nodes: { type: 'string', default: '3' },
    observers: { type: 'string', default: '0' },
    'safety-ms': { type: 'string' },
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

process.stdout.write(
  `first seed: ${firstSeed} (replay one with: pnpm sim --seed ${firstSeed} --nodes ${nodes} --observers ${observers})\n`,
);
const started = Date.now();
const tty = process.stdout.isTTY === true;
let lastPrinted = 0;
const { results, violation } = await runSeeds({
  firstSeed,
  seeds,
  nodes,
  observers,
  ...(safetyMs !== undefined && { safetyMs }),
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
  process.stdout.write(`replay: pnpm sim --seed ${violation.seed} --nodes ${nodes} --observers ${observers}\n`);
}
const committed = results.reduce((n, r) => n + r.committed, 0);
process.stdout.write(
  `committed transactions: ${committed}, client operations: ${results.reduce((n, r) => n + r.operations, 0)}\n`,
);
process.stdout.write(`seeds: ${results.length + (violation ? 1 : 0)}, violations: ${violation ? 1 : 0}\n`);
process.exit(violation ? 1 : 0);
