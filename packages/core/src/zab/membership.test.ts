// Membership changes through Zab (README "Membership changes"): the configuration is a replicated
// transaction, a quorum is a majority of every configuration in force, a new voter catches up as
// an observer first, and the removed leader steps down once the change commits.
import { describe, expect, it } from 'vitest';
import { type ClusterConfig, type ClusterMember, CreateMode, type GetDataResult, type LogEntry } from '../types.js';
import { History } from './history.js';
import { isJointQuorum, jointQuorumAckedZxid, ReconfigError, staticConfig } from './membership.js';
import { Outbox } from './outbox.js';
import { Ensemble, text } from './test/ensemble.js';

const EMPTY = { epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: null, entries: [] };

function members(voters: number[], observers: number[] = []): ClusterMember[] {
  return staticConfig(voters, observers).members.map((member) => ({ ...member, address: `h${member.id}:7888:7888` }));
}

function leaderOf(ensemble: Ensemble): number {
  const leader = ensemble.leader();
  if (leader === undefined) throw new Error('no established leader');
  return leader;
}

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof ReconfigError) return error.code;
    throw error;
  }
  return 'accepted';
}

/** write creates `path` through the leader and returns whether it was answered without error. */
function write(ensemble: Ensemble, path: string): boolean {
  const leader = leaderOf(ensemble);
  const sessionId = ensemble.createSession(leader);
  ensemble
    .peer(leader)
    .submit(sessionId, 1, { op: 'create', path, data: text('v'), mode: CreateMode.PERSISTENT, ttlMs: 0 });
  ensemble.settle(5);
  const reply = ensemble.reply(leader, sessionId, 1);
  return reply !== undefined && reply.error === null;
}

describe('the quorum rule', () => {
  const old: ClusterConfig = staticConfig([1, 2, 3], []);
  const next: ClusterConfig = { version: 5, members: staticConfig([1, 4, 5], [2, 3]).members };

  it('needs a majority of every configuration in force', () => {
    expect(isJointQuorum(new Set([1, 2]), [old])).toBe(true);
    expect(isJointQuorum(new Set([1, 2]), [old, next])).toBe(false);
    expect(isJointQuorum(new Set([1, 4, 5]), [old, next])).toBe(false);
    expect(isJointQuorum(new Set([1, 2, 4]), [old, next])).toBe(true);
    // Observers never count.
    expect(isJointQuorum(new Set([2, 3, 4]), [next])).toBe(false);
  });

  it('commits what a majority of each holds', () => {
    const acked = new Map([
      [1, 9],
      [2, 9],
      [3, 9],
      [4, 7],
      [5, 3],
    ]);
    expect(jointQuorumAckedZxid(acked, [old])).toBe(9);
    expect(jointQuorumAckedZxid(acked, [old, next])).toBe(7);
    expect(jointQuorumAckedZxid(new Map([[1, 9]]), [old, next])).toBeNull();
  });
});

describe('membership changes in an ensemble', () => {
  it('a spare joins as an observer, catches up, is promoted to voter; everyone agrees on the version', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    expect(write(ensemble, '/before')).toBe(true);
    ensemble.start(4, EMPTY);
    ensemble.settle(5);
    // Not in any configuration: it votes for no one and nobody hears it.
    expect(ensemble.peer(4).status()).toMatchObject({ role: 'looking', voting: false });
    // First as an observer: it commits with the old voters alone, and the spare catches up.
    expect(
      refusal(() =>
        ensemble.peer(leaderOf(ensemble)).proposeReconfig({ members: members([1, 2, 3], [4]), fromVersion: 0 }),
      ),
    ).toBe('accepted');
    ensemble.settle(20);
    const added = ensemble.peer(leaderOf(ensemble)).status().config;
    expect(added.version).toBeGreaterThan(0);
    expect(ensemble.peer(4).status()).toMatchObject({ role: 'observing', voting: false });
    expect(ensemble.peer(4).status().lastAppliedZxid).toBeGreaterThanOrEqual(added.version);
    expect(
      refusal(() =>
        ensemble
          .peer(leaderOf(ensemble))
          .proposeReconfig({ members: members([1, 2, 3, 4]), fromVersion: added.version }),
      ),
    ).toBe('accepted');
    ensemble.settle(20);
    for (const id of [1, 2, 3, 4]) {
      const status = ensemble.peer(id).status();
      expect(status.config.version, `server ${id}`).toBe(ensemble.peer(leaderOf(ensemble)).status().config.version);
      expect(status.configCommitted).toBe(true);
      expect(status.voting).toBe(true);
    }
    expect(ensemble.peer(4).status().role).toBe('following');
    expect(write(ensemble, '/after')).toBe(true);
    // /zookeeper/config shows the replicated configuration in ZooKeeper's format, on every member.
    const shown = ensemble.peer(4).readDirect({ op: 'getData', path: '/zookeeper/config', watch: false });
    const body = new TextDecoder().decode((shown.result as GetDataResult).data);
    expect(body).toContain('server.4=h4:7888:7888:participant');
    expect(body).toContain(`version=${ensemble.peer(4).status().config.version.toString(16)}`);
  });

  it('refuses changes with clear errors', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const leader = leaderOf(ensemble);
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    expect(refusal(() => ensemble.peer(follower).proposeReconfig({ members: members([1, 2]), fromVersion: -1 }))).toBe(
      'NOT_LEADER',
    );
    expect(refusal(() => ensemble.peer(leader).proposeReconfig({ members: members([1, 2]), fromVersion: 42 }))).toBe(
      'BAD_VERSION',
    );
    expect(
      refusal(() => ensemble.peer(leader).proposeReconfig({ members: members([], [1, 2, 3]), fromVersion: 0 })),
    ).toBe('BAD_ARGUMENTS');
    // Voters 4 and 5 are not even running: the new configuration would have no quorum.
    expect(refusal(() => ensemble.peer(leader).proposeReconfig({ members: members([1, 4, 5]), fromVersion: 0 }))).toBe(
      'NEW_CONFIG_NO_QUORUM',
    );
    expect(
      refusal(() => ensemble.peer(leader).proposeReconfig({ members: members([1, 2, 3], [9]), fromVersion: 0 })),
    ).toBe('accepted');
    // Not settled: the first change is still uncommitted.
    expect(refusal(() => ensemble.peer(leader).proposeReconfig({ members: members([1, 2, 3]), fromVersion: -1 }))).toBe(
      'RECONFIG_IN_PROGRESS',
    );
  });

  it('a client asks through any member (reconfig, op 16): the super user only, refusals answered as errors, success with the new version', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const leader = leaderOf(ensemble);
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const sessionId = ensemble.createSession(follower);
    const superUser = [{ scheme: 'super', id: 'super' }];
    const ask = (xid: number, request: { members: ClusterMember[]; fromVersion: number }, auth = superUser) => {
      ensemble.peer(follower).submit(sessionId, xid, { op: 'reconfig', ...request }, { auth });
      ensemble.settle(10);
      return ensemble.reply(follower, sessionId, xid);
    };
    expect(ask(1, { members: members([1, 2, 3], [4]), fromVersion: -1 }, [])?.error).toBe('NO_AUTH');
    expect(ask(2, { members: members([1, 2]), fromVersion: 42 })?.error).toBe('BAD_VERSION');
    expect(ask(3, { members: members([1, 4, 5]), fromVersion: 0 })?.error).toBe('NEW_CONFIG_NO_QUORUM');
    expect(ask(4, { members: members([], [1, 2, 3]), fromVersion: 0 })?.error).toBe('BAD_ARGUMENTS');
    expect(ensemble.peer(leader).status().config.version).toBe(0);
    const done = ask(5, { members: members([1, 2, 3], [4]), fromVersion: 0 });
    expect(done?.error).toBeNull();
    const version = (done?.result as { op: 'reconfig'; version: number } | undefined)?.version ?? 0;
    expect(version).toBeGreaterThan(0);
    for (const id of [1, 2, 3]) {
      expect(ensemble.peer(id).status().config.version, `server ${id}`).toBe(version);
      expect(ensemble.peer(id).status().configCommitted).toBe(true);
    }
    expect(ask(6, { members: members([1, 2, 3]), fromVersion: 0 })?.error).toBe('BAD_VERSION');
  });

  it("the host's veto refuses a change with RECONFIG_DISABLED, asked of the leader or by a client", () => {
    let veto: string | null = 'member 2 speaks peer protocol 3';
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { reconfigRefusal: () => veto });
    ensemble.settle();
    const leader = leaderOf(ensemble);
    expect(
      refusal(() => ensemble.peer(leader).proposeReconfig({ members: members([1, 2, 3], [4]), fromVersion: 0 })),
    ).toBe('RECONFIG_DISABLED');
    const sessionId = ensemble.createSession(leader);
    const request = { op: 'reconfig' as const, members: members([1, 2, 3], [4]), fromVersion: 0 };
    ensemble.peer(leader).submit(sessionId, 1, request, { auth: [{ scheme: 'super', id: 'super' }] });
    ensemble.settle(5);
    expect(ensemble.reply(leader, sessionId, 1)?.error).toBe('RECONFIG_DISABLED');
    veto = null;
    ensemble.peer(leader).submit(sessionId, 2, request, { auth: [{ scheme: 'super', id: 'super' }] });
    ensemble.settle(10);
    expect(ensemble.reply(leader, sessionId, 2)?.error).toBeNull();
  });

  it('the leader removed: it commits the change, steps down, and the rest elect a leader and go on', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const old = leaderOf(ensemble);
    const rest = [1, 2, 3].filter((id) => id !== old);
    ensemble.peer(old).proposeReconfig({ members: members(rest), fromVersion: 0 });
    ensemble.settle(40);
    const leader = leaderOf(ensemble);
    expect(rest).toContain(leader);
    expect(ensemble.peer(old).status()).toMatchObject({ role: 'looking', voting: false });
    for (const id of rest) expect(ensemble.peer(id).status().configCommitted).toBe(true);
    expect(write(ensemble, '/without-the-old-leader')).toBe(true);
  });

  it('while a change is pending, a commit needs a majority of the old voters and of the new', () => {
    const ensemble = new Ensemble([1, 2, 3], [4, 5]);
    ensemble.settle();
    const leader = leaderOf(ensemble);
    const others = [1, 2, 3].filter((id) => id !== leader);
    // Swap two voters for the two observers in one change.
    const zxid = ensemble.peer(leader).proposeReconfig({ members: members([leader, 4, 5], others), fromVersion: 0 });
    // The new voters go down before they log it: the old voters alone cannot commit it.
    ensemble.stop(4);
    ensemble.stop(5);
    ensemble.settle(3);
    expect(ensemble.peer(leader).status().committedZxid).toBeLessThan(zxid);
    expect(ensemble.peer(leader).status().configCommitted).toBe(false);
    // Back, they sync and ack: then it commits, and the old voters 2 and 3 stop counting.
    ensemble.restart(4);
    ensemble.restart(5);
    ensemble.settle(40);
    const now = leaderOf(ensemble);
    expect([leader, 4, 5]).toContain(now);
    expect(ensemble.peer(now).status().config.version).toBe(zxid);
    expect(ensemble.peer(now).status().configCommitted).toBe(true);
    for (const id of others) expect(ensemble.peer(id).status().voting).toBe(false);
    expect(write(ensemble, '/swapped')).toBe(true);
  });

  it('a restarted member rebuilds the configuration from its log, and the host is told whom to connect to', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const leader = leaderOf(ensemble);
    const zxid = ensemble.peer(leader).proposeReconfig({ members: members([1, 2, 3], [4]), fromVersion: 0 });
    ensemble.settle(10);
    const told = ensemble.readies.filter(({ ready }) => ready.peers !== null).map(({ id, ready }) => [id, ready.peers]);
    expect(told).toContainEqual([leader, [1, 2, 3, 4]]);
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    ensemble.stop(follower);
    ensemble.restart(follower);
    // Restarted, it only knows its log: the change counts as pending until a leader says otherwise.
    expect(ensemble.peer(follower).status().config.version).toBe(zxid);
    expect(
      ensemble
        .peer(follower)
        .configs()
        .map((config) => config.version),
    ).toEqual([0, zxid]);
    ensemble.settle(20);
    expect(
      ensemble
        .peer(follower)
        .configs()
        .map((config) => config.version),
    ).toEqual([zxid]);
  });
});

describe('learning that a pending change committed (election notifications)', () => {
  function historyWith(entries: { zxid: number; reconfig: boolean }[]): History {
    const log: LogEntry[] = entries.map(({ zxid, reconfig }) => ({
      zxid,
      sessionId: 0,
      cxid: 0,
      timeMs: 0,
      txn: reconfig ? { type: 'reconfig', members: members([1, 4], [2]) } : { type: 'error', code: 'NO_NODE' },
    }));
    return new History(0, { version: 0, members: members([2, 4], [1]) }, log, new Outbox(100, 1 << 20), 1_000, 1 << 20);
  }

  it('a member holding the change pending takes it as committed, with everything before it', () => {
    const history = historyWith([
      { zxid: 0x2_0000_0001, reconfig: false },
      { zxid: 0x2_0000_0002, reconfig: true },
      { zxid: 0x2_0000_0003, reconfig: false },
    ]);
    expect(history.configs().map((config) => config.version)).toEqual([0, 0x2_0000_0002]);
    expect(history.committedConfigVersion()).toBe(0);
    expect(history.learnCommittedConfig(0x2_0000_0002)).toBe(true);
    expect(history.committedZxid).toBe(0x2_0000_0002);
    expect(history.configs().map((config) => config.version)).toEqual([0x2_0000_0002]);
    expect(history.committedConfigVersion()).toBe(0x2_0000_0002);
    // Learnt once; the entry after it stays uncommitted.
    expect(history.learnCommittedConfig(0x2_0000_0002)).toBe(false);
  });

  it('a version this member did not log as its last configuration teaches nothing', () => {
    const history = historyWith([{ zxid: 0x2_0000_0002, reconfig: true }]);
    // Another change (one this member never logged), or none at all.
    expect(history.learnCommittedConfig(0x2_0000_0007)).toBe(false);
    expect(history.learnCommittedConfig(0x2_0000_0001)).toBe(false);
    expect(history.learnCommittedConfig(0)).toBe(false);
    expect(history.committedZxid).toBe(0);
    expect(history.configs()).toHaveLength(2);
  });
});
