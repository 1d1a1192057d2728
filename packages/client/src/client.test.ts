import { zxidEpoch } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ZabClient } from './client.js';
import { ZabError } from './errors.js';
import { FakeEnsemble } from './testing/fake-ensemble.js';
import { nextEvent, sleep, waitFor } from './testing/wait.js';
import type { WatchedEvent } from './watch-registry.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(size = 3, options: Parameters<typeof connect>[1] = {}) {
  const ensemble = await FakeEnsemble.start(size);
  cleanups.push(() => ensemble.stop());
  const client = await open(ensemble.connectString, options);
  return { ensemble, client };
}

async function open(connectString: string, options: Parameters<typeof connect>[1] = {}): Promise<ZabClient> {
  const client = await connect(connectString, { sessionTimeoutMs: 2_000, connectTimeoutMs: 3_000, ...options });
  cleanups.push(() => client.close());
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('operations', () => {
  it('create, get, set, exists, children, delete with versions and stats', async () => {
    const { client } = await setup(1);
    expect(client.state).toBe('CONNECTED');
    expect(client.sessionId).toBeGreaterThan(0);
    expect(await client.create('/a', 'one')).toBe('/a');
    const { data, stat } = await client.get('/a');
    expect(text(data)).toBe('one');
    expect(stat.version).toBe(0);
    const stat1 = await client.set('/a', new Uint8Array([1, 2]), { version: 0 });
    expect(stat1.version).toBe(1);
    expect(stat1.mzxid).toBeGreaterThan(stat.mzxid);
    expect((await client.exists('/a'))?.dataLength).toBe(2);
    expect(await client.exists('/missing')).toBeNull();
    await client.create('/a/b');
    await client.create('/a/c');
    expect(await client.children('/a')).toEqual(['b', 'c']);
    const withStat = await client.children('/a', { stat: true });
    expect(withStat.children).toEqual(['b', 'c']);
    expect(withStat.stat.numChildren).toBe(2);
    const sequential = await client.create('/a/s-', 'x', { mode: 'PERSISTENT_SEQUENTIAL' });
    expect(sequential).toMatch(/^\/a\/s-\d{10}$/);
    await client.delete('/a/b', { version: 0 });
    expect(await client.exists('/a/b')).toBeNull();
    await client.sync('/a');
    expect(client.lastZxidSeen).toBeGreaterThan(0);
  });

  it('fails with ZooKeeper codes naming the path and op', async () => {
    const { client } = await setup(1);
    await client.create('/p');
    await client.create('/p/c');
    const cases: [() => Promise<unknown>, string, string, string][] = [
      [() => client.get('/nope'), 'NO_NODE', 'getData', '/nope'],
      [() => client.create('/p'), 'NODE_EXISTS', 'create', '/p'],
      [() => client.set('/p', 'x', { version: 7 }), 'BAD_VERSION', 'setData', '/p'],
      [() => client.delete('/p'), 'NOT_EMPTY', 'delete', '/p'],
      [() => client.create('/x/y'), 'NO_NODE', 'create', '/x/y'],
      [() => client.get('no-slash'), 'INVALID_PATH', 'getData', 'no-slash'],
      [() => client.create('/p/'), 'INVALID_PATH', 'create', '/p/'],
      [() => client.delete('/p/c', { version: 3 }), 'BAD_VERSION', 'delete', '/p/c'],
    ];
    for (const [call, code, op, path] of cases) {
      const error = await rejection(call());
      expect(ZabError.isInstance(error, code as 'NO_NODE'), `${op} ${path}: ${String(error)}`).toBe(true);
      expect((error as ZabError).op).toBe(op);
      expect((error as ZabError).path).toBe(path);
    }
    const ephemeral = await client.create('/e', '', { mode: 'EPHEMERAL' });
    expect(
      ZabError.isInstance(await rejection(client.create(`${ephemeral}/child`)), 'NO_CHILDREN_FOR_EPHEMERALS'),
    ).toBe(true);
  });

  it('multi and transaction commit all or nothing', async () => {
    const { client } = await setup(1);
    const results = await client
      .transaction()
      .create('/t', 'v')
      .create('/t/a')
      .set('/t', 'w', { version: 0 })
      .check('/t', 1)
      .commit();
    expect(results.map((result) => result.op)).toEqual(['create', 'create', 'set', 'check']);
    const error = await rejection(
      client.multi([
        { op: 'create', path: '/t/b' },
        { op: 'delete', path: '/t/missing' },
      ]),
    );
    expect(ZabError.isInstance(error, 'NO_NODE')).toBe(true);
    expect((error as ZabError).path).toBe('/t/missing');
    expect((error as ZabError).results?.map((result) => (result.op === 'error' ? result.code : result.op))).toEqual([
      'RUNTIME_INCONSISTENCY',
      'NO_NODE',
    ]);
    expect(await client.exists('/t/b')).toBeNull();
  });

  it('getEphemerals lists the session ephemerals; a chroot is applied both ways', async () => {
    const ensemble = await FakeEnsemble.start(1);
    cleanups.push(() => ensemble.stop());
    const root = await open(ensemble.connectString);
    await root.create('/app');
    const client = await open(`${ensemble.connectString}/app`);
    const created = await client.create('/e-', 'x', { mode: 'EPHEMERAL_SEQUENTIAL' });
    expect(created).toMatch(/^\/e-\d{10}$/);
    expect(await client.getEphemerals()).toEqual([created]);
    expect(await root.children('/app')).toEqual([created.slice(1)]);
    const events: WatchedEvent[] = [];
    await client.exists('/w', { watch: (event) => events.push(event) });
    await root.create('/app/w');
    await waitFor(() => events.length === 1, 'the chrooted watch');
    expect(events[0]).toMatchObject({ type: 'NODE_CREATED', path: '/w' });
  });

  it('keeps many requests in flight, matches replies by xid and keeps FIFO order', async () => {
    const { client, ensemble } = await setup(1);
    await client.create('/n', '0');
    const calls: Promise<unknown>[] = [];
    for (let i = 1; i <= 300; i++) {
      calls.push(client.set('/n', String(i)));
      calls.push(client.get('/n').then(({ data }) => text(data)));
    }
    const results = await Promise.all(calls);
    for (let i = 1; i <= 300; i++) {
      expect((results[2 * i - 2] as { version: number }).version).toBe(i);
      expect(results[2 * i - 1]).toBe(String(i));
    }
    const xids = ensemble.frames.map((frame) => frame.xid);
    expect(xids).toEqual([...xids].sort((a, b) => a - b));
    expect(xids[0]).toBeGreaterThanOrEqual(1);
  });

  it('linearizable reads set the frame flag (the server then confirms its leadership before answering)', async () => {
    const { client, ensemble } = await setup(1);
    await client.create('/l', 'v');
    expect(text((await client.get('/l', { linearizable: true })).data)).toBe('v');
    expect(ensemble.frames.at(-1)?.linearizable).toBe(true);
    await client.get('/l');
    expect(ensemble.frames.at(-1)?.linearizable ?? false).toBe(false);
  });
});

describe('watches', () => {
  it('one-shot watches fire once; `watch: true` goes to the client watch event', async () => {
    const { client } = await setup(1);
    await client.create('/w', 'a');
    const fired: WatchedEvent[] = [];
    const seen: WatchedEvent[] = [];
    client.on('watch', (event) => seen.push(event));
    await client.get('/w', { watch: (event) => fired.push(event) });
    await client.children('/w', { watch: true });
    await client.set('/w', 'b');
    await client.set('/w', 'c');
    await client.create('/w/k');
    await client.create('/w/l');
    await waitFor(() => fired.length === 1 && seen.length === 1, 'the two watches');
    await sleep(50);
    expect(fired).toEqual([{ type: 'NODE_DATA_CHANGED', path: '/w', zxid: expect.any(Number) }]);
    expect(seen).toEqual([{ type: 'NODE_CHILDREN_CHANGED', path: '/w', zxid: expect.any(Number) }]);
    expect(fired[0]!.zxid).toBeLessThanOrEqual(client.lastZxidSeen);
  });

  it('persistent watches keep firing; recursive ones cover the subtree; breaking the loop removes the watch', async () => {
    const { client, ensemble } = await setup(1);
    await client.create('/r');
    const persistent = client.watch('/r');
    const recursive = client.watch('/r', { recursive: true });
    await Promise.all([persistent.ready, recursive.ready]);
    await client.set('/r', '1');
    await client.create('/r/a');
    await client.create('/r/a/b');
    await client.set('/r', '2');
    const persistentEvents: string[] = [];
    for await (const event of persistent) {
      persistentEvents.push(`${event.type} ${event.path}`);
      if (persistentEvents.length === 3) break;
    }
    expect(persistentEvents).toEqual(['NODE_DATA_CHANGED /r', 'NODE_CHILDREN_CHANGED /r', 'NODE_DATA_CHANGED /r']);
    const recursiveEvents: string[] = [];
    for await (const event of recursive) {
      recursiveEvents.push(`${event.type} ${event.path}`);
      if (recursiveEvents.length === 4) break;
    }
    expect(recursiveEvents).toEqual([
      'NODE_DATA_CHANGED /r',
      'NODE_CREATED /r/a',
      'NODE_CREATED /r/a/b',
      'NODE_DATA_CHANGED /r',
    ]);
    await waitFor(
      () => ensemble.frames.filter((frame) => frame.request.op === 'removeWatches').length === 2,
      'two removeWatches',
    );
  });

  it('a stream throws the signal reason when aborted and ends when the client closes', async () => {
    const { client } = await setup(1);
    const controller = new AbortController();
    const aborted = client.watch('/x', { signal: controller.signal });
    const ending = client.watch('/y');
    await Promise.all([aborted.ready, ending.ready]);
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(
      (async () => {
        for await (const _ of aborted) {
        }
      })(),
    ).rejects.toThrow('stop');
    setTimeout(() => client.close(), 20);
    const got: WatchedEvent[] = [];
    for await (const event of ending) got.push(event);
    expect(got).toEqual([]);
  });
});

describe('connection', () => {
  it('heartbeats at a third of the negotiated timeout and keeps an idle session', async () => {
    const { client, ensemble } = await setup(1, { sessionTimeoutMs: 300 });
    expect(client.sessionTimeoutMs).toBe(300);
    await sleep(700);
    expect(ensemble.members[0]!.pings).toBeGreaterThanOrEqual(3);
    expect(client.state).toBe('CONNECTED');
    await client.create('/alive');
  });

  it('moves the session to another member when its member dies: in-flight calls fail, ephemerals and watches survive', async () => {
    const { client, ensemble } = await setup(3);
    const member = ensemble.memberOf(client.sessionId)!;
    const other = ensemble.members.find((m) => m !== member)!;
    const observer = await open(`127.0.0.1:${other.port}`);
    await client.create('/e', '', { mode: 'EPHEMERAL' });
    await client.create('/d', 'v0');
    const events: WatchedEvent[] = [];
    await client.get('/d', { watch: (event) => events.push(event) });
    const recursive = client.watch('/d', { recursive: true });
    await recursive.ready;
    const zxids: number[] = [];
    member.holdReplies = true;
    const inFlight = rejection(client.get('/d'));
    await waitFor(() => ensemble.frames.at(-1)?.request.op === 'getData', 'the held request');
    const disconnected = nextEvent((listener) => client.on('disconnected', listener), 'disconnected');
    const reconnected = nextEvent((listener) => client.on('reconnected', listener), 'reconnected');
    await member.kill();
    // Written while the client is away: the re-registered one-shot watch must still fire.
    await observer.set('/d', 'v1');
    const lost = await inFlight;
    expect(ZabError.isInstance(lost, 'CONNECTION_LOSS')).toBe(true);
    expect((lost as ZabError).path).toBe('/d');
    await disconnected;
    const whileAway = client.get('/d');
    await reconnected;
    expect(ensemble.memberOf(client.sessionId)).not.toBe(member);
    expect(text((await whileAway).data)).toBe('v1');
    await waitFor(() => events.length === 1, 'the watch set before the failover');
    expect(events[0]!.type).toBe('NODE_DATA_CHANGED');
    expect(await observer.exists('/e')).not.toBeNull();
    await observer.set('/d', 'v2');
    for await (const event of recursive) {
      zxids.push(event.zxid);
      if (event.type === 'NODE_DATA_CHANGED') break;
    }
    expect(zxids.length).toBeGreaterThan(0);
    const connects = ensemble.members.flatMap((m) => m.connects).filter((c) => c.sessionId === client.sessionId);
    expect(connects.at(-1)!.lastZxidSeen).toBeGreaterThan(0);
    expect(ensemble.frames.some((frame) => frame.request.op === 'setWatches')).toBe(true);
  });

  it('skips members behind the zxid it has seen (ZXID_AHEAD) and never reads older data', async () => {
    const { client, ensemble } = await setup(3);
    const member = ensemble.memberOf(client.sessionId)!;
    const others = ensemble.members.filter((m) => m !== member);
    // others[0] learns no commit from now on: the create's zxid is past what it applied.
    others[0]!.behind = true;
    await client.create('/z', 'new');
    const reconnected = nextEvent((listener) => client.on('reconnected', listener), 'reconnected');
    member.dropConnections();
    await reconnected;
    expect(ensemble.memberOf(client.sessionId)).toBe(others[1]);
    expect(text((await client.get('/z')).data)).toBe('new');
  });

  it('waitForState resolves on the state, rejects when the session ends first or the signal aborts', async () => {
    const { client, ensemble } = await setup(3);
    await client.waitForState('CONNECTED');
    const member = ensemble.memberOf(client.sessionId)!;
    const disconnected = client.waitForState('DISCONNECTED');
    member.dropConnections();
    await disconnected;
    expect(client.state).toBe('DISCONNECTED');
    await client.waitForState('CONNECTED', { signal: AbortSignal.timeout(3_000) });
    expect(client.state).toBe('CONNECTED');
    expect(ensemble.memberOf(client.sessionId)).not.toBe(member);
    await expect(
      client.waitForState('DISCONNECTED', { signal: AbortSignal.abort(new Error('enough')) }),
    ).rejects.toThrow('enough');
    const waiting = client.waitForState('DISCONNECTED', { signal: AbortSignal.timeout(50) });
    await expect(waiting).rejects.toThrow(/timed out|aborted/i);
    const never = rejection(client.waitForState('CLOSED'));
    ensemble.expire(client.sessionId);
    const error = await never;
    expect(ZabError.isInstance(error, 'SESSION_EXPIRED')).toBe(true);
    expect((error as ZabError).op).toBe('waitForState');
    await client.waitForState('EXPIRED');
    expect(ZabError.isInstance(await rejection(client.waitForState('CONNECTED')), 'SESSION_EXPIRED')).toBe(true);
  });

  it('reports expiry when the cluster expired the session, and fails every call with SESSION_EXPIRED', async () => {
    const { client, ensemble } = await setup(2);
    await client.create('/gone', '', { mode: 'EPHEMERAL' });
    const stream = client.watch('/s');
    await stream.ready;
    const expired = nextEvent((listener) => client.on('expired', listener), 'expired');
    ensemble.expire(client.sessionId);
    await expired;
    expect(client.state).toBe('EXPIRED');
    expect(ZabError.isInstance(await rejection(client.get('/')), 'SESSION_EXPIRED')).toBe(true);
    expect(ZabError.isInstance(await rejection(client.create('/q')), 'SESSION_EXPIRED')).toBe(true);
    const error = await rejection(
      (async () => {
        for await (const _ of stream) {
        }
      })(),
    );
    expect(ZabError.isInstance(error, 'SESSION_EXPIRED')).toBe(true);
    expect(ensemble.tree.stat('/gone')).toBeNull();
  });

  it('declares the session expired when no member is reachable within the session timeout', async () => {
    const { client, ensemble } = await setup(2, { sessionTimeoutMs: 400 });
    const disconnected = nextEvent((listener) => client.on('disconnected', listener), 'disconnected');
    await client.create('/mine', '', { mode: 'EPHEMERAL' });
    await Promise.all(ensemble.members.map((member) => member.kill()));
    await disconnected;
    const late = rejection(client.get('/'));
    await nextEvent((listener) => client.on('expired', listener), 'local expiry', 3_000);
    expect(ZabError.isInstance(await late, 'SESSION_EXPIRED')).toBe(true);
    // The leader, which no member reaches, comes to the same end on its own clock: no heartbeat
    // reached it within the timeout, so it expires the session and deletes its ephemerals.
    await waitFor(() => !ensemble.sessions.isLive(client.sessionId), 'the leader to expire the session', 3_000);
    expect(ensemble.tree.stat('/mine')).toBeNull();
  });

  it('the session id is the zxid that created it, and the timeout is what the server negotiated', async () => {
    const { client, ensemble } = await setup(1, { sessionTimeoutMs: 10 * 60_000 });
    expect(client.sessionTimeoutMs).toBe(ensemble.sessionTimeoutMsMax);
    await client.create('/owned', '', { mode: 'EPHEMERAL' });
    const stat = ensemble.tree.stat('/owned')!;
    expect(stat.ephemeralOwner).toBe(client.sessionId);
    // A zxid: the leader's epoch in the high 32 bits, and before the session's own first write.
    expect(zxidEpoch(client.sessionId)).toBeGreaterThan(0);
    expect(client.sessionId).toBeLessThan(stat.czxid);
    const next = await open(ensemble.connectString);
    expect(next.sessionId).toBeGreaterThan(stat.czxid);
  });

  it('an abort rejects at once with the reason and leaves the other calls matched', async () => {
    const { client, ensemble } = await setup(1);
    await client.create('/a', 'x');
    const member = ensemble.members[0]!;
    member.holdReplies = true;
    const controller = new AbortController();
    const aborted = client.get('/a', { signal: controller.signal });
    const after = client.get('/a');
    controller.abort(new Error('enough'));
    await expect(aborted).rejects.toThrow('enough');
    member.releaseReplies();
    expect(text((await after).data)).toBe('x');
    await expect(client.get('/a', { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
  });

  it('close ends the session: ephemerals go, later calls fail with SESSION_EXPIRED', async () => {
    const { client, ensemble } = await setup(1);
    await client.create('/mine', '', { mode: 'EPHEMERAL' });
    const closed = nextEvent((listener) => client.on('closed', () => listener(undefined)), 'closed');
    const pending = client.exists('/mine');
    await client.close();
    await closed;
    expect(await pending).not.toBeNull();
    expect(ensemble.tree.stat('/mine')).toBeNull();
    expect(client.state).toBe('CLOSED');
    expect(ZabError.isInstance(await rejection(client.get('/')), 'SESSION_EXPIRED')).toBe(true);
  });

  it('connect fails with CONNECTION_LOSS when no server answers, and honours its signal', async () => {
    const ensemble = await FakeEnsemble.start(1);
    for (const member of ensemble.members) member.serving = false;
    cleanups.push(() => ensemble.stop());
    // 1.5 s: a loaded machine may take more than a few hundred ms for the first refusal.
    const error = await rejection(connect(ensemble.connectString, { connectTimeoutMs: 1_500 }));
    expect(ZabError.isInstance(error, 'CONNECTION_LOSS')).toBe(true);
    expect((error as Error).message).toMatch(/NOT_SERVING|no leader/);
    await expect(
      connect(ensemble.connectString, { connectTimeoutMs: 5_000, signal: AbortSignal.timeout(100) }),
    ).rejects.toThrow(/timed out|aborted/i);
  });
});
