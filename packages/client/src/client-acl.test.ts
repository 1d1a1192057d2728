import { CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE } from '@zabkit/core';
import { digestId } from '@zabkit/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { digestAcl } from './acl.js';
import { connect, type ZabClient } from './client.js';
import { ZabError } from './errors.js';
import { LeaderElection } from './recipes/leader-election.js';
import { Lock } from './recipes/lock.js';
import { ServiceRegistry } from './recipes/service-registry.js';
import { FakeEnsemble, type FakeMember } from './testing/fake-ensemble.js';
import { nextEvent, waitFor } from './testing/wait.js';

// ZooKeeper ACLs through the SDK: addAuth and its replay, getACL/setACL, create with an acl.

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(size = 1, options: Parameters<typeof FakeEnsemble.start>[2] = {}): Promise<FakeEnsemble> {
  const ensemble = await FakeEnsemble.start(size, 20, options);
  cleanups.push(() => ensemble.stop());
  return ensemble;
}

async function open(connectString: string, options: Parameters<typeof connect>[1] = {}): Promise<ZabClient> {
  // rebalanceDelayMs 0: no move home, whose replays would add to the counts the tests check.
  const client = await connect(connectString, {
    sessionTimeoutMs: 2_000,
    connectTimeoutMs: 3_000,
    rebalanceDelayMs: 0,
    ...options,
  });
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

async function expectCode(promise: Promise<unknown>, code: ZabError['code'], what: string): Promise<ZabError> {
  const error = await rejection(promise);
  expect(ZabError.isInstance(error, code), `${what}: ${String(error)}`).toBe(true);
  return error as ZabError;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const ALICE = { scheme: 'digest', credentials: 'alice:secret' };
const aliceId = { scheme: 'digest', id: digestId('alice:secret') };

describe('ACLs', () => {
  it('a CREATOR_ALL_ACL znode made after addAuth: NO_AUTH without the digest, every call with it', async () => {
    const ensemble = await start();
    const alice = await open(ensemble.connectString);
    await alice.addAuth('digest', 'alice:secret');
    expect(await alice.create('/secure', 'x', { acl: CREATOR_ALL_ACL })).toBe('/secure');
    await alice.create('/secure/child', '', { acl: CREATOR_ALL_ACL });
    const { acl, stat } = await alice.getACL('/secure');
    expect(acl).toEqual([{ perms: Perms.ALL, id: aliceId }]);
    expect(stat.aversion).toBe(0);

    const stranger = await open(ensemble.connectString);
    const denied: [Promise<unknown>, string, string][] = [
      [stranger.get('/secure'), 'getData', '/secure'],
      [stranger.set('/secure', 'y'), 'setData', '/secure'],
      [stranger.delete('/secure/child'), 'delete', '/secure/child'],
      [stranger.create('/secure/other'), 'create', '/secure/other'],
      [stranger.getACL('/secure'), 'getACL', '/secure'],
      [stranger.setACL('/secure', OPEN_ACL_UNSAFE), 'setACL', '/secure'],
    ];
    for (const [call, op, path] of denied) {
      const error = await expectCode(call, 'NO_AUTH', `${op} ${path}`);
      expect(error.op).toBe(op);
      expect(error.path).toBe(path);
    }
    // ZooKeeper checks no ACL on exists.
    expect(await stranger.exists('/secure')).not.toBeNull();

    const friend = await open(ensemble.connectString, { auth: [ALICE] });
    expect(text((await friend.get('/secure')).data)).toBe('x');
    expect((await friend.set('/secure', 'y')).version).toBe(1);
    await friend.create('/secure/other');
    await friend.delete('/secure/child');
    expect((await friend.getACL('/secure')).acl).toEqual([{ perms: Perms.ALL, id: aliceId }]);
    expect((await friend.setACL('/secure', READ_ACL_UNSAFE)).aversion).toBe(1);
    // Now anyone may read, and nobody (not even alice) may write.
    expect(text((await stranger.get('/secure')).data)).toBe('y');
    await expectCode(friend.set('/secure', 'z'), 'NO_AUTH', 'set after READ_ACL_UNSAFE');
  });

  it('setACL checks the aversion: BAD_VERSION on a mismatch, +1 on each success', async () => {
    const ensemble = await start();
    const client = await open(ensemble.connectString);
    await client.create('/v', 'x');
    expect((await client.getACL('/v')).acl).toEqual([...OPEN_ACL_UNSAFE]);
    const error = await expectCode(client.setACL('/v', READ_ACL_UNSAFE, { version: 3 }), 'BAD_VERSION', 'setACL');
    expect(error.op).toBe('setACL');
    const first = await client.setACL('/v', OPEN_ACL_UNSAFE, { version: 0 });
    expect(first.aversion).toBe(1);
    expect(first.version).toBe(0);
    expect((await client.setACL('/v', OPEN_ACL_UNSAFE)).aversion).toBe(2);
    expect((await client.getACL('/v')).stat.aversion).toBe(2);
    await expectCode(client.setACL('/v', OPEN_ACL_UNSAFE, { version: 1 }), 'BAD_VERSION', 'stale aversion');
    await expectCode(client.setACL('/none', OPEN_ACL_UNSAFE), 'NO_NODE', 'setACL of a missing znode');
    await expectCode(client.getACL('/none'), 'NO_NODE', 'getACL of a missing znode');
  });

  it('INVALID_ACL for `auth` without an authenticated id and for an empty list; AUTH_FAILED for an unknown scheme', async () => {
    const ensemble = await start();
    const client = await open(ensemble.connectString);
    await expectCode(client.create('/c', '', { acl: CREATOR_ALL_ACL }), 'INVALID_ACL', 'auth without ids');
    await expectCode(client.create('/c', '', { acl: [] }), 'INVALID_ACL', 'empty list on create');
    await client.create('/c');
    await expectCode(client.setACL('/c', []), 'INVALID_ACL', 'empty list on setACL');
    await expectCode(client.setACL('/c', CREATOR_ALL_ACL), 'INVALID_ACL', 'setACL auth without ids');
    const refused = await expectCode(client.addAuth('kerberos', 'alice'), 'AUTH_FAILED', 'unknown scheme');
    expect(refused.op).toBe('addAuth');
    await expectCode(client.addAuth('digest', 'no-colon'), 'AUTH_FAILED', 'digest without a password');
    // A refused addAuth changes nothing and is not remembered; the session goes on.
    await expectCode(client.create('/d', '', { acl: CREATOR_ALL_ACL }), 'INVALID_ACL', 'still no ids');
    expect(await client.exists('/c')).not.toBeNull();
    await expect(client.addAuth('', 'x')).rejects.toThrow(TypeError);
  });

  it('connect({ auth }) refused: connect rejects with AUTH_FAILED and closes the session', async () => {
    const ensemble = await start();
    const error = await expectCode(
      connect(ensemble.connectString, { connectTimeoutMs: 3_000, auth: [ALICE, { scheme: 'nope', credentials: 'x' }] }),
      'AUTH_FAILED',
      'connect with a refused scheme',
    );
    expect(error.op).toBe('addAuth');
    expect(ensemble.authFrames).toEqual(['digest', 'nope']);
  });

  it('replays the credentials after a reconnect, before the calls that waited; an addAuth made while disconnected waits', async () => {
    const ensemble = await start(3);
    const owner = await open(ensemble.connectString, { auth: [ALICE] });
    await owner.addAuth('digest', 'bob:pw');
    await owner.create('/alice', 'a', { acl: CREATOR_ALL_ACL });
    await owner.create('/bob', 'b', { acl: [digestAcl('bob', 'pw')] });
    await owner.create('/carol', 'c', { acl: [digestAcl('carol', 'pw', Perms.READ)] });
    expect(ensemble.authFrames).toEqual(['digest', 'digest']);

    const member = ensemble.memberOf(owner.sessionId)!;
    const disconnected = owner.waitForState('DISCONNECTED');
    member.dropConnections();
    await disconnected;
    // Made while disconnected: these wait and go after the replayed credentials, so they pass.
    const whileAway = owner.get('/alice');
    const carol = owner.addAuth('digest', 'carol:pw');
    const carolRead = owner.get('/carol');
    await owner.waitForState('CONNECTED', { signal: AbortSignal.timeout(3_000) });
    expect(text((await whileAway).data)).toBe('a');
    await carol;
    expect(text((await carolRead).data)).toBe('c');
    expect(ensemble.memberOf(owner.sessionId)).not.toBe(member);
    // alice and bob replayed, then carol's waiting addAuth.
    expect(ensemble.authFrames).toEqual(['digest', 'digest', 'digest', 'digest', 'digest']);
    expect(text((await owner.get('/bob')).data)).toBe('b');

    // Killing the member: the three are replayed again, on the next member.
    const again = ensemble.memberOf(owner.sessionId)!;
    const reconnected = nextEvent((listener) => owner.on('reconnected', listener), 'reconnected');
    await again.kill();
    await reconnected;
    await waitFor(() => ensemble.authFrames.length === 8, 'the three replayed');
    for (const path of ['/alice', '/bob', '/carol']) expect((await owner.get(path)).data.length).toBe(1);
  });

  it('moving back home: the home connection gets every identity, addAuths made during the move included', async () => {
    const ensemble = await start(2);
    const [home, away] = ensemble.members as [FakeMember, FakeMember];
    const client = await open(ensemble.connectString, { auth: [ALICE], serverOrder: 'inOrder', rebalanceDelayMs: 100 });
    await client.create('/alice', 'a', { acl: CREATOR_ALL_ACL });
    await home.kill();
    await waitFor(() => ensemble.memberOf(client.sessionId) === away && client.state === 'CONNECTED', 'the failover');
    const events: string[] = [];
    client.on('disconnected', () => events.push('disconnected'));
    client.on('reconnected', () => events.push('reconnected'));
    await home.restart();
    // addAuth and a protected read, overlapping, until a while after the move: none may fail.
    // Eight users over and over: a connection holds at most 32 ids, and adding one it holds changes nothing.
    const users = new Set<string>();
    const deadline = Date.now() + 5_000;
    for (let round = 0, after = 0; after < 10; round++) {
      if (Date.now() > deadline) throw new Error('the client did not move home within 5 s');
      const user = `u${round % 8}`;
      users.add(user);
      const [, { data }] = await Promise.all([client.addAuth('digest', `${user}:pw`), client.get('/alice')]);
      expect(text(data)).toBe('a');
      if (ensemble.memberOf(client.sessionId) === home) after++;
    }
    expect(events).toEqual(['reconnected']);
    // `auth` expands to every id the connection holds: alice and each user, all on the home connection.
    await client.create('/after', '', { acl: CREATOR_ALL_ACL });
    const ids = (await client.getACL('/after')).acl.map((entry) => entry.id.id).sort();
    expect(ids).toEqual([aliceId.id, ...[...users].map((user) => digestId(`${user}:pw`))].sort());
  });

  it('an addAuth whose connection drops before the answer is sent again on the next connection and settles there', async () => {
    const ensemble = await start(2);
    const owner = await open(ensemble.connectString, { auth: [ALICE] });
    await owner.create('/alice', 'a', { acl: CREATOR_ALL_ACL });
    const client = await open(ensemble.connectString);
    const member = ensemble.memberOf(client.sessionId)!;
    const adding = client.addAuth('digest', 'alice:secret');
    const read = client.get('/alice').then(
      ({ data }) => text(data),
      (error: unknown) => (ZabError.isInstance(error) ? error.code : error),
    );
    member.dropConnections();
    await adding;
    expect(text((await client.get('/alice')).data)).toBe('a');
    // The read was in flight: CONNECTION_LOSS, or answered if the member read both frames first.
    expect(['CONNECTION_LOSS', 'a']).toContain(await read);
  });

  it('an aborted addAuth that was not sent is withdrawn; the session ends pending addAuths with SESSION_EXPIRED', async () => {
    const ensemble = await start(1);
    const client = await open(ensemble.connectString);
    const disconnected = client.waitForState('DISCONNECTED');
    ensemble.members[0]!.serving = false;
    await disconnected;
    const controller = new AbortController();
    const aborted = client.addAuth('digest', 'alice:secret', { signal: controller.signal });
    controller.abort(new Error('enough'));
    await expect(aborted).rejects.toThrow('enough');
    const pending = client.addAuth('digest', 'bob:pw');
    await client.close();
    const error = await expectCode(pending, 'SESSION_EXPIRED', 'addAuth on a closed client');
    expect(error.op).toBe('addAuth');
    await expectCode(client.addAuth('digest', 'bob:pw'), 'SESSION_EXPIRED', 'addAuth after close');
    expect(ensemble.authFrames).toEqual([]);
  });

  it('remembered credentials the server refuses on replay: authFailed, logged, and not sent again', async () => {
    // The connection's id limit (32: its ip and 31 digests) is full; once `heavy` is the super
    // user, replaying it would add two ids (its digest and super), so the server refuses it.
    const ensemble = await start(2);
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (_: Record<string, unknown>, message: string) => warnings.push(message),
    };
    const client = await open(ensemble.connectString, { logger });
    for (let i = 0; i < 30; i++) await client.addAuth('digest', `user${i}:pw`);
    await client.addAuth('digest', 'heavy:pw');
    expect(ensemble.authFrames.length).toBe(31);
    ensemble.superDigest = digestId('heavy:pw');
    const failed = nextEvent((listener) => client.on('authFailed', listener), 'authFailed');
    ensemble.memberOf(client.sessionId)!.dropConnections();
    expect(await failed).toMatchObject({ scheme: 'digest', code: 'AUTH_FAILED' });
    expect(warnings.some((message) => /refused remembered credentials/.test(message))).toBe(true);
    await client.waitForState('CONNECTED');
    await waitFor(() => ensemble.authFrames.length === 62, 'the replay');
    // The next connection replays the 30 that remain.
    const reconnected = nextEvent((listener) => client.on('reconnected', listener), 'reconnected');
    ensemble.memberOf(client.sessionId)!.dropConnections();
    await reconnected;
    await waitFor(() => ensemble.authFrames.length === 92, 'the second replay');
    await client.sync();
    expect(ensemble.authFrames.length).toBe(92);
  });

  it('the super user (superDigest) reads and writes a CREATOR_ALL znode of another user', async () => {
    const ensemble = await start(1, { superDigest: digestId('super:pw') });
    const alice = await open(ensemble.connectString, { auth: [ALICE] });
    await alice.create('/private', 'p', { acl: CREATOR_ALL_ACL });
    const stranger = await open(ensemble.connectString, { auth: [{ scheme: 'digest', credentials: 'eve:pw' }] });
    await expectCode(stranger.get('/private'), 'NO_AUTH', 'another digest');
    const admin = await open(ensemble.connectString, {
      auth: [{ scheme: 'digest', credentials: new TextEncoder().encode('super:pw') }],
    });
    expect(text((await admin.get('/private')).data)).toBe('p');
    expect((await admin.getACL('/private')).acl).toEqual([{ perms: Perms.ALL, id: aliceId }]);
    await admin.setACL('/private', OPEN_ACL_UNSAFE);
    expect(text((await stranger.get('/private')).data)).toBe('p');
  });

  it('applies the chroot to getACL and setACL; multi and transaction creates take an acl', async () => {
    const ensemble = await start(1);
    const root = await open(ensemble.connectString, { auth: [ALICE] });
    await root.create('/app');
    const client = await open(`${ensemble.connectString}/app`, { auth: [ALICE] });
    await client.create('/x', 'v');
    await client.setACL('/x', READ_ACL_UNSAFE);
    expect((await root.getACL('/app/x')).acl).toEqual([...READ_ACL_UNSAFE]);
    expect((await client.getACL('/x')).stat.aversion).toBe(1);
    const results = await client
      .transaction()
      .create('/t', 'v', { acl: CREATOR_ALL_ACL })
      .create('/t/read', '', { acl: READ_ACL_UNSAFE })
      .commit();
    expect(results.map((result) => (result.op === 'create' ? result.path : result.op))).toEqual(['/t', '/t/read']);
    await client.multi([{ op: 'create', path: '/m', acl: [digestAcl('bob', 'pw', Perms.READ | Perms.ADMIN)] }]);
    expect((await root.getACL('/app/t')).acl).toEqual([{ perms: Perms.ALL, id: aliceId }]);
    expect((await root.getACL('/app/t/read')).acl).toEqual([...READ_ACL_UNSAFE]);
    await expectCode(root.getACL('/app/m'), 'NO_AUTH', 'getACL without READ or ADMIN');
    await root.addAuth('digest', 'bob:pw');
    expect((await root.getACL('/app/m')).acl).toEqual([
      { perms: Perms.READ | Perms.ADMIN, id: { scheme: 'digest', id: digestId('bob:pw') } },
    ]);
    const error = await expectCode(
      client.multi([
        { op: 'create', path: '/n' },
        { op: 'create', path: '/n/child', acl: [] },
      ]),
      'INVALID_ACL',
      'multi with an empty acl',
    );
    expect(error.path).toBe('/n/child');
    expect(await client.exists('/n')).toBeNull();
    expect(() => digestAcl('a:b', 'pw')).toThrow(TypeError);
    expect(() => digestAcl('a', 'pw', 64)).toThrow(RangeError);
  });
});

describe('recipes with an acl', () => {
  it('ServiceRegistry, Lock and LeaderElection create every znode with the acl given', async () => {
    const ensemble = await start(1);
    const client = await open(ensemble.connectString, { auth: [ALICE] });
    const creatorAll = [{ perms: Perms.ALL, id: aliceId }];
    const aclOf = async (path: string) => (await client.getACL(path)).acl;

    const registry = new ServiceRegistry(client, { basePath: '/reg/services', acl: CREATOR_ALL_ACL });
    const registration = await registry.register('api', { id: 'one', port: 1 });
    for (const path of ['/reg', '/reg/services', '/reg/services/api', registration.path])
      expect(await aclOf(path), path).toEqual(creatorAll);
    expect((await registry.instances('api')).map((instance) => instance.id)).toEqual(['one']);

    const lock = new Lock(client, '/locks/a', { acl: CREATOR_ALL_ACL });
    await lock.acquire({ timeoutMs: 3_000 });
    for (const path of ['/locks', '/locks/a', lock.nodePath!]) expect(await aclOf(path), path).toEqual(creatorAll);
    await lock.release();

    const aliceOnly = [digestAcl('alice', 'secret')];
    const election = new LeaderElection(client, '/election', 'me', { acl: aliceOnly });
    await election.start();
    await election.waitForLeadership({ timeoutMs: 3_000 });
    const [node] = await client.children('/election');
    expect(await aclOf('/election')).toEqual(aliceOnly);
    expect(await aclOf(`/election/${node}`)).toEqual(aliceOnly);
    await election.stop();

    // Without the acl option: OPEN_ACL_UNSAFE, as before.
    const plain = new Lock(client, '/locks/b');
    await plain.acquire({ timeoutMs: 3_000 });
    expect(await aclOf('/locks/b')).toEqual([...OPEN_ACL_UNSAFE]);
    expect(await aclOf(plain.nodePath!)).toEqual([...OPEN_ACL_UNSAFE]);
    await plain.release();

    // Another session without alice's digest cannot read the registry.
    const stranger = await connect(ensemble.connectString, { connectTimeoutMs: 3_000 });
    cleanups.push(() => stranger.close());
    await expectCode(
      new ServiceRegistry(stranger, { basePath: '/reg/services' }).instances('api'),
      'NO_AUTH',
      'registry',
    );
  });
});
