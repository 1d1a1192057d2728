/** CommittedEntry is what the prefix invariant compares: a zxid and a digest of its transaction. */
export interface CommittedEntry {
  zxid: number;
  digest: string;
}

/** PrefixViolation says where two committed histories first disagree. */
export interface PrefixViolation {
  a: number;
  b: number;
  index: number;
  detail: string;
}

/**
 * checkPrefixHistories verifies DESIGN.md's invariant that the committed histories of any two
 * members are prefixes of one another (same zxid, same transaction at every index), returning the
 * first disagreement or null.
 */
export function checkPrefixHistories(
  histories: ReadonlyMap<number, readonly CommittedEntry[]>,
): PrefixViolation | null {
  const members = [...histories.keys()].sort((x, y) => x - y);
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const a = members[i] as number;
      const b = members[j] as number;
      const left = histories.get(a) ?? [];
      const right = histories.get(b) ?? [];
      const shared = Math.min(left.length, right.length);
      for (let index = 0; index < shared; index++) {
        const x = left[index] as CommittedEntry;
        const y = right[index] as CommittedEntry;
        if (x.zxid !== y.zxid || x.digest !== y.digest) {
          return {
            a,
            b,
            index,
            detail: `member ${a} has 0x${x.zxid.toString(16)} (${x.digest}), member ${b} has 0x${y.zxid.toString(16)} (${y.digest})`,
          };
        }
      }
    }
  }
  return null;
}
