import { X509Certificate } from 'node:crypto';
import type { ACL, ErrorCode, Request } from '@zabkit/core';
import { digestId, x509Id } from '@zabkit/transport-tcp';
import { makeTestPki, type TestPki } from '@zabkit/transport-tcp/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, cleanup, followersOf, type Harness, startHarness } from './acceptance.js';
import { RawClient } from './raw-client.js';

// Issue 14, item 4, from outside: real member processes, real sockets, identities as a client gets
// them (a digest by addAuth, its address, its TLS client certificate, the configured super user).
// The matrix (each op × each perm × each scheme, super user included) runs against every member,
// and again on a member restarted from its disk, one brought up to date by DIFF and one rebuilt by
// SNAP: writes are checked by the leader, reads by the member that serves them, so a replica that
// lost or garbled an ACL shows up on its own port.

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());
afterEach(cleanup);

const PERMS = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16 } as const;
const SUPER_PASSWORD = 'super:Correct-Horse-42';

/** A client and how it authenticates. */
interface Identity {
  name: string;
  connect(harness: Harness, id: number): Promise<RawClient>;
}

const opened: RawClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});

function secureAddressOf(harness: Harness, id: number): string {
  const member = harness.ensemble.members.find((m) => m.id === id);
  return `${member?.host}:${member?.secureClientPort}`;
}

/** syncModes lists how the leader `id` synchronized learners (its 'synchronizing a learner' lines) since log line `from`. */
function syncModes(harness: Harness, id: number, from: number): string[] {
  return harness.logs
    .slice(from)
    .filter((line) => line.startsWith(`${id} `) && line.includes('synchronizing a learner'))
    .map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)).mode as string);
}

/** serving waits until member `id` takes client connections (after a restart it syncs first). */
async function serving(harness: Harness, id: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await RawClient.connect(addressOf(harness, id), undefined, 10_000, { connectTimeoutMs: 2_000 })).close();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function plain(harness: Harness, id: number, digest?: string): Promise<RawClient> {
  const client = await RawClient.connect(addressOf(harness, id));
  opened.push(client);
  if (digest !== undefined) expect((await client.addAuth('digest', digest)).error).toBeNull();
  return client;
}

async function withCertificate(harness: Harness, id: number, cert: { cert: string; key: string }): Promise<RawClient> {
  const client = await RawClient.connect(secureAddressOf(harness, id), undefined, 10_000, {
    tls: { ca: pki.ca.cert, cert: cert.cert, key: cert.key },
  });
  opened.push(client);
  return client;
}

/** SCHEMES: an ACL id per scheme, and an identity that holds it and one that does not. */
function schemes(): { scheme: string; id: string; holder: Identity; stranger: Identity }[] {
  const member9 = pki.member(9);
  return [
    {
      scheme: 'digest',
      id: digestId('alice:alice-pw'),
      holder: { name: 'alice', connect: (h, id) => plain(h, id, 'alice:alice-pw') },
      stranger: { name: 'bob', connect: (h, id) => plain(h, id, 'bob:bob-pw') },
    },
    {
      // Every test client is on loopback: a block that holds it, and one that does not.
      scheme: 'ip',
      id: '127.0.0.0/8',
      holder: { name: 'loopback', connect: (h, id) => plain(h, id) },
      stranger: { name: 'loopback, ACL for 10/8', connect: (h, id) => plain(h, id) },
    },
    {
      scheme: 'x509',
      id: x509Id(new X509Certificate(pki.client.cert)),
      holder: { name: 'client-1 certificate', connect: (h, id) => withCertificate(h, id, pki.client) },
      stranger: {
        name: 'another certificate of the same CA',
        connect: (h, id) => withCertificate(h, id, { cert: member9.cert, key: member9.key }),
      },
    },
  ];
}

const acl = (perms: number, scheme: string, id: string): ACL[] => [{ perms, id: { scheme, id } }];

/** opsOn lists each ACL-checked op on `path` (and its children) with the perm ZooKeeper requires. */
function opsOn(path: string, round: number): { name: string; perm: number; request: Request }[] {
  const data = new TextEncoder().encode(`r${round}`);
  return [
    { name: 'getData', perm: PERMS.READ, request: { op: 'getData', path, watch: false } },
    { name: 'getChildren', perm: PERMS.READ, request: { op: 'getChildren', path, watch: false } },
    { name: 'getACL', perm: PERMS.READ | PERMS.ADMIN, request: { op: 'getACL', path } },
    { name: 'setData', perm: PERMS.WRITE, request: { op: 'setData', path, data, version: -1 } },
    {
      name: 'create child',
      perm: PERMS.CREATE,
      request: { op: 'create', path: `${path}/new-`, data, mode: 2, ttlMs: 0 },
    },
    { name: 'delete child', perm: PERMS.DELETE, request: { op: 'delete', path: `${path}/doomed`, version: -1 } },
    {
      name: 'setACL',
      perm: PERMS.ADMIN,
      // The list it already has: the znode stays as the matrix set it.
      request: { op: 'setACL', path, acl: [], version: -1 },
    },
    {
      name: 'multi setData',
      perm: PERMS.WRITE,
      request: { op: 'multi', ops: [{ op: 'setData', path, data, version: -1 }] },
    },
    { name: 'multi check', perm: PERMS.READ, request: { op: 'multi', ops: [{ op: 'check', path, version: -1 }] } },
  ];
}

/**
 * setUp creates, as the super user, /matrix/<scheme>-<perm> with an ACL granting only `perm` to
 * the scheme's id (for ip, a second znode grants it to 10.0.0.0/8, which no test client holds).
 */
async function setUp(harness: Harness, via: number): Promise<void> {
  const root = await plain(harness, via, SUPER_PASSWORD);
  await root.create('/matrix', '');
  for (const { scheme, id } of schemes()) {
    for (const [name, perm] of Object.entries(PERMS)) {
      const path = `/matrix/${scheme}-${name}`;
      const ids = scheme === 'ip' ? [id, '10.0.0.0/8'] : [id];
      for (const [index, aclId] of ids.entries()) {
        const reply = await root.request({
          op: 'create',
          path: `${path}${index === 0 ? '' : '-other'}`,
          data: new Uint8Array(0),
          mode: 0,
          ttlMs: 0,
          acl: acl(perm, scheme, aclId),
        });
        expect([path, reply.error]).toEqual([path, null]);
      }
    }
  }
}

/** ensureDoomed (re)creates the `doomed` child of `path` (every matrix znode, if none given) as the super user. */
async function ensureDoomed(root: RawClient, path?: string): Promise<void> {
  const paths =
    path !== undefined
      ? [path]
      : schemes().flatMap(({ scheme }) =>
          Object.keys(PERMS).flatMap((name) =>
            (scheme === 'ip' ? ['', '-other'] : ['']).map((suffix) => `/matrix/${scheme}-${name}${suffix}`),
          ),
        );
  const replies = await Promise.all(
    paths.map((parent) =>
      root.request({ op: 'create', path: `${parent}/doomed`, data: new Uint8Array(0), mode: 0, ttlMs: 0 }),
    ),
  );
  for (const reply of replies) expect([null, 'NODE_EXISTS']).toContain(reply.error);
}

/** matrix runs every op × perm × scheme through member `id`; returns the mismatches (empty when all is right). */
async function matrix(harness: Harness, id: number, round: number): Promise<string[]> {
  const root = await plain(harness, id, SUPER_PASSWORD);
  await ensureDoomed(root);
  await root.request({ op: 'sync', path: '/' });
  const wrong: string[] = [];
  let checked = 0;
  for (const { scheme, id: aclId, holder, stranger } of schemes()) {
    const holderClient = await holder.connect(harness, id);
    const strangerClient = await stranger.connect(harness, id);
    const anonymous = await plain(harness, id);
    for (const [permName, perm] of Object.entries(PERMS)) {
      const base = `/matrix/${scheme}-${permName}`;
      const cases: [string, RawClient, string, boolean][] = [
        [holder.name, holderClient, base, true],
        // The ip stranger is the same loopback client against the 10/8 znode.
        [stranger.name, strangerClient, scheme === 'ip' ? `${base}-other` : base, false],
        ['anonymous', anonymous, scheme === 'ip' ? `${base}-other` : base, false],
        ['super user', root, base, true],
      ];
      for (const [who, client, path, holds] of cases) {
        const superUser = who === 'super user';
        for (const op of opsOn(path, round)) {
          const request =
            op.request.op === 'setACL'
              ? { ...op.request, acl: acl(perm, scheme, path.endsWith('-other') ? '10.0.0.0/8' : aclId) }
              : op.request;
          const reply = await client.request(request);
          if (op.name === 'delete child' && reply.error === null) await ensureDoomed(root, path);
          const expected: ErrorCode | null = superUser || (holds && (op.perm & perm) !== 0) ? null : 'NO_AUTH';
          checked++;
          if (reply.error !== expected) {
            wrong.push(
              `member ${id}: ${who} ${op.name} ${path} (granted ${permName}): ${reply.error}, expected ${expected}`,
            );
          }
        }
      }
    }
  }
  console.log(`member ${id}, round ${round}: ${checked} checks, ${wrong.length} wrong`);
  return wrong;
}

describe('issue 14: ACLs as ZooKeeper defines them, from outside', () => {
  it('the matrix (op × perm × scheme, super user) holds on every member, after a restart, a DIFF and a SNAP', async () => {
    const harness = await startHarness(
      { superDigest: digestId(SUPER_PASSWORD), snapshotEveryTxns: 200, historyEntriesMax: 100 },
      {
        clientTls: {
          certFile: pki.server.certFile,
          keyFile: pki.server.keyFile,
          caFile: pki.ca.certFile,
          clientCertificates: 'request',
        },
      },
    );
    const leader = await harness.ensemble.waitForLeader();
    const [restarted, behind] = followersOf(harness, leader) as [number, number];
    await setUp(harness, restarted);
    for (const id of [leader, restarted, behind]) expect(await matrix(harness, id, 1)).toEqual([]);

    // Restart from disk (kill -9): the ACLs come back from the snapshot and the log.
    await harness.ensemble.kill(restarted);
    await harness.ensemble.restart(restarted);
    await serving(harness, restarted);
    expect(await matrix(harness, restarted, 2)).toEqual([]);

    // DIFF: a member down while ACLs change comes back and serves the new ones.
    await harness.ensemble.stop(behind);
    const root = await plain(harness, leader, SUPER_PASSWORD);
    const moved = '/matrix/digest-READ';
    expect(
      (
        await root.request({
          op: 'setACL',
          path: moved,
          acl: acl(PERMS.WRITE, 'digest', digestId('alice:alice-pw')),
          version: -1,
        })
      ).error,
    ).toBeNull();
    const beforeDiff = harness.logs.length;
    await harness.ensemble.restart(behind);
    await serving(harness, behind);
    expect(syncModes(harness, leader, beforeDiff)).toEqual(['DIFF']);
    const alice = await plain(harness, behind, 'alice:alice-pw');
    await alice.request({ op: 'sync', path: '/' });
    expect((await alice.request({ op: 'getData', path: moved, watch: false })).error).toBe('NO_AUTH');
    expect(
      (await alice.request({ op: 'setData', path: moved, data: new Uint8Array(1), version: -1 })).error,
    ).toBeNull();
    expect(
      (
        await root.request({
          op: 'setACL',
          path: moved,
          acl: acl(PERMS.READ, 'digest', digestId('alice:alice-pw')),
          version: -1,
        })
      ).error,
    ).toBeNull();
    expect(await matrix(harness, behind, 3)).toEqual([]);

    // SNAP: a member rebuilt from nothing.
    await harness.ensemble.stop(behind);
    const beforeSnap = harness.logs.length;
    await harness.ensemble.restart(behind, { wipe: true });
    await serving(harness, behind);
    expect(syncModes(harness, leader, beforeSnap)).toEqual(['SNAP']);
    expect(await matrix(harness, behind, 4)).toEqual([]);
  }, 180_000);

  it('refuses what ZooKeeper refuses: INVALID_ACL, AUTH_FAILED, a wrong aversion; addAuth covers only later requests', async () => {
    const harness = await startHarness({ superDigest: digestId(SUPER_PASSWORD) });
    const leader = await harness.ensemble.waitForLeader();
    const client = await plain(harness, leader);
    const create = (path: string, list: ACL[]): Request => ({
      op: 'create',
      path,
      data: new Uint8Array(0),
      mode: 0,
      ttlMs: 0,
      acl: list,
    });
    expect((await client.request(create('/a', []))).error).toBe('INVALID_ACL');
    expect((await client.request(create('/a', acl(31, 'auth', '')))).error).toBe('INVALID_ACL');
    expect((await client.request(create('/a', acl(31, 'digest', 'alice:plaintext')))).error).toBe('INVALID_ACL');
    expect((await client.request(create('/a', acl(31, 'ip', '10.0.0.0/40')))).error).toBe('INVALID_ACL');
    expect((await client.request(create('/a', acl(31, 'sasl', 'alice')))).error).toBe('INVALID_ACL');
    expect((await client.addAuth('sasl', 'alice')).error).toBe('AUTH_FAILED');
    expect((await client.addAuth('digest', 'no-colon')).error).toBe('AUTH_FAILED');
    // The connection lives on after a refused addAuth.
    expect((await client.request({ op: 'exists', path: '/', watch: false })).error).toBeNull();

    // An addAuth sent right after a request does not cover it; it covers the next one.
    const creator = client.request(create('/owned', acl(31, 'auth', '')));
    const auth = client.addAuth('digest', 'carol:carol-pw');
    const after = client.request(create('/owned2', acl(31, 'auth', '')));
    expect((await creator).error).toBe('INVALID_ACL');
    expect((await auth).error).toBeNull();
    expect((await after).error).toBeNull();
    const listed = await client.request({ op: 'getACL', path: '/owned2' });
    expect(listed.result).toMatchObject({ op: 'getACL', acl: acl(31, 'digest', digestId('carol:carol-pw')) });

    const version = await client.request({
      op: 'setACL',
      path: '/owned2',
      acl: acl(31, 'world', 'anyone'),
      version: 3,
    });
    expect(version.error).toBe('BAD_VERSION');
    const done = await client.request({ op: 'setACL', path: '/owned2', acl: acl(1, 'world', 'anyone'), version: 0 });
    expect(done.result).toMatchObject({ op: 'setACL', stat: { aversion: 1 } });
    // READ only now, for everyone including its creator; the super user still may.
    expect((await client.request({ op: 'setData', path: '/owned2', data: new Uint8Array(1), version: -1 })).error).toBe(
      'NO_AUTH',
    );
    const root = await plain(harness, leader, SUPER_PASSWORD);
    expect((await root.request({ op: 'delete', path: '/owned2', version: -1 })).error).toBeNull();
    // A wrong super password is an ordinary digest: no special rights.
    const impostor = await plain(harness, leader, 'super:wrong');
    expect(
      (await impostor.request({ op: 'setACL', path: '/', acl: acl(1, 'world', 'anyone'), version: -1 })).error,
    ).toBeNull();
    expect(
      (await impostor.request({ op: 'create', path: '/x', data: new Uint8Array(0), mode: 0, ttlMs: 0 })).error,
    ).toBe('NO_AUTH');
    expect(
      (await root.request({ op: 'setACL', path: '/', acl: acl(31, 'world', 'anyone'), version: -1 })).error,
    ).toBeNull();
  }, 60_000);
});
