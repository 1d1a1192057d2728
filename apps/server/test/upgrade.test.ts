import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEnsemble } from '../src/ensemble.js';
import { RawClient } from './raw-client.js';

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
