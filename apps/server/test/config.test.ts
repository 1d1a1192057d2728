import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { RawClient } from './raw-client.js';

const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'zabkit-config-'));
const member = (id: number, port: number) => ({
  id,
  host: '127.0.0.1',
  peerPort: port,
  clientPort: port + 1,
  adminPort: port + 2,
});
const good = { id: 1, dataDir: join(dir, 'data'), members: [member(1, 41000), member(2, 41010), member(3, 41020)] };

function run(config: unknown, extra: string[] = []): { status: number | null; stderr: string } {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  const result = spawnSync(process.execPath, [bin, 'start', '--config', path, ...extra], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('zabkit-server start: bad configuration exits 2 with one message naming the problem', () => {
  it.each([
    ['an unknown key', { ...good, tickMS: 5 }, /unknown key "tickMS"/],
    ['a duplicate id', { ...good, members: [member(1, 41000), member(1, 41010)] }, /duplicate member id 1/],
    [
      'a duplicate port',
      { ...good, members: [member(1, 41000), member(2, 41000)] },
      /duplicate port 127\.0\.0\.1:41000/,
    ],
    ['its own id missing', { ...good, id: 9 }, /id 9 is not among members/],
    [
      'a member with no client port at all',
      { ...good, members: [{ ...member(1, 41000), clientPort: undefined }, member(2, 41010)] },
      /member 1 has neither clientPort nor secureClientPort/,
    ],
    [
      'a secureClientPort without clientTls',
      { ...good, members: [{ ...member(1, 41000), secureClientPort: 41005 }, member(2, 41010)] },
      /member 1 has a secureClientPort but no clientTls/,
    ],
    ['a wrong type', { ...good, tickMs: 'fast' }, /tickMs/],
    [
      'a joinVersion that is not hex',
      { ...good, joining: true, joinVersion: '3g' },
      /joinVersion: a configuration version in hex/,
    ],
    ['not JSON', '{ id: 1', /not valid JSON/],
    [
      'a client frame that cannot carry the largest legal write',
      { ...good, dataBytesMax: 2_000_000 },
      /frameBytesMax: frameBytesMax \(1114112\) cannot carry a write of dataBytesMax \(2000000\) at a path of pathBytesMax \(4096\): it must be at least \d+/,
    ],
  ])('%s', (_name, config, message) => {
    const { status, stderr } = run(config);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a data directory that cannot be created (under a file)', () => {
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, 'x');
    const { status, stderr } = run({ ...good, dataDir: join(file, 'data') });
    expect(status).toBe(2);
    expect(stderr).toMatch(/dataDir .* is not writable: ENOTDIR/);
  });

  it('a data directory that is a file', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const { status, stderr } = run({ ...good, dataDir: file });
    expect(status).toBe(2);
    expect(stderr).toMatch(/dataDir .* is not writable/);
  });

  it('an unknown flag', () => {
    const { status, stderr } = run(good, ['--tick-millis', '5']);
    expect(status).toBe(2);
    expect(stderr).toMatch(/unknown flag --tick-millis/);
  });

  it('a TLS-only member (secureClientPort, no clientPort) is a valid configuration', () => {
    const tlsOnly = {
      ...good,
      members: [{ ...member(1, 41000), clientPort: undefined, secureClientPort: 41005 }, member(2, 41010)],
      clientTls: { certFile: 'c.pem', keyFile: 'c.key' },
    };
    const parsed = parseConfig(tlsOnly);
    expect(parsed.members[0]?.clientPort).toBeUndefined();
    expect(parsed.members[0]?.secureClientPort).toBe(41005);
  });

  it('joinVersion is read as hex, as zabkit members list prints versions', () => {
    expect(parseConfig({ ...good, joining: true, joinVersion: '300000005' }).joinVersion).toBe(0x3_0000_0005);
    expect(parseConfig({ ...good, joining: true, joinVersion: '0x1f' }).joinVersion).toBe(0x1f);
    expect(parseConfig(good).joinVersion).toBeUndefined();
  });

  it('flags override the file', () => {
    expect(parseConfig({ ...good, tickMs: 7 }).tickMs).toBe(7);
  });
});

describe('zabkit-server keeps serving through garbage', () => {
  let ensemble: Ensemble | undefined;
  afterAll(async () => ensemble?.close());

  it('garbage on the client port closes that connection only, and the member keeps serving', async () => {
    ensemble = await startEnsemble({ size: 3, dir: join(dir, 'garbage') });
    const target = ensemble.members[0];
    if (!target) throw new Error('no member');
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(target.clientPort, target.host, () => {
        socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.write(Buffer.from([0, 0, 0, 5, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1]));
      });
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
      setTimeout(() => resolve(false), 5_000);
    });
    expect(closed).toBe(true);
    const client = await RawClient.connect(`${target.host}:${target.clientPort}`);
    await client.create('/still-serving', 'yes');
    expect(await client.get('/still-serving')).toBe('yes');
    client.close();
  }, 60_000);
});
