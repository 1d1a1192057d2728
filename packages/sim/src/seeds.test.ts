import { describe, expect, it } from 'vitest';
import { runSeeds } from './run-seeds.js';
import type { SimResult } from './simulation.js';

// The fixed slice of seeds `pnpm test` runs; `pnpm sim --seeds N` and `pnpm sim:long` run more.
// Each seed draws its own fault mix (partitions, crashes with torn writes, pauses, breaks, late
// deliveries, leader partitions, long-down and wiped members) and workload (values up to
// dataBytesMax, requests near the frame limits) for 20 s of virtual time, then heals and demands
// liveness; every invariant of DESIGN.md and the frame limits are checked as it runs, and the
// liveness bound after every heal. On failure the message names the seed: `pnpm sim --seed S`.

const sum = (results: SimResult[], pick: (result: SimResult) => number) =>
  results.reduce((n, result) => n + pick(result), 0);

describe('simulation seeds', () => {
  it.each([
    { nodes: 3, observers: 0, firstSeed: 1, seeds: 400 },
    { nodes: 5, observers: 1, firstSeed: 10_001, seeds: 150 },
    { nodes: 7, observers: 0, firstSeed: 20_001, seeds: 40 },
    { nodes: 1, observers: 0, firstSeed: 30_001, seeds: 100 },
    { nodes: 1, observers: 2, firstSeed: 40_001, seeds: 50 },
  ])(
    '$seeds seeds of $nodes voters and $observers observers break no invariant',
    ({ nodes, observers, firstSeed, seeds }) => {
      const { results, violation } = runSeeds({ firstSeed, seeds, nodes, observers });
      if (violation) {
        throw new Error(
          `seed ${violation.seed} (${nodes} voters, ${observers} observers): ${violation.invariant}: ${violation.detail}\n` +
            `replay: pnpm sim --seed ${violation.seed} --nodes ${nodes} --observers ${observers}\n${violation.trace.join('\n')}`,
        );
      }
      expect(results).toHaveLength(seeds);
      // The runs did real work: transactions committed and clients were answered.
      expect(sum(results, (r) => r.committed)).toBeGreaterThan(seeds * 10);
      // Every heal was held to the bound, and the slice went where issue 12's outages were: frames
      // near the peer limit, replies refused for size, members far behind and back.
      expect(sum(results, (r) => r.heals)).toBeGreaterThan(seeds);
      expect(sum(results, (r) => r.marshallingErrors)).toBeGreaterThan(0);
      if (nodes + observers > 1) {
        expect(Math.max(...results.map((r) => r.peerFrameBytesMax))).toBeGreaterThan(128 * 1024);
        expect(sum(results, (r) => r.longDowns)).toBeGreaterThan(0);
      }
      if (nodes > 1) expect(sum(results, (r) => r.leaderPartitions)).toBeGreaterThan(0);
    },
    240_000,
  );

  it('replays a seed exactly', () => {
    const first = runSeeds({ firstSeed: 77, seeds: 1, nodes: 3, observers: 0 }).results[0];
    const again = runSeeds({ firstSeed: 77, seeds: 1, nodes: 3, observers: 0 }).results[0];
    expect(again).toEqual(first);
  });
});
