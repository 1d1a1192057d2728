import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { RawClient, until } from './raw-client.js';

// A one-member ensemble (ZooKeeper's standalone mode, the way most people start) and GET /health
// telling the truth about the data directory. Real processes on loopback.

const running: Ensemble[] = [];
const clients: RawClient[] = [];
const immutable: string[] = [];
afterEach(async () => {
  for (const dir of immutable.splice(0)) execFileSync('chattr', ['-i', dir]);
  for (const client of clients.splice(0)) client.close();
  await Promise.all(running.splice(0).map((ensemble) => ensemble.close()));
});

async function health(ensemble: Ensemble, id: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const member = ensemble.members.find((m) => m.id === id);
  const response = await fetch(`http://${member?.host}:${member?.adminPort}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('one member is an ensemble', () => {
  it('a single voter elects itself, serves reads and writes, and comes back after a restart', async () => {
    const ensemble = await startEnsemble({ size: 1, dir: mkdtempSync(join(tmpdir(), 'zabkit-solo-')) });
    running.push(ensemble);
    const member = ensemble.members[0];
    if (!member) throw new Error('no member');
    const address = `${member.host}:${member.clientPort}`;
    const client = await RawClient.connect(address);
    clients.push(client);
    await client.create('/solo', 'one');
    expect(await client.get('/solo')).toBe('one');
    expect((await health(ensemble, 1)).status).toBe(200);
    client.close();
    await ensemble.kill(1);
    await ensemble.restart(1);
    await ensemble.waitForLeader();
    const again = await RawClient.connect(address);
    clients.push(again);
    expect(await again.get('/solo')).toBe('one');
  }, 60_000);
});

describe('GET /health tells the truth about the data directory', () => {
  it('answers 503 with the reason while the data directory takes no new files, and 200 once it does again', async () => {
    const ensemble = await startEnsemble({
      size: 1,
      dir: mkdtempSync(join(tmpdir(), 'zabkit-health-')),
      config: { storageCheckMs: 200, snapshotEveryTxns: 20 },
    });
    running.push(ensemble);
    const member = ensemble.members[0];
    if (!member) throw new Error('no member');
    const client = await RawClient.connect(`${member.host}:${member.clientPort}`);
    clients.push(client);
    await client.create('/h', '0');
    expect((await health(ensemble, 1)).status).toBe(200);
    // The directory turns read-only for new entries (root ignores permission bits: use the
    // immutable flag): the open log segment still takes appends, snapshots and probes fail.
    execFileSync('chattr', ['+i', member.dataDir]);
    immutable.push(member.dataDir);
    for (let i = 0; i < 30; i++) await client.create(`/h/${i}`, String(i));
    await until('GET /health answers 503', async () => (await health(ensemble, 1)).status === 503, 10_000);
    const down = await health(ensemble, 1);
    expect(String(down.body.reason)).toMatch(/not writable|snapshot failed/);
    expect(down.body.storage).toBe(down.body.reason);
    // The member keeps serving meanwhile: acknowledged writes are in the open log segment.
    expect(await client.get('/h/29')).toBe('29');
    const metrics = await (await fetch(`http://${member.host}:${member.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/zabkit_storage_writable\{member="1"\} 0/);
    execFileSync('chattr', ['-i', member.dataDir]);
    immutable.splice(0);
    await until('GET /health answers 200 again', async () => (await health(ensemble, 1)).status === 200, 10_000);
    expect((await health(ensemble, 1)).body.storage).toBe('ok');
  }, 60_000);
});
