import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type Ensemble, startEnsemble } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = join(dirname(createRequire(import.meta.url).resolve('@zabkit/cli/package.json')), 'dist', 'bin.js');
let ensemble: Ensemble;

beforeAll(async () => {
  ensemble = await startEnsemble({ size: 3, dir: mkdtempSync(join(tmpdir(), 'zabkit-it-cli-')) });
}, 60_000);
afterAll(async () => {
  await ensemble?.close();
}, 30_000);

/** zabkit runs the built CLI against the ensemble; resolves with its exit code and output. */
async function zabkit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args, '--server', ensemble.connectString], {
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('zabkit CLI against a running ensemble', () => {
  it('create, set, get, ls, stat, rm: human output', async () => {
    expect((await zabkit('create', '/cli', 'hello')).stdout).toBe('/cli\n');
    expect((await zabkit('create', '/cli/q-', '', '--sequential')).stdout).toMatch(/^\/cli\/q-\d{10}\n$/);
    expect((await zabkit('set', '/cli', 'world')).stdout).toMatch(/^\/cli: version 1, mZxid 0x[0-9a-f]+\n$/);
    expect((await zabkit('get', '/cli')).stdout).toBe('world\n');
    expect((await zabkit('ls', '/cli')).stdout).toMatch(/^q-\d{10}\n$/);
    const stat = await zabkit('stat', '/cli');
    expect(stat.stdout).toContain('dataVersion = 1');
    expect(stat.stdout).toContain('numChildren = 1');
    const missing = await zabkit('get', '/cli/none');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NO_NODE/);
    expect((await zabkit('rm', '/cli')).code).toBe(1);
    expect((await zabkit('rm', '/cli', '-r')).stdout).toMatch(/deleted \/cli\n$/);
    expect((await zabkit('frob')).code).toBe(2);
  }, 60_000);

  it('the same with --json', async () => {
    expect(JSON.parse((await zabkit('create', '/cj', '{"a":1}', '--json')).stdout)).toEqual({ path: '/cj' });
    const got = JSON.parse((await zabkit('get', '/cj', '--stat', '--json')).stdout);
    expect(got).toMatchObject({ path: '/cj', data: '{"a":1}', stat: { version: 0, numChildren: 0 } });
    expect(JSON.parse((await zabkit('set', '/cj', 'x', '-v', '0', '--json')).stdout).stat.version).toBe(1);
    expect(JSON.parse((await zabkit('ls', '/', '--json')).stdout).children).toContain('cj');
    expect(JSON.parse((await zabkit('stat', '/cj', '--json')).stdout).stat.dataLength).toBe(1);
    const conflict = await zabkit('set', '/cj', 'y', '-v', '0', '--json');
    expect(conflict.code).toBe(1);
    expect(JSON.parse(conflict.stdout).error).toMatchObject({ code: 'BAD_VERSION', path: '/cj' });
    expect(JSON.parse((await zabkit('rm', '/cj', '--json')).stdout)).toEqual({ deleted: ['/cj'] });
  }, 60_000);

  it('watch prints events until the count; status prints the members table', async () => {
    await zabkit('create', '/cw');
    const watching = zabkit('watch', '/cw', '-r', '-n', '2', '--json');
    // Give the watch time to register before the writes.
    await new Promise((resolve) => setTimeout(resolve, 600));
    await zabkit('set', '/cw', '1');
    await zabkit('create', '/cw/c');
    const { stdout, code } = await watching;
    expect(code).toBe(0);
    expect(
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).type),
    ).toEqual(['NODE_DATA_CHANGED', 'NODE_CREATED']);
    const admin = ensemble.members.map((member) => `${member.host}:${member.adminPort}`);
    const table = await zabkit('status', '--admin', admin[0]!);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ADMIN\s+ROLE/);
    expect(lines).toHaveLength(4);
    expect(lines.filter((line) => /\bleading\b/.test(line))).toHaveLength(1);
    const rows = JSON.parse((await zabkit('status', '--admin', admin.join(','), '--json')).stdout);
    expect(rows.map((row: { id: number }) => row.id)).toEqual([1, 2, 3]);
    expect(new Set(rows.map((row: { leader: number }) => row.leader)).size).toBe(1);
    expect(rows[0].zxid).toMatch(/^0x[0-9a-f]+$/);
  }, 60_000);

  it('shell: one session for all lines, ephemerals live until quit, history is kept', async () => {
    const home = mkdtempSync(join(tmpdir(), 'zabkit-it-home-'));
    const shell = spawn(process.execPath, [bin, 'shell', '--server', ensemble.connectString], {
      env: { ...process.env, HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    shell.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => shell.on('exit', resolve));
    const waitOutput = async (pattern: RegExp) => {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(output)) {
        if (Date.now() > deadline) throw new Error(`shell output never matched ${pattern}: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    shell.stdin.write('create /sh-eph "two words" -e\n');
    await waitOutput(/\/sh-eph/);
    shell.stdin.write('get /sh-eph\n');
    await waitOutput(/two words/);
    expect((await zabkit('stat', '/sh-eph')).code).toBe(0);
    shell.stdin.write('frob\nquit\n');
    expect(await exited).toBe(0);
    expect((await zabkit('stat', '/sh-eph')).code).toBe(1);
    expect(readFileSync(join(home, '.zabkit_history'), 'utf8').split('\n')).toContain('get /sh-eph');
  }, 30_000);
});
