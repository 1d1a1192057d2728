import { describe, expect, it } from 'vitest';
import type { FakeMember } from '../testing/fake-ensemble.js';
import { nextEvent, sleep, waitFor } from '../testing/wait.js';
import { LeaderElection } from './leader-election.js';
import {
  abortAfter,
  abortAtEveryPoint,
  childrenOf,
  ensemble,
  only,
  open,
  seededDelays,
  useRecipeKit,
} from './recipe-test-kit.js';

useRecipeKit();

describe('LeaderElection: connection states', () => {
  it('standard policy: leadership ends inside the disconnected event and resumes after the reconnect', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const election = new LeaderElection(client, '/le-standard', 'a');
    await election.start();
    await election.waitForLeadership({ timeoutMs: 5_000 });
    const token = election.fencingToken!;
    const events: string[] = [];
    for (const event of ['leader', 'notLeader', 'suspended', 'reconnected', 'lost'] as const)
      election.on(event, () => events.push(event));
    let leaderInsideDisconnected: boolean | undefined;
    client.on('disconnected', () => {
      leaderInsideDisconnected = election.isLeader;
    });
    const disconnected = nextEvent((listener) => client.on('disconnected', listener), 'disconnected');
    fake.memberOf(client.sessionId)!.dropConnections();
    await disconnected;
    expect(leaderInsideDisconnected).toBe(false);
    expect(election.fencingToken).toBeUndefined();
    await election.waitForLeadership({ timeoutMs: 5_000 });
    expect(events).toEqual(['notLeader', 'suspended', 'reconnected', 'leader']);
    // The same znode leads again: nobody led in between, the token is the same.
    expect(election.fencingToken).toBe(token);
    await election.stop();
    expect(await childrenOf(client, '/le-standard')).toEqual([]);
  });

  it('session policy: a leader stays leader through a suspension and stops on lost', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const election = new LeaderElection(client, '/le-session', 'a', { connectionStatePolicy: 'session' });
    await election.start();
    await election.waitForLeadership({ timeoutMs: 5_000 });
    const events: string[] = [];
    for (const event of ['leader', 'notLeader', 'suspended', 'reconnected', 'lost'] as const)
      election.on(event, () => events.push(event));
    const reconnected = nextEvent<void>((listener) => election.on('reconnected', listener), 'reconnected');
    fake.memberOf(client.sessionId)!.dropConnections();
    await nextEvent<void>((listener) => election.on('suspended', listener), 'suspended');
    expect(election.isLeader).toBe(true);
    await reconnected;
    expect(election.isLeader).toBe(true);
    fake.expire(client.sessionId);
    await nextEvent<void>((listener) => election.on('lost', listener), 'lost');
    expect(election.isLeader).toBe(false);
    // The expiry closes the connection first (one more `suspended`), then the resume is refused.
    expect(events.slice(0, 2)).toEqual(['suspended', 'reconnected']);
    expect(events.slice(-2)).toEqual(['notLeader', 'lost']);
    expect(events.indexOf('notLeader')).toBe(events.length - 2);
  });

  it('a leader cut off from the ensemble stops leading before its successor starts, with a higher token', async () => {
    const fake = await ensemble(2);
    const [cut, other] = fake.members as [FakeMember, FakeMember];
    const first = await open(only(cut), 600);
    const second = await open(only(other), 600);
    const timeline: string[] = [];
    const a = new LeaderElection(first, '/le-cut', 'a');
    await a.start();
    await a.waitForLeadership({ timeoutMs: 5_000 });
    const b = new LeaderElection(second, '/le-cut', 'b');
    await b.start();
    a.on('notLeader', () => timeline.push('a stops'));
    b.on('leader', () => timeline.push('b leads'));
    const tokenA = a.fencingToken!;
    cut.serving = false;
    await b.waitForLeadership({ timeoutMs: 5_000 });
    expect(timeline).toEqual(['a stops', 'b leads']);
    expect(a.isLeader).toBe(false);
    expect(b.fencingToken! > tokenA).toBe(true);
    cut.serving = true;
    await b.stop();
  });
});

describe('LeaderElection: stop during start leaves no znode', () => {
  it('stop() while each request of start() is in flight deletes the participant’s znode', async () => {
    const fake = await ensemble(2);
    const [near, far] = fake.members as [FakeMember, FakeMember];
    const client = await open(only(near));
    const observer = await open(only(far));
    // The directory exists, so every run sends the same requests and each point is one request.
    await observer.create('/le-every');
    let createsInFlight = 0;
    const points = await abortAtEveryPoint(
      fake,
      near,
      async (signal) => {
        const election = new LeaderElection(client, '/le-every', 'p');
        const stopped = new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => void election.stop().then(resolve), { once: true });
        });
        await election.start().catch(() => {});
        await stopped;
      },
      async (k, _outcome, opsBeforeAbort) => {
        expect(await childrenOf(observer, '/le-every'), `point ${k}`).toEqual([]);
        // Stopped while the create was in flight: the case that leaked 24 of 50 times.
        if (opsBeforeAbort.at(-1) === 'multi') createsInFlight++;
      },
    );
    // exists (ensurePath), the create, children, the exists on the znode (leading), then waiting.
    expect(points).toBeGreaterThanOrEqual(4);
    expect(createsInFlight).toBe(1);
  }, 30_000);

  it('50 stops after seeded random delays during start() leave no znode', async () => {
    const seed = 50;
    const delay = seededDelays(seed, 10);
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const holder = new LeaderElection(await open(fake.connectString), '/le-random', 'holder');
    await holder.start();
    const createsBefore = fake.frames.filter((frame) => frame.request.op === 'multi').length;
    for (let i = 0; i < 50; i++) {
      const election = new LeaderElection(client, '/le-random', `p${i}`);
      const controller = new AbortController();
      const stopped = new Promise<void>((resolve) => {
        controller.signal.addEventListener('abort', () => void election.stop().then(resolve), { once: true });
      });
      abortAfter(controller, delay());
      await election.start().catch(() => {});
      await stopped;
    }
    const creates = fake.frames.filter((frame) => frame.request.op === 'multi').length - createsBefore;
    expect(await childrenOf(client, '/le-random'), `seed ${seed}`).toEqual([
      holder.nodePath!.slice('/le-random/'.length),
    ]);
    expect(creates).toBeGreaterThan(10);
    await holder.stop();
  });
});

describe('LeaderElection: fencing', () => {
  it('successive leaders have strictly increasing tokens', async () => {
    const fake = await ensemble(2);
    const clients = await Promise.all([0, 1, 2, 3].map(() => open(fake.connectString)));
    const elections = clients.map((client, i) => new LeaderElection(client, '/le-fenced', `p${i}`));
    for (const election of elections) await election.start();
    const tokens: bigint[] = [];
    for (let round = 0; round < elections.length; round++) {
      await waitFor(() => elections.some((election) => election.isLeader), 'a leader');
      const leader = elections.find((election) => election.isLeader)!;
      tokens.push(leader.fencingToken!);
      await leader.stop();
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    await sleep(10);
    expect(await childrenOf(clients[0]!, '/le-fenced')).toEqual([]);
  });
});
