import type { Zxid } from '../zxid.js';

/**
 * Majority arithmetic, used everywhere a Zab member counts voters (etcd raft's quorum/majority.go):
 * electing a leader, establishing an epoch (FOLLOWERINFO, ACKEPOCH, ACK of NEWLEADER), committing a
 * proposal, confirming a read barrier, and a leader's check that it still hears from a quorum.
 * Observers never count; every count here is of distinct voters, the leader itself included.
 */

/** quorumSize is the smallest majority of `voterCount` voters: ⌊n/2⌋ + 1. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** isQuorum tells whether `count` distinct voters are a majority of `voterCount`. */
export function isQuorum(count: number, voterCount: number): boolean {
  return count >= quorumSize(voterCount);
}

/**
 * quorumAckedZxid is the highest zxid that a majority of `voterCount` voters has durably logged,
 * given the last zxid each voter acknowledged (one value per voter heard, in any order; a voter
 * not heard is simply absent), or null when fewer than a quorum are listed (majority.go
 * CommittedIndex). A proposal is committed once its zxid is at or below this value.
 */
export function quorumAckedZxid(acked: readonly Zxid[], voterCount: number): Zxid | null {
  const size = quorumSize(voterCount);
  if (acked.length < size) return null;
  const sorted = [...acked].sort((a, b) => b - a);
  return sorted[size - 1] as Zxid;
}
