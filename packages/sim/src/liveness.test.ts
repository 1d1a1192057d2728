import { describe, expect, it } from 'vitest';
import { livenessBoundMs, SIM_TIMEOUTS } from './liveness.js';
import { simLimits } from './sim-limits.js';

describe('livenessBoundMs', () => {
  const limits = simLimits();
  const calm = { delayMsMax: 1, fsyncMsMax: 0, breakNoticeMsMax: 400 };

  it('adds break notice, step-down, two election rounds and the establishing round trips', async () => {
    const tick = SIM_TIMEOUTS.tickMs;
    const expected =
      400 +
      SIM_TIMEOUTS.syncLimitTicks * tick +
      2 * SIM_TIMEOUTS.electionTimeoutTicks * tick +
      2 * (2 * SIM_TIMEOUTS.finalizeWaitTicks + 1) * tick +
      6 * 2 +
      4 * tick;
    expect(livenessBoundMs(SIM_TIMEOUTS, calm, limits, 0)).toBe(expected);
  });

  it('grows with latency, fsync time and the sync windows a big tree needs', async () => {
    const base = livenessBoundMs(SIM_TIMEOUTS, calm, limits, 0);
    expect(livenessBoundMs(SIM_TIMEOUTS, { ...calm, delayMsMax: 80 }, limits, 0)).toBe(base + 6 * 2 * 79);
    expect(livenessBoundMs(SIM_TIMEOUTS, { ...calm, fsyncMsMax: 40 }, limits, 0)).toBe(base + 4 * 40);
    expect(livenessBoundMs(SIM_TIMEOUTS, calm, limits, 3 * limits.syncWindowBytes)).toBe(base + 3 * 2);
  });

  it('stays under initLimit on a calm network: a learner that waits one out overruns it', async () => {
    expect(livenessBoundMs(SIM_TIMEOUTS, calm, limits, 0)).toBeLessThan(
      SIM_TIMEOUTS.initLimitTicks * SIM_TIMEOUTS.tickMs,
    );
  });
});
