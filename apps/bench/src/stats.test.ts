import { describe, expect, it } from 'vitest';
import { median, Recorder } from './stats.js';

describe('stats', () => {
  it('reports percentiles in ms from samples in µs, nearest rank', () => {
    const recorder = new Recorder();
    for (let i = 1; i <= 100_000; i++) recorder.record(i);
    const summary = recorder.summary(2);
    expect(summary.opsPerSec).toBe(50_000);
    expect(summary.p50).toBe(50);
    expect(summary.p90).toBe(90);
    expect(summary.p99).toBe(99);
    expect(summary.max).toBe(100);
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
