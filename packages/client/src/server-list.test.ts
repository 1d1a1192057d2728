import { createPrng } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import type { ServerAddress } from './connect-string.js';
import { ServerList } from './server-list.js';

const servers: ServerAddress[] = [1, 2, 3, 4, 5].map((i) => ({ host: `10.0.0.${i}`, port: 7181 }));
const hosts = (list: readonly ServerAddress[]) => list.map((server) => server.host.slice(-1)).join('');

describe('ServerList', () => {
  it("'inOrder' keeps the connect string's order and walks it round robin from the first", () => {
    const list = new ServerList(servers, 'inOrder', () => 0.5);
    expect(hosts(list.servers)).toBe('12345');
    expect(list.home).toBe(servers[0]);
    expect(hosts(Array.from({ length: 7 }, () => list.next()))).toBe('1234512');
  });

  it("'random' is a permutation fixed by the random source: the same seed gives the same order", () => {
    const orders = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const a = new ServerList(servers, 'random', createPrng(seed).next);
      const b = new ServerList(servers, 'random', createPrng(seed).next);
      expect(hosts(a.servers)).toBe(hosts(b.servers));
      expect([...hosts(a.servers)].sort().join('')).toBe('12345');
      orders.add(hosts(a.servers));
    }
    // 200 draws of 120 permutations: far more than a handful of distinct orders, or the shuffle is broken.
    expect(orders.size).toBeGreaterThan(60);
  });

  it("'random' makes every member the home of about a fifth of the clients", () => {
    const homes = new Map<string, number>();
    for (let seed = 1; seed <= 1_000; seed++) {
      const home = new ServerList(servers, 'random', createPrng(seed).next).home.host;
      homes.set(home, (homes.get(home) ?? 0) + 1);
    }
    // binomial(1000, 1/5): mean 200, standard deviation 12.6; ±50 is four of them.
    for (const server of servers) expect(homes.get(server.host)).toBeGreaterThan(150);
    for (const server of servers) expect(homes.get(server.host)).toBeLessThan(250);
  });

  it('after connectedTo, the next try is the member after the one connected to', () => {
    const list = new ServerList(servers, 'inOrder', Math.random);
    list.connectedTo(servers[3]!);
    expect(hosts([list.next(), list.next()])).toBe('51');
    list.connectedTo(servers[4]!);
    expect(list.next()).toBe(servers[0]);
    // A member an update removed while the session moved to it: the next try starts from home.
    list.connectedTo({ host: 'elsewhere', port: 1 });
    expect(list.next()).toBe(servers[0]);
  });

  it('update keeps the members still listed in place, adds the new ones, and says whether a member stays', () => {
    const list = new ServerList(servers, 'inOrder', Math.random);
    const kept = list.servers[1]!;
    const stays = list.update(
      [servers[1]!, { host: 'new1', port: 9 }, servers[2]!, { host: 'new1', port: 9 }].map((s) => ({ ...s })),
      servers[0],
    );
    expect(stays).toBe(false);
    expect(list.servers.map((s) => s.host)).toEqual([servers[1]!.host, servers[2]!.host, 'new1']);
    // The same objects: the session compares the member it runs on by identity.
    expect(list.servers[0]).toBe(kept);
    expect(list.next()).toBe(kept);
    expect(list.update([servers[2]!], servers[2])).toBe(true);
    expect(() => list.update([])).toThrow(RangeError);
  });

  it('refuses an empty list and an unknown order', () => {
    expect(() => new ServerList([], 'random', Math.random)).toThrow(RangeError);
    expect(() => new ServerList(servers, 'sorted' as 'random', Math.random)).toThrow(/serverOrder/);
  });
});
