import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type WatchedEvent, type ZabClient, ZabError } from '@zabkit/client';
import { LeaderElection, Lock } from '@zabkit/client/recipes';
import { type Ensemble, startEnsemble } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let ensemble: Ensemble;
const clients: ZabClient[] = [];

beforeAll(async () => {
  ensemble = await startEnsemble({ size: 3, dir: mkdtempSync(join(tmpdir(), 'zabkit-it-client-')) });
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await ensemble?.close();
}, 30_000);

async function open(options: Parameters<typeof connect>[1] = {}): Promise<ZabClient> {
  const client = await connect(ensemble.connectString, {
    sessionTimeoutMs: 6_000,
    connectTimeoutMs: 10_000,
    ...options,
  });
  clients.push(client);
  return client;
}

async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (!ZabError.isInstance(error)) throw error;
    return error.code;
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('every op and every error on a real ensemble', () => {
  it('create, get, set, exists, children, delete, multi, sync, getEphemerals, linearizable get', async () => {
    const client = await open();
    expect(await client.create('/ops', 'v0')).toBe('/ops');
    expect(text((await client.get('/ops')).data)).toBe('v0');
    expect((await client.set('/ops', 'v1', { version: 0 })).version).toBe(1);
    expect((await client.exists('/ops'))?.version).toBe(1);
    expect(await client.exists('/ops/none')).toBeNull();
    const sequential = await client.create('/ops/s-', '', { mode: 'PERSISTENT_SEQUENTIAL' });
    expect(sequential).toMatch(/^\/ops\/s-\d{10}$/);
    const ephemeral = await client.create('/ops/e', '', { mode: 'EPHEMERAL' });
    expect(await client.getEphemerals('/ops')).toEqual([ephemeral]);
    expect((await client.children('/ops')).sort()).toEqual(['e', sequential.slice(5)].sort());
    const results = await client
      .transaction()
      .create('/ops/t')
      .set('/ops', 'v2', { version: 1 })
      .check('/ops', 2)
      .commit();
    expect(results.map((result) => result.op)).toEqual(['create', 'set', 'check']);
    await client.sync('/ops');
    expect(text((await client.get('/ops', { linearizable: true })).data)).toBe('v2');
    await client.delete('/ops/t');
    await client.delete(sequential);
    await client.delete(ephemeral);
    expect(await client.children('/ops')).toEqual([]);
  });

  it('fails with the ZooKeeper codes', async () => {
    const client = await open();
    await client.create('/err', 'x');
    await client.create('/err/child');
    const ephemeral = await client.create('/err-e', '', { mode: 'EPHEMERAL' });
    expect(await codeOf(client.get('/err/none'))).toBe('NO_NODE');
    expect(await codeOf(client.create('/err'))).toBe('NODE_EXISTS');
    expect(await codeOf(client.set('/err', 'y', { version: 5 }))).toBe('BAD_VERSION');
    expect(await codeOf(client.delete('/err'))).toBe('NOT_EMPTY');
    expect(await codeOf(client.create(`${ephemeral}/x`))).toBe('NO_CHILDREN_FOR_EPHEMERALS');
    expect(await codeOf(client.get('bad'))).toBe('INVALID_PATH');
    expect(await codeOf(client.create('/zookeeper/x'))).not.toBe('ok');
    expect(
      await codeOf(
        client.multi([
          { op: 'create', path: '/err/m' },
          { op: 'check', path: '/err', version: 9 },
        ]),
      ),
    ).toBe('BAD_VERSION');
    expect(await client.exists('/err/m')).toBeNull();
  });

  it('one-shot watches fire once, persistent ones keep firing, recursive ones cover the subtree', async () => {
    const client = await open();
    const writer = await open();
    await client.create('/w', '0');
    const once: WatchedEvent[] = [];
    await client.get('/w', { watch: (event) => once.push(event) });
    const persistent = client.watch('/w');
    const recursive = client.watch('/w', { recursive: true });
    await Promise.all([persistent.ready, recursive.ready]);
    await writer.set('/w', '1');
    await writer.set('/w', '2');
    await writer.create('/w/a');
    await writer.create('/w/a/b');
    const seen: string[] = [];
    for await (const event of persistent) {
      seen.push(`${event.type} ${event.path}`);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['NODE_DATA_CHANGED /w', 'NODE_DATA_CHANGED /w', 'NODE_CHILDREN_CHANGED /w']);
    const subtree: string[] = [];
    for await (const event of recursive) {
      subtree.push(`${event.type} ${event.path}`);
      if (subtree.length === 4) break;
    }
    expect(subtree).toEqual([
      'NODE_DATA_CHANGED /w',
      'NODE_DATA_CHANGED /w',
      'NODE_CREATED /w/a',
      'NODE_CREATED /w/a/b',
    ]);
    expect(once.map((event) => event.type)).toEqual(['NODE_DATA_CHANGED']);
  });
});

describe('failures', () => {
  it('kill -9 of its member: the session moves, ephemerals stay, watches keep working, zxids never go back', async () => {
    const client = await open();
    const observer = await open();
    await client.create('/fo', '0');
    await client.create('/fo/eph', '', { mode: 'EPHEMERAL' });
    const zxids: number[] = [];
    const stream = client.watch('/fo', { recursive: true });
    await stream.ready;
    const member = ensemble.members.find((m) => client.server === `${m.host}:${m.clientPort}`)!;
    expect(member).toBeDefined();
    const sessionId = client.sessionId;
    const reconnected = new Promise<void>((resolve) => client.on('reconnected', () => resolve()));
    await ensemble.kill(member.id);
    try {
      // Writes keep going through the observer (unless it sat on the same member: then it reconnects too).
      await waitFor(
        async () => (await codeOf(observer.set('/fo', 'during'))) === 'ok',
        'a write after the kill',
        15_000,
      );
      await reconnected;
      // The session may first land on a member that has not yet seen the kill; when that member
      // loses its leader it stops serving and drops its clients (as ZooKeeper does), and the client
      // moves once more. So wait until the surviving members agree on an established leader, then
      // for the client to be connected: being CONNECTED right after `reconnected` is not promised.
      await ensemble.waitForLeader();
      await client.waitForState('CONNECTED', { signal: AbortSignal.timeout(15_000) });
      expect(client.sessionId).toBe(sessionId);
      expect(client.server).not.toBe(`${member.host}:${member.clientPort}`);
      expect(await client.exists('/fo/eph')).not.toBeNull();
      let last = client.lastZxidSeen;
      for (let i = 0; i < 20; i++) {
        const { stat } = await client.get('/fo');
        expect(client.lastZxidSeen).toBeGreaterThanOrEqual(last);
        expect(stat.mzxid).toBeLessThanOrEqual(client.lastZxidSeen);
        last = client.lastZxidSeen;
      }
      await observer.set('/fo', 'after');
      for await (const event of stream) {
        zxids.push(event.zxid);
        if (event.type === 'NODE_DATA_CHANGED' && zxids.length >= 1) {
          const { data } = await client.get('/fo');
          if (text(data) === 'after') break;
        }
      }
      expect([...zxids].sort((a, b) => a - b)).toEqual(zxids);
    } finally {
      await ensemble.restart(member.id);
    }
  }, 60_000);

  it('after leader loss, a follower kill and a paused leader, every client is back on its home member', async () => {
    // Six clients, two homes per member ('inOrder' over a rotated connect string makes the first
    // member listed the home), and three with the default random order, whose home is the member
    // they first connected to. Issue 12: after a few faults all clients used to end on one member.
    await ensemble.waitForLeader(); // the member the previous test restarted serves again
    const addresses = ensemble.members.map((m) => `${m.host}:${m.clientPort}`);
    const rotated = (shift: number) => [...addresses.slice(shift), ...addresses.slice(0, shift)].join(',');
    const fast = { sessionTimeoutMs: 6_000, rebalanceDelayMs: 300 };
    const clients = [
      ...(await Promise.all(
        [0, 1, 2, 0, 1, 2].map((shift) => connect(rotated(shift), { ...fast, serverOrder: 'inOrder' })),
      )),
      ...(await Promise.all([0, 1, 2].map(() => connect(ensemble.connectString, fast)))),
    ];
    for (const client of clients) expect(client.server).toBeDefined();
    const homes = clients.map((client) => client.server!);
    expect(homes.slice(0, 6)).toEqual([0, 1, 2, 0, 1, 2].map((i) => addresses[i]));
    const sessionIds = clients.map((client) => client.sessionId);
    const expired: number[] = [];
    for (const [i, client] of clients.entries()) client.on('expired', () => expired.push(i));
    const allHome = async (after: string) => {
      await ensemble.waitForLeader();
      await waitFor(
        () => clients.every((client, i) => client.server === homes[i]),
        `every client home after ${after}`,
        20_000,
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}; homes ${homes.join(' ')}; now on ${clients.map((c) => c.server ?? '-').join(' ')}`,
        );
      });
      // Every session still works where it landed.
      await Promise.all(clients.map((client, i) => client.set('/spread', String(i))));
    };
    try {
      await clients[0]!.create('/spread');
      const leader = await ensemble.waitForLeader();
      await ensemble.kill(leader);
      await ensemble.waitForLeader();
      await ensemble.restart(leader);
      await allHome(`killing and restarting the leader ${leader}`);
      const current = await ensemble.waitForLeader();
      const victim = ensemble.members.find((m) => m.id !== current)!.id;
      await ensemble.kill(victim);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await ensemble.restart(victim);
      await allHome(`killing and restarting the follower ${victim}`);
      const paused = await ensemble.waitForLeader();
      ensemble.pause(paused);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      ensemble.resume(paused);
      await allHome(`pausing the leader ${paused} for 3 s`);
      expect(expired).toEqual([]);
      expect(clients.map((client) => client.sessionId)).toEqual(sessionIds);
    } finally {
      for (const client of clients) await client.close().catch(() => {});
    }
  }, 120_000);

  it('session expiry of a paused client deletes its ephemerals and fires other clients’ watches', async () => {
    const watcher = await open();
    await watcher.create('/exp').catch(() => {});
    // The client runs in its own process so that SIGSTOP pauses it for real (heartbeats included).
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { connect } from '@zabkit/client';
         const client = await connect(${JSON.stringify(ensemble.connectString)}, { sessionTimeoutMs: 1500 });
         client.on('expired', () => { console.log('expired'); process.exit(0); });
         await client.create('/exp/mine', 'x', { mode: 'EPHEMERAL' });
         console.log('ready');
         setInterval(() => {}, 1000);`,
      ],
      { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    try {
      await waitFor(() => output.includes('ready'), 'the child client');
      // The child wrote through its own member; the watcher's may not have applied that create yet,
      // and an exists there would set a creation watch (NODE_CREATED) instead: sync first.
      await watcher.sync('/exp');
      let onDeleted: (event: WatchedEvent) => void = () => {};
      const deleted = new Promise<WatchedEvent>((resolve) => {
        onDeleted = resolve;
      });
      expect(await watcher.exists('/exp/mine', { watch: (event) => onDeleted(event) })).not.toBeNull();
      child.kill('SIGSTOP');
      const event = await Promise.race([
        deleted,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no NODE_DELETED within 10 s')), 10_000)),
      ]);
      expect(event.type).toBe('NODE_DELETED');
      expect(await watcher.exists('/exp/mine')).toBeNull();
      child.kill('SIGCONT');
      await waitFor(() => output.includes('expired'), 'the child to learn it expired');
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});

describe('recipes on a real ensemble', () => {
  it('10 clients on one Lock: never two holders, every waiter acquires', async () => {
    const lockers = await Promise.all(Array.from({ length: 10 }, () => open()));
    const counter = await open();
    await counter.create('/lock-counter', '0');
    let holders = 0;
    let maxHolders = 0;
    await Promise.all(
      lockers.map(async (client) => {
        const lock = new Lock(client, '/locks/it');
        await lock.acquire({ timeoutMs: 30_000 });
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        // The shared counter: read-modify-write without a version check is only safe under the lock.
        const { data } = await client.get('/lock-counter');
        await client.set('/lock-counter', String(Number(text(data)) + 1));
        holders--;
        await lock.release();
      }),
    );
    expect(maxHolders).toBe(1);
    expect(text((await counter.get('/lock-counter')).data)).toBe('10');
  }, 60_000);

  it('LeaderElection: exactly one leader, a new one after the leader’s client dies', async () => {
    const participants = await Promise.all([0, 1, 2].map(() => open()));
    const elections = participants.map((client, i) => new LeaderElection(client, '/election/it', `p${i}`));
    for (const election of elections) await election.start();
    await waitFor(() => elections.filter((election) => election.isLeader).length === 1, 'one leader');
    const leader = elections.findIndex((election) => election.isLeader);
    expect(await elections[(leader + 1) % 3]!.leader()).toBe(`p${leader}`);
    await participants[leader]!.close();
    await waitFor(
      () => elections.filter((election, i) => i !== leader && election.isLeader).length === 1,
      'a new leader',
    );
    expect(elections.filter((election) => election.isLeader)).toHaveLength(1);
  }, 30_000);
});
