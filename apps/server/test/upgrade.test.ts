import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterMember } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { PEER_PROTOCOL_ANNOUNCE_ENV, PEER_PROTOCOL_MAX_ENV } from '../src/protocol-announce.js';
import { RawClient, until } from './raw-client.js';

// Data directories written by the version before ACLs (test/fixtures/before-acls, made at 25873c5)
// under today's members: their creates carry no access list, in the log and in the snapshots.
// Before the fix in log-record.ts every member died at start ("acl is not iterable"); now every
// znode comes back, open, and the ensemble takes writes.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('data directories written before ACLs', () => {
  it('load on every member: every znode is there and open, and the ensemble serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-upgrade-'));
    dirs.push(dir);
    for (const member of [1, 2, 3]) {
      cpSync(
        join(new URL('.', import.meta.url).pathname, 'fixtures', 'before-acls', `member-${member}`),
        join(dir, `member-${member}`),
        {
          recursive: true,
        },
      );
    }
    const ensemble = await startEnsemble({ dir, size: 3, fresh: false });
    try {
      for (const member of ensemble.members) {
        const client = await RawClient.connect(`${member.host}:${member.clientPort}`);
        try {
          await client.request({ op: 'sync', path: '/' });
          expect(await client.get('/old')).toBe('written by the old version');
          expect(await client.get('/old/n119')).toBe('v119');
          expect(await client.get('/old/m')).toBe('multi');
          const children = await client.request({ op: 'getChildren', path: '/old', watch: false });
          expect(children.result?.op === 'getChildren' ? children.result.children.length : -1).toBe(121);
          const acl = await client.request({ op: 'getACL', path: '/old/n0' });
          expect(acl.result).toMatchObject({ acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }] });
          expect(
            (
              await client.request({
                op: 'create',
                path: `/new-${member.id}`,
                data: new Uint8Array(1),
                mode: 0,
                ttlMs: 0,
              })
            ).error,
          ).toBeNull();
        } finally {
          client.close();
        }
      }
    } finally {
      await ensemble.close();
    }
  }, 90_000);
});

// A rolling upgrade's middle (README "Rolling upgrade"): member 3 announces the next peer protocol
// version (the test hook: it offers 5 first, speaking only 3 and 4), the others are today's release.
// Member 3 has the highest id, so it dials both others: each refuses 5 naming 4, and it dials
// again at 4. The ensemble must form, serve writes through every member and show 4 everywhere.
describe('a member announcing the next peer protocol version', () => {
  it('connects to today’s members at today’s version; the ensemble serves writes through every member', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-rolling-'));
    dirs.push(dir);
    const logs = new Map<number, string[]>();
    const ensemble: Ensemble = await startEnsemble({
      dir,
      size: 3,
      peerSecret: true,
      env: (id) => (id === 3 ? { [PEER_PROTOCOL_ANNOUNCE_ENV]: '5' } : {}),
      onLog: (id, line) => logs.set(id, [...(logs.get(id) ?? []), line]),
    });
    try {
      const versionsSeen = async () => {
        const seen: Record<number, (number | null)[]> = {};
        for (const member of ensemble.members) {
          const status = await ensemble.status(member.id);
          seen[member.id] = status?.members.map((m) => (m.connected ? m.protocolVersion : null)) ?? [];
        }
        return seen;
      };
      await until('every peer connection up', async () =>
        Object.values(await versionsSeen()).every((row) => row.length === 3 && row.every((v) => v !== null)),
      );
      // Every connection, seen from both ends, runs at version 4.
      expect(await versionsSeen()).toEqual({ 1: [4, 4, 4], 2: [4, 4, 4], 3: [4, 4, 4] });
      const announced = await Promise.all(ensemble.members.map((m) => ensemble.status(m.id)));
      expect(announced.map((s) => s?.protocolVersions)).toEqual(
        [4, 4, 5].map((peerAnnounced) => ({
          peer: { min: 3, max: 4 },
          peerAnnounced,
          client: { min: 1, max: 1 },
        })),
      );
      // What each side logged: today's members refused 5 (their ordinary refusal), member 3 fell back.
      const text = (id: number) => (logs.get(id) ?? []).join('\n');
      expect(text(3)).toMatch(/announces peer protocol version 5/);
      expect(text(3)).toMatch(/server 1 speaks peer protocol version 4 at most: dialing again at version 4/);
      expect(text(3)).toMatch(/server 2 speaks peer protocol version 4 at most: dialing again at version 4/);
      for (const id of [1, 2]) expect(text(id)).toMatch(/peer protocol version 5 is not supported/);

      const writeThroughEach = async (round: string) => {
        const live = ensemble.members.filter((m) => m.pid !== null);
        for (const member of live) {
          const client = await RawClient.connect(`${member.host}:${member.clientPort}`);
          try {
            await client.create(`/${round}-${member.id}`, `written through ${member.id}`);
          } finally {
            client.close();
          }
        }
        for (const member of live) {
          const client = await RawClient.connect(`${member.host}:${member.clientPort}`);
          try {
            await client.sync('/');
            for (const writer of live) {
              expect(await client.get(`/${round}-${writer.id}`)).toBe(`written through ${writer.id}`);
            }
          } finally {
            client.close();
          }
        }
      };
      await writeThroughEach('mixed');
      // A leader lost mid-upgrade: the two left (one of them the announcing member, unless it was
      // the leader) elect again over their version-4 connections and serve.
      const leader = await ensemble.waitForLeader();
      await ensemble.kill(leader);
      await ensemble.waitForLeader();
      await writeThroughEach('after-failover');
      await ensemble.restart(leader);
      await ensemble.waitForLeader();
      await until('the restarted member reconnected at 4', async () => {
        const seen = await versionsSeen();
        return Object.values(seen).every((row) => row.length === 3 && row.every((v) => v === 4));
      });
    } finally {
      await ensemble.close();
    }
  }, 120_000);
});

// The other half of an upgrade to the release with membership changes (peer protocol 4): while a
// member of the previous release (version 3 only: the test hook) is connected, a change is refused
// RECONFIG_DISABLED naming it, because it could not read the change; once that member runs the new
// release (restarted without the hook), the same change commits.
describe('membership changes wait for every connected member to speak peer protocol 4', () => {
  it('refuses a change while member 3 speaks version 3 only, and takes it once member 3 is upgraded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-rolling-members-'));
    dirs.push(dir);
    let upgraded = false;
    const password = 'upgrade-test';
    const ensemble: Ensemble = await startEnsemble({
      dir,
      size: 3,
      spares: 1,
      config: { superDigest: `super:${createHash('sha1').update(`super:${password}`).digest('base64')}` },
      env: (id) => (id === 3 && !upgraded ? { [PEER_PROTOCOL_MAX_ENV]: '3' } : {}),
    });
    const superClient = async () => {
      const raw = await RawClient.connect(ensemble.connectString.split(',')[0] as string);
      expect((await raw.addAuth('digest', `super:${password}`)).error).toBeNull();
      return raw;
    };
    let client = await superClient();
    try {
      await until('member 3 connected at version 3', async () => {
        const status = await ensemble.status(1);
        return status?.members.find((m) => m.id === 3)?.protocolVersion === 3;
      });
      const members = async () => {
        const text = await client.get('/zookeeper/members');
        return (JSON.parse(text ?? '{}') as { members: ClusterMember[] }).members;
      };
      const spare = ensemble.members.find((m) => m.id === 4)!;
      const added: ClusterMember = {
        id: 4,
        role: 'observer',
        address: `${spare.host}:${spare.peerPort}:${spare.peerPort}`,
        clientAddress: '',
        endpoints: JSON.stringify({ client: `${spare.host}:${spare.clientPort}` }),
      };
      const ask = async () =>
        client.request({ op: 'reconfig', members: [...(await members()), added], fromVersion: -1 }, 20_000);
      const refused = await ask();
      expect(refused.error).toBe('RECONFIG_DISABLED');
      expect((await ensemble.status(1))?.config.version).toBe('0x0');
      // Member 3 upgraded: restarted on the new release, it connects at 4 and the change commits.
      upgraded = true;
      await ensemble.stop(3);
      await ensemble.restart(3);
      await ensemble.waitForLeader();
      // The spare starts now: it serves nothing until the change names it (waitForLeader would wait for it).
      await ensemble.restart(4);
      await until('member 3 connected at version 4', async () => {
        const status = await ensemble.status(1);
        return status?.members.find((m) => m.id === 3)?.protocolVersion === 4;
      });
      // A new session: the restart may have moved the leader, which closes clients of the others.
      client.close();
      client = await superClient();
      let taken = await ask();
      // The restart may have moved the leader: a lost connection is asked again.
      for (let i = 0; i < 5 && taken.error === 'CONNECTION_LOSS'; i++) taken = await ask();
      expect(taken.error).toBeNull();
      await until('member 4 observes under the new configuration', async () => {
        const status = await ensemble.status(4);
        return status?.role === 'observing' && status.established && status.config.committed;
      });
    } finally {
      client.close();
      await ensemble.close();
    }
  }, 120_000);
});
