// A voter can hold a promise (acceptedEpoch) above the epoch the others went on to establish: it
// chose or accepted an epoch in a discovery that never completed (a leader that crashed between
// LEADERINFO and a quorum of ACKEPOCH), then the others, without it, established a lower one. It
// refuses that lower epoch (Zab: never accept a leader below a promise), so the established leader
// must start a new epoch when it hears the promise, or the voter stays out until the next leader
// change by chance (the simulator on the real storage found this: seed 276, 3 voters).
import { describe, expect, it } from 'vitest';
import { Ensemble } from './test/ensemble.js';

describe('a voter whose promise is above the established epoch', () => {
  it('rejoins: the leader starts an epoch above the promise, and every member serves in it', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.stop(3);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    expect([1, 2]).toContain(leader);
    const established = ensemble.peer(leader).status().currentEpoch;
    const session = ensemble.createSession(leader);
    ensemble.peer(leader).submit(session, 1, { op: 'create', path: '/a', data: new Uint8Array(0), mode: 0, ttlMs: 0 });
    ensemble.settle(5);
    // Member 3 comes back holding a promise of an epoch above the established one.
    const promised = established + 3;
    ensemble.start(3, { epochs: { acceptedEpoch: promised, currentEpoch: 0 }, snapshot: null, entries: [] });
    ensemble.settle(200);
    const statuses = [1, 2, 3].map((id) => ensemble.peer(id).status());
    expect(statuses.map((status) => status.phase)).toEqual(['broadcast', 'broadcast', 'broadcast']);
    expect(statuses.filter((status) => status.role === 'leading')).toHaveLength(1);
    for (const status of statuses) expect(status.currentEpoch).toBeGreaterThan(promised);
    // What was committed before survives the new epoch on every member.
    for (const id of [1, 2, 3]) {
      const created = ensemble.readies
        .filter((entry) => entry.id === id)
        .some(({ ready }) => ready.entries.some((entry) => entry.txn.type === 'create'));
      expect(created || ensemble.durable.get(id)?.entries.some((entry) => entry.txn.type === 'create')).toBe(true);
    }
  });
});
