import { describe, expect, it } from 'vitest';
import { runSeeds } from './run-seeds.js';

// The fixed slice of seeds `pnpm test` runs; `pnpm sim --seeds N` and `pnpm sim:long` run more.
// Each seed draws its own fault mix (partitions, crashes with torn writes, pauses, breaks, late
// deliveries) for 20 s of virtual time, then heals and demands liveness; every invariant of
// DESIGN.md is checked as it runs. On failure the message names the seed: `pnpm sim --seed S`.

describe('simulation seeds', () => {
  it.each([
    { nodes: 3, observers: 0, firstSeed: 1, seeds: 500 },
    { nodes: 5, observers: 1, firstSeed: 10_001, seeds: 200 },
    { nodes: 7, observers: 0, firstSeed: 20_001, seeds: 50 },
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
      expect(results.reduce((n, r) => n + r.committed, 0)).toBeGreaterThan(seeds * 10);
    },
    240_000,
  );

  it('replays a seed exactly', () => {
    const first = runSeeds({ firstSeed: 77, seeds: 1, nodes: 3, observers: 0 }).results[0];
    const again = runSeeds({ firstSeed: 77, seeds: 1, nodes: 3, observers: 0 }).results[0];
    expect(again).toEqual(first);
  });
});
