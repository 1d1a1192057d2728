import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Ensemble, type EnsembleMember, startEnsemble } from '../src/ensemble.js';
import { RawClient } from './raw-client.js';

// The admin port locked (issue 14, item 6), on real `zabkit-server` processes: no wildcard CORS,
// the Host header checked against the allowed hosts (DNS rebinding), znode data only with the
// bearer token (or from loopback without one), the dashboard's CSP built from the configuration.

const dir = mkdtempSync(join(tmpdir(), 'zabkit-admin-security-'));
const SECRET = 'the-secret-payload';
const TOKEN = 'c2VjcmV0LXRva2VuLWZvci10ZXN0cw';
/** OUTSIDE: an address of this machine that is not loopback, to reach the admin port as another machine would. */
const OUTSIDE =
  Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address ?? null;

let ensemble: Ensemble;

beforeAll(async () => {
  ensemble = await startEnsemble({ size: 3, dir: join(dir, 'ensemble') });
  await ensemble.waitForLeader();
  const client = await RawClient.connect(ensemble.connectString.split(',')[0] as string);
  await client.create('/secret', SECRET);
  client.close();
}, 60_000);

afterAll(async () => {
  await ensemble?.close();
});

function member(id: number): EnsembleMember {
  const found = ensemble.members.find((m) => m.id === id);
  if (!found) throw new Error(`no member ${id}`);
  return found;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** get sends one request with exactly the given headers (Host and Origin included, which fetch would not let a test choose). */
function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  options: { method?: string; address?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: options.address ?? '127.0.0.1', port, path, method: options.method ?? 'GET', headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** reconfigure rewrites member `id`'s config file with `extra` keys and restarts it. */
async function reconfigure(id: number, extra: Record<string, unknown>): Promise<void> {
  const target = member(id);
  const config = JSON.parse(readFileSync(target.configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(target.configPath, JSON.stringify({ ...config, ...extra }, null, 2));
  await ensemble.stop(id);
  await ensemble.restart(id);
  await ensemble.waitForLeader();
}

describe('admin port: CORS only for the ensemble admin origins', () => {
  it('sends no wildcard CORS, and answers an allowed origin with itself and Vary: Origin', async () => {
    const port = member(1).adminPort;
    for (const path of ['/health', '/status', '/api/latency', '/metrics', '/api/tree', '/no-such']) {
      const plain = await get(port, path);
      expect(plain.headers['access-control-allow-origin'], path).toBeUndefined();
      for (const origin of [
        `http://127.0.0.1:${member(2).adminPort}`,
        `http://localhost:${member(3).adminPort}`,
        `https://127.0.0.1:${member(1).adminPort}`,
      ]) {
        const answer = await get(port, path, { origin });
        expect(answer.headers['access-control-allow-origin'], `${path} from ${origin}`).toBe(origin);
        expect(answer.headers.vary).toContain('Origin');
      }
    }
  });

  it('gives a foreign origin no Access-Control-Allow-Origin', async () => {
    const port = member(1).adminPort;
    for (const origin of [
      `http://evil.example:${port}`,
      'http://evil.example',
      `http://127.0.0.1:${member(1).clientPort}`,
      'null',
      `http://127.0.0.1:${port}/path`,
    ]) {
      for (const path of ['/status', '/api/tree', '/metrics']) {
        const answer = await get(port, path, { origin });
        expect(answer.headers['access-control-allow-origin'], `${path} from ${origin}`).toBeUndefined();
      }
    }
  });

  it('answers a CORS preflight for the Authorization header from an admin origin only', async () => {
    const port = member(1).adminPort;
    const preflight = {
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    };
    const allowed = await get(
      port,
      '/api/tree',
      { ...preflight, origin: `http://127.0.0.1:${member(2).adminPort}` },
      { method: 'OPTIONS' },
    );
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(`http://127.0.0.1:${member(2).adminPort}`);
    expect(allowed.headers['access-control-allow-headers']).toBe('Authorization');
    expect(allowed.headers['access-control-allow-methods']).toBe('GET, HEAD');
    const foreign = await get(
      port,
      '/api/tree',
      { ...preflight, origin: 'http://evil.example' },
      { method: 'OPTIONS' },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    expect(foreign.headers['access-control-allow-headers']).toBeUndefined();
  });
});

describe('admin port: the Host header is checked, never reflected', () => {
  it('refuses a rebinding Host with 421 on every endpoint, and counts it', async () => {
    const port = member(1).adminPort;
    for (const path of ['/', '/health', '/status', '/metrics', '/api/latency', '/api/tree?path=/secret']) {
      for (const host of [
        `evil.example:${port}`,
        'evil.example',
        `127.0.0.1.evil.example:${port}`,
        `localhost.:${port}`,
      ]) {
        const answer = await get(port, path, { host });
        expect(answer.status, `${path} with Host ${host}`).toBe(421);
        expect(JSON.parse(answer.body).error).toMatch(
          /^host not allowed: the Host header must be an IP address, or name loopback/,
        );
        expect(answer.body).not.toContain(SECRET);
        expect(answer.headers['content-security-policy']).toBeUndefined();
        expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      }
    }
    const metrics = await get(port, '/metrics');
    expect(metrics.body).toMatch(/^zabkit_admin_refusals_total\{rule="host",member="1"\} ([1-9]\d*)$/m);
  });

  it('answers the loopback names, the members hosts and any IP address (rebinding needs a name; probes send the pod IP)', async () => {
    const port = member(1).adminPort;
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LocalHost:${port}`,
      `[::1]:${port}`,
      'localhost',
      `10.1.2.3:${port}`,
      '[fd00::7]',
    ]) {
      expect((await get(port, '/status', { host })).status, host).toBe(200);
    }
  });

  it('builds the dashboard CSP from the configuration, not from the Host the request names', async () => {
    const port = member(1).adminPort;
    const policies = new Set<string>();
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const answer = await get(port, '/', { host });
      expect(answer.status).toBe(200);
      policies.add(String(answer.headers['content-security-policy']));
    }
    expect(policies.size).toBe(1);
    const [policy] = [...policies] as [string];
    const connect = policy.split('; ').find((directive) => directive.startsWith('connect-src ')) ?? '';
    for (const { adminPort } of ensemble.members) {
      expect(connect).toContain(`http://127.0.0.1:${adminPort}`);
      expect(connect).toContain(`http://localhost:${adminPort}`);
    }
    expect(policy).not.toContain('evil');
    // CSP cannot name an IPv6 literal: Chromium would log an error for `http://[::1]:port`.
    expect(connect).not.toContain('[');
  });
});

describe('admin port: znode data needs the token, or a loopback peer without one', () => {
  it('GET /api/tree is 200 from loopback when no token is configured', async () => {
    const answer = await get(member(1).adminPort, '/api/tree?path=/secret');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data).toBe(SECRET);
  });

  it.skipIf(OUTSIDE === null)(
    `without a token, GET /api/tree is 401 from a peer that is not loopback (${OUTSIDE ?? 'no such address here'}), the rest open`,
    async () => {
      await reconfigure(2, { adminHost: '0.0.0.0', adminAllowedHosts: [OUTSIDE] });
      const port = member(2).adminPort;
      const outside = { address: OUTSIDE as string };
      const host = { host: `${OUTSIDE}:${port}` };
      const tree = await get(port, '/api/tree?path=/secret', host, outside);
      expect(tree.status).toBe(401);
      expect(tree.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(JSON.parse(tree.body).error).toMatch(/loopback peers only: configure adminTokenFile/);
      expect(tree.body).not.toContain(SECRET);
      for (const path of ['/health', '/status', '/api/latency', '/metrics']) {
        expect((await get(port, path, host, outside)).status, path).toBe(200);
      }
      // adminAllowedHosts names an admin origin too.
      const cors = await get(port, '/status', { ...host, origin: `http://${OUTSIDE}:${member(1).adminPort}` }, outside);
      expect(cors.headers['access-control-allow-origin']).toBe(`http://${OUTSIDE}:${member(1).adminPort}`);
      // Loopback still reads it.
      expect((await get(port, '/api/tree?path=/secret')).status).toBe(200);
    },
    60_000,
  );

  it('with adminTokenFile, GET /api/tree is 401 without or with a wrong token and 200 with it; the rest stays open', async () => {
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    await reconfigure(3, {
      adminTokenFile: tokenFile,
      adminHost: '0.0.0.0',
      adminAllowedHosts: OUTSIDE ? [OUTSIDE] : [],
    });
    const port = member(3).adminPort;
    const path = '/api/tree?path=/secret';
    const missing = await get(port, path);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="zabkit-admin"');
    expect(JSON.parse(missing.body).error).toMatch(/Authorization: Bearer/);
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      'Bearer x',
      `Basic ${TOKEN}`,
      TOKEN,
    ]) {
      const wrong = await get(port, path, { authorization });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.body).not.toContain(SECRET);
      expect(wrong.headers['www-authenticate']).toMatch(/^Bearer realm="zabkit-admin"/);
    }
    expect((await get(port, path, { authorization: 'Bearer wrong' })).headers['www-authenticate']).toContain(
      'error="invalid_token"',
    );
    const right = await get(port, path, { authorization: `Bearer ${TOKEN}` });
    expect(right.status).toBe(200);
    expect(JSON.parse(right.body).data).toBe(SECRET);
    expect(right.headers['cache-control']).toBe('no-store');
    if (OUTSIDE !== null) {
      const host = { host: `${OUTSIDE}:${port}` };
      const outside = { address: OUTSIDE };
      expect((await get(port, path, host, outside)).status).toBe(401);
      expect((await get(port, path, { ...host, authorization: `Bearer ${TOKEN}` }, outside)).status).toBe(200);
    }
    for (const open of ['/health', '/status', '/api/latency', '/metrics']) {
      expect((await get(port, open)).status, open).toBe(200);
    }
    const metrics = await get(port, '/metrics');
    expect(metrics.body).toMatch(/^zabkit_admin_refusals_total\{rule="token",member="3"\} ([1-9]\d*)$/m);
  }, 60_000);
});

describe('zabkit-server start: adminTokenFile must hold a token', () => {
  const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
  const config = (adminTokenFile: string) => ({
    id: 1,
    dataDir: join(dir, 'refused'),
    members: [{ id: 1, host: '127.0.0.1', peerPort: 41900, clientPort: 41901, adminPort: 41902 }],
    adminTokenFile,
  });
  const run = (configuration: unknown) => {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(configuration));
    return spawnSync(process.execPath, [bin, 'start', '--config', path], { encoding: 'utf8', timeout: 10_000 });
  };

  it.each([
    ['missing', () => join(dir, 'no-such-token'), /adminTokenFile .*no-such-token cannot be read: ENOENT/],
    [
      'empty',
      () => {
        writeFileSync(join(dir, 'empty-token'), ' \n');
        return join(dir, 'empty-token');
      },
      /adminTokenFile .*empty-token is empty/,
    ],
  ])('refuses to start when the file is %s, with one line', (_name, file, message) => {
    const result = run(config(file()));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
