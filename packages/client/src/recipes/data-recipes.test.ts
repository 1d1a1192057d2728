import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import { FakeEnsemble } from '../testing/fake-ensemble.js';
import { nextEvent, sleep, waitFor } from '../testing/wait.js';
import { DistributedBarrier } from './barrier.js';
import { DistributedPriorityQueue, DistributedQueue } from './distributed-queue.js';
import { DistributedDoubleBarrier } from './double-barrier.js';
import { NodeCache } from './node-cache.js';
import { ensurePath, joinPath } from './paths.js';
import { SharedCounter } from './shared-counter.js';
import { TreeCache } from './tree-cache.js';

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

/** only is a connect string naming member `index` alone, so a test can cut that client off by killing it. */
const only = (fake: FakeEnsemble, index: number) => `127.0.0.1:${fake.members[index]!.port}`;

const decoder = new TextDecoder();

/** serverTree reads the subtree under `root` from the server: path → data text. */
async function serverTree(client: ZabClient, root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (path: string) => {
    try {
      out[path] = decoder.decode((await client.get(path)).data);
      for (const name of await client.children(path)) await walk(joinPath(path, name));
    } catch (error) {
      if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
    }
  };
  await client.sync(root === '/' ? '/' : root);
  await walk(root);
  return out;
}

function cacheTree(cache: TreeCache): Record<string, string> {
  return Object.fromEntries(cache.entries().map((node) => [node.path, decoder.decode(node.data)]));
}

/** childrenOf lists a znode's children, none when it is gone (an empty container the leader deleted). */
const childrenOf = (client: ZabClient, path: string) =>
  client.children(path).catch((error: unknown) => {
    if (ZabError.isInstance(error, 'NO_NODE')) return [] as string[];
    throw error;
  });

const isExpired = (error: unknown) => ZabError.isInstance(error, 'SESSION_EXPIRED');
const isTimeout = (error: unknown) => (error as Error).name === 'TimeoutError';

describe('ensurePath with container', () => {
  it('creates CONTAINER parents that the server deletes once their last child goes', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    await ensurePath(client, '/apps/jobs', { container: true });
    await ensurePath(client, '/plain/dir');
    await client.create('/apps/jobs/one');
    await client.create('/plain/dir/one');
    await sleep(200);
    // A container is kept while it has children, and never before it had one.
    expect(await client.exists('/apps/jobs')).not.toBeNull();
    await client.delete('/apps/jobs/one');
    await client.delete('/plain/dir/one');
    await waitFor(() => fake.tree.stat('/apps') === null, 'the leader to delete the empty containers');
    expect(fake.tree.stat('/plain/dir')).not.toBeNull();
  });

  it('starts again from the root when a parent it found existing is deleted before its child is created', async () => {
    // Found by the real-process lock test (1 run in 13): an emptied container parent was deleted
    // by the leader between ensurePath's NODE_EXISTS for it and the create of the next segment.
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const other = await open(fake.connectString);
    await client.create('/vanishing');
    let deletions = 0;
    const create = client.create.bind(client);
    const racing = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'create') return Reflect.get(target, property, receiver);
        return async (
          path: string,
          ...rest: Parameters<ZabClient['create']> extends [string, ...infer R] ? R : never
        ) => {
          try {
            return await create(path, ...rest);
          } catch (error) {
            // The parent exists; someone deletes it before the child's create (once: the second pass creates it).
            if (path === '/vanishing' && ZabError.isInstance(error, 'NODE_EXISTS') && deletions < 1) {
              deletions++;
              await other.delete('/vanishing');
            }
            throw error;
          }
        };
      },
    });
    await ensurePath(racing, '/vanishing/lock');
    expect(deletions).toBe(1);
    expect(await client.exists('/vanishing/lock')).not.toBeNull();
  });
});

describe('DistributedBarrier', () => {
  it('holds every waiter until it is removed, across a connection loss', async () => {
    const fake = await ensemble(3);
    const owner = await open(fake.connectString);
    const waiters = await Promise.all([0, 1, 2].map(() => open(fake.connectString)));
    const barrier = new DistributedBarrier(owner, '/barriers/deploy');
    await barrier.set();
    await barrier.set();
    expect(await barrier.isSet()).toBe(true);
    let released = 0;
    const waits = waiters.map((client) =>
      new DistributedBarrier(client, '/barriers/deploy').waitOnBarrier({ timeoutMs: 10_000 }).then(() => released++),
    );
    await sleep(150);
    expect(released).toBe(0);
    // One waiter loses its connection; the barrier comes down while it may be away.
    const reconnected = nextEvent((listener) => waiters[0]!.on('reconnected', listener), 'reconnected');
    fake.memberOf(waiters[0]!.sessionId)!.dropConnections();
    await barrier.remove();
    await reconnected;
    await Promise.all(waits);
    expect(released).toBe(3);
    await barrier.remove();
    // The parent is a container: gone with its last child.
    await waitFor(() => fake.tree.stat('/barriers') === null, 'the container parent to go');
  });

  it('a wait rejects on timeout, on abort and when the session expires', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const barrier = new DistributedBarrier(client, '/b');
    await barrier.set();
    expect(isTimeout(await barrier.waitOnBarrier({ timeoutMs: 50 }).catch((error: unknown) => error))).toBe(true);
    const controller = new AbortController();
    const aborted = barrier.waitOnBarrier({ signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    const waiting = barrier.waitOnBarrier().catch((error: unknown) => error);
    fake.expire(client.sessionId);
    expect(isExpired(await waiting)).toBe(true);
  });
});

describe('DistributedDoubleBarrier', () => {
  it('lets no member in before all are there, and none out before all leave', async () => {
    const fake = await ensemble(3);
    const clients = await Promise.all([0, 1, 2, 3].map(() => open(fake.connectString)));
    const log: string[] = [];
    const barriers = clients.map((client) => new DistributedDoubleBarrier(client, '/double/round', 4));
    const runs = barriers.map(async (barrier, i) => {
      await sleep(i * 40);
      log.push(`enter ${i}`);
      await barrier.enter({ timeoutMs: 10_000 });
      log.push(`entered ${i}`);
      await sleep(i * 30);
      log.push(`leave ${i}`);
      await barrier.leave({ timeoutMs: 10_000 });
      log.push(`left ${i}`);
    });
    await Promise.all(runs);
    const firstEntered = log.findIndex((line) => line.startsWith('entered'));
    expect(log.slice(0, firstEntered).filter((line) => line.startsWith('enter '))).toHaveLength(4);
    const firstLeft = log.findIndex((line) => line.startsWith('left'));
    expect(log.slice(0, firstLeft).filter((line) => line.startsWith('leave '))).toHaveLength(4);
    // The last leaver removed the ready znode with itself; the containers then go.
    await waitFor(() => fake.tree.stat('/double') === null, 'the barrier directories to go');
    // The path serves a second round.
    await Promise.all(barriers.slice(0, 4).map((barrier) => barrier.enter({ timeoutMs: 10_000 })));
    await Promise.all(barriers.map((barrier) => barrier.leave({ timeoutMs: 10_000 })));
  }, 20_000);

  it('a member whose session expires drops out of the count and hears lost', async () => {
    const fake = await ensemble(2);
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => open(fake.connectString)));
    const barrierA = new DistributedDoubleBarrier(a!, '/dbx', 3);
    const lost = nextEvent((listener) => barrierA.on('lost', listener), 'lost');
    const enteringA = barrierA.enter().catch((error: unknown) => error);
    const enteringB = new DistributedDoubleBarrier(b!, '/dbx', 3).enter({ timeoutMs: 10_000 });
    await waitFor(async () => (await c!.children('/dbx').catch(() => [])).length === 2, 'two members');
    fake.expire(a!.sessionId);
    expect(isExpired(await enteringA)).toBe(true);
    await lost;
    await waitFor(async () => (await childrenOf(c!, '/dbx')).length === 1, 'the expired member to go');
    let entered = false;
    void enteringB.then(() => {
      entered = true;
    });
    const enteringC = new DistributedDoubleBarrier(c!, '/dbx', 3).enter({ timeoutMs: 10_000 });
    await waitFor(async () => (await d!.children('/dbx')).length === 2, 'the third member');
    await sleep(100);
    // Two live members of three: the expired one no longer counts.
    expect(entered).toBe(false);
    await new DistributedDoubleBarrier(d!, '/dbx', 3).enter({ timeoutMs: 10_000 });
    await Promise.all([enteringB, enteringC]);
  });

  it('a member that saw ready created has entered, even if ready went with its creator', async () => {
    const fake = await ensemble(2);
    const a = await open(only(fake, 0));
    const b = await open(only(fake, 1));
    const entering = new DistributedDoubleBarrier(a, '/dbr', 2).enter({ timeoutMs: 5_000 });
    await waitFor(async () => (await childrenOf(b, '/dbr')).length === 1, 'the first member');
    await sleep(50);
    // A's member learns nothing for a while: B completes the count, creates ready, and dies.
    fake.members[0]!.behind = true;
    await new DistributedDoubleBarrier(b, '/dbr', 2).enter({ timeoutMs: 5_000 });
    await b.close();
    // A's member learns both at once: ready was created, and is gone again.
    fake.members[0]!.behind = false;
    await entering;
  });

  it('an enter that times out or is aborted leaves no znode; a suspended member keeps its place', async () => {
    const fake = await ensemble(3);
    const [a, b] = await Promise.all([0, 1].map(() => open(fake.connectString)));
    const barrier = new DistributedDoubleBarrier(a!, '/dbt', 2);
    expect(isTimeout(await barrier.enter({ timeoutMs: 100 }).catch((error: unknown) => error))).toBe(true);
    expect(barrier.memberPath).toBeUndefined();
    expect(await childrenOf(b!, '/dbt')).toEqual([]);
    const controller = new AbortController();
    const entering = barrier.enter({ signal: controller.signal });
    await waitFor(async () => (await childrenOf(b!, '/dbt')).length === 1, 'the member znode');
    controller.abort(new Error('give up'));
    await expect(entering).rejects.toThrow('give up');
    expect(await childrenOf(b!, '/dbt')).toEqual([]);
    // Across a connection loss a waiting member keeps its znode and enters.
    const suspended = nextEvent((listener) => barrier.on('suspended', () => listener(undefined)), 'suspended');
    const waiting = barrier.enter({ timeoutMs: 10_000 });
    await waitFor(async () => (await childrenOf(b!, '/dbt')).length === 1, 'the member znode');
    fake.memberOf(a!.sessionId)!.dropConnections();
    await suspended;
    const other = new DistributedDoubleBarrier(b!, '/dbt', 2);
    await other.enter({ timeoutMs: 10_000 });
    await waiting;
    await Promise.all([barrier.leave(), other.leave()]);
    await waitFor(() => fake.tree.stat('/dbt') === null, 'the barrier directory to go');
  });
});

describe('DistributedQueue', () => {
  it('delivers every item exactly once to competing consumers, FIFO for one consumer', async () => {
    const fake = await ensemble(3);
    const producers = await Promise.all([0, 1].map(() => open(fake.connectString)));
    const consumers = await Promise.all([0, 1, 2, 3].map(() => open(fake.connectString)));
    const fifo = new DistributedQueue<number>(producers[0]!, '/queues/fifo');
    for (let i = 0; i < 5; i++) await fifo.put(i);
    expect(await fifo.size()).toBe(5);
    const order: number[] = [];
    for await (const item of new DistributedQueue<number>(consumers[0]!, '/queues/fifo').items()) {
      order.push(item);
      if (order.length === 5) break;
    }
    expect(order).toEqual([0, 1, 2, 3, 4]);

    const taken: number[] = [];
    const queues = consumers.map((client) => new DistributedQueue<number>(client, '/queues/work'));
    let done = false;
    const consuming = queues.map(async (queue) => {
      while (!done) {
        const item = await queue.take({ timeoutMs: 300 }).catch((error: unknown) => {
          if (isTimeout(error)) return undefined;
          throw error;
        });
        if (item !== undefined) taken.push(item);
      }
    });
    await Promise.all(
      producers.map(async (client, p) => {
        const queue = new DistributedQueue<number>(client, '/queues/work');
        for (let i = 0; i < 20; i++) await queue.put(p * 100 + i);
      }),
    );
    await waitFor(() => taken.length >= 40, 'every item taken', 15_000);
    done = true;
    await Promise.all(consuming);
    expect(taken).toHaveLength(40);
    expect(new Set(taken).size).toBe(40);
    expect(await queues[0]!.poll()).toBeUndefined();
  }, 20_000);

  it('orders a priority queue by priority, then by put order', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const queue = new DistributedPriorityQueue<string>(client, '/pq');
    await queue.put('low-1', 10);
    await queue.put('high-1', -5);
    await queue.put('mid', 0);
    await queue.put('low-2', 10);
    await queue.put('high-2', -5);
    await queue.put('max', 2 ** 31 - 1);
    await queue.put('min', -(2 ** 31));
    expect(() => queue.put('bad', 1.5)).toThrow(RangeError);
    const out: string[] = [];
    for (let i = 0; i < 7; i++) out.push(await queue.take());
    expect(out).toEqual(['min', 'high-1', 'high-2', 'mid', 'low-1', 'low-2', 'max']);
  });

  it('a waiting take survives a connection loss, times out cleanly, and fails on expiry', async () => {
    const fake = await ensemble(3);
    const consumer = await open(fake.connectString);
    const producer = await open(fake.connectString);
    const queue = new DistributedQueue<string>(consumer, '/q2');
    expect(isTimeout(await queue.take({ timeoutMs: 80 }).catch((error: unknown) => error))).toBe(true);
    // Nothing was created by a consumer that gave up.
    expect(await producer.exists('/q2')).toBeNull();
    const taking = queue.take({ timeoutMs: 10_000 });
    await sleep(50);
    fake.memberOf(consumer.sessionId)!.dropConnections();
    await new DistributedQueue<string>(producer, '/q2').put('after the cut');
    expect(await taking).toBe('after the cut');
    const waiting = queue.take().catch((error: unknown) => error);
    await sleep(50);
    fake.expire(consumer.sessionId);
    expect(isExpired(await waiting)).toBe(true);
  });

  it('lock-safe: an item stays until its handler succeeds; a consumer that dies loses it to another', async () => {
    const fake = await ensemble(2);
    const [a, b, producer] = await Promise.all([0, 1, 2].map(() => open(fake.connectString)));
    const options = { lockSafe: true };
    await new DistributedQueue<string>(producer!, '/lq', options).put('job-1');
    const queueA = new DistributedQueue<string>(a!, '/lq', options);
    const queueB = new DistributedQueue<string>(b!, '/lq', options);
    await expect(
      queueA.consume(() => {
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await queueA.size()).toBe(1);
    // A holds the item; B cannot take it meanwhile; A's session dies, the lock with it, and B gets it.
    let handlerSignal: AbortSignal | undefined;
    const started = new Promise<void>((resolve) => {
      void queueA
        .consume(async (_item, { signal }) => {
          handlerSignal = signal;
          resolve();
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        })
        .catch(() => {});
    });
    await started;
    expect(await queueB.poll()).toBeUndefined();
    const consumedByB = queueB.consume((item) => `B did ${item}`, { timeoutMs: 10_000 });
    fake.expire(a!.sessionId);
    expect(await consumedByB).toBe('B did job-1');
    expect(handlerSignal!.aborted).toBe(true);
    expect(await queueB.size()).toBe(0);
    // An aborted consume leaves no lock behind.
    const controller = new AbortController();
    const waiting = queueB.consume(() => 'never', { signal: controller.signal });
    await sleep(50);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(await b!.children('/lq/locks').catch(() => [])).toEqual([]);
    await expect(new DistributedQueue(b!, '/lq').consume(() => 1)).rejects.toThrow('lockSafe');
  });
});

describe('aborted creates', () => {
  it('a put or an enter aborted while its create is in flight leaves no znode behind', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const observer = await open(fake.connectString);
    const queue = new DistributedQueue<string>(client, '/aq', { containerParents: false });
    const barrier = new DistributedDoubleBarrier(client, '/ab', 2, { containerParents: false });
    await queue.put('kept');
    await ensurePath(client, '/ab');
    const member = fake.memberOf(client.sessionId)!;
    for (const start of [
      (signal: AbortSignal) => queue.put('aborted', { signal }),
      (signal: AbortSignal) => barrier.enter({ signal }),
    ]) {
      member.holdReplies = true;
      const frames = fake.frames.length;
      const controller = new AbortController();
      const call = start(controller.signal).catch((error: unknown) => error);
      await waitFor(
        () => fake.frames.slice(frames).some((frame) => frame.request.op === 'multi' || frame.request.op === 'create'),
        'the create to reach the server',
      );
      controller.abort(new Error('abandoned'));
      expect(((await call) as Error).message).toBe('abandoned');
      member.releaseReplies();
    }
    await waitFor(async () => (await observer.children('/ab')).length === 0, 'the member znode to be cleaned up');
    await waitFor(async () => (await observer.children('/aq')).length === 1, 'the item to be cleaned up');
    expect(await new DistributedQueue<string>(observer, '/aq').take()).toBe('kept');
  });
});

describe('SharedCounter', () => {
  it('loses no increment among 5 clients, and CAS fails on a stale version', async () => {
    const fake = await ensemble(3);
    const clients = await Promise.all([0, 1, 2, 3, 4].map(() => open(fake.connectString)));
    const counters = clients.map((client) => new SharedCounter(client, '/counters/hits'));
    const results = await Promise.all(
      counters.map(async (counter) => {
        const posts: number[] = [];
        for (let i = 0; i < 20; i++) posts.push((await counter.increment()).postValue);
        return posts;
      }),
    );
    // Every increment saw its own value: no two wrote the same one.
    expect(new Set(results.flat()).size).toBe(100);
    const { value, version } = await counters[0]!.get();
    expect(value).toBe(100);
    expect(await counters[1]!.trySet(7, version)).toBe(true);
    expect(await counters[2]!.trySet(8, version)).toBe(false);
    expect((await counters[3]!.get()).value).toBe(7);
    expect(await counters[3]!.compareAndSet(6, 1)).toBe(false);
    expect(await counters[3]!.compareAndSet(7, 1)).toBe(true);
    expect((await counters[4]!.add(-3)).postValue).toBe(-2);
    expect((await counters[4]!.set(2 ** 40)).value).toBe(2 ** 40);
    expect((await counters[0]!.get()).value).toBe(2 ** 40);
    await expect(counters[0]!.add(0.5)).rejects.toThrow(RangeError);
  }, 20_000);

  it('a write whose reply is lost is recognised, or reported as undecidable, never repeated', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const counter = new SharedCounter(client, '/c1', { initialValue: 10 });
    expect((await counter.increment()).postValue).toBe(11);
    const member = fake.memberOf(client.sessionId)!;
    member.holdReplies = true;
    const setting = counter.trySet(20, 0);
    await waitFor(() => fake.tree.stat('/c1')?.version === 1, 'the setData to commit');
    member.dropConnections();
    member.releaseReplies();
    // The write committed, its reply was lost: it is recognised by its write id, not sent again.
    expect(await setting).toBe(true);
    expect(await counter.get()).toEqual({ value: 20, version: 1 });
    // A lost reply, and another client's write after ours: ours made version 2 and theirs 3, so
    // the write id is gone and nothing tells whether ours committed; the call says so.
    const ownMember = fake.memberOf(client.sessionId)!;
    const other = await open(only(fake, 1 - ownMember.index));
    ownMember.holdReplies = true;
    const lost = counter.trySet(30, 1);
    await waitFor(() => fake.tree.stat('/c1')?.version === 2, 'the second setData to commit');
    await new SharedCounter(other, '/c1').add(1);
    ownMember.dropConnections();
    ownMember.releaseReplies();
    const outcome = await lost.catch((error: unknown) => error);
    expect(ZabError.isInstance(outcome, 'CONNECTION_LOSS') && /may or may not/.test(outcome.message)).toBe(true);
    expect((await counter.get()).value).toBe(31);
  });

  it('keeps value current through a watch and across its member’s death, and stops with lost', async () => {
    const fake = await ensemble(2);
    const reader = await open(only(fake, 0));
    const writer = await open(only(fake, 1));
    const counter = new SharedCounter(reader, '/c2', { initialValue: 5 });
    cleanups.push(() => counter.close());
    expect(await counter.start()).toEqual({ value: 5, version: 0 });
    const changes: number[] = [];
    counter.on('change', ({ value }) => changes.push(value));
    const writing = new SharedCounter(writer, '/c2');
    await writing.add(10);
    await waitFor(() => counter.value === 15, 'the change');
    // The reader's only member dies; writes go on; it comes back and the reader catches up.
    const suspended = nextEvent((listener) => counter.on('suspended', () => listener(undefined)), 'suspended');
    await fake.members[0]!.kill();
    await suspended;
    for (let i = 0; i < 5; i++) await writing.increment();
    const reconnected = nextEvent((listener) => counter.on('reconnected', () => listener(undefined)), 'reconnected');
    await fake.members[0]!.restart();
    await reconnected;
    await waitFor(() => counter.value === 20, 'the resync');
    expect(changes.at(-1)).toBe(20);
    const lost = nextEvent((listener) => counter.on('lost', listener), 'lost');
    fake.expire(reader.sessionId);
    await lost;
    await writing.increment();
    await sleep(100);
    expect(counter.value).toBe(20);
  });
});

describe('TreeCache', () => {
  it('loads, follows creates, changes and deletes, and emits initialized once', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const writer = await open(fake.connectString);
    await ensurePath(writer, '/tree/a');
    await writer.create('/tree/a/x', 'x0');
    const cache = new TreeCache(client, '/tree');
    cleanups.push(() => cache.close());
    const events: string[] = [];
    cache.on('added', (node) => events.push(`added ${node.path}`));
    cache.on('updated', (node, previous) =>
      events.push(`updated ${node.path} ${decoder.decode(previous.data)}→${decoder.decode(node.data)}`),
    );
    cache.on('removed', (node) => events.push(`removed ${node.path}`));
    cache.on('initialized', () => events.push('initialized'));
    await cache.start();
    expect(events).toEqual(['added /tree', 'added /tree/a', 'added /tree/a/x', 'initialized']);
    expect(cache.children('/tree/a')).toEqual(['x']);
    events.length = 0;
    await writer.create('/tree/b', 'b0');
    await writer.set('/tree/a/x', 'x1');
    await writer.delete('/tree/a/x');
    await writer.delete('/tree/a');
    await waitFor(() => events.length === 4, 'four events');
    expect(events).toEqual(['added /tree/b', 'updated /tree/a/x x0→x1', 'removed /tree/a/x', 'removed /tree/a']);
    expect(Object.keys(cacheTree(cache))).toEqual(['/tree', '/tree/b']);
  });

  it('converges to the server’s tree after a burst of writes with a disconnect in the middle', async () => {
    const fake = await ensemble(3);
    const readers = await Promise.all([open(only(fake, 0)), open(only(fake, 2))]);
    const writer = await open(only(fake, 1));
    await ensurePath(writer, '/burst');
    const caches = readers.map((reader) => new TreeCache(reader, '/burst'));
    for (const cache of caches) {
      cleanups.push(() => cache.close());
      await cache.start();
    }
    const suspended = nextEvent((listener) => caches[0]!.on('suspended', () => listener(undefined)), 'suspended');
    const reconnected = nextEvent((listener) => caches[0]!.on('reconnected', () => listener(undefined)), 'reconnected');
    // A seeded mix of creates, sets and deletes; the first reader's member dies a third of the way in.
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const live: string[] = [];
    for (let step = 0; step < 150; step++) {
      if (step === 50) {
        await fake.members[0]!.kill();
        await suspended;
      }
      if (step === 100) await fake.members[0]!.restart();
      const roll = random();
      if (live.length === 0 || roll < 0.45) {
        const parent = live.length > 0 && random() < 0.5 ? live[Math.floor(random() * live.length)]! : '/burst';
        const path = await writer.create(joinPath(parent, `n${step}`), `v${step}`);
        live.push(path);
      } else if (roll < 0.75) {
        await writer.set(live[Math.floor(random() * live.length)]!, `s${step}`);
      } else {
        const path = live[Math.floor(random() * live.length)]!;
        if (live.some((other) => other.startsWith(`${path}/`))) continue;
        await writer.delete(path);
        live.splice(live.indexOf(path), 1);
      }
    }
    await reconnected;
    const expected = await serverTree(writer, '/burst');
    expect(Object.keys(expected).length).toBeGreaterThan(10);
    for (const cache of caches)
      await waitFor(() => JSON.stringify(cacheTree(cache)) === JSON.stringify(expected), 'convergence');
  }, 20_000);

  it('stops with lost when the session expires; a start aborted before it loads rejects', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const writer = await open(fake.connectString);
    await writer.create('/t3', 'a');
    const cache = new TreeCache(client, '/t3');
    await cache.start();
    const lost = nextEvent((listener) => cache.on('lost', listener), 'lost');
    fake.expire(client.sessionId);
    await lost;
    await writer.set('/t3', 'b');
    await sleep(100);
    expect(decoder.decode(cache.get('/t3')!.data)).toBe('a');
    const other = await open(fake.connectString);
    const controller = new AbortController();
    controller.abort(new Error('no'));
    await expect(new TreeCache(other, '/t3').start({ signal: controller.signal })).rejects.toThrow('no');
    // A cache creates nothing.
    expect(await writer.children('/t3')).toEqual([]);
  });
});

describe('NodeCache', () => {
  it('mirrors one znode through create, change, delete and a reconnect, ignoring its children', async () => {
    const fake = await ensemble(2);
    const client = await open(only(fake, 0));
    const writer = await open(only(fake, 1));
    const cache = new NodeCache(client, '/node');
    cleanups.push(() => cache.close());
    expect(await cache.start()).toBeUndefined();
    const events: string[] = [];
    cache.on('added', (node) => events.push(`added ${decoder.decode(node.data)}`));
    cache.on('updated', (node) => events.push(`updated ${decoder.decode(node.data)}`));
    cache.on('removed', () => events.push('removed'));
    await writer.create('/node', 'one');
    await waitFor(() => events.length === 1, 'the create');
    await writer.create('/node/child');
    await writer.set('/node', 'two');
    await waitFor(() => events.length === 2, 'the change');
    expect(events).toEqual(['added one', 'updated two']);
    // Changes made while the client is cut off are found by the re-read after the reconnect.
    await fake.members[0]!.kill();
    await writer.set('/node', 'three');
    await fake.members[0]!.restart();
    await waitFor(() => cache.current !== undefined && decoder.decode(cache.current.data) === 'three', 'the resync');
    await writer.delete('/node/child');
    await writer.delete('/node');
    await waitFor(() => cache.current === undefined, 'the delete');
    expect(events).toEqual(['added one', 'updated two', 'updated three', 'removed']);
  });
});
