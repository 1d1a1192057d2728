import { describe, expect, it } from 'vitest';
import { runSeeds } from './run-seeds.js';
import type { SimResult, SimViolation } from './simulation.js';

/**
 * KNOWN_GAPS are seeds that reach a gap in core not closed yet. The slice skips them, and each is a
 * test of its own that expects exactly its violation: the gap stays in sight, and closing it fails
 * that test, which then moves back into the slice.
 */
const KNOWN_GAPS: { nodes: number; observers: number; seed: number; invariant: string; why: string }[] = [];

/**
 * FOUND are seeds that reached a gap in core, closed since: each stays a test of its own (a named
 * regression), besides running in the slice or the long runs.
 */
const FOUND = [
  {
    nodes: 3,
    observers: 0,
    seed: 667,
    // Found in the world of its seed: a leader DIFFs from disk at ZooKeeper's factor (seed % 3 = 1).
    diskDiffFactor: 0.33,
    // With client outputs delivered while a persist runs (issue 17), leader 2 applied 0x20000007e on
    // an ACK that arrived during an fsync and answered its write at once; the checks observed
    // applied entries only as the next Ready was taken, which the run's end came before, so the
    // ACL checker found a success "of which nothing committed". The host now sees applied entries
    // before any reply that may show them (ReadyIo.applied; core's ready-driver.test.ts).
    why: 'a reply sent while a persist runs comes after the checks saw the entry it shows applied',
  },
  {
    nodes: 5,
    observers: 1,
    seed: 10_033,
    diskDiffFactor: 0.33,
    // The same gap with the replies delivered as a Ready begins: the checks observed its applied
    // entries only at its 'persisted' event.
    why: 'a reply sent as its Ready begins comes after the checks saw that Ready applied',
  },
  {
    nodes: 3,
    observers: 0,
    seed: 276,
    // Member 3 leads discovery of epoch 3, crashes, comes back and leads discovery of epoch 4
    // (acceptedEpoch 4 durable), alone; meanwhile 1 and 2 establish epoch 3. Back after a long-down
    // episode, 3 refused LEADERINFO(3) (below its promise) and could not rejoin until the leader
    // changed. Now the leader that hears the promise starts a new epoch (core's promised-epoch.test.ts).
    why: 'a voter whose acceptedEpoch is above the established epoch rejoins at once',
  },
  {
    nodes: 3,
    observers: 0,
    seed: 116_142_346,
    // Member 2 got TRUNC from the new leader and crashed while its FileStorage truncated: recovery
    // found the discarded 0x40000000b gone (the truncation had reached the disk). That is allowed —
    // the member asked for it — but the storage checker counted it as a lost durable entry.
    why: 'a crash during a truncation may recover with what it discards gone (a checker gap, not a storage bug)',
  },
  {
    nodes: 5,
    observers: 2,
    seed: 116_139_556,
    // After a leader partition healed, 2 and 5 both decided to lead (each on votes from before the
    // other's arrived) and split the followers: neither reached a quorum, both waited out initLimit,
    // past the liveness bound. The worse one now gives up on the other's LEADING (split-decision.test.ts).
    why: 'two voters that decided to lead: the worse one gives up at once',
  },
  {
    nodes: 3,
    observers: 0,
    seed: 118_316_900,
    // 1 decided to follow 3 in its round; 3 joined 2 out of the election and took 2's older round,
    // so its FOLLOWING notification was ignored as stale and 1 waited for a leader that would never
    // lead it (lost-leader.test.ts: a FOLLOWING from the leader is heeded whatever its round).
    why: 'a learner whose leader joined another out of the election looks again at once',
  },
];

/** runSlice runs consecutive seeds, skipping the known gaps, and stops at the first violation. */
async function runSlice(
  firstSeed: number,
  seeds: number,
  nodes: number,
  observers: number,
): Promise<{ results: SimResult[]; violation: SimViolation | null }> {
  const skip = KNOWN_GAPS.filter((gap) => gap.nodes === nodes && gap.observers === observers).map((gap) => gap.seed);
  const results: SimResult[] = [];
  let seed = firstSeed;
  const end = firstSeed + seeds;
  while (seed < end) {
    const next = Math.min(end, ...skip.filter((s) => s >= seed));
    if (next > seed) {
      const run = await runSeeds({ firstSeed: seed, seeds: next - seed, nodes, observers });
      results.push(...run.results);
      if (run.violation) return { results, violation: run.violation };
    }
    seed = next + 1;
  }
  return { results, violation: null };
}

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
    // A seed costs about twice what it did before the real FileStorage ran under every member
    // (its bytes are encoded, checksummed and copied through a simulated page cache): the slice
    // was cut from 400/150/40/100/50 seeds to keep `pnpm test` at about a minute on 2 cores.
    { nodes: 3, observers: 0, firstSeed: 1, seeds: 300 },
    { nodes: 5, observers: 1, firstSeed: 10_001, seeds: 80 },
    { nodes: 7, observers: 0, firstSeed: 20_001, seeds: 20 },
    { nodes: 1, observers: 0, firstSeed: 30_001, seeds: 60 },
    { nodes: 1, observers: 2, firstSeed: 40_001, seeds: 30 },
  ])(
    '$seeds seeds of $nodes voters and $observers observers break no invariant',
    async ({ nodes, observers, firstSeed, seeds }) => {
      const { results, violation } = await runSlice(firstSeed, seeds, nodes, observers);
      if (violation) {
        throw new Error(
          `seed ${violation.seed} (${nodes} voters, ${observers} observers): ${violation.invariant}: ${violation.detail}\n` +
            `replay: pnpm sim --seed ${violation.seed} --nodes ${nodes} --observers ${observers}\n${violation.trace.join('\n')}`,
        );
      }
      expect(results.length).toBeGreaterThanOrEqual(seeds - KNOWN_GAPS.length);
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
      // Issue 14: access lists refused writes and changed, and the outsider was on the network.
      expect(sum(results, (r) => r.aclRefusals)).toBeGreaterThan(0);
      expect(sum(results, (r) => r.invalidAcls)).toBeGreaterThan(0);
      expect(sum(results, (r) => r.aclChanges)).toBeGreaterThan(0);
      expect(sum(results, (r) => r.outsiderMessages)).toBeGreaterThan(seeds * 10);
    },
    240_000,
  );

  for (const gap of KNOWN_GAPS) {
    it(`known gap, seed ${gap.seed} of ${gap.nodes} voters and ${gap.observers} observers: ${gap.why}`, async () => {
      const { violation } = await runSeeds({
        firstSeed: gap.seed,
        seeds: 1,
        nodes: gap.nodes,
        observers: gap.observers,
      });
      expect(violation?.invariant).toBe(gap.invariant);
    });
  }

  for (const found of FOUND) {
    it(`regression, seed ${found.seed} of ${found.nodes} voters and ${found.observers} observers: ${found.why}`, async () => {
      // Most were found before a leader could DIFF from disk: run in the world each was found in.
      const { results, violation } = await runSeeds({
        firstSeed: found.seed,
        seeds: 1,
        nodes: found.nodes,
        observers: found.observers,
        diskDiffFactor: 'diskDiffFactor' in found ? found.diskDiffFactor : 0,
      });
      expect(violation).toBeNull();
      expect(results[0]?.committed).toBeGreaterThan(0);
    });
  }

  it('replays a seed exactly', async () => {
    const first = (await runSeeds({ firstSeed: 77, seeds: 1, nodes: 3, observers: 0 })).results[0];
    const again = (await runSeeds({ firstSeed: 77, seeds: 1, nodes: 3, observers: 0 })).results[0];
    expect(again).toEqual(first);
  });
});
