import { createPrng } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import type { FakeMember } from '../testing/fake-ensemble.js';
import { nextEvent, sleep, waitFor } from '../testing/wait.js';
import { LeaderElection } from './leader-election.js';
import { Lock } from './lock.js';
import { PROTECTED_PREFIX } from './protected-create.js';
import { abortAtEveryPoint, childrenOf, ensemble, only, open, useRecipeKit } from './recipe-test-kit.js';
import { requestRevocation } from './revocation.js';

useRecipeKit();

describe('Lock: abandoned acquires leave no znode', () => {
  it('an acquire aborted while each of its requests is in flight (contended and not) leaves nothing behind', async () => {
    const fake = await ensemble(2);
    const [near, far] = fake.members as [FakeMember, FakeMember];
    const client = await open(only(near));
    const observer = await open(only(far));
    // The directory exists, so every run sends the same requests and each point is one request.
    await observer.create('/every');
    for (const contended of [false, true]) {
      const holder = contended ? new Lock(observer, '/every') : undefined;
      await holder?.acquire();
      let createsInFlight = 0;
      const points = await abortAtEveryPoint(
        fake,
        near,
        async (signal) => {
          const lock = new Lock(client, '/every');
          try {
            await lock.acquire({ signal });
          } finally {
            await lock.whenCleanedUp();
          }
          await lock.release();
        },
        async (k, outcome, opsBeforeAbort) => {
          if (outcome instanceof Error && !outcome.message.startsWith('aborted at point'))
            throw new Error(`point ${k}: ${outcome.message}`);
          const left = (await childrenOf(observer, '/every')).filter((name) => name !== holderName(holder));
          expect(left, `point ${k} (contended: ${contended})`).toEqual([]);
          // The create had reached the server when the caller gave up: the case that used to leak.
          if (opsBeforeAbort.at(-1) === 'multi') createsInFlight++;
        },
      );
      // exists (ensurePath), the create, children, (contended) the exists on the predecessor, then
      // one more point: after the last reply (waiting, or acquired).
      expect(points).toBeGreaterThanOrEqual(contended ? 5 : 4);
      expect(createsInFlight).toBe(1);
      await holder?.release();
    }
  }, 30_000);

  it('the znode of a create aborted in flight is there until the cleanup deletes it', async () => {
    const fake = await ensemble(2);
    const [near, far] = fake.members as [FakeMember, FakeMember];
    const client = await open(only(near));
    const observer = await open(only(far));
    await observer.create('/inflight');
    const lock = new Lock(client, '/inflight');
    const controller = new AbortController();
    near.holdReplies = true;
    const base = fake.frames.length;
    const acquiring = lock.acquire({ signal: controller.signal }).catch((error: unknown) => error);
    // Let ensurePath's exists through, then hold the create's reply.
    await waitFor(() => fake.frames.length > base, 'the exists to reach the server');
    near.releaseReplies();
    near.holdReplies = true;
    await waitFor(() => fake.frames.at(-1)?.request.op === 'multi', 'the create to reach the server');
    await waitFor(async () => (await observer.children('/inflight')).length === 1, 'the create to commit');
    controller.abort(new Error('give up'));
    expect(((await acquiring) as Error).message).toBe('give up');
    // The caller has its rejection; the znode is still there (the replies are held).
    expect((await observer.children('/inflight'))[0]!.startsWith(PROTECTED_PREFIX)).toBe(true);
    near.releaseReplies();
    await lock.whenCleanedUp();
    await observer.sync('/inflight');
    expect(await observer.children('/inflight')).toEqual([]);
  });

  it('200 acquires aborted after seeded random delays, with waiters queued, leave only the holder', async () => {
    const seed = 18;
    const random = createPrng(seed);
    const fake = await ensemble(2);
    const holderClient = await open(fake.connectString);
    const clients = await Promise.all([0, 1, 2, 3].map(() => open(fake.connectString)));
    const holder = new Lock(holderClient, '/random');
    await holder.acquire();
    const createsBefore = fake.frames.filter((frame) => frame.request.op === 'multi').length;
    const iterations = 200;
    let aborted = 0;
    for (let i = 0; i < iterations; i += clients.length) {
      const locks = clients.map((client) => new Lock(client, '/random'));
      await Promise.all(
        locks.map(async (lock) => {
          const controller = new AbortController();
          // 0–11 ms, or in the same turn (-1): spread over the whole acquire.
          const delayMs = random.int(13) - 1;
          if (delayMs < 0) queueMicrotask(() => controller.abort(new Error('now')));
          else setTimeout(() => controller.abort(new Error('later')), delayMs);
          const error = await lock.acquire({ signal: controller.signal }).catch((caught: unknown) => caught);
          expect(error, `seed ${seed}: the holder never releases`).toBeInstanceOf(Error);
          aborted++;
        }),
      );
      await Promise.all(locks.map((lock) => lock.whenCleanedUp()));
    }
    const creates = fake.frames.filter((frame) => frame.request.op === 'multi').length - createsBefore;
    await holderClient.sync('/random');
    expect(await holderClient.children('/random'), `seed ${seed}`).toEqual([holderName(holder)]);
    expect(aborted).toBe(iterations);
    // Many of the aborts came after the create had reached the server: the case that used to leak.
    expect(creates).toBeGreaterThan(iterations / 4);
    await holder.release();
  });
});

describe('Lock: connection states', () => {
  it('isHeld is false inside the disconnected event, true again after a verified reconnect', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const lock = new Lock(client, '/states');
    await lock.acquire();
    const events: string[] = [];
    for (const event of ['suspended', 'reconnected', 'lost'] as const) lock.on(event, () => events.push(event));
    let heldInsideDisconnected: boolean | undefined;
    client.on('disconnected', () => {
      heldInsideDisconnected = lock.isHeld;
    });
    const token = lock.fencingToken;
    const reconnected = nextEvent<void>((listener) => lock.on('reconnected', listener), 'the lock to reconnect');
    const disconnected = nextEvent((listener) => client.on('disconnected', listener), 'disconnected');
    fake.memberOf(client.sessionId)!.dropConnections();
    await disconnected;
    expect(heldInsideDisconnected).toBe(false);
    expect(lock.isHeld).toBe(false);
    await reconnected;
    expect(lock.isHeld).toBe(true);
    expect(lock.fencingToken).toBe(token);
    expect(events).toEqual(['suspended', 'reconnected']);
    await lock.release();
    expect(lock.isHeld).toBe(false);
  });

  it('a znode deleted while suspended makes the reconnect a loss; an expired session is a loss', async () => {
    const fake = await ensemble(1);
    const [member] = fake.members as [FakeMember];
    const client = await open(fake.connectString);
    const admin = await open(fake.connectString);
    const lock = new Lock(client, '/gone');
    await lock.acquire();
    const events: string[] = [];
    for (const event of ['suspended', 'reconnected', 'lost'] as const) lock.on(event, () => events.push(event));
    // Delete the znode as an operator would, while the holder cannot see it.
    member.holdReplies = true;
    const suspended = nextEvent<void>((listener) => lock.on('suspended', listener), 'suspended');
    const lost = nextEvent<void>((listener) => lock.on('lost', listener), 'lost');
    const path = lock.nodePath!;
    const deleting = admin.delete(path).catch(() => admin.delete(path).catch(() => {}));
    member.dropConnections();
    await suspended;
    member.releaseReplies();
    await deleting;
    await lost;
    expect(events).toEqual(['suspended', 'lost']);
    expect(lock.isHeld).toBe(false);
    expect(lock.fencingToken).toBeUndefined();

    const again = new Lock(client, '/gone');
    await again.acquire();
    const expired = nextEvent<void>((listener) => again.on('lost', listener), 'lost on expiry');
    fake.expire(client.sessionId);
    await expired;
    expect(again.isHeld).toBe(false);
    await again.release();
  });
});

describe('Lock: a paused holder', () => {
  it('wakes with isHeld false (and a leader with isLeader false) before any timer or socket event runs', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString, 1_500);
    const lock = new Lock(client, '/paused');
    await lock.acquire();
    const election = new LeaderElection(client, '/paused-election', 'a');
    await election.start();
    await election.waitForLeadership({ timeoutMs: 5_000 });
    const events: string[] = [];
    lock.on('suspended', () => events.push('lock suspended'));
    election.on('notLeader', () => events.push('notLeader'));
    // A pause (SIGSTOP, a long GC) past two thirds of the session timeout: the event loop is blocked.
    const until = performance.now() + 1_200;
    while (performance.now() < until) {}
    // Synchronously after waking, before any timer, socket or microtask of the client ran.
    expect(lock.isHeld).toBe(false);
    expect(election.isLeader).toBe(false);
    expect(events).toEqual(['lock suspended', 'notLeader']);
    // The session may or may not have survived; either way the lock resolves to a verified state.
    await new Promise<void>((resolve) => {
      lock.on('reconnected', resolve);
      lock.on('lost', resolve);
    });
    expect(lock.isHeld).toBe(client.state === 'CONNECTED');
    await election.stop();
    await lock.release();
  });
});

describe('Lock: fencing', () => {
  it('each holder’s token is higher than every earlier holder’s, through releases and an expiry', async () => {
    const fake = await ensemble(2);
    const clients = await Promise.all([0, 1, 2, 3].map(() => open(fake.connectString)));
    const tokens: bigint[] = [];
    // A resource outside the ensemble that accepts a write only with a token at least the highest it saw.
    let highest = -1n;
    const rejected: bigint[] = [];
    const write = (token: bigint) => {
      if (token < highest) {
        rejected.push(token);
        return false;
      }
      highest = token;
      return true;
    };
    await Promise.all(
      clients.map(async (client, i) => {
        for (let round = 0; round < 3; round++) {
          const lock = new Lock(client, '/fenced', { data: `c${i}` });
          await lock.acquire({ timeoutMs: 10_000 });
          tokens.push(lock.fencingToken!);
          expect(write(lock.fencingToken!)).toBe(true);
          await sleep(1);
          await lock.release();
        }
      }),
    );
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    // A holder whose session expires while it is paused: its successor writes, its own late write is refused.
    const paused = await open(fake.connectString);
    const stale = new Lock(paused, '/fenced');
    await stale.acquire();
    const staleToken = stale.fencingToken!;
    const next = new Lock(clients[0]!, '/fenced');
    const acquiring = next.acquire({ timeoutMs: 5_000 });
    fake.expire(paused.sessionId);
    await acquiring;
    expect(write(next.fencingToken!)).toBe(true);
    expect(write(staleToken)).toBe(false);
    expect(rejected).toEqual([staleToken]);
    await next.release();
  });
});

describe('Lock: container parents', () => {
  it('the directory is a container the leader deletes after the last release, unless containerParents is false', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const lock = new Lock(client, '/lock-dirs/a');
    await lock.acquire();
    await lock.release();
    await waitFor(() => fake.tree.stat('/lock-dirs') === null, 'the containers to go');
    // Acquiring again creates it again.
    await lock.acquire();
    expect(lock.isHeld).toBe(true);
    await lock.release();
    const kept = new Lock(client, '/lock-dirs-kept/a', { containerParents: false });
    await kept.acquire();
    await kept.release();
    await sleep(100);
    expect(fake.tree.stat('/lock-dirs-kept/a')).not.toBeNull();
  });
});

describe('Lock: revocation', () => {
  it('a waiter asks the holder to release; a revocable holder hears it and releases', async () => {
    const fake = await ensemble(1);
    const holderClient = await open(fake.connectString);
    const waiterClient = await open(fake.connectString);
    const holder = new Lock(holderClient, '/revoke', { revocable: true });
    await holder.acquire();
    holder.on('revocationRequested', () => void holder.release());
    const waiter = new Lock(waiterClient, '/revoke');
    const acquiring = waiter.acquire({ timeoutMs: 5_000 });
    const holderPath = await waiter.holderNode();
    expect(holderPath).toBe(holder.nodePath);
    expect(await requestRevocation(waiterClient, holderPath!)).toBe(true);
    await acquiring;
    expect(waiter.isHeld).toBe(true);
    expect(holder.isHeld).toBe(false);
    expect(await requestRevocation(waiterClient, holderPath!)).toBe(false);
    // A lock that did not opt in is not told.
    let told = false;
    waiter.on('revocationRequested', () => {
      told = true;
    });
    await requestRevocation(holderClient, waiter.nodePath!);
    await sleep(50);
    expect(told).toBe(false);
    await waiter.release();
  });
});

function holderName(lock: Lock | undefined): string | undefined {
  return lock?.nodePath?.slice(lock.path.length + 1);
}
