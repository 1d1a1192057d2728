import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { pipelined, RawClient } from './raw-client.js';

// `zabkit-server snapshot save|restore` (issue 16, item 3), as an operator runs them: a backup of a
// member that keeps taking writes, restored into three empty data directories that then serve as
// a new ensemble.

const HERE = new URL('.', import.meta.url).pathname;
const BIN = join(HERE, '..', 'dist', 'bin.js');
const run = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'snapshot', ...args], { encoding: 'utf8' });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout, err: failed.stderr };
  }
}

const running: Ensemble[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(running.splice(0).map((ensemble) => ensemble.close()));
});

async function connect(ensemble: Ensemble, id: number): Promise<RawClient> {
  const member = ensemble.members.find((m) => m.id === id);
  if (!member) throw new Error(`no member ${id}`);
  const client = await RawClient.connect(`${member.host}:${member.clientPort}`);
  clients.push(client);
  return client;
}

describe('zabkit-server snapshot', () => {
  // With one entry kept in memory, the transactions applied while the snapshot is written (each
  // takes an fsync, so the writer gets several in) come back from the member's log on disk.
  it.each([
    { memory: 'the default history in memory', config: {}, ballastZnodes: 0 },
    {
      memory: 'one entry in memory (the rest read from its log)',
      config: { historyEntriesMax: 1 },
      ballastZnodes: 4_000,
    },
  ])(
    'saves a consistent backup from a member under writes, with $memory, and three restored directories serve it as a new ensemble',
    async ({ config, ballastZnodes }) => {
      const dir = mkdtempSync(join(tmpdir(), 'zabkit-backup-'));
      const source = await startEnsemble({ size: 3, dir: join(dir, 'source'), config });
      running.push(source);
      const leader = await source.waitForLeader();
      const follower = leader === 1 ? 2 : 1;
      const client = await connect(source, leader);
      for (let i = 0; i < 200; i++) await client.create(`/b-${i}`, `value ${i}`);
      // Ballast makes the snapshot take long enough for the writer to get many writes in.
      const ballast = new Uint8Array(2_048).fill(7);
      await pipelined(ballastZnodes, 32, (i) => client.createBytes(`/ballast-${i}`, ballast, 0, 30_000));

      // A writer that keeps going while the backup is taken: it writes /w-0, /w-1, … one at a time,
      // so a consistent backup holds exactly /w-0 … /w-k for some k, with no hole.
      const writer = await connect(source, follower);
      let acknowledged = 0;
      let writing = true;
      const writes = (async () => {
        while (writing) {
          await writer.create(`/w-${acknowledged}`, 'w');
          acknowledged++;
        }
      })();
      while (acknowledged < 20) await new Promise((resolve) => setTimeout(resolve, 10));
      const acknowledgedBefore = acknowledged;
      const file = join(dir, 'backup.snap');
      const admin = source.members.find((m) => m.id === follower)!;
      const saved = await cli('save', file, '--server', `${admin.host}:${admin.adminPort}`, '--json');
      const acknowledgedAfterSave = acknowledged;
      writing = false;
      await writes;
      expect(saved.err).toBe('');
      expect(saved.code).toBe(0);
      const summary = JSON.parse(saved.out);
      expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(summary.zxid).toMatch(/^0x[0-9a-f]+$/);
      // More than the one entry in memory: the rest came from the member's log on disk.
      if (ballastZnodes > 0) expect(summary.replayed).toBeGreaterThan(1);
      console.log(
        `backup at ${summary.zxid}: ${summary.znodes} znodes, ${summary.bytes} bytes, fuzzy from ${summary.fuzzyZxid} with ${summary.replayed} transactions replayed; writer acknowledged ${acknowledgedBefore} before and ${acknowledgedAfterSave} by the end of the save`,
      );

      const inspected = JSON.parse(
        (await run(process.execPath, [BIN, 'inspect', 'snapshot', file, '--json'], { encoding: 'utf8' })).stdout,
      );
      expect(inspected.zxid).toBe(summary.zxid);
      expect(inspected.integrity.whole).toBe(true);
      const paths = new Set<string>(inspected.nodes.map((node: { path: string }) => node.path));
      for (let i = 0; i < 200; i++) expect(paths.has(`/b-${i}`)).toBe(true);
      const written = [...paths].filter((path) => path.startsWith('/w-')).length;
      // Every write acknowledged before the save began is in it; the /w- znodes form a prefix.
      expect(written).toBeGreaterThanOrEqual(acknowledgedBefore);
      expect(written).toBeLessThanOrEqual(acknowledgedAfterSave + 1);
      for (let i = 0; i < written; i++) expect(paths.has(`/w-${i}`)).toBe(true);

      // Restore refuses a damaged file and a directory that is not empty.
      const damaged = join(dir, 'damaged.snap');
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      writeFileSync(damaged, bytes);
      const refusedDamaged = await cli('restore', damaged, '--data-dir', join(dir, 'unused'));
      expect(refusedDamaged.code).toBe(1);
      expect(refusedDamaged.err).toContain('is not a whole snapshot');
      mkdirSync(join(dir, 'busy'));
      writeFileSync(join(dir, 'busy', 'something'), 'x');
      const refusedBusy = await cli('restore', file, '--data-dir', join(dir, 'busy'));
      expect(refusedBusy.code).toBe(1);
      expect(refusedBusy.err).toContain('is not empty');

      const target = join(dir, 'restored');
      for (const id of [1, 2, 3]) {
        const restored = await cli('restore', file, '--data-dir', join(target, `member-${id}`), '--json');
        expect(restored.code).toBe(0);
        expect(JSON.parse(restored.out)).toMatchObject({ zxid: summary.zxid, sha256: summary.sha256 });
      }
      const copy = await startEnsemble({ size: 3, dir: target, fresh: false });
      running.push(copy);
      const copyLeader = await copy.waitForLeader();
      for (const id of [1, 2, 3]) {
        const reader = await connect(copy, id);
        await reader.sync();
        expect(await reader.get('/b-0')).toBe('value 0');
        expect(await reader.get('/b-199')).toBe('value 199');
        expect(await reader.get(`/w-${written - 1}`)).toBe('w');
        expect(await reader.get(`/w-${written}`)).toBeNull();
      }
      const copyWriter = await connect(copy, copyLeader);
      await copyWriter.create('/after-restore', 'new');
      const status = await copy.status(copyLeader);
      // The new ensemble went on from the backup's epoch to a later one.
      expect(status?.epoch).toBeGreaterThan(Number(BigInt(summary.zxid) >> 32n));
    },
    120_000,
  );
});
