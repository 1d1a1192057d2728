import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '@zabkit/transport-tcp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../src/free-ports.js';
import { RawClient } from './raw-client.js';

// Issue 14, item 6: the admin port over HTTPS (adminTls), on a real one-member `zabkit-server`
// process with openssl certificates: a client trusting the CA gets /health over HTTPS, a plain
// HTTP request gets nothing, a client certificate is required when configured, SIGHUP reloads.

const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'zabkit-admin-https-'));
let pki: TestPki;
const children: ChildProcess[] = [];
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  pki.remove();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
  subject: string;
}

function httpsGet(port: number, path: string, options: { cert?: string; key?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      { host: '127.0.0.1', port, path, ca: pki.ca.cert, ...options, agent: false },
      (response) => {
        const subject = String((response.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN);
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, subject }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

function plainGet(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const request = httpRequest({ host: '127.0.0.1', port, path }, (response) => {
      response.resume();
      resolve(`answered ${response.statusCode}`);
    });
    request.on('error', (error) => resolve(`failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    request.end();
  });
}

async function start(
  name: string,
  adminTls: Record<string, unknown>,
  extra: { tlsOnly?: boolean } = {},
): Promise<{ port: number; child: ChildProcess; clientPort: number }> {
  const [peerPort, clientPort, adminPort] = (await freePorts(3, '127.0.0.1')) as [number, number, number];
  const path = join(dir, `${name}.json`);
  const self = extra.tlsOnly
    ? { id: 1, host: '127.0.0.1', peerPort, secureClientPort: clientPort, adminPort }
    : { id: 1, host: '127.0.0.1', peerPort, clientPort, adminPort };
  writeFileSync(
    path,
    JSON.stringify({
      id: 1,
      dataDir: join(dir, `${name}-data`),
      tickMs: 50,
      members: [self],
      adminTls,
      ...(extra.tlsOnly ? { clientTls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile } } : {}),
    }),
  );
  const child = spawn(process.execPath, [bin, 'start', '--config', path], { stdio: 'ignore' });
  children.push(child);
  const port = adminPort as number;
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await httpsGet(port, '/health', adminTls.clientCertificates === 'require' ? pki.client : {})).status === 200)
        break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`member ${name} did not answer over HTTPS`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { port, child, clientPort };
}

describe('issue 14: a TLS-only client port', () => {
  it('a member with secureClientPort and no clientPort serves over TLS only', async () => {
    const { clientPort } = await start(
      'tls-only',
      { certFile: pki.server.certFile, keyFile: pki.server.keyFile },
      {
        tlsOnly: true,
      },
    );
    const client = await RawClient.connect(`127.0.0.1:${clientPort}`, undefined, 10_000, { tls: { ca: pki.ca.cert } });
    await client.create('/tls-only', 'yes');
    expect(await client.get('/tls-only')).toBe('yes');
    client.close();
    await expect(
      RawClient.connect(`127.0.0.1:${clientPort}`, undefined, 10_000, { connectTimeoutMs: 2_000 }),
    ).rejects.toThrow(/TLS port/);
  }, 60_000);
});

describe('issue 14: the admin port over HTTPS', () => {
  it('answers over HTTPS with the configured certificate, not over plain HTTP; SIGHUP loads a renewed one', async () => {
    const certFile = join(dir, 'admin.pem');
    const keyFile = join(dir, 'admin.key');
    copyFileSync(pki.server.certFile, certFile);
    copyFileSync(pki.server.keyFile, keyFile);
    const { port, child } = await start('https', { certFile, keyFile });
    const health = await httpsGet(port, '/health');
    expect(health.status).toBe(200);
    expect(health.subject).toBe('zabkit-server');
    expect((await httpsGet(port, '/metrics')).body).toContain('zabkit_serving 1');
    expect(await plainGet(port, '/health')).toMatch(/^failed|answered 400/);
    copyFileSync(join(pki.dir, 'server2.pem'), certFile);
    copyFileSync(join(pki.dir, 'server2.key'), keyFile);
    child.kill('SIGHUP');
    const until = Date.now() + 10_000;
    while ((await httpsGet(port, '/health')).subject !== 'zabkit-server-renewed') {
      if (Date.now() > until) throw new Error('the renewed certificate was not loaded on SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 60_000);

  it('with clientCertificates require, only a client with a certificate from the CA gets an answer', async () => {
    const { port } = await start('mutual', {
      certFile: pki.server.certFile,
      keyFile: pki.server.keyFile,
      caFile: pki.ca.certFile,
      clientCertificates: 'require',
    });
    expect((await httpsGet(port, '/health', pki.client)).status).toBe(200);
    await expect(httpsGet(port, '/health')).rejects.toThrow();
    await expect(httpsGet(port, '/health', pki.strangerClient)).rejects.toThrow();
  }, 60_000);
});
