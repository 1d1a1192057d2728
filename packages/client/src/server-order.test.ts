import { createPrng } from '@zabkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect, type ZabClient } from './client.js';
import { FakeEnsemble, type FakeMember } from './testing/fake-ensemble.js';
import { waitFor } from './testing/wait.js';

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
});

describe("serverOrder 'inOrder'", () => {
  it('tries the members as listed: the first, then the next after a loss', async () => {
    const ensemble = await ensembleOf(3);
    const [first, second, third] = ensemble.members as [FakeMember, FakeMember, FakeMember];
    const clients = await fleet(ensemble, 5, { serverOrder: 'inOrder' });
    for (const client of clients) expect(ensemble.memberOf(client.sessionId)).toBe(first);
    await first.kill();
    await waitFor(() => allConnected(ensemble, clients, first), 'every client on a survivor');
    for (const client of clients) expect(ensemble.memberOf(client.sessionId)).toBe(second);
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
