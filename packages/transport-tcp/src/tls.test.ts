import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientConnection, type ClientConnectionOptions } from './client-connection.js';
import { ClientListener } from './client-listener.js';
import { TransportError } from './errors.js';
import type { TransportLogger } from './logger.js';
import type { ServerConnection } from './server-connection.js';
import { makeTestPki, type TestPki } from './test-pki.js';
import { HOST, waitFor } from './testing.js';
import type { ClientCertificates, TlsClientOptions } from './tls-options.js';

// Issue 14, item 3: a TLS client port with real certificates (made by openssl for this file).

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Port {
  listener: ClientListener;
  port: number;
  accepted: ServerConnection[];
  warnings: string[];
}

async function listen(tls: { clientCertificates?: ClientCertificates } | null): Promise<Port> {
  const accepted: ServerConnection[] = [];
  const warnings: string[] = [];
  const logger: TransportLogger = {
    debug: () => {},
    info: () => {},
    warn: (_fields, message) => warnings.push(message),
  };
  const listener = new ClientListener({
    host: HOST,
    port: 0,
    handshakeTimeoutMs: 2_000,
    logger,
    ...(tls === null
      ? {}
      : {
          tls: {
            cert: pki.server.cert,
            key: pki.server.key,
            ca: pki.ca.cert,
            clientCertificates: tls.clientCertificates,
          },
        }),
    onConnect(connection) {
      accepted.push(connection);
      connection.accept({ timeoutMs: 10_000, sessionId: 77, password: new Uint8Array(16), readOnly: false });
      connection.onMessage((message) => {
        if (message.kind === 'ping') connection.send({ kind: 'pong' });
      });
    },
  });
  const { port } = await listener.listen();
  cleanups.push(() => listener.close());
  return { listener, port, accepted, warnings };
}

async function open(port: number, tls?: TlsClientOptions, host = HOST): Promise<ClientConnection> {
  const options: ClientConnectionOptions = {
    host,
    port,
    connectTimeoutMs: 3_000,
    request: { lastZxidSeen: 0, timeoutMs: 10_000, sessionId: 0, password: new Uint8Array(16), readOnly: false },
    onMessage: () => {},
    onClose: () => {},
  };
  if (tls !== undefined) options.tls = tls;
  const connection = await ClientConnection.connect(options);
  cleanups.push(() => connection.close());
  return connection;
}

async function failure(port: number, tls?: TlsClientOptions, host = HOST): Promise<TransportError> {
  try {
    await open(port, tls, host);
  } catch (error) {
    if (TransportError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('the connect succeeded');
}

describe('TLS client port', () => {
  it('a client trusting the CA connects by address and by name; the session works over TLS', async () => {
    const server = await listen({});
    const byAddress = await open(server.port, { ca: pki.ca.cert });
    expect(byAddress.response.sessionId).toBe(77);
    const byName = await open(server.port, { ca: pki.ca.cert }, 'localhost');
    expect(byName.response.sessionId).toBe(77);
    expect(server.accepted.map((connection) => connection.secure)).toEqual([true, true]);
    expect(server.accepted[0]?.clientCertificate).toBeUndefined();
    expect(server.warnings).toEqual([]);
  });

  it('a plain client on the TLS port fails with an error that says to use TLS; the server logs it', async () => {
    const server = await listen({});
    const error = await failure(server.port);
    expect(error.code).toBe('SOCKET');
    expect(error.message).toMatch(/TLS port \(secureClientPort\), connect with tls options/);
    await waitFor(() => server.listener.stats().tlsHandshakeFailures === 1, 'the failed handshake counted');
    expect(server.warnings.join('\n')).toMatch(/client TLS handshake failed/);
    expect(server.accepted).toEqual([]);
  });

  it('a client with another CA fails with TLS and the OpenSSL reason, naming tls.ca', async () => {
    const server = await listen({});
    const error = await failure(server.port, { ca: pki.otherCa.cert });
    expect(error.code).toBe('TLS');
    expect(error.reason).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/);
    expect(error.message).toMatch(/not trusted .* tls\.ca/);
    expect(server.accepted).toEqual([]);
  });

  it('a certificate for other names is refused (the name is checked, not only the CA)', async () => {
    const server = await listen({});
    const error = await failure(server.port, { ca: pki.ca.cert, servername: 'zabkit.example' });
    expect(error.code).toBe('TLS');
    expect(error.reason).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('a TLS client on a plain port fails with TLS, not a hang', async () => {
    const server = await listen(null);
    const error = await failure(server.port, { ca: pki.ca.cert });
    expect(error.code).toBe('TLS');
    expect(error.message).toMatch(/TLS/);
  });

  it("clientCertificates 'require': a certificate from the CA connects and is the x509 identity; none or a stranger's is refused", async () => {
    const server = await listen({ clientCertificates: 'require' });
    await open(server.port, { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key });
    expect(server.accepted[0]?.clientCertificate?.subject).toMatch(/CN=client-1/);
    for (const tls of [
      { ca: pki.ca.cert },
      { ca: pki.ca.cert, cert: pki.strangerClient.cert, key: pki.strangerClient.key },
    ]) {
      const error = await failure(server.port, tls);
      expect(error.code).toBe('TLS');
    }
    expect(server.accepted).toHaveLength(1);
    await waitFor(() => server.listener.stats().tlsHandshakeFailures === 2, 'two refused handshakes');
  });

  it("clientCertificates 'request': everyone connects; only a certificate the CA signed gives an identity", async () => {
    const server = await listen({ clientCertificates: 'request' });
    await open(server.port, { ca: pki.ca.cert });
    await open(server.port, { ca: pki.ca.cert, cert: pki.strangerClient.cert, key: pki.strangerClient.key });
    await open(server.port, { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key });
    expect(server.accepted.map((connection) => connection.clientCertificate?.subject ?? null)).toEqual([
      null,
      null,
      expect.stringMatching(/CN=client-1/),
    ]);
  });

  it('close does not wait for a client stuck in its TLS handshake', async () => {
    const server = await listen({});
    const stuck = await import('node:net').then(({ connect }) => connect({ host: HOST, port: server.port }));
    stuck.on('error', () => {});
    await new Promise((resolve) => stuck.once('connect', resolve));
    const started = performance.now();
    await server.listener.close();
    // The handshake deadline is 2 s here; close must not wait for it.
    expect(performance.now() - started).toBeLessThan(1_000);
    stuck.destroy();
  });

  it('setTls replaces the certificate for new connections; a bad one is refused and the old stays', async () => {
    const server = await listen({});
    const subjectOf = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: HOST, port: server.port, ca: pki.ca.cert }, () => {
          resolve(String(socket.getPeerCertificate().subject.CN));
          socket.destroy();
        });
        socket.once('error', reject);
      });
    expect(await subjectOf()).toBe('zabkit-server');
    server.listener.setTls({ cert: pki.renewedServer.cert, key: pki.renewedServer.key, ca: pki.ca.cert });
    expect(await subjectOf()).toBe('zabkit-server-renewed');
    expect(() => server.listener.setTls({ cert: pki.server.cert, key: pki.renewedServer.key })).toThrow();
    expect(await subjectOf()).toBe('zabkit-server-renewed');
  });
});
