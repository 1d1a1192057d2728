import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type ZabClient, ZabError } from '@zabkit/client';
import { type Ensemble, startEnsemble } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Issue 16: membership changes at runtime on real processes, under client load. Three members
// grow to five (two spares started with `joining: true`, added as observers with the CLI, then
// promoted), the leader is removed, then one more original member, back to three; the writers'
// clients follow the changes (followEnsemble) from a connect string that names only the original
// three (the last original member is then stopped: only members they were never given serve),
// and no acknowledged write is lost.

const run = promisify(execFile);
const bin = join(dirname(createRequire(import.meta.url).resolve('@zabkit/cli/package.json')), 'dist', 'bin.js');
const PASSWORD = 'membership-test-password';
const SUPER_DIGEST = `super:${createHash('sha1').update(`super:${PASSWORD}`).digest('base64')}`;

let ensemble: Ensemble;
const clients: ZabClient[] = [];

beforeAll(async () => {
  ensemble = await startEnsemble({
    size: 3,
    spares: 2,
    dir: mkdtempSync(join(tmpdir(), 'zabkit-it-membership-')),
    config: { superDigest: SUPER_DIGEST },
    // MEMBERSHIP_LOG=FILE keeps every member's log lines, to see what went wrong in a failed run.
    onLog: (id, line) => {
      if (process.env.MEMBERSHIP_LOG) appendFileSync(process.env.MEMBERSHIP_LOG, `${id} ${line}\n`);
    },
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await ensemble?.close();
}, 30_000);

/** zabkit runs the built CLI; resolves with its exit code and output. */
async function zabkit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** inForce waits until every member of `ids` has committed configuration `version` and they agree on a serving leader. */
async function inForce(ids: number[], version: number): Promise<number> {
  let leader = 0;
  await waitFor(`configuration ${version.toString(16)} committed on ${ids.join(',')}`, async () => {
    const statuses = await Promise.all(ids.map((id) => ensemble.status(id)));
    const ok = statuses.every(
      (s) => s?.established === true && Number.parseInt(s.config.version, 16) === version && s.config.committed,
    );
    const leading = statuses.find((s) => s?.role === 'leading');
    if (!ok || leading === undefined) return false;
    leader = leading?.id ?? 0;
    return statuses.every((s) => s?.leader === leader);
  });
  return leader;
}

/** members runs `zabkit members ...` as the super user against the original connect string; returns its JSON. */
async function members(...args: string[]): Promise<{ version: number; members: { id: number; role: string }[] }> {
  const result = await zabkit(
    'members',
    ...args,
    '--server',
    ensemble.connectString,
    '--auth',
    `digest:super:${PASSWORD}`,
    '--json',
    '--timeout',
    '20000',
  );
  expect(result.stderr, `members ${args.join(' ')}`).toBe('');
  expect(result.code, result.stdout).toBe(0);
  return JSON.parse(result.stdout);
}

describe('membership changes on a running ensemble under client load', () => {
  it('grows 3 → 5, removes the leader, shrinks back to 3; clients follow and no acknowledged write is lost', async () => {
    // Writers on the original connect string, following the ensemble.
    const acknowledged: string[] = [];
    const failures = new Map<string, number>();
    let writing = true;
    const writers = await Promise.all(
      [0, 1, 2].map(async () => {
        const client = await connect(ensemble.connectString, {
          followEnsemble: true,
          sessionTimeoutMs: 10_000,
          connectTimeoutMs: 20_000,
          serverOrder: 'inOrder',
        });
        clients.push(client);
        return client;
      }),
    );
    await writers[0]!.create('/load', '');
    const loops = writers.map(async (client, k) => {
      for (let i = 0; writing; i++) {
        const path = `/load/w${k}-${i}`;
        try {
          await client.create(path, `${i}`, { timeoutMs: 10_000 });
          acknowledged.push(path);
        } catch (error) {
          const code = ZabError.isInstance(error) ? error.code : String(error);
          failures.set(code, (failures.get(code) ?? 0) + 1);
          await sleep(20);
        }
      }
    });
    const progress = async (what: string) => {
      const before = acknowledged.length;
      await waitFor(`writes after ${what}`, async () => acknowledged.length >= before + 20);
    };

    const listed = await members('list');
    expect(listed.version).toBe(0);
    expect(listed.members.map((m) => m.id).sort()).toEqual([1, 2, 3]);
    await progress('start');

    // Grow: the spares start (in no configuration: they serve nothing), join as observers, then vote.
    await ensemble.restart(4);
    await ensemble.restart(5);
    let version = 0;
    for (const id of [4, 5]) {
      const spare = ensemble.members.find((m) => m.id === id)!;
      const added = await members(
        'add',
        String(id),
        '--peer',
        `${spare.host}:${spare.peerPort}`,
        '--client',
        `${spare.host}:${spare.clientPort}`,
        '--admin',
        `${spare.host}:${spare.adminPort}`,
        '--observer',
      );
      expect(added.version).toBeGreaterThan(version);
      version = added.version;
      await inForce(
        [1, 2, 3, 4, 5].filter((m) => m <= id),
        version,
      );
    }
    for (const id of [4, 5]) {
      version = (await members('promote', String(id))).version;
      await inForce([1, 2, 3, 4, 5], version);
    }
    const five = await Promise.all([1, 2, 3, 4, 5].map((id) => ensemble.status(id)));
    expect(five.map((s) => s?.config.voting)).toEqual([true, true, true, true, true]);
    expect(five.every((s) => s?.members.length === 5)).toBe(true);
    await progress('growing to five');

    // Remove the leader: it commits its own removal, steps down, and the other four elect a leader.
    const oldLeader = await inForce([1, 2, 3, 4, 5], version);
    version = (await members('remove', String(oldLeader))).version;
    const rest = [1, 2, 3, 4, 5].filter((id) => id !== oldLeader);
    const newLeader = await inForce(rest, version);
    expect(newLeader).not.toBe(oldLeader);
    expect((await ensemble.status(oldLeader))?.config.voting).toBe(false);
    await ensemble.stop(oldLeader);
    await progress('removing the leader');

    // Shrink to three: one more of the original members goes; the ensemble is 4, 5 and one original.
    const second = rest.find((id) => id <= 3 && id !== newLeader) as number;
    version = (await members('remove', String(second))).version;
    const final = rest.filter((id) => id !== second);
    await inForce(final, version);
    await ensemble.stop(second);
    await progress('shrinking to three');

    // The writers followed the changes: with the last original member stopped too, only 4 and 5
    // serve (a quorum of the three), which the writers' connect string never named.
    const lastOriginal = final.find((id) => id <= 3) as number;
    await ensemble.stop(lastOriginal);
    await progress('stopping the last original member');
    writing = false;
    await Promise.all(loops);
    const newPorts = new Set(ensemble.members.filter((m) => m.id >= 4).map((m) => `${m.host}:${m.clientPort}`));
    for (const client of writers) {
      await waitFor('a writer on a member it was never given', async () => newPorts.has(client.server ?? ''));
    }
    const config = await writers[0]!.getConfig();
    expect(config.version).toBe(version);
    expect(config.members.map((m) => m.id).sort()).toEqual(final.sort());
    const text = new TextDecoder().decode((await writers[0]!.get('/zookeeper/config')).data);
    expect(text).toContain(`version=${version.toString(16)}`);
    expect(text.split('\n').filter((line) => line.startsWith('server.'))).toHaveLength(3);

    // Every acknowledged write is there, read from a member that joined during the test.
    const reader = await connect(
      ensemble.members
        .filter((m) => m.id === 4)
        .map((m) => `${m.host}:${m.clientPort}`)
        .join(','),
    );
    clients.push(reader);
    await reader.sync('/load');
    const present = new Set(await reader.children('/load'));
    const lost = acknowledged.filter((path) => !present.has(path.slice('/load/'.length)));
    console.log(
      `membership under load: ${acknowledged.length} writes acknowledged, ${lost.length} lost, failures ${JSON.stringify(Object.fromEntries(failures))}; leader ${oldLeader} removed, then ${second}; final ${final.join(',')} at version ${version.toString(16)}, then ${lastOriginal} stopped`,
    );
    expect(lost).toEqual([]);
  }, 240_000);
});
