import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import { FakeEnsemble } from '../testing/fake-ensemble.js';
import { nextEvent, sleep, waitFor } from '../testing/wait.js';
import { ConfigWatcher } from './config-watcher.js';
import { LeaderElection } from './leader-election.js';
import { Lock } from './lock.js';
import { sequenceOf, sortBySequence } from './paths.js';
import { PROTECTED_PREFIX, protectedCreate } from './protected-create.js';
import { childrenOf } from './recipe-test-kit.js';
import { ServiceRegistry } from './service-registry.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ensemble(size = 3): Promise<FakeEnsemble> {
  const started = await FakeEnsemble.start(size);
  cleanups.push(() => started.stop());
  return started;
}

async function open(connectString: string): Promise<ZabClient> {
  const client = await connect(connectString, { sessionTimeoutMs: 2_000, connectTimeoutMs: 3_000 });
  cleanups.push(() => client.close());
  return client;
}

describe('sequence names', () => {
  it('reads and orders ZooKeeper sequence suffixes, negative ones after overflow included', () => {
    expect(sequenceOf('lock-0000000042')).toBe(42);
    expect(sequenceOf('_c_x-lock--000000001')).toBe(-1);
    expect(sequenceOf('plain')).toBeUndefined();
    expect(sortBySequence(['b-0000000003', 'a-0000000010', 'x', 'c-0000000001'])).toEqual([
      'c-0000000001',
      'b-0000000003',
      'a-0000000010',
    ]);
  });
});

describe('protectedCreate', () => {
  it('finds its znode after a lost reply instead of creating a second one', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    await client.create('/q');
    const member = fake.memberOf(client.sessionId)!;
    member.holdReplies = true;
    const creating = protectedCreate(client, '/q', 'n-', 'x', { mode: 'EPHEMERAL_SEQUENTIAL' });
    await waitFor(() => fake.frames.at(-1)?.request.op === 'multi', 'the create to reach the server');
    member.dropConnections();
    const node = await creating;
    expect(node.path.startsWith(`/q/${PROTECTED_PREFIX}`)).toBe(true);
    expect(await client.children('/q')).toEqual([node.path.slice(3)]);
  });
});

describe('Lock', () => {
  it('10 clients on one lock: never two holders, every waiter acquires', async () => {
    const fake = await ensemble(3);
    const clients = await Promise.all(Array.from({ length: 10 }, () => open(fake.connectString)));
    let holders = 0;
    let maxHolders = 0;
    let acquired = 0;
    await Promise.all(
      clients.map(async (client, i) => {
        const lock = new Lock(client, '/locks/shared', { data: `client-${i}` });
        for (let round = 0; round < 2; round++) {
          await lock.acquire({ timeoutMs: 10_000 });
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          expect(lock.isHeld).toBe(true);
          await sleep(2);
          holders--;
          acquired++;
          await lock.release();
        }
      }),
    );
    expect(maxHolders).toBe(1);
    expect(acquired).toBe(20);
    // The directory is a container: empty, or already deleted by the leader.
    expect(await childrenOf(clients[0]!, '/locks/shared')).toEqual([]);
  });

  it('a timed-out waiter gives up and removes its znode; a lost session loses the lock', async () => {
    const fake = await ensemble(1);
    const holderClient = await open(fake.connectString);
    const waiterClient = await open(fake.connectString);
    const holder = new Lock(holderClient, '/l');
    await holder.acquire();
    const waiter = new Lock(waiterClient, '/l');
    const error = await waiter.acquire({ timeoutMs: 150 }).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('TimeoutError');
    // The rejection is at once; the waiter's znode goes in the background.
    await waiter.whenCleanedUp();
    expect((await holderClient.children('/l')).length).toBe(1);
    const acquiring = waiter.acquire({ timeoutMs: 5_000 });
    fake.expire(holderClient.sessionId);
    await acquiring;
    expect(waiter.isHeld).toBe(true);
    await waitFor(() => !holder.isHeld, 'the holder to notice its expiry');
  });

  it('a waiter keeps its place across a connection loss and acquires when the holder releases', async () => {
    const fake = await ensemble(3);
    const holderClient = await open(fake.connectString);
    const waiterClient = await open(fake.connectString);
    const holder = new Lock(holderClient, '/m');
    await holder.acquire();
    const waiter = new Lock(waiterClient, '/m');
    const acquiring = waiter.acquire({ timeoutMs: 5_000 });
    await waitFor(async () => (await holderClient.children('/m')).length === 2, 'the waiter to queue');
    const reconnected = nextEvent((listener) => waiterClient.on('reconnected', listener), 'reconnected');
    fake.memberOf(waiterClient.sessionId)!.dropConnections();
    await reconnected;
    await holder.release();
    await acquiring;
    expect(waiter.isHeld).toBe(true);
    expect((await holderClient.children('/m')).length).toBe(1);
  });
});

describe('LeaderElection', () => {
  it('elects exactly one leader, and a new one after the leader’s client dies', async () => {
    const fake = await ensemble(3);
    const clients = await Promise.all([0, 1, 2].map(() => open(fake.connectString)));
    const elections = clients.map((client, i) => new LeaderElection(client, '/election', `p${i}`));
    for (const election of elections) await election.start();
    await waitFor(() => elections.filter((election) => election.isLeader).length === 1, 'one leader');
    await sleep(50);
    expect(elections.filter((election) => election.isLeader)).toHaveLength(1);
    const leaderIndex = elections.findIndex((election) => election.isLeader);
    expect(await elections[0]!.leader()).toBe(`p${leaderIndex}`);
    expect(await elections[0]!.participants()).toHaveLength(3);
    await clients[leaderIndex]!.close();
    await waitFor(
      () => elections.filter((election, i) => i !== leaderIndex && election.isLeader).length === 1,
      'a new leader',
    );
    expect(elections[leaderIndex]!.isLeader).toBe(false);
    const survivors = elections.filter((_, i) => i !== leaderIndex);
    await Promise.all(survivors.map((election) => election.waitForLeadership({ timeoutMs: 50 }).catch(() => {})));
    expect(survivors.filter((election) => election.isLeader)).toHaveLength(1);
    for (const election of survivors) await election.stop();
    expect(await childrenOf(clients[(leaderIndex + 1) % 3]!, '/election')).toEqual([]);
  });
});

describe('ServiceRegistry', () => {
  it('registers ephemeral instances, lists and watches them, and drops them with the session', async () => {
    const fake = await ensemble(2);
    const a = await open(fake.connectString);
    const b = await open(fake.connectString);
    const registry = new ServiceRegistry(a);
    const seen: string[][] = [];
    const watching = (async () => {
      for await (const instances of registry.watch('api')) {
        seen.push(instances.map((instance) => instance.id));
        if (seen.length === 4) break;
      }
    })();
    await waitFor(() => seen.length === 1, 'the first listing');
    await registry.register('api', { id: 'one', address: '10.0.0.1', port: 80, metadata: { zone: 'a' } });
    const two = await new ServiceRegistry(b).register('api', { id: 'two', port: 81 });
    await waitFor(() => seen.length === 3, 'two registrations');
    const instances = await registry.instances('api');
    expect(instances.map(({ id, address, port, metadata }) => ({ id, address, port, metadata }))).toEqual([
      { id: 'one', address: '10.0.0.1', port: 80, metadata: { zone: 'a' } },
      { id: 'two', address: undefined, port: 81, metadata: {} },
    ]);
    await expect(new ServiceRegistry(b).register('api', { id: 'one' })).rejects.toSatisfy((error: unknown) =>
      ZabError.isInstance(error, 'NODE_EXISTS'),
    );
    expect(two.path).toBe('/services/api/two');
    await b.close();
    await watching;
    expect(seen).toEqual([[], ['one'], ['one', 'two'], ['one']]);
  });
});

describe('ConfigWatcher', () => {
  it('keeps a typed value current through create, change, bad data and delete', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const writer = await open(fake.connectString);
    const config = new ConfigWatcher<{ limit: number }>(client, '/config', { defaultValue: { limit: 1 } });
    cleanups.push(() => config.close());
    expect(await config.start()).toEqual({ limit: 1 });
    const errors: unknown[] = [];
    config.on('error', (error) => errors.push(error));
    await writer.create('/config', JSON.stringify({ limit: 5 }));
    await waitFor(() => config.value?.limit === 5, 'the created value');
    await writer.set('/config', JSON.stringify({ limit: 6 }));
    await waitFor(() => config.value?.limit === 6, 'the changed value');
    await writer.set('/config', '{not json');
    await waitFor(() => errors.length === 1, 'the parse error');
    expect(config.value).toEqual({ limit: 6 });
    await writer.delete('/config');
    await waitFor(() => config.stat === null, 'the delete');
    expect(config.value).toEqual({ limit: 1 });
  });
});
