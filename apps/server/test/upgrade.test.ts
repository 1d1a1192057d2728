import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { PEER_PROTOCOL_ANNOUNCE_ENV } from '../src/protocol-announce.js';
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
// version (the test hook: it offers 4 first, speaking only 3), the others are today's release.
// Member 3 has the highest id, so it dials both others: each refuses 4 naming 3, and it dials
// again at 3. The ensemble must form, serve writes through every member and show 3 everywhere.
describe('a member announcing the next peer protocol version', () => {
  it('connects to today’s members at today’s version; the ensemble serves writes through every member', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-rolling-'));
    dirs.push(dir);
    const logs = new Map<number, string[]>();
    const ensemble: Ensemble = await startEnsemble({
      dir,
      size: 3,
      peerSecret: true,
      env: (id) => (id === 3 ? { [PEER_PROTOCOL_ANNOUNCE_ENV]: '4' } : {}),
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
      // Every connection, seen from both ends, runs at version 3.
      expect(await versionsSeen()).toEqual({ 1: [3, 3, 3], 2: [3, 3, 3], 3: [3, 3, 3] });
      const announced = await Promise.all(ensemble.members.map((m) => ensemble.status(m.id)));
      expect(announced.map((s) => s?.protocolVersions)).toEqual(
        [3, 3, 4].map((peerAnnounced) => ({
          peer: { min: 3, max: 3 },
          peerAnnounced,
          client: { min: 1, max: 1 },
        })),
      );
      // What each side logged: today's members refused 4 (their ordinary refusal), member 3 fell back.
      const text = (id: number) => (logs.get(id) ?? []).join('\n');
      expect(text(3)).toMatch(/announces peer protocol version 4/);
      expect(text(3)).toMatch(/server 1 speaks peer protocol version 3 at most: dialing again at version 3/);
      expect(text(3)).toMatch(/server 2 speaks peer protocol version 3 at most: dialing again at version 3/);
      for (const id of [1, 2]) expect(text(id)).toMatch(/peer protocol version 4 is not supported/);

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
      // the leader) elect again over their version-3 connections and serve.
      const leader = await ensemble.waitForLeader();
      await ensemble.kill(leader);
      await ensemble.waitForLeader();
      await writeThroughEach('after-failover');
      await ensemble.restart(leader);
      await ensemble.waitForLeader();
      await until('the restarted member reconnected at 3', async () => {
        const seen = await versionsSeen();
        return Object.values(seen).every((row) => row.length === 3 && row.every((v) => v === 3));
      });
    } finally {
      await ensemble.close();
    }
  }, 120_000);
});
