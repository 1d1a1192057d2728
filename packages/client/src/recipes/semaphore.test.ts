import { describe, expect, it } from 'vitest';
import type { FakeMember } from '../testing/fake-ensemble.js';
import { nextEvent, sleep, waitFor } from '../testing/wait.js';
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
import { type Lease, Semaphore } from './semaphore.js';

useRecipeKit();

describe('Semaphore', () => {
  it('never more than maxLeases holders, and every acquire is served', async () => {
    const fake = await ensemble(2);
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(() => open(fake.connectString)));
    let holders = 0;
    let maxHolders = 0;
    let served = 0;
    await Promise.all(
      clients.map(async (client) => {
        const semaphore = new Semaphore(client, '/sem', 2);
        for (let round = 0; round < 3; round++) {
          const lease = await semaphore.acquire({ timeoutMs: 10_000 });
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          expect(lease.isHeld).toBe(true);
          // Long enough for the next acquirer to take the second lease meanwhile.
          await sleep(30);
          holders--;
          served++;
          await lease.release();
          expect(lease.isHeld).toBe(false);
        }
      }),
    );
    expect(maxHolders).toBe(2);
    expect(served).toBe(18);
    expect(await childrenOf(clients[0]!, '/sem/leases')).toEqual([]);
    expect(await childrenOf(clients[0]!, '/sem/locks')).toEqual([]);
  });

  it('a lease whose holder’s session expires frees its place; its Lease reports lost', async () => {
    const fake = await ensemble(1);
    const holderClient = await open(fake.connectString);
    const waiterClient = await open(fake.connectString);
    const lease = await new Semaphore(holderClient, '/sem-expiry', 1).acquire();
    const waiting = new Semaphore(waiterClient, '/sem-expiry', 1).acquire({ timeoutMs: 5_000 });
    await sleep(50);
    const lost = nextEvent<void>((listener) => lease.on('lost', listener), 'lost');
    fake.expire(holderClient.sessionId);
    const next = await waiting;
    await lost;
    expect(lease.isHeld).toBe(false);
    expect(next.isHeld).toBe(true);
    expect(next.fencingToken! > (lease.fencingToken ?? 0n)).toBe(true);
    await next.release();
  });

  it('a lease is not held while suspended, and is again after a verified reconnect', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const lease = await new Semaphore(client, '/sem-states', 3).acquire();
    const events: string[] = [];
    for (const event of ['suspended', 'reconnected', 'lost'] as const) lease.on(event, () => events.push(event));
    const reconnected = nextEvent<void>((listener) => lease.on('reconnected', listener), 'reconnected');
    fake.memberOf(client.sessionId)!.dropConnections();
    await nextEvent<void>((listener) => lease.on('suspended', listener), 'suspended');
    expect(lease.isHeld).toBe(false);
    await reconnected;
    expect(lease.isHeld).toBe(true);
    expect(events).toEqual(['suspended', 'reconnected']);
    await lease.release();
  });

  it('acquires aborted at every request, and after seeded delays, leave no lease and no mutex znode', async () => {
    const fake = await ensemble(2);
    const [near, far] = fake.members as [FakeMember, FakeMember];
    const client = await open(only(near));
    const observer = await open(only(far));
    // Persistent directories here, so every run sends the same requests and each point is one request.
    const fixed = { containerParents: false };
    const full = await new Semaphore(observer, '/sem-abort', 1, fixed).acquire();
    const holderName = full.path.slice('/sem-abort/leases/'.length);
    const check = async (what: string) => {
      expect(await childrenOf(observer, '/sem-abort/leases'), what).toEqual([holderName]);
      expect(await childrenOf(observer, '/sem-abort/locks'), what).toEqual([]);
    };
    let createsInFlight = 0;
    const points = await abortAtEveryPoint(
      fake,
      near,
      async (signal) => {
        const semaphore = new Semaphore(client, '/sem-abort', 1, fixed);
        try {
          await semaphore.acquire({ signal });
        } finally {
          await semaphore.whenCleanedUp();
        }
      },
      async (k, _outcome, ops) => {
        await check(`point ${k}`);
        if (ops.at(-1) === 'multi') createsInFlight++;
      },
    );
    // Two creates (the mutex's znode and the lease's), each aborted once in flight.
    expect(createsInFlight).toBe(2);
    expect(points).toBeGreaterThan(6);
    const delay = seededDelays(11, 14);
    const leases: Lease[] = [];
    for (let i = 0; i < 40; i++) {
      const semaphore = new Semaphore(client, '/sem-abort', 1);
      const controller = new AbortController();
      abortAfter(controller, delay());
      await semaphore.acquire({ signal: controller.signal }).then(
        (lease) => leases.push(lease),
        () => {},
      );
      await semaphore.whenCleanedUp();
    }
    expect(leases).toEqual([]);
    await check('seed 11');
    await full.release();
    await waitFor(async () => (await childrenOf(observer, '/sem-abort/leases')).length === 0, 'no lease');
  }, 30_000);

  it('its directories are containers: the leader deletes them once the last lease is gone', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const lease = await new Semaphore(client, '/containers/sem', 2).acquire();
    expect(fake.tree.stat('/containers/sem/leases')?.ephemeralOwner).toBe(0);
    await lease.release();
    await waitFor(() => fake.tree.stat('/containers') === null, 'the containers to go');
  }, 30_000);
});
