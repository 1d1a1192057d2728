import { createPrng } from '@zabkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect, type ZabClient } from './client.js';
import { FakeEnsemble, type FakeMember } from './testing/fake-ensemble.js';
import { sleep, waitFor } from './testing/wait.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const CLIENTS = 50;
/**
 * SHARE_MIN and SHARE_MAX bound "roughly even" for 50 clients over 3 members: 50/3 ± 7, about two
 * standard deviations of the binomial(50, 1/3) count a member gets from independent random orders.
 * The seeds are fixed, so the bound is checked on one known draw, not on chance.
 */
const SHARE_MIN = 10;
const SHARE_MAX = 24;

type Options = Parameters<typeof connect>[1];

async function ensembleOf(size: number): Promise<FakeEnsemble> {
  const ensemble = await FakeEnsemble.start(size);
  cleanups.push(() => ensemble.stop());
  return ensemble;
}

async function open(connectString: string, options: Options = {}): Promise<ZabClient> {
  const client = await connect(connectString, {
    sessionTimeoutMs: 5_000,
    connectTimeoutMs: 5_000,
    rebalanceDelayMs: 100,
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

/** fleet opens `count` clients, client i with the PRNG seeded i + 1, so every run draws the same orders. */
function fleet(ensemble: FakeEnsemble, count: number, options: Options = {}): Promise<ZabClient[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      open(ensemble.connectString, { random: createPrng(i + 1).next, ...options }),
    ),
  );
}

function counts(ensemble: FakeEnsemble, clients: readonly ZabClient[]): number[] {
  return ensemble.members.map((member) => clients.filter((c) => ensemble.memberOf(c.sessionId) === member).length);
}

function allConnected(ensemble: FakeEnsemble, clients: readonly ZabClient[], away?: FakeMember): boolean {
  return clients.every((client) => {
    const member = ensemble.memberOf(client.sessionId);
    return client.state === 'CONNECTED' && member !== undefined && member !== away;
  });
}

/** waitForSpread waits until every client is connected and each member holds SHARE_MIN to SHARE_MAX of them. */
async function waitForSpread(ensemble: FakeEnsemble, clients: readonly ZabClient[]): Promise<void> {
  const even = () =>
    allConnected(ensemble, clients) && counts(ensemble, clients).every((n) => n >= SHARE_MIN && n <= SHARE_MAX);
  await waitFor(even, 'the clients to spread over the members', 10_000).catch((error: Error) => {
    throw new Error(`${error.message}; clients per member: ${counts(ensemble, clients).join(' ')}`);
  });
}

vi.setConfig({ testTimeout: 20_000 });

describe("serverOrder 'random' (the default)", () => {
  it('spreads 50 seeded clients over 3 members, and the same seed picks the same member', async () => {
    const ensemble = await ensembleOf(3);
    const clients = await fleet(ensemble, CLIENTS);
    const spread = counts(ensemble, clients);
    expect(spread.reduce((a, b) => a + b)).toBe(CLIENTS);
    for (const n of spread) {
      expect(n).toBeGreaterThanOrEqual(SHARE_MIN);
      expect(n).toBeLessThanOrEqual(SHARE_MAX);
    }
    const again = await open(ensemble.connectString, { random: createPrng(7).next });
    expect(ensemble.memberOf(again.sessionId)).toBe(ensemble.memberOf(clients[6]!.sessionId));
  });

  it('splits the clients of a killed member over the survivors, and they return once it serves again', async () => {
    const ensemble = await ensembleOf(3);
    const clients = await fleet(ensemble, CLIENTS);
    const killed = ensemble.members[0]!;
    const moving = clients.filter((client) => ensemble.memberOf(client.sessionId) === killed);
    expect(moving.length).toBeGreaterThanOrEqual(SHARE_MIN);
    await killed.kill();
    await waitFor(() => allConnected(ensemble, clients, killed), 'every client on a survivor');
    for (const survivor of ensemble.members.slice(1)) {
      const arrived = moving.filter((client) => ensemble.memberOf(client.sessionId) === survivor).length;
      // Each survivor takes at least a quarter of the movers (an even split is a half).
      expect(arrived, `member ${survivor.index} took ${arrived} of ${moving.length}`).toBeGreaterThanOrEqual(
        moving.length / 4,
      );
    }
    await killed.restart();
    await waitFor(() => moving.every((c) => ensemble.memberOf(c.sessionId) === killed), 'the movers back home');
    await waitForSpread(ensemble, clients);
  });

  it('a leader loss in which one member serves first does not leave every client on it', async () => {
    const ensemble = await ensembleOf(3);
    const clients = await fleet(ensemble, CLIENTS);
    const disconnected = clients.map(
      (client) => new Promise<void>((resolve) => client.on('disconnected', () => resolve())),
    );
    // The leader is gone: every member refuses with NOT_SERVING and drops its clients; the new
    // leader serves first and its followers a while later.
    for (const member of ensemble.members) {
      member.serving = false;
      member.dropConnections();
    }
    await Promise.all(disconnected);
    await sleep(200);
    ensemble.members[0]!.serving = true;
    await sleep(400);
    ensemble.members[1]!.serving = true;
    ensemble.members[2]!.serving = true;
    await waitForSpread(ensemble, clients);
  });

  it('a member that refused resumes as behind (ZXID_AHEAD) gets its clients back once it has caught up', async () => {
    const ensemble = await ensembleOf(3);
    const clients = await fleet(ensemble, CLIENTS);
    const lagging = ensemble.members[1]!;
    await lagging.kill();
    await waitFor(() => allConnected(ensemble, clients, lagging), 'every client away from the lagging member');
    // It comes back up to date but learns no commit after that; with its port still closed, every
    // client writes (and so sees a zxid it has not applied) before it can take any of them.
    lagging.behind = true;
    await lagging.recover();
    await Promise.all(clients.map((client, i) => client.create(`/c${i}`)));
    await lagging.openPort();
    for (const member of ensemble.members) member.dropConnections();
    await waitFor(() => allConnected(ensemble, clients, lagging), 'every client away from the lagging member');
    expect(lagging.connects.length).toBeGreaterThan(0);
    lagging.behind = false;
    await waitForSpread(ensemble, clients);
  });
});

describe("serverOrder 'inOrder'", () => {
  it('tries the members as listed: the first, then the next after a loss, then back to the first', async () => {
    const ensemble = await ensembleOf(3);
    const [first, second, third] = ensemble.members as [FakeMember, FakeMember, FakeMember];
    const clients = await fleet(ensemble, 5, { serverOrder: 'inOrder' });
    for (const client of clients) expect(ensemble.memberOf(client.sessionId)).toBe(first);
    await first.kill();
    await waitFor(() => allConnected(ensemble, clients, first), 'every client on a survivor');
    for (const client of clients) expect(ensemble.memberOf(client.sessionId)).toBe(second);
    expect(third.connects).toEqual([]);
    await first.restart();
    await waitFor(
      () => clients.every((c) => ensemble.memberOf(c.sessionId) === first),
      'every client back on the first',
    );
    expect(third.connects).toEqual([]);
  });

  it('after a full failed round it backs off, then starts again from the first member', async () => {
    const ensemble = await ensembleOf(3);
    for (const member of ensemble.members) member.serving = false;
    const opening = open(ensemble.connectString, { serverOrder: 'inOrder', random: createPrng(1).next });
    await waitFor(() => ensemble.members[2]!.connects.length >= 2, 'two rounds');
    ensemble.members[1]!.serving = true;
    const client = await opening;
    expect(ensemble.memberOf(client.sessionId)).toBe(ensemble.members[1]);
    const [first, second, third] = ensemble.members.map((member) => member.connects.length);
    // Round by round: 0, 1, 2, 0, 1, 2, …, 0, 1 (accepted).
    expect(first).toBe(third! + 1);
    expect(second).toBe(third! + 1);
  });
});

describe('moving back to the home member', () => {
  it('is seamless: no call fails, FIFO order holds, watches keep firing, only `reconnected` is emitted', async () => {
    const ensemble = await ensembleOf(3);
    const [home, away] = ensemble.members as [FakeMember, FakeMember];
    const client = await open(ensemble.connectString, { serverOrder: 'inOrder' });
    await client.create('/m', '0');
    await home.kill();
    await waitFor(() => ensemble.memberOf(client.sessionId) === away && client.state === 'CONNECTED', 'the failover');
    const stream = client.watch('/m');
    await stream.ready;
    const events: string[] = [];
    client.on('disconnected', () => events.push('disconnected'));
    client.on('reconnected', () => events.push('reconnected'));
    const zxids: number[] = [];
    let version = 0;
    let moved = false;
    await home.restart();
    // Calls keep flowing while the client moves; every set must answer with the next version and
    // every get read what was just written.
    const deadline = Date.now() + 5_000;
    let after = 0;
    while (after < 20) {
      if (Date.now() > deadline) throw new Error('the client did not move home within 5 s');
      const set = client.set('/m', String(version + 1));
      const get = client.get('/m');
      const [stat, { data }] = await Promise.all([set, get]);
      version++;
      expect(stat.version).toBe(version);
      expect(new TextDecoder().decode(data)).toBe(String(version));
      zxids.push(client.lastZxidSeen);
      if (ensemble.memberOf(client.sessionId) === home) moved = true;
      if (moved) after++;
    }
    expect(events).toEqual(['reconnected']);
    expect([...zxids].sort((a, b) => a - b)).toEqual(zxids);
    const seen: number[] = [];
    for await (const event of stream) {
      seen.push(Number.parseInt(new TextDecoder().decode((await client.get('/m')).data), 10));
      if (seen.at(-1) === version) break;
      expect(event.type).toBe('NODE_DATA_CHANGED');
    }
  });

  it('a home member that refuses (behind) keeps the client where it is; it tries again later', async () => {
    const ensemble = await ensembleOf(3);
    const [home, away] = ensemble.members as [FakeMember, FakeMember];
    const client = await open(ensemble.connectString, { serverOrder: 'inOrder' });
    await client.create('/b');
    await home.kill();
    await waitFor(() => ensemble.memberOf(client.sessionId) === away && client.state === 'CONNECTED', 'the failover');
    const events: string[] = [];
    client.on('disconnected', () => events.push('disconnected'));
    client.on('reconnected', () => events.push('reconnected'));
    // Home comes back but learns no commit after its sync; the client writes before home's port
    // opens, so it has seen a zxid home has not applied, and home refuses it (ZXID_AHEAD).
    home.behind = true;
    const refusedBefore = home.connects.length;
    await home.recover();
    await client.set('/b', 'newer than home');
    await home.openPort();
    await waitFor(() => home.connects.length >= refusedBefore + 2, 'two tries to go home');
    expect(ensemble.memberOf(client.sessionId)).toBe(away);
    expect(events).toEqual([]);
    await client.set('/b', 'still here');
    home.behind = false;
    // The fake binds the session on accepting it, a moment before the client adopts the connection.
    await waitFor(() => ensemble.memberOf(client.sessionId) === home && events.length > 0, 'the move home');
    expect(events).toEqual(['reconnected']);
  });

  it('rebalanceDelayMs: 0 turns moving back off', async () => {
    const ensemble = await ensembleOf(3);
    const [home, away] = ensemble.members as [FakeMember, FakeMember];
    const client = await open(ensemble.connectString, { serverOrder: 'inOrder', rebalanceDelayMs: 0 });
    await home.kill();
    await waitFor(() => ensemble.memberOf(client.sessionId) === away && client.state === 'CONNECTED', 'the failover');
    const before = home.connects.length;
    await home.restart();
    await sleep(500);
    expect(home.connects.length).toBe(before);
    expect(ensemble.memberOf(client.sessionId)).toBe(away);
  });
});
