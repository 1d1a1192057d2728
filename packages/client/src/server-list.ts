import type { ServerAddress } from './connect-string.js';

/**
 * ServerOrder is the order in which a client tries the members of its connect string:
 * - `random` (the default): shuffled once per client, so the clients of an application spread
 *   over the members and the clients of a lost member split over the others;
 * - `inOrder`: as written, so every client prefers the first member listed (tests, or a
 *   deliberately preferred member such as the one on the same host).
 */
export type ServerOrder = 'random' | 'inOrder';

/**
 * ServerList is the order a client tries the members in (ZooKeeper's StaticHostProvider): fixed
 * once, then walked round robin, so a client never retries the member it just lost before the
 * others. The first member of the order is the client's home: the one it connects to when all
 * serve, and the one it moves back to after a fault sent it elsewhere.
 */
export class ServerList {
  private list: readonly ServerAddress[];
  private readonly order: ServerOrder;
  private readonly random: () => number;
  /** nextIndex is where the next try starts: 0 (home) at first, then just after the member last tried or adopted. */
  private nextIndex = 0;

  constructor(servers: readonly ServerAddress[], order: ServerOrder, random: () => number) {
    if (servers.length === 0) throw new RangeError('a server list needs at least one server');
    const list = [...servers];
    if (order === 'random') {
      // Fisher–Yates with the client's own random source: seedable in tests.
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
    } else if (order !== 'inOrder') {
      throw new RangeError(`serverOrder must be 'random' or 'inOrder': ${String(order)}`);
    }
    this.list = list;
    this.order = order;
    this.random = random;
  }

  /** servers are the members in the order they are tried. */
  get servers(): readonly ServerAddress[] {
    return this.list;
  }

  /**
   * update replaces the members (ZooKeeper's updateServerList, after a membership change): the
   * ones still listed keep their place (and identity), new ones follow in the client's order, and
   * the next try starts from home. Returns whether `server` is still listed.
   */
  update(servers: readonly ServerAddress[], server?: ServerAddress): boolean {
    if (servers.length === 0) throw new RangeError('a server list needs at least one server');
    const key = (s: ServerAddress) => `${s.host}:${s.port}`;
    const wanted = new Set(servers.map(key));
    const kept = this.list.filter((s) => wanted.has(key(s)));
    const have = new Set(kept.map(key));
    const added: ServerAddress[] = [];
    for (const s of servers) {
      if (have.has(key(s))) continue;
      have.add(key(s));
      added.push({ host: s.host, port: s.port });
    }
    if (this.order === 'random') {
      for (let i = added.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [added[i], added[j]] = [added[j]!, added[i]!];
      }
    }
    this.list = [...kept, ...added];
    this.nextIndex = 0;
    return server === undefined || wanted.has(key(server));
  }

  get size(): number {
    return this.list.length;
  }

  /** home is the member this client prefers: the first of its order. */
  get home(): ServerAddress {
    return this.list[0]!;
  }

  /** next returns the member to try now and moves on, round robin. */
  next(): ServerAddress {
    const server = this.list[this.nextIndex]!;
    this.nextIndex = (this.nextIndex + 1) % this.list.length;
    return server;
  }

  /** connectedTo records the member a session now runs on: after losing it, the client tries the one after it first. */
  connectedTo(server: ServerAddress): void {
    // A member an update removed while the session was moving to it: start again from home.
    const index = this.list.indexOf(server);
    this.nextIndex = index === -1 ? 0 : (index + 1) % this.list.length;
  }
}
