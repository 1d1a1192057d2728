import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCrashChild } from './crash-bundle.js';
import { runCrashRounds } from './crash-workload.js';

const SEED = Number(process.env.ZABKIT_CRASH_SEED ?? 0xc0ffee);
const KILLS = Number(process.env.ZABKIT_CRASH_KILLS ?? 200);

describe('FileStorage under SIGKILL', () => {
  let bundle: { script: string; dir: string };
  beforeAll(async () => {
    bundle = await bundleCrashChild();
  });
  afterAll(async () => {
    await rm(bundle.dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged entry, snapshot and epoch across ${KILLS} kills (seed ${SEED})`, async () => {
    console.log(`crash test seed: ${SEED} (ZABKIT_CRASH_SEED to replay the schedule)`);
    // A time budget keeps the suite bounded on a loaded machine; `pnpm crash --count N` runs more.
    const report = await runCrashRounds({
      childScript: bundle.script,
      kills: KILLS,
      seed: SEED,
      lanes: 2,
      timeBudgetMs: 35_000,
    });
    console.log(`crash test: ${JSON.stringify(report)}`);
    expect(report.kills).toBeGreaterThanOrEqual(Math.min(KILLS, 50));
    // The children must have made real progress, or the kills prove nothing.
    expect(report.acknowledgedEntries).toBeGreaterThan(report.kills * 10);
  }, 80_000);
});
