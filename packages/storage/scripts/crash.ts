// pnpm --filter @zabkit/storage crash --count N [--seed S] [--lanes L]: more SIGKILL rounds than the test run.
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { bundleCrashChild } from '../src/crash-bundle.js';
import { runCrashRounds } from '../src/crash-workload.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    seed: { type: 'string', default: String(Date.now() % 0x7fff_ffff) },
    lanes: { type: 'string', default: '2' },
    verbose: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
console.log(`crash: ${values.count} kills, seed ${seed}, ${values.lanes} lanes`);
const bundle = await bundleCrashChild();
try {
  const started = Date.now();
  const report = await runCrashRounds({
    childScript: bundle.script,
    kills: Number(values.count),
    seed,
    lanes: Number(values.lanes),
    log: values.verbose ? (line) => console.log(line) : undefined,
  });
  console.log(`crash: ok in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(report)}`);
} finally {
  await rm(bundle.dir, { recursive: true, force: true });
}
