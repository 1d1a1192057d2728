import type { LogEntry, Ready } from '@zabkit/core';
import { describe, expect, it } from 'vitest';

import { allCaughtUp, decode, followers, readOn, scenario, text, writeN } from './scenario-support.js';

// Scenario tests: each drives the simulator by hand into one of the situations that lost data in
// ZooKeeper (../shared/ZOOKEEPER-NOTES.md §2.9) and checks that zabkit loses nothing there.

describe('scenarios from ZooKeeper data-loss bugs (ZOOKEEPER-NOTES §2.9)', () => {
  it('ZOOKEEPER-1154: an old leader returning with an uncommitted proposal has it truncated', async () => {
    const sim = await scenario(3);
    const oldLeader = sim.leaderId() as number;
    const session = await sim.openSession(oldLeader);
    expect(
      (await sim.request(oldLeader, session, { op: 'create', path: '/a', data: text('one'), mode: 0, ttlMs: 0 })).error,
    ).toBeNull();
    sim.isolate(oldLeader);
    sim.submitOnly(oldLeader, session, { op: 'setData', path: '/a', data: text('uncommitted'), version: -1 });
    await sim.waitFor('the proposal is logged on the old leader', () =>
      sim
        .peerOf(oldLeader)
        .history()
        .some((entry) => entry.txn.type === 'setData' && decode(entry.txn.data) === 'uncommitted'),
    );
    const uncommitted = sim
      .peerOf(oldLeader)
      .history()
      .find((entry) => entry.txn.type === 'setData') as LogEntry;
    await sim.waitFor('a new leader among the others', () => {
      const leader = sim.leaderId();
      return leader !== null && leader !== oldLeader;
    });
    const newLeader = sim.leaderId() as number;
    const session2 = await sim.openSession(newLeader);
    expect(
      (await sim.request(newLeader, session2, { op: 'setData', path: '/a', data: text('two'), version: -1 })).error,
    ).toBeNull();
    sim.healNetwork();
    await sim.waitFor('the old leader follows the new one', () => allCaughtUp(sim, [1, 2, 3]));
    expect(sim.peerOf(oldLeader).hasLogged(uncommitted.zxid)).toBe(false);
    for (const id of [1, 2, 3]) expect(await readOn(sim, id, '/a')).toBe('two');
    await sim.assertReplicasIdentical();
  });

  it('ZOOKEEPER-2832: a follower ahead of the new leader with an uncommitted txn is truncated', async () => {
    const sim = await scenario(5);
    const leader = sim.leaderId() as number;
    const [ahead, ...rest] = followers(sim, 5) as [number, ...number[]];
    const session = await sim.openSession(leader);
    // Only `ahead` receives the proposal in time, and its ACK is slower than the leader's crash: it cannot commit.
    for (const id of rest) sim.slowLink(leader, id, 60_000);
    sim.slowLink(ahead, leader, 60_000);
    sim.submitOnly(leader, session, { op: 'create', path: '/x', data: text('never committed'), mode: 0, ttlMs: 0 });
    await sim.waitFor('the follower logged the proposal', () =>
      sim
        .peerOf(ahead)
        .history()
        .some((e) => e.txn.type === 'create'),
    );
    const proposal = sim
      .peerOf(ahead)
      .history()
      .find((e) => e.txn.type === 'create') as LogEntry;
    sim.kill(leader);
    sim.isolate(ahead);
    await sim.waitFor('the rest elect a leader without the proposal', () => {
      const id = sim.leaderId();
      return id !== null && rest.includes(id);
    });
    const newLeader = sim.leaderId() as number;
    expect(sim.peerOf(newLeader).hasLogged(proposal.zxid)).toBe(false);
    await writeN(sim, newLeader, 3, 'after');
    sim.healNetwork();
    await sim.waitFor('the follower that was ahead catches up', () => allCaughtUp(sim, [ahead, ...rest]));
    expect(sim.peerOf(ahead).hasLogged(proposal.zxid)).toBe(false);
    expect(await readOn(sim, ahead, '/x')).toBeNull();
    await sim.assertReplicasIdentical();
  });

  // A crash at each of the persist's fsyncs (the entries, the epochs file's write, rename and
  // directory sync), and after the last: what was written and not synced is lost or torn.
  for (const keep of [0, 1, 2, 3]) {
    it(`ZOOKEEPER-4643/-4646/-3911/-4785: a crash between receiving DIFF and acking NEWLEADER loses nothing (crash after ${keep} of its fsyncs)`, async () => {
      let armed = 0;
      let crashedWith: Ready | null = null;
      const sim = await scenario(5, {
        beforePersist: (id, ready) => {
          if (id !== armed || !ready.messages.some((m) => m.message.type === 'ackNewLeader')) return undefined;
          armed = 0;
          crashedWith = ready;
          return keep;
        },
      });
      const firstLeader = sim.leaderId() as number;
      const [lagging, ...others] = followers(sim, 5) as [number, ...number[]];
      await writeN(sim, firstLeader, 3, 'before');
      sim.kill(lagging);
      const missed = await writeN(sim, firstLeader, 5, 'missed');
      // A new epoch, so the lagging follower's sync moves its currentEpoch.
      sim.kill(firstLeader);
      await sim.waitFor('a leader of a new epoch', () => {
        const id = sim.leaderId();
        return id !== null && id !== firstLeader;
      });
      const leader = sim.leaderId() as number;
      const epoch = sim.peerOf(leader).status().epoch;
      const epochBefore = sim.durableOf(lagging).currentEpoch;
      expect(epochBefore).toBeLessThan(epoch);
      armed = lagging;
      await sim.restart(lagging);
      await sim.waitFor('the lagging follower crashed mid-sync', () => !sim.isUp(lagging));
      const ready = crashedWith as Ready | null;
      expect(ready?.entries.length).toBeGreaterThan(0);
      expect(ready?.epochs?.currentEpoch).toBe(epoch);
      // Restarted, it recovers what reached its disk (FileStorage's load): currentEpoch is never
      // durable without the history it vouches for (the -4643 ordering).
      await sim.restart(lagging);
      const durable = sim.durableOf(lagging);
      if (durable.currentEpoch === epoch) {
        for (const zxid of missed) expect(durable.zxids.includes(zxid) || zxid <= durable.snapshotZxid).toBe(true);
      }
      await sim.restart(firstLeader);
      await sim.waitFor('everyone syncs again', () => allCaughtUp(sim, [1, 2, 3, 4, 5]));
      // Lose the leader and one more: the survivors, the crashed follower among them, hold every acknowledged write.
      const survivor = others.find((id) => id !== leader) as number;
      sim.kill(leader);
      sim.kill(
        firstLeader === survivor ? (others.find((id) => id !== leader && id !== survivor) as number) : firstLeader,
      );
      await sim.waitFor('a new leader', () => {
        const id = sim.leaderId();
        return id !== null && id !== leader;
      });
      for (const zxid of missed) expect(sim.peerOf(lagging).hasLogged(zxid)).toBe(true);
      await sim.waitFor('the follower serves', () => sim.peerOf(lagging).isServing());
      expect(await readOn(sim, lagging, '/missed-4')).toBe('missed4');
    });
  }

  for (const keep of [0, 1, 2, 3, 4]) {
    it(`ZOOKEEPER-3104/-3642/-2354/-582: a SNAP is durable before NEWLEADER is acked, and a crash at any point of installing it (crash after ${keep} of its fsyncs) restarts cleanly`, async () => {
      let armed = 0;
      let sawSnapshot = false;
      const sim = await scenario(3, {
        historyEntriesMax: 4,
        beforePersist: (id, ready) => {
          if (id !== armed || !ready.messages.some((m) => m.message.type === 'ackNewLeader')) return undefined;
          // The snapshot rides in the same batch as the ack: the host persists it before sending.
          sawSnapshot = ready.snapshot !== null;
          armed = 0;
          return keep;
        },
      });
      const leader = sim.leaderId() as number;
      const [lagging] = followers(sim, 3) as [number];
      sim.kill(lagging);
      const zxids = await writeN(sim, leader, 12, 'snap');
      armed = lagging;
      await sim.restart(lagging, { wipe: keep % 2 === 0 });
      await sim.waitFor('the lagging follower crashed while installing the snapshot', () => !sim.isUp(lagging));
      expect(sawSnapshot).toBe(true);
      await sim.restart(lagging);
      await sim.waitFor('it syncs again', () => allCaughtUp(sim, [lagging]));
      sim.kill(leader);
      await sim.waitFor('a new leader', () => {
        const id = sim.leaderId();
        return id !== null && id !== leader;
      });
      for (const zxid of zxids) expect(sim.peerOf(lagging).hasLogged(zxid)).toBe(true);
      await sim.waitFor('the follower serves', () => sim.peerOf(lagging).isServing());
      expect(await readOn(sim, lagging, '/snap-11')).toBe('snap11');
    });
  }

  it('ZOOKEEPER-4925: a follower behind the in-memory history gets a SNAP, never a DIFF with a gap', async () => {
    let snapshots = 0;
    const sim = await scenario(3, {
      historyEntriesMax: 3,
      beforePersist: (_id, ready) => {
        if (ready.snapshot) snapshots++;
        return undefined;
      },
    });
    const leader = sim.leaderId() as number;
    const [lagging] = followers(sim, 3) as [number];
    sim.kill(lagging);
    await writeN(sim, leader, 10, 'gap');
    await sim.restart(lagging);
    await sim.waitFor('it catches up', () => allCaughtUp(sim, [1, 2, 3]));
    expect(snapshots).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) expect(await readOn(sim, lagging, `/gap-${i}`)).toBe(`gap${i}`);
    await sim.assertReplicasIdentical();
  });

  it('ZOOKEEPER-5010: a follower synced by DIFF does not keep the ephemeral of a session closed while it was away', async () => {
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const [away] = followers(sim, 3) as [number];
    const session = await sim.openSession(leader);
    expect(
      (await sim.request(leader, session, { op: 'create', path: '/eph', data: text('e'), mode: 1, ttlMs: 0 })).error,
    ).toBeNull();
    await sim.waitFor(
      'the follower has the ephemeral',
      () => sim.peerOf(away).status().lastAppliedZxid >= sim.peerOf(leader).status().lastAppliedZxid,
    );
    expect(await readOn(sim, away, '/eph')).toBe('e');
    sim.kill(away);
    expect((await sim.request(leader, session, { op: 'closeSession' })).error).toBeNull();
    await sim.restart(away);
    await sim.waitFor('it catches up', () => allCaughtUp(sim, [1, 2, 3]));
    expect(await readOn(sim, away, '/eph')).toBeNull();
    await sim.assertReplicasIdentical();
  });
});

describe('scenarios: quorum, leadership and sessions', () => {
  it('observers never count toward a quorum: with two of three voters down, nothing commits', async () => {
    const sim = await scenario(3, {}, 1);
    const leader = sim.leaderId() as number;
    const session = await sim.openSession(4);
    expect(
      (await sim.request(4, session, { op: 'create', path: '/o', data: text('1'), mode: 0, ttlMs: 0 })).error,
    ).toBeNull();
    for (const id of followers(sim, 3)) sim.kill(id);
    const applied = sim.peerOf(4).status().lastAppliedZxid;
    // The leader cannot commit without a voter quorum; it steps down and the write's outcome is unknown.
    const reply = await sim.request(4, session, { op: 'setData', path: '/o', data: text('2'), version: -1 });
    expect(reply.error).toBe('CONNECTION_LOSS');
    expect(sim.peerOf(4).status().lastAppliedZxid).toBe(applied);
    expect(sim.peerOf(leader).status().lastAppliedZxid).toBe(applied);
    expect(sim.peerOf(4).isServing()).toBe(false);
    // Once a voter returns there is a quorum again, and every member agrees on what happened.
    const voter = followers(sim, 3).find((id) => !sim.isUp(id)) as number;
    await sim.restart(voter);
    await sim.waitFor('a leader and the observer serving', () => allCaughtUp(sim, [leader, voter, 4]));
    expect(['1', '2']).toContain(await readOn(sim, 4, '/o'));
    expect(await readOn(sim, 4, '/o')).toBe(await readOn(sim, voter, '/o'));
    await sim.assertReplicasIdentical();
  });

  it('an isolated leader never answers a linearizable read with stale data', async () => {
    const sim = await scenario(3);
    const oldLeader = sim.leaderId() as number;
    const session = await sim.openSession(oldLeader);
    expect(
      (await sim.request(oldLeader, session, { op: 'create', path: '/r', data: text('old'), mode: 0, ttlMs: 0 })).error,
    ).toBeNull();
    sim.isolate(oldLeader);
    // Asked while the old leader still believes it leads: its read barrier cannot reach a quorum.
    expect(sim.peerOf(oldLeader).isServing()).toBe(true);
    const xid = sim.submitOnly(oldLeader, session, { op: 'getData', path: '/r', watch: false }, { linearizable: true });
    await sim.waitFor('a new leader', () => {
      const id = sim.leaderId();
      return id !== null && id !== oldLeader;
    });
    const newLeader = sim.leaderId() as number;
    const s2 = await sim.openSession(newLeader);
    expect(
      (await sim.request(newLeader, s2, { op: 'setData', path: '/r', data: text('new'), version: -1 })).error,
    ).toBeNull();
    const reply = await sim.awaitReply(oldLeader, session, xid);
    // It fails (NOT_LEADER or CONNECTION_LOSS); it never returns 'old' after 'new' was committed.
    expect(reply.error).not.toBeNull();
    expect(reply.result).toBeNull();
  });

  it('a session whose client goes silent expires: the leader closes it and its ephemerals vanish everywhere', async () => {
    const sim = await scenario(3);
    const leader = sim.leaderId() as number;
    const session = await sim.openSession(leader, 1_000);
    expect(
      (await sim.request(leader, session, { op: 'create', path: '/gone', data: text('x'), mode: 1, ttlMs: 0 })).error,
    ).toBeNull();
    // The ephemeral is deleted by expiry (each check reads on every serving member, running the simulation).
    const deadline = sim.nowMs() + 10_000;
    for (;;) {
      let gone = true;
      for (const id of [1, 2, 3]) {
        if (sim.peerOf(id).isServing() && (await readOn(sim, id, '/gone')) !== null) gone = false;
      }
      if (gone) break;
      expect(sim.nowMs(), 'the ephemeral is deleted by expiry').toBeLessThan(deadline);
      await sim.runUntil(sim.nowMs() + 10);
    }
    const reply = await sim.request(leader, session, { op: 'getData', path: '/', watch: false });
    expect(reply.error).toBe('SESSION_EXPIRED');
  });
});

/** big is `size` bytes starting with `tag`, so a read can tell which write it sees. */
