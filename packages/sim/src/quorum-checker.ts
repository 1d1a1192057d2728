import { formatZxid, quorumSize, type Zxid, zxidCounter, zxidEpoch } from '@zabkit/core';
import type { DurableView } from './member-storage.js';

/** COMMIT_QUORUM_INVARIANT is the name the simulator reports a broken check under. */
export const COMMIT_QUORUM_INVARIANT = 'commit-on-member-quorum';

/**
 * checkCommitQuorum: when a leader's commit point moves to a zxid of its own epoch, that zxid is
 * durable on a quorum of the configured voters (its own disk counted, observers not): nothing —
 * an outsider's ACK, a late copy, an observer — stands in for a voter's acknowledgement. A voter
 * holds it when its durable log has it or its durable snapshot is at or past it. Returns what is
 * wrong, or null.
 */
export function checkCommitQuorum(
  leaderId: number,
  epoch: number,
  committedZxid: Zxid,
  voters: readonly { id: number; durable: DurableView }[],
): string | null {
  if (zxidEpoch(committedZxid) !== epoch || zxidCounter(committedZxid) === 0) return null;
  const holders = voters.filter(({ durable }) => holds(durable, committedZxid)).map(({ id }) => id);
  const needed = quorumSize(voters.length);
  if (holders.length >= needed) return null;
  return `leader ${leaderId} of epoch ${epoch} committed ${formatZxid(committedZxid)}, durable on ${holders.length} voters (${holders.join(', ') || 'none'}) of the ${needed} a quorum needs`;
}

function holds(durable: DurableView, zxid: Zxid): boolean {
  if (durable.snapshotZxid >= zxid) return true;
  const zxids = durable.zxids;
  let low = 0;
  let high = zxids.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = zxids[middle] as Zxid;
    if (value === zxid) return true;
    if (value < zxid) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}
