import { describe, expect, it } from 'vitest';
import { simulationFor } from './run-seeds.js';
import { allCaughtUp, followers, readOn, scenario, text, writeN } from './scenario-support.js';
import { simPeerSendQueueBytesMax } from './sim-limits.js';
import type { Simulation } from './simulation.js';

// Scenario tests of issue 12 (sizes, send queues, liveness, the wire, elections after a heal) and
// the pinned seeds.

function big(tag: string, size: number): Uint8Array {
  const data = new Uint8Array(size).fill(0x2e);
  data.set(text(tag), 0);
  return data;
}

/** writeBig creates `count` znodes `/prefix-i` of `size` bytes through server `id`, one after another. */
async function writeBig(sim: Simulation, id: number, count: number, size: number, prefix: string): Promise<void> {
  const session = await sim.openSession(id);
  for (let i = 0; i < count; i++) {
    const reply = await sim.request(id, session, {
      op: 'create',
      path: `/${prefix}-${i}`,
      data: big(`${prefix}${i}`, size),
      mode: 0,
      ttlMs: 0,
    });
    expect(reply.error).toBeNull();
  }
}

/** readPrefix is the first bytes of a znode's data read through server `id`, or null if it is absent. */
async function readPrefix(sim: Simulation, id: number, path: string, length: number): Promise<string | null> {
  const value = await readOn(sim, id, path);
  return value === null ? null : value.slice(0, length);
}

// Issue 12: sizes that took real ensembles down. The simulator measures every peer message and
// client reply with the real codec and fails a run whose frame is over the limit
// (`frame-within-limit`); these drive the sizes there on purpose.
describe('scenarios: sizes and frame limits (issue 12)', () => {
  it('pipelined writes of dataBytesMax are proposed in PROPOSALs that each fit a peer frame', async () => {
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const session = await sim.openSession(leader);
    const { dataBytesMax, peerFrameBytesMax } = sim.limits;
    // Eight writes at once, as a client pipelining them: the leader proposes them in one Ready.
    const xids = Array.from({ length: 8 }, (_, i) =>
      sim.submitOnly(leader, session, {
        op: 'create',
        path: `/big-${i}`,
        data: big(`big${i}`, dataBytesMax),
        mode: 0,
        ttlMs: 0,
      }),
    );
    for (const xid of xids) expect((await sim.awaitReply(leader, session, xid)).error).toBeNull();
    await sim.waitFor('every member applied them', () => allCaughtUp(sim, [1, 2, 3]));
    expect(sim.stats().peerFrameBytesMax).toBeGreaterThan(dataBytesMax);
    expect(sim.stats().peerFrameBytesMax).toBeLessThanOrEqual(peerFrameBytesMax);
    for (const id of [1, 2, 3]) expect(await readPrefix(sim, id, '/big-7', 4)).toBe('big7');
  });

  it('a follower back after missing big writes is sent a DIFF whose messages each fit a peer frame', async () => {
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const [away] = followers(sim, 3) as [number];
    sim.kill(away);
    // 40 writes of 20 KiB: under historyEntriesMax and historyBytesMax, so a DIFF of 800 KB.
    await writeBig(sim, leader, 40, 20 * 1024, 'diff');
    await sim.restart(away);
    await sim.waitFor('it catches up', () => allCaughtUp(sim, [1, 2, 3]));
    expect(sim.stats().peerFrameBytesMax).toBeLessThanOrEqual(sim.limits.peerFrameBytesMax);
    expect(await readPrefix(sim, away, '/diff-39', 6)).toBe('diff39');
    await sim.assertReplicasIdentical();
  });

  it('a follower back with an empty disk is sent a SNAP of a big tree in chunks that each fit a peer frame', async () => {
    let snapshots = 0;
    const sim = await scenario(3, {
      beforePersist: (_id, ready) => {
        if (ready.snapshot) snapshots++;
        return undefined;
      },
    });
    const leader = sim.leaderId() as number;
    const [wiped] = followers(sim, 3) as [number];
    // 80 znodes of 60 KiB: 4.8 MB, past historyBytesMax (4 MiB), in a tree the SNAP carries whole.
    await writeBig(sim, leader, 80, 60 * 1024, 'snap');
    sim.kill(wiped);
    await sim.restart(wiped, { wipe: true });
    await sim.waitFor('it catches up', () => allCaughtUp(sim, [1, 2, 3]));
    expect(snapshots).toBeGreaterThan(0);
    expect(sim.stats().peerFrameBytesMax).toBeLessThanOrEqual(sim.limits.peerFrameBytesMax);
    expect(await readPrefix(sim, wiped, '/snap-79', 6)).toBe('snap79');
    await sim.assertReplicasIdentical();
  });

  it('a multiRead whose reply would be over the client frame fails alone with MARSHALLING_ERROR', async () => {
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const [follower] = followers(sim, 3) as [number];
    const session = await sim.openSession(leader);
    for (const key of ['/k0', '/k1', '/k2']) {
      const reply = await sim.request(leader, session, {
        op: 'create',
        path: key,
        data: big(key, sim.limits.dataBytesMax),
        mode: 0,
        ttlMs: 0,
      });
      expect(reply.error).toBeNull();
    }
    await sim.waitFor('the follower has them', () => allCaughtUp(sim, [follower]));
    const reader = await sim.openSession(follower);
    const ops = ['/k0', '/k1', '/k2'].map((path) => ({ op: 'getData' as const, path, watch: false }));
    expect((await sim.request(follower, reader, { op: 'multiRead', ops })).error).toBe('MARSHALLING_ERROR');
    // The session goes on: the next request is answered, each value alone fits.
    const one = await sim.request(follower, reader, { op: 'getData', path: '/k2', watch: false });
    expect(one.error).toBeNull();
    expect(one.result?.op === 'getData' && one.result.data.length).toBe(sim.limits.dataBytesMax);
  });

  it('getChildren of a directory whose names add up past the client frame fails alone with MARSHALLING_ERROR', async () => {
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const session = await sim.openSession(leader);
    expect(
      (await sim.request(leader, session, { op: 'create', path: '/wide', data: text(''), mode: 0, ttlMs: 0 })).error,
    ).toBe(null);
    const nameBytes = sim.limits.pathBytesMax - 16;
    const count = Math.ceil(sim.limits.clientFrameBytesMax / nameBytes) + 2;
    for (let i = 0; i < count; i++) {
      const path = `/wide/${String(i).padStart(4, '0')}${'n'.repeat(nameBytes - 4)}`;
      expect(
        (await sim.request(leader, session, { op: 'create', path, data: text(''), mode: 0, ttlMs: 0 })).error,
      ).toBeNull();
    }
    expect((await sim.request(leader, session, { op: 'getChildren', path: '/wide', watch: false })).error).toBe(
      'MARSHALLING_ERROR',
    );
    expect((await sim.request(leader, session, { op: 'exists', path: '/wide', watch: false })).error).toBeNull();
  });
});

describe('scenarios: the send queue (issue 12)', () => {
  it('a follower stalled while more than its send queue holds commits has its connection broken, then catches up', async () => {
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const [stalled] = followers(sim, 3) as [number];
    const session = await sim.openSession(leader);
    // The follower's process stops for 10 s; it takes nothing in, so everything the leader sends
    // it stays queued on the connection: 8 MiB of writes is more than peerSendQueueBytesMax.
    sim.pause(stalled, 10_000);
    const dataBytes = sim.limits.dataBytesMax;
    const count = Math.ceil((8 * 1024 * 1024) / dataBytes);
    for (let i = 0; i < count; i += 8) {
      const xids = [];
      for (let j = i; j < Math.min(count, i + 8); j++) {
        xids.push(
          sim.submitOnly(leader, session, {
            op: 'create',
            path: `/q-${j}`,
            data: big(`q${j}`, dataBytes),
            mode: 0,
            ttlMs: 0,
          }),
        );
      }
      for (const xid of xids) expect((await sim.awaitReply(leader, session, xid)).error).toBeNull();
    }
    expect(sim.stats().sendQueueBreaks).toBeGreaterThan(0);
    expect(sim.stats().sendQueueBytesPeak).toBeLessThanOrEqual(simPeerSendQueueBytesMax(sim.limits));
    // Once it runs again it learns its connections broke, rejoins and is brought up to date.
    await sim.waitFor('it catches up', () => allCaughtUp(sim, [1, 2, 3]), 20_000);
    expect(await readPrefix(sim, stalled, `/q-${count - 1}`, `q${count - 1}`.length)).toBe(`q${count - 1}`);
    await sim.assertReplicasIdentical();
  });
});

describe('scenarios: liveness (issue 12)', () => {
  for (const observers of [0, 2]) {
    it(`a single voter${observers ? ' with two observers' : ''} elects itself, serves, and elects itself again after a restart`, async () => {
      const sim = await scenario(1, {}, observers);
      expect(sim.leaderId()).toBe(1);
      await writeN(sim, 1, 3, 'solo');
      sim.kill(1);
      await sim.restart(1);
      await sim.waitFor('it leads again', () => sim.leaderServing(), sim.livenessBoundMs());
      await writeN(sim, 1, 2, 'again');
      if (observers) {
        await sim.waitFor('the observers follow', () => allCaughtUp(sim, [2, 3]));
        expect(await readOn(sim, 3, '/again-1')).toBe('again1');
      }
      expect(await readOn(sim, 1, '/solo-2')).toBe('solo2');
    });
  }

  it("an old leader back with proposals nobody else logged, during the new leader's discovery, does not make it step down", async () => {
    const sim = await scenario(5);
    const oldLeader = sim.leaderId() as number;
    const others = followers(sim, 5);
    const session = await sim.openSession(oldLeader);
    sim.isolate(oldLeader);
    const durableBefore = sim.durableOf(oldLeader).lastZxid;
    sim.submitOnly(oldLeader, session, { op: 'create', path: '/lost', data: text('x'), mode: 0, ttlMs: 0 });
    await sim.waitFor('the old leader logged it durably', () => sim.durableOf(oldLeader).lastZxid > durableBefore);
    sim.kill(oldLeader);
    // The highest id of the rest wins their election; slow its followers' messages to it, so the
    // old leader's ACKEPOCH, ahead of everyone's history, reaches it before a quorum of theirs.
    const newLeader = Math.max(...others);
    for (const id of others) if (id !== newLeader) sim.slowLink(id, newLeader, 400);
    await sim.waitFor('the new leader is in discovery', () => sim.peerOf(newLeader).status().role === 'leading');
    sim.reconnect(oldLeader);
    await sim.restart(oldLeader);
    await sim.waitFor('the old leader asks to follow it', () => sim.peerOf(oldLeader).status().leader === newLeader);
    sim.healNetwork();
    const healedAt = sim.nowMs();
    // ZooKeeper's waitForEpochAck: an ahead learner does not count toward the quorum, nor does it
    // send the leader back to LOOKING (which left its followers to wait out initLimit).
    await sim.waitFor('a leader serving', () => sim.leaderServing(), sim.livenessBoundMs());
    expect(sim.nowMs() - healedAt).toBeLessThanOrEqual(sim.livenessBoundMs());
    expect(sim.leaderId()).toBe(newLeader);
    await sim.waitFor('the old leader is truncated and follows', () => allCaughtUp(sim, [1, 2, 3, 4, 5]));
    expect(await readOn(sim, oldLeader, '/lost')).toBeNull();
  });
});

describe('scenarios: the wire (every message encodable)', () => {
  it('an observer whose leader is lost looks for the next one with notifications the codec can encode', async () => {
    // Found by the simulator once it measured every message with the codec: an observer's own
    // vote was (leader -1, zxid -1, peerEpoch -1), which the peer protocol cannot carry; on a
    // real member the CodecError reached the host loop and stopped the observer.
    const sim = await scenario(3, {}, 1);
    const leader = sim.leaderId() as number;
    sim.kill(leader);
    await sim.waitFor('a new leader and the observer serving under it', () => {
      const id = sim.leaderId();
      return id !== null && id !== leader && sim.peerOf(4).isServing() && sim.peerOf(4).status().leader === id;
    });
    await writeN(sim, sim.leaderId() as number, 2, 'obs');
    await sim.waitFor('the observer has them', () => allCaughtUp(sim, [4]));
    expect(await readOn(sim, 4, '/obs-1')).toBe('obs1');
  });
});

describe('scenarios: leader election after a heal', () => {
  it('a member restarting beside a follower that advertises an older vote for the same leader joins at once', async () => {
    // Found by the simulator (seed 936 of 3 voters on 6f365c7): a learner that decided on late
    // notifications from the round before advertises that round's vote for as long as it follows,
    // and a restarted member required a quorum of equal votes before it would follow anyone.
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const [first, second] = followers(sim, 3) as [number, number];
    expect(leader).toBe(3);
    // What the members told each other when the ensemble formed, in the first round: 3 LEADING
    // and 2 FOLLOWING 3, both at zxid 0 and peerEpoch 0.
    const firstRound = { type: 'notification', leader, zxid: 0, electionEpoch: 1, peerEpoch: 0 } as const;
    await writeN(sim, leader, 3, 'before');
    sim.kill(second);
    // The leader loses its quorum and steps down; with the restarted member it is elected again,
    // in round 2 with another vote (its zxid and epoch moved on).
    sim.isolate(first);
    await sim.waitFor('the leader stepped down', () => sim.peerOf(leader).status().role === 'looking');
    await sim.restart(second);
    await sim.waitFor('the leader is elected again without the isolated one', () => sim.leaderServing());
    // The isolated member comes back; messages of its broken connections arrive late, before any
    // answer: the first round's notifications. It follows the leader on them, with their vote.
    sim.reconnect(first);
    sim.deliverLate(leader, first, { ...firstRound, state: 'LEADING' });
    sim.deliverLate(second, first, { ...firstRound, state: 'FOLLOWING' });
    await sim.waitFor('it follows and serves', () => allCaughtUp(sim, [first]));
    // Now a member restarts and hears both: the leader's own vote and the follower's older one.
    sim.kill(second);
    await sim.restart(second);
    await sim.waitFor(
      'the restarted member follows the leader',
      () => allCaughtUp(sim, [second]),
      sim.livenessBoundMs(),
    );
    expect(sim.peerOf(second).status().leader).toBe(leader);
  });
});

// Pinned seeds: bugs only a seed has reached so far. Each asserts the seed still reaches the
// situation (the simulator changes under it); if that fails, find another with `pnpm sim` on a core
// without the fix and pin it here.
describe('pinned seeds', () => {
  it('seed 391 of 3 voters: a learner whose chosen leader decided to follow another server looks again at once', async () => {
    // The race as seed 344 reached it: after a leader partition heals, 1 decides for 3 (the old
    // leader, back with the highest zxid) while 3 follows 2, which won the round with 1's earlier
    // vote. 3 says so (FOLLOWING); 1 used to wait out initLimit in discovery, and 2 with it. Re-pinned from 273 when the
    // simulator moved to the real FileStorage, whose fsyncs each take virtual time (every seed's
    // path moved), then from 344 when the workload gained its ACL share (issue 14); 363 is the
    // first seed after 344 that reaches the notice; 391 the first after 363 once the election
    // stopped waiting for voters it cannot hear and followers began following a LEADING of their
    // round at once (issue 17: every seed's path moved).
    const result = await simulationFor(391, 3, 0).run();
    expect(result.leaderFollowsNotices).toBeGreaterThan(0);
  });

  it('seed 209726 of 5 voters and 2 observers: a learner hears the member it follows say it follows another, and the run meets every bound', async () => {
    // Seed 209623 reached the original race (1, 2 and 3 decided for 5 on their own votes after 5
    // had said it follows 4) until core began drawing a followId per following, which moved every
    // seed's path. The exact messages of that race are in core's src/zab/lost-leader.test.ts; this
    // seed keeps the simulator reaching the notice in a 5 + 2 swarm (it asserts it still does).
    // Re-pinned from 209619 when the simulator moved to the real FileStorage (paths moved again),
    // and from 209621 when the workload gained its ACL share (issue 14): 209693 was the next, and
    // 209726 after the election changes of issue 17.
    const result = await simulationFor(209726, 5, 2).run();
    expect(result.leaderFollowsNotices).toBeGreaterThan(0);
  });
});

describe('a learner the leader gives up on learns it at once', () => {
  it('a follower stalled in synchronization past initLimit has its connection dropped, and serves again within the bound once it runs', async () => {
    // Found by the simulator (seeds 100406 of 3 voters and 202212 of 5 voters with 2 observers on
    // b626b99): the leader drops a learner whose sync stream has been silent for initLimit (so it
    // stops pinning history), but nothing told the learner, whose connection was still up; it
    // waited for the rest of the stream for another initLimit. Now the leader drops the connection
    // (Ready.disconnect), as ZooKeeper's leader closes the socket: the follower rejoins at once.
    const initLimitMs = 60 * 50;
    let stalled = 0;
    let resumeAt: number | null = null;
    const sim = await scenario(3, {
      beforePersist: (id) => {
        if (resumeAt === null && id === stalled && sim.peerOf(id).status().phase === 'synchronization') {
          resumeAt = sim.nowMs() + initLimitMs + 1_000;
          sim.pause(id, initLimitMs + 1_000);
        }
        return undefined;
      },
    });
    const leader = sim.leaderId() as number;
    [stalled] = followers(sim, 3) as [number];
    sim.kill(stalled);
    await writeN(sim, leader, 5, 'gap');
    await sim.restart(stalled);
    await sim.waitFor('it stalled during its sync', () => resumeAt !== null, 5_000);
    await sim.runUntil(resumeAt as unknown as number);
    await sim.waitFor('it serves again within the bound', () => allCaughtUp(sim, [stalled]), sim.livenessBoundMs());
  });
});
