import {
  CLIENT_PROTOCOL_VERSION,
  type ConnectRequest,
  decodeServerMessage,
  encodeClientMessage,
  encodeFrame,
} from '@zabkit/codec';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientConnection, type ClientConnectionOptions, type SessionServerMessage } from './client-connection.js';
import { ClientListener, type ClientListenerOptions, type ServerConnection } from './client-listener.js';
import { TransportError } from './errors.js';
import { closeServer, HOST, rawConnect, rawServer, waitFor } from './testing.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const password = Uint8Array.from({ length: 16 }, (_, i) => i);
const newSession: Omit<ConnectRequest, 'kind' | 'protocolVersion'> = {
  lastZxidSeen: 0,
  timeoutMs: 30_000,
  sessionId: 0,
  password: new Uint8Array(16),
  readOnly: false,
};

/** echoServer accepts every session and answers each request with a reply echoing its xid, and pings with pongs. */
async function echoServer(options: Partial<ClientListenerOptions> = {}) {
  const connections: ServerConnection[] = [];
  let nextSession = 2 ** 40;
  const listener = new ClientListener({
    host: HOST,
    port: 0,
    onConnect(connection, request) {
      connections.push(connection);
      connection.onMessage((message) => {
        if (message.kind === 'ping') connection.send({ kind: 'pong' });
        else {
          const { xid, request: op } = message;
          if (op.op === 'getData') {
            connection.send({ kind: 'watchEvent', xid: -1, event: { type: 3, path: op.path, zxid: 2 ** 33 + xid } });
          }
          connection.send({
            kind: 'reply',
            xid,
            zxid: 2 ** 33 + xid,
            error: null,
            result: { op: 'sync', path: `/${xid}` },
          });
        }
      });
      connection.accept({
        timeoutMs: Math.min(request.timeoutMs, 20_000),
        sessionId: request.sessionId || nextSession++,
        password,
        readOnly: false,
      });
    },
    ...options,
  });
  const { port } = await listener.listen();
  cleanups.push(() => listener.close());
  return { listener, port, connections };
}

async function client(port: number, extra: Partial<ClientConnectionOptions> = {}) {
  const received: SessionServerMessage[] = [];
  const closes: (TransportError | undefined)[] = [];
  const connection = await ClientConnection.connect({
    host: HOST,
    port,
    request: newSession,
    connectTimeoutMs: 2_000,
    onMessage: (message) => received.push(message),
    onClose: (error) => closes.push(error),
    ...extra,
  });
  cleanups.push(() => connection.close());
  return { connection, received, closes };
}

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    if (TransportError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the connect to fail');
}

describe('ClientConnection and ClientListener', () => {
  it('opens a session and carries many requests and replies in order, watch events before their reply', async () => {
    const { port } = await echoServer();
    const { connection, received } = await client(port);
    expect(connection.response).toMatchObject({
      kind: 'connectResponse',
      timeoutMs: 20_000,
      sessionId: 2 ** 40,
      password,
    });
    const count = 3_000;
    for (let xid = 1; xid <= count; xid++) {
      const request =
        xid % 3 === 0 ? { op: 'getData' as const, path: `/n${xid}`, watch: true } : { op: 'sync' as const, path: '/' };
      expect(connection.send({ kind: 'request', xid, request })).toBe(true);
    }
    connection.send({ kind: 'ping' });
    await waitFor(() => received.at(-1)?.kind === 'pong', 'every reply and the pong');
    const replies = received.filter((m) => m.kind === 'reply');
    expect(replies.map((m) => m.xid)).toEqual([...Array(count).keys()].map((i) => i + 1));
    const watchIndex = received.findIndex((m) => m.kind === 'watchEvent');
    expect(received[watchIndex + 1]).toMatchObject({ kind: 'reply', xid: 3 });
    expect(received[watchIndex]).toEqual({
      kind: 'watchEvent',
      xid: -1,
      event: { type: 3, path: '/n3', zxid: 2 ** 33 + 3 },
    });
  });

  it('holds requests sent right behind the connect until the server accepts', async () => {
    const seen: number[] = [];
    let pending: { connection: ServerConnection } | undefined;
    const listener = new ClientListener({
      host: HOST,
      port: 0,
      onConnect(connection) {
        connection.onMessage((message) => {
          if (message.kind === 'request') seen.push(message.xid);
        });
        pending = { connection };
      },
    });
    const { port } = await listener.listen();
    cleanups.push(() => listener.close());
    const raw = await rawConnect(port);
    cleanups.push(() => {
      raw.socket.destroy();
    });
    raw.socket.write(
      encodeClientMessage({ kind: 'connectRequest', protocolVersion: CLIENT_PROTOCOL_VERSION, ...newSession }),
    );
    for (let xid = 1; xid <= 5; xid++)
      raw.socket.write(encodeClientMessage({ kind: 'request', xid, request: { op: 'sync', path: '/' } }));
    await waitFor(() => pending !== undefined, 'the connect');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(seen).toEqual([]);
    pending!.connection.accept({ timeoutMs: 1_000, sessionId: 5, password, readOnly: false });
    await waitFor(() => seen.length === 5, 'the held requests');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    await waitFor(() => raw.bodies.length === 1, 'the connect response');
    expect(decodeServerMessage(raw.bodies[0]!)).toMatchObject({ kind: 'connectResponse', sessionId: 5 });
  });

  it('refuses connections past the per-address cap and the total cap with a clear error', async () => {
    const perAddress = await echoServer({ connectionsPerAddressMax: 2 });
    await client(perAddress.port);
    await client(perAddress.port);
    const refused = await rejection(client(perAddress.port));
    expect(refused.code).toBe('REFUSED');
    expect(refused.reason).toBe('TOO_MANY_CONNECTIONS');
    expect(refused.message).toMatch(/too many connections from 127\.0\.0\.1: the limit is 2/);
    const total = await echoServer({ connectionsMax: 1 });
    await client(total.port);
    const refusedTotal = await rejection(client(total.port));
    expect(refusedTotal.reason).toBe('TOO_MANY_CONNECTIONS');
    expect(refusedTotal.message).toMatch(/the limit is 1/);
    // Once a connection closes, its place is free again.
    await waitFor(() => total.listener.connectionCount === 1, 'the refused socket to close');
    total.connections[0]!.close();
    await waitFor(() => total.listener.connectionCount === 0, 'the close');
    await client(total.port);
  });

  it('refuses a client of another protocol version with a clear error', async () => {
    const { port } = await echoServer();
    const raw = await rawConnect(port);
    const frame = encodeClientMessage({ kind: 'connectRequest', protocolVersion: 7, ...newSession } as never);
    raw.socket.write(frame);
    await waitFor(() => raw.closed(), 'the refusal');
    expect(decodeServerMessage(raw.bodies[0]!)).toMatchObject({
      kind: 'connectRefused',
      protocolVersion: CLIENT_PROTOCOL_VERSION,
      reason: 'PROTOCOL_VERSION',
      message: `protocolVersion: client protocol version 7 is not supported: this end speaks version ${CLIENT_PROTOCOL_VERSION}`,
    });
  });

  it('closes a connection that sends garbage and keeps serving the others', async () => {
    const { port, listener } = await echoServer();
    const healthy = await client(port);
    const garbage = [
      Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), // a TLS ClientHello on the plain port
      Buffer.from([0xff, 0xff, 0xff, 0xff]), // a length far over the limit
      encodeFrame(Uint8Array.of(0xc1)), // not msgpack
    ];
    for (const bytes of garbage) {
      const raw = await rawConnect(port);
      raw.socket.write(bytes);
      await waitFor(() => raw.closed(), 'the garbage connection to close');
    }
    // Garbage after a good handshake closes that session's connection only.
    const victim = await client(port);
    (victim.connection as unknown as { framed: { socket: import('node:net').Socket } }).framed.socket.write(
      encodeFrame(Uint8Array.of(0x93, 1, 2, 3)),
    );
    await waitFor(() => victim.closes.length === 1, 'the victim to be closed');
    expect(healthy.connection.send({ kind: 'request', xid: 1, request: { op: 'sync', path: '/' } })).toBe(true);
    await waitFor(() => healthy.received.length === 1, 'the healthy client to be served');
    await waitFor(() => listener.connectionCount === 1, 'only the healthy connection left');
  });

  it('times out a connect to a server that never answers', async () => {
    const silent = await rawServer(() => {});
    cleanups.push(() => closeServer(silent.server));
    const started = Date.now();
    const error = await rejection(client(silent.port, { connectTimeoutMs: 100 }));
    expect(error.code).toBe('CONNECT_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('fails a connect to a closed port with SOCKET', async () => {
    const gone = await rawServer(() => {});
    await closeServer(gone.server);
    const error = await rejection(client(gone.port));
    expect(error.code).toBe('SOCKET');
  });

  it('closes an idle client connection on the server side', async () => {
    const closes: (TransportError | undefined)[] = [];
    const { port } = await echoServer({
      onConnect(connection) {
        connection.onClose((error) => closes.push(error));
        connection.accept({ timeoutMs: 100, sessionId: 1, password, readOnly: false });
        connection.setIdleTimeout(80);
      },
    });
    const { closes: clientCloses } = await client(port);
    await waitFor(() => closes.length === 1 && clientCloses.length === 1, 'the idle close', 2_000);
    expect(closes[0]?.code).toBe('IDLE_TIMEOUT');
  });
});
