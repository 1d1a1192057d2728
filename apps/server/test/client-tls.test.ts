import { copyFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { TransportError } from '@zabkit/transport-tcp';
import { makeTestPki, type TestPki } from '@zabkit/transport-tcp/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, cleanup, type Harness, memberIds, startHarness } from './acceptance.js';
import { RawClient } from './raw-client.js';

// Issue 14, item 3, as an operator meets it: members with a TLS client port beside the plain one,
// real certificates (openssl), clients that get it wrong, and a certificate renewed without a restart.

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());
afterEach(cleanup);

function secureAddressOf(harness: Harness, id: number): string {
  const member = harness.ensemble.members.find((m) => m.id === id);
  return `${member?.host}:${member?.secureClientPort}`;
}

async function failure(address: string, tls?: { ca: string }): Promise<TransportError> {
  try {
    const client = await RawClient.connect(address, undefined, 10_000, {
      connectTimeoutMs: 3_000,
      ...(tls === undefined ? {} : { tls }),
    });
    client.close();
  } catch (error) {
    if (TransportError.isInstance(error)) return error;
    throw error;
  }
  throw new Error(`connected to ${address}`);
}

/** servedName is the CN of the certificate a member's TLS port shows to a new connection. */
function servedName(address: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port: Number(port), ca: pki.ca.cert }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('issue 14: the TLS client port', () => {
  it('serves the same tree over TLS and plain; wrong clients fail clearly; a renewed certificate is used without a restart', async () => {
    const server = pki.server;
    const certFile = `${pki.dir}/served.pem`;
    const keyFile = `${pki.dir}/served.key`;
    copyFileSync(server.certFile, certFile);
    copyFileSync(server.keyFile, keyFile);
    const harness = await startHarness({}, { clientTls: { certFile, keyFile, caFile: pki.ca.certFile } });
    const ids = memberIds(harness);

    // A TLS client writes through one member; a plain client of another member reads it.
    const secure = await RawClient.connect(secureAddressOf(harness, ids[0] as number), undefined, 10_000, {
      tls: { ca: pki.ca.cert },
    });
    await secure.create('/over-tls', 'encrypted');
    const plain = await RawClient.connect(addressOf(harness, ids[1] as number));
    await plain.sync('/');
    expect(await plain.get('/over-tls')).toBe('encrypted');
    secure.close();
    plain.close();

    // Clients that get it wrong fail at once, with an error that says what to fix.
    const plainOnTls = await failure(secureAddressOf(harness, ids[0] as number));
    expect(plainOnTls.message).toMatch(/TLS port \(secureClientPort\), connect with tls options/);
    const wrongCa = await failure(secureAddressOf(harness, ids[0] as number), { ca: pki.otherCa.cert });
    expect(wrongCa.code).toBe('TLS');
    expect(wrongCa.message).toMatch(/not trusted .*tls\.ca/);
    const tlsOnPlain = await failure(addressOf(harness, ids[0] as number), { ca: pki.ca.cert });
    expect(tlsOnPlain.code).toBe('TLS');
    // The member's log reaches the test through a pipe: on a loaded machine the line may come after the client's error.
    await eventually('the member logs the failed handshake', async () =>
      harness.logs.some((line) => line.includes('client TLS handshake failed')),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${harness.ensemble.members[0]?.adminPort}/metrics`)).text();
    expect(
      Number(/^zabkit_client_tls_handshake_failures_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(2);

    // Renewal: the files are replaced; every member notices within seconds (no signal needed)...
    for (const id of ids) expect(await servedName(secureAddressOf(harness, id))).toBe('zabkit-server');
    copyFileSync(`${pki.dir}/server2.pem`, certFile);
    copyFileSync(`${pki.dir}/server2.key`, keyFile);
    for (const id of ids) {
      await eventually(
        `member ${id} serves the renewed certificate`,
        async () => (await servedName(secureAddressOf(harness, id))) === 'zabkit-server-renewed',
      );
    }
    // ... and SIGHUP reloads at once; a key that does not match is refused and the old one stays.
    copyFileSync(server.certFile, certFile);
    copyFileSync(server.keyFile, keyFile);
    harness.ensemble.reload(ids[0] as number);
    await eventually(
      'SIGHUP reloads',
      async () => (await servedName(secureAddressOf(harness, ids[0] as number))) === 'zabkit-server',
    );
    copyFileSync(`${pki.dir}/server2.key`, keyFile);
    harness.ensemble.reload(ids[0] as number);
    await eventually('the mismatch is logged', async () =>
      harness.logs.some((line) => line.includes('client TLS certificates not reloaded')),
    );
    expect(await servedName(secureAddressOf(harness, ids[0] as number))).toBe('zabkit-server');
    const still = await RawClient.connect(secureAddressOf(harness, ids[0] as number), undefined, 10_000, {
      tls: { ca: pki.ca.cert },
    });
    expect(await still.get('/over-tls')).toBe('encrypted');
    still.close();
  }, 90_000);
});
