import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// `zabkit-server inspect` (issue 16, item 3) on files a real ensemble wrote (the before-acls
// fixture: a log segment and snapshots of an earlier version), as an operator would run it.

const HERE = new URL('.', import.meta.url).pathname;
const BIN = join(HERE, '..', 'dist', 'bin.js');
const MEMBER = join(HERE, 'fixtures', 'before-acls', 'member-1');

function inspect(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, 'inspect', ...args], { encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('zabkit-server inspect', () => {
  it('prints a log segment and a snapshot with their summaries; says where a log is torn; refuses the wrong kind', () => {
    const log = inspect('log', join(MEMBER, 'log.100000001'));
    expect(log.code).toBe(0);
    expect(log.out).toMatch(
      /^124 entries, 0x100000001 … 0x10000007c: createSession 1, create 121, multi 1, closeSession 1$/m,
    );
    expect(log.out).toContain('integrity: whole');
    expect(log.out).toMatch(/^0x100000002 .* create \/old \(26 B\)$/m);
    expect(log.out.trim().split('\n')).toHaveLength(3 + 124);

    const snapshot = inspect('snapshot', join(MEMBER, 'snapshot.100000064'), '--json');
    expect(snapshot.code).toBe(0);
    const report = JSON.parse(snapshot.out);
    expect(report).toMatchObject({ kind: 'snapshot', zxid: '0x100000064', summary: { nodes: 101, distinctAcls: 1 } });
    expect(report.nodes[1]).toMatchObject({ path: '/old', dataBytes: 26, acl: 'world:anyone:cdrwa' });

    const dir = mkdtempSync(join(tmpdir(), 'zabkit-inspect-'));
    try {
      const torn = join(dir, 'log.100000001');
      const bytes = readFileSync(join(MEMBER, 'log.100000001'));
      writeFileSync(torn, bytes.subarray(0, bytes.length - 7));
      const tornReport = inspect('log', torn, '--records', '0');
      expect(tornReport.code).toBe(1);
      expect(tornReport.out).toMatch(/^123 entries/m);
      expect(tornReport.out).toMatch(/integrity: torn or corrupt from byte \d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const wrong = inspect('snapshot', join(MEMBER, 'log.100000001'));
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('is a log segment, not a snapshot');
  }, 30_000); // Several processes in turn: one CI run with simulations beside it took past vitest's 5 s.
});
