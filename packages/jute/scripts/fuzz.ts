// pnpm --filter @zabkit/jute fuzz --count N [--seed S]: the jute frame fuzzer at any count.
import { fuzzFrames } from '../src/fuzz.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a non-negative integer`);
  return value;
}

const count = option('count', 1_000_000);
const seed = option('seed', Date.now() % 0x1_0000_0000);
console.log(`fuzz: seed ${seed}, ${count} frames`);
const started = performance.now();
// A crash (anything but JuteError, or a broken round trip) throws FuzzFailure with the seed's iteration.
const report = fuzzFrames({ count, seed });
const seconds = (performance.now() - started) / 1000;
const targets = Object.entries(report.byTarget)
  .map(([name, counts]) => `${name} ${counts.decoded}/${counts.refused}`)
  .join(', ');
console.log(
  `fuzz: ${report.frames} frames in ${seconds.toFixed(1)} s; 0 crashes; ${report.decoded} decoded, ${report.refused} refused with JuteError; decoder capacity max ${report.capacityBytesMax} bytes`,
);
console.log(`fuzz: decoded/refused by decoder: ${targets}`);
