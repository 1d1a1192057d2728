import { formatZxid, type ZabPeer, type Zxid } from '@zabkit/core';
import { treeDigest } from './digest.js';

/** REPLICA_INVARIANT is the name the simulator reports a broken check under. */
export const REPLICA_INVARIANT = 'replicas-identical';

/**
 * checkReplicasIdentical: once healed and settled, serving members that applied the same zxid hold
 * the same tree. Returns what is wrong, or null.
 */
export function checkReplicasIdentical(members: readonly { id: number; peer: ZabPeer | null }[]): string | null {
  const byZxid = new Map<Zxid, { id: number; digest: string }>();
  for (const { id, peer } of members) {
    if (!peer?.isServing()) continue;
    const zxid = peer.status().lastAppliedZxid;
    const digest = treeDigest(peer);
    const other = byZxid.get(zxid);
    if (other && other.digest !== digest) return `servers ${other.id} and ${id} differ at ${formatZxid(zxid)}`;
    byZxid.set(zxid, { id, digest });
  }
  return null;
}
