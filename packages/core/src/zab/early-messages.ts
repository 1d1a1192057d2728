import type { Outbound, Ready } from './peer.js';

/**
 * splitEarlyMessages splits a Ready's messages into those a host may send before the Ready is
 * persisted and those it must send after. Early: the leader's PROPOSAL, COMMIT and INFORM, which
 * vouch for nothing in this Ready (a COMMIT is decided from acks of entries already durable, the
 * leader counting itself only after its own persist; a PROPOSAL the leader dies before logging is
 * lost by the crash anyway), so followers log beside the leader instead of after it. Only for a
 * Ready that just appends (no truncation, snapshot or epochs), and per peer only up to its first
 * other message, so each peer still receives its messages in order. Everything else — ACK,
 * ACKEPOCH, ACKNEWLEADER, LEADERINFO, the sync stream — waits for the persist.
 */
export function splitEarlyMessages(ready: Ready): { early: Outbound[]; afterPersist: Outbound[] } {
  if (ready.truncateAfter !== null || ready.snapshot !== null || ready.epochs !== null) {
    return { early: [], afterPersist: ready.messages };
  }
  const early: Outbound[] = [];
  const afterPersist: Outbound[] = [];
  let held: Set<number> | undefined;
  for (const item of ready.messages) {
    const type = item.message.type;
    if ((type === 'proposal' || type === 'commit' || type === 'inform') && !held?.has(item.to)) {
      early.push(item);
    } else {
      afterPersist.push(item);
      held ??= new Set();
      held.add(item.to);
    }
  }
  return { early, afterPersist };
}
