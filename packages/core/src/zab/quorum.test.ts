import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isQuorum, quorumAckedZxid, quorumSize } from './quorum.js';

/** naiveAckedZxid: the largest acked value that at least a majority of voters reached, by counting (the oracle). */
function naiveAckedZxid(acked: readonly number[], voterCount: number): number | null {
  let best: number | null = null;
  for (const candidate of acked) {
    const reached = acked.filter((value) => value >= candidate).length;
    if (reached * 2 > voterCount && (best === null || candidate > best)) best = candidate;
  }
  return best;
}

describe('quorum (majority arithmetic)', () => {
  it('a quorum is more than half of the voters', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 255 }), (voters, count) => {
        expect(isQuorum(count, voters)).toBe(count * 2 > voters);
      }),
    );
  });

  it('quorumAckedZxid agrees with a naive count (etcd quorum/quick_test.go)', () => {
    const case_ = fc
      .integer({ min: 1, max: 9 })
      .chain((voters) =>
        fc.tuple(fc.constant(voters), fc.array(fc.integer({ min: -1, max: 20 }), { minLength: 0, maxLength: voters })),
      );
    fc.assert(
      fc.property(case_, ([voters, acked]) => {
        expect(quorumAckedZxid(acked, voters)).toBe(naiveAckedZxid(acked, voters));
      }),
      { numRuns: 2_000 },
    );
  });

  it('quorumAckedZxid does not reorder its input', () => {
    const acked = [3, 9, 1];
    expect(quorumAckedZxid(acked, 3)).toBe(3);
    expect(acked).toEqual([3, 9, 1]);
  });
});
