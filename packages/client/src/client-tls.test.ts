import { makeTestPki, type TestPki } from '@zabkit/transport-tcp/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from './client.js';
import { ZabError } from './errors.js';
import { FakeEnsemble } from './testing/fake-ensemble.js';
import { nextEvent } from './testing/wait.js';

// Issue 14, item 3: the SDK connects over TLS (real certificates made by openssl for this file).

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tlsEnsemble(): Promise<FakeEnsemble> {
  const ensemble = await FakeEnsemble.start(2, 20, { tls: { cert: pki.server.cert, key: pki.server.key } });
  cleanups.push(() => ensemble.stop());
  return ensemble;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('connect({ tls })', () => {
  it('works against TLS client ports with the CA: writes, reads and a reconnect to the other member', async () => {
    const ensemble = await tlsEnsemble();
    const client = await connect(ensemble.connectString, {
      tls: { ca: pki.ca.cert },
      serverOrder: 'inOrder',
      sessionTimeoutMs: 4_000,
      connectTimeoutMs: 3_000,
    });
    cleanups.push(() => client.close());
    await client.create('/tls', 'over tls');
    expect(new TextDecoder().decode((await client.get('/tls')).data)).toBe('over tls');
    const sessionId = client.sessionId;
    const reconnected = nextEvent((listener) => client.on('reconnected', listener), 'reconnected', 5_000);
    await ensemble.members[0]?.kill();
    await reconnected;
    expect(client.sessionId).toBe(sessionId);
    expect(new TextDecoder().decode((await client.get('/tls')).data)).toBe('over tls');
  });

  it('fails with a clear error: without tls on a TLS port, and with another CA', async () => {
    const ensemble = await tlsEnsemble();
    const plain = await rejection(connect(ensemble.connectString, { connectTimeoutMs: 1_500 }));
    expect(ZabError.isInstance(plain, 'CONNECTION_LOSS')).toBe(true);
    expect(plain.message).toMatch(/TLS port \(secureClientPort\), connect with tls options/);
    const untrusted = await rejection(
      connect(ensemble.connectString, { connectTimeoutMs: 1_500, tls: { ca: pki.otherCa.cert } }),
    );
    expect(ZabError.isInstance(untrusted, 'CONNECTION_LOSS')).toBe(true);
    expect(untrusted.message).toMatch(/certificate is not trusted .*tls\.ca/);
  });
});
