import type { LogEntry, Ready, Zxid } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { simulationFor } from './run-seeds.js';
import { simPeerSendQueueBytesMax } from './sim-limits.js';
import type { FaultMix, SimOptions, Simulation } from './simulation.js';

// Scenario tests: each drives the simulator by hand into one of the situations that lost data in
// ZooKeeper (../shared/ZOOKEEPER-NOTES.md §2.9) and checks that zabkit loses nothing there.

const CALM: FaultMix = {
  delayMsMax: 2,
  breakPerSecond: 0,
  partitionPerSecond: 0,
  crashPerSecond: 0,
  pausePerSecond: 0,
  staleDeliveryRate: 0,
  fsyncMsMax: 1,
  leaderPartitionPerSecond: 0,
  longDownPerSecond: 0,
  wipeRate: 0,
};

const text = (value: string) => new TextEncoder().encode(value);
const decode = (value: Uint8Array) => new TextDecoder().decode(value);

async function scenario(nodes = 3, extra: Partial<SimOptions> = {}, observers = 0): Promise<Simulation> {
  const sim = await simulationFor(1, nodes, observers, { clients: 0, faults: CALM, ...extra });
  sim.stopFaults();
  await sim.waitFor('an established leader with every member serving', () => {
    const leader = sim.leaderId();
    if (leader === null) return false;
    for (let id = 1; id <= nodes + observers; id++) if (!sim.peerOf(id).isServing()) return false;
    return true;
  });
  return sim;
}

function followers(sim: Simulation, nodes: number): number[] {
  const leader = sim.leaderId();
  return Array.from({ length: nodes }, (_, i) => i + 1).filter((id) => id !== leader);
}

/** readOn reads a path through server `id` with a fresh session there. */
async function readOn(sim: Simulation, id: number, path: string): Promise<string | null> {
  const session = await sim.openSession(id);
  const reply = await sim.request(id, session, { op: 'getData', path, watch: false });
  if (reply.error === 'NO_NODE') return null;
  expect(reply.error).toBeNull();
  return reply.result?.op === 'getData' ? decode(reply.result.data) : null;
}

async function writeN(sim: Simulation, id: number, count: number, prefix: string): Promise<Zxid[]> {
  const session = await sim.openSession(id);
  const zxids: Zxid[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await sim.request(id, session, {
      op: 'create',
      path: `/${prefix}-${i}`,
      data: text(`${prefix}${i}`),
      mode: 0,
      ttlMs: 0,
    });
    expect(reply.error).toBeNull();
    zxids.push(reply.zxid);
  }
  return zxids;
}

function allCaughtUp(sim: Simulation, ids: number[]): boolean {
  const leader = sim.leaderId();
  if (leader === null) return false;
  const target = sim.peerOf(leader).status().lastAppliedZxid;
  return ids.every(
    (id) => sim.isUp(id) && sim.peerOf(id).isServing() && sim.peerOf(id).status().lastAppliedZxid >= target,
  );
}

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
  it('seed 344 of 3 voters: a learner whose chosen leader decided to follow another server looks again at once', async () => {
    // After a leader partition heals, 1 decides for 3 (the old leader, back with the highest
    // zxid) while 3 follows 2, which won the round with 1's earlier vote. 3 says so (FOLLOWING);
    // 1 used to wait out initLimit in discovery, and 2 with it. Re-pinned from 273 when the
    // simulator moved to the real FileStorage, whose fsyncs each take virtual time (every seed's
    // path moved); 344 is the first seed after 273 that reaches the notice.
    const result = await simulationFor(344, 3, 0).run();
    expect(result.leaderFollowsNotices).toBeGreaterThan(0);
  });

  it('seed 209621 of 5 voters and 2 observers: a learner hears the member it follows say it follows another, and the run meets every bound', async () => {
    // Seed 209623 reached the original race (1, 2 and 3 decided for 5 on their own votes after 5
    // had said it follows 4) until core began drawing a followId per following, which moved every
    // seed's path. The exact messages of that race are in core's src/zab/lost-leader.test.ts; this
    // seed keeps the simulator reaching the notice in a 5 + 2 swarm (it asserts it still does).
    // Re-pinned from 209619 when the simulator moved to the real FileStorage (paths moved again).
    const result = await simulationFor(209621, 5, 2).run();
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
