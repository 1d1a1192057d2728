import {
  CLIENT_PROTOCOL_VERSION,
  type ConnectRequest,
  decodeServerMessage,
  encodeClientMessage,
  encodeFrame,
  FRAME_HEADER_BYTES,
  type RequestFrame,
} from '@zabkit/codec';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientConnection, type ClientConnectionOptions, type SessionServerMessage } from './client-connection.js';
import { ClientListener, type ClientListenerOptions } from './client-listener.js';
import { TransportError } from './errors.js';
import type { FramedSocket } from './framed-socket.js';
import type { TransportLogger } from './logger.js';
import type { ServerConnection } from './server-connection.js';
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
  const closes: (TransportError | undefined)[] = [];
  let nextSession = 2 ** 40;
  const listener = new ClientListener({
    host: HOST,
    port: 0,
    onConnect(connection, request) {
      connections.push(connection);
      connection.onClose((error) => closes.push(error));
      connection.onMessage((message) => {
        if (message.kind === 'ping') connection.send({ kind: 'pong' });
        else if (message.kind === 'request') {
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
  return { listener, port, connections, closes };
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** setData is a request frame carrying `bytes` of data, so its size is known. */
function setData(xid: number, bytes: number): RequestFrame {
  return {
    kind: 'request',
    xid,
    request: { op: 'setData', path: '/p', data: new Uint8Array(bytes).fill(xid), version: -1 },
  };
}

/** rawSession opens a plain socket and connects a session over it: for writing frames piece by piece. */
async function rawSession(port: number) {
  const raw = await rawConnect(port);
  cleanups.push(() => {
    raw.socket.destroy();
  });
  raw.socket.write(
    encodeClientMessage({ kind: 'connectRequest', protocolVersion: CLIENT_PROTOCOL_VERSION, ...newSession }),
  );
  await waitFor(() => raw.bodies.length === 1 || raw.closed(), 'the connect response');
  expect(decodeServerMessage(raw.bodies[0]!).kind).toBe('connectResponse');
  return raw;
}

function recordingLogger() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const logger: TransportLogger = {
    debug() {},
    info() {},
    warn(fields, message) {
      warnings.push({ fields, message });
    },
  };
  return { logger, warnings };
}

/** framedOf reaches the FramedSocket under a ServerConnection, to read what it holds. */
const framedOf = (connection: ServerConnection) => (connection as unknown as { framed: FramedSocket }).framed;

describe('ClientListener limits', () => {
  it('closes the connections whose partial frames would pass the listener budget, and serves the others', async () => {
    const partialFrameBytesMax = 256 * 1024;
    const { logger, warnings } = recordingLogger();
    const { port, listener, closes } = await echoServer({
      frameBytesMax: 64 * 1024,
      partialFrameBytesMax,
      logger,
    });
    const healthy = await client(port);
    // Twelve sessions each send 30,000 bytes of a 60,000-byte setData and park there: 12 x 30,000
    // is more than the budget of 262,144 holds.
    const frame = encodeClientMessage(setData(1, 60_000));
    const parkers: Awaited<ReturnType<typeof rawSession>>[] = [];
    for (let i = 0; i < 12; i++) {
      const raw = await rawSession(port);
      const before = listener.stats().partialFrameBytes;
      raw.socket.write(frame.subarray(0, 30_000));
      await waitFor(() => raw.closed() || listener.stats().partialFrameBytes > before, 'the parked frame or the close');
      expect(listener.stats().partialFrameBytes).toBeLessThanOrEqual(partialFrameBytesMax);
      parkers.push(raw);
    }
    const closed = parkers.filter((raw) => raw.closed());
    const parked = parkers.filter((raw) => !raw.closed());
    // Each parked frame holds 30,000 to 60,000 bytes (one read, or two with a doubling): 4 to 8 fit.
    expect(parked.length).toBeGreaterThanOrEqual(4);
    expect(parked.length).toBeLessThanOrEqual(8);
    expect(closed.length).toBe(12 - parked.length);
    await waitFor(() => closes.length === closed.length, 'the server to see the closes');
    expect(closes.every((error) => error?.code === 'PARTIAL_FRAME_BUDGET')).toBe(true);
    expect(listener.stats()).toMatchObject({
      partialFrameBudgetCloses: closed.length,
      partialFrameBytesMax,
      frameTimeoutCloses: 0,
    });
    expect(warnings).toHaveLength(closed.length);
    for (const warning of warnings) {
      expect(warning.fields).toMatchObject({
        code: 'PARTIAL_FRAME_BUDGET',
        remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      });
      expect(warning.fields.error).toMatch(
        new RegExp(
          `^partial frame budget: ${warning.fields.remote} needed \\d+ more bytes for its incomplete frame \\(\\d+ of ${frame.length} bytes arrived, \\d+ allocated\\), which would take the incomplete frames of all connections to \\d+ bytes, over the budget of 262144$`,
        ),
      );
    }
    // The client that sends whole frames is served throughout.
    for (let xid = 1; xid <= 100; xid++)
      healthy.connection.send({ kind: 'request', xid, request: { op: 'sync', path: '/' } });
    await waitFor(() => healthy.received.length === 100, 'the healthy client to be served');
    expect(healthy.closes).toEqual([]);
    // The parked sessions are still open. With the budget this full none of them may grow, so
    // let all but one go: the last then finishes its frame, is answered, and the budget is back to 0.
    const [last, ...others] = parked;
    for (const raw of others) raw.socket.destroy();
    await waitFor(() => listener.stats().partialFrameBytes <= 60_000, 'the others to give their shares back');
    expect(last!.closed()).toBe(false);
    last!.socket.write(frame.subarray(30_000));
    await waitFor(() => last!.bodies.length === 2, 'the parked frame to be answered');
    expect(decodeServerMessage(last!.bodies[1]!)).toMatchObject({ kind: 'reply', xid: 1 });
    expect(listener.stats().partialFrameBytes).toBe(0);
  });

  it('gives the budget back when connections with incomplete frames close, whoever closes them', async () => {
    const { port, listener, connections } = await echoServer();
    const frame = encodeClientMessage(setData(1, 60_000));
    const sessions = [await rawSession(port), await rawSession(port), await rawSession(port)];
    for (const raw of sessions) raw.socket.write(frame.subarray(0, 30_000));
    const shares = () => connections.map((connection) => framedOf(connection).partialFrameBytes);
    await waitFor(() => shares().every((bytes) => bytes >= 30_000), 'three parked frames');
    const [first, second, third] = shares() as [number, number, number];
    expect(listener.stats().partialFrameBytes).toBe(first + second + third);
    sessions[0]!.socket.destroy(); // the client goes away
    await waitFor(() => listener.stats().partialFrameBytes === second + third, 'the first share back');
    sessions[1]!.socket.end(); // the client closes cleanly
    await waitFor(() => listener.stats().partialFrameBytes === third, 'the second share back');
    connections[2]!.close(); // the server closes it
    await waitFor(() => listener.stats().partialFrameBytes === 0, 'the budget back to 0');
    await waitFor(() => listener.stats().connections === 0, 'every socket closed');
  });

  it('closes a session that trickles a frame slower than frameTimeoutMs, not one that completes in time or idles between frames', async () => {
    const frameTimeoutMs = 300;
    const { logger, warnings } = recordingLogger();
    const { port, listener, closes } = await echoServer({ frameTimeoutMs, logger });
    const frame = encodeClientMessage(setData(1, 200));
    const slow = async () => {
      const raw = await rawSession(port);
      const started = Date.now();
      let sent = 0;
      while (sent < frame.length && !raw.closed()) {
        raw.socket.write(frame.subarray(sent, sent + 10));
        sent += 10;
        await sleep(40);
      }
      await waitFor(() => raw.closed(), 'the slow session to be closed', 5_000);
      return { elapsedMs: Date.now() - started, sent };
    };
    const timely = async () => {
      const raw = await rawSession(port);
      for (const [from, to] of [
        [0, 50],
        [50, 150],
        [150, frame.length],
      ]) {
        raw.socket.write(frame.subarray(from, to));
        await sleep(60);
      }
      await waitFor(() => raw.bodies.length === 2, 'the reply to the timely frame');
      await sleep(frameTimeoutMs * 2); // idle between frames: not the frame deadline's business
      raw.socket.write(encodeClientMessage(setData(2, 10)));
      await waitFor(() => raw.bodies.length === 3, 'the reply after the pause');
      return raw.closed();
    };
    const [slowResult, timelyClosed] = await Promise.all([slow(), timely()]);
    expect(slowResult.sent).toBeLessThan(frame.length);
    expect(slowResult.elapsedMs).toBeGreaterThanOrEqual(frameTimeoutMs - 10);
    expect(timelyClosed).toBe(false);
    await waitFor(() => closes.length === 1, 'the server to see the close');
    expect(closes[0]?.code).toBe('FRAME_TIMEOUT');
    expect(listener.stats().frameTimeoutCloses).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({
      code: 'FRAME_TIMEOUT',
      remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    expect(warnings[0]!.fields.error).toMatch(
      new RegExp(`not complete within 300 ms: \\d+ of ${frame.length} bytes arrived$`),
    );
  });

  it('holds the ConnectRequest to the frame deadline too', async () => {
    const { port, listener, closes } = await echoServer({ frameTimeoutMs: 100, handshakeTimeoutMs: 10_000 });
    const raw = await rawConnect(port);
    cleanups.push(() => {
      raw.socket.destroy();
    });
    const started = Date.now();
    raw.socket.write(Uint8Array.of(0, 0));
    await waitFor(() => raw.closed(), 'the close', 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(() => listener.stats().frameTimeoutCloses === 1, 'the count');
    expect(closes).toEqual([]); // no session was ever handed to the server
  });

  it('refuses a budget that cannot hold one frame of frameBytesMax', () => {
    expect(
      () =>
        new ClientListener({ host: HOST, port: 0, frameBytesMax: 1024, partialFrameBytesMax: 1027, onConnect() {} }),
    ).toThrow(/partialFrameBytesMax \(1027\) must hold at least one frame of frameBytesMax \(1024\)/);
  });
});

describe('ServerConnection backpressure', () => {
  it('holds messages in order between pauseReading and resumeReading, apart from the hold until accept, with each frame size', async () => {
    const delivered: { xid: number; frameBytes: number }[] = [];
    let server: ServerConnection | undefined;
    const { port } = await echoServer({
      onConnect(connection) {
        server = connection;
        connection.pauseReading(); // before accept: accepting must not lift it
        connection.onMessage((message, frameBytes) => {
          if (message.kind !== 'request') return;
          delivered.push({ xid: message.xid, frameBytes });
          if (message.xid === 7) connection.pauseReading();
        });
        connection.accept({ timeoutMs: 10_000, sessionId: 1, password, readOnly: false });
      },
    });
    const { connection } = await client(port);
    for (let xid = 1; xid <= 5; xid++) connection.send(setData(xid, xid * 100));
    await sleep(100);
    expect(delivered).toEqual([]);
    expect(server!.isReadingPaused).toBe(true);
    server!.resumeReading();
    await waitFor(() => delivered.length === 5, 'the held messages');
    expect(delivered).toEqual(
      [1, 2, 3, 4, 5].map((xid) => ({ xid, frameBytes: encodeClientMessage(setData(xid, xid * 100)).length })),
    );
    // Idempotent: two pauses, one resume.
    server!.pauseReading();
    server!.pauseReading();
    server!.resumeReading();
    expect(server!.isReadingPaused).toBe(false);
    // The handler pauses at xid 7: 8 to 10 wait for the next resume.
    for (let xid = 6; xid <= 10; xid++) connection.send(setData(xid, 10));
    await waitFor(() => delivered.length === 7, 'up to the pause');
    await sleep(50);
    expect(delivered.map((d) => d.xid)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    server!.resumeReading();
    await waitFor(() => delivered.length === 10, 'the rest');
    expect(delivered.map((d) => d.xid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(delivered.every((d) => d.frameBytes > FRAME_HEADER_BYTES)).toBe(true);
  });

  it('does not lift the hold until accept with resumeReading', async () => {
    const seen: number[] = [];
    let pending: ServerConnection | undefined;
    const { port } = await echoServer({
      onConnect(connection) {
        connection.onMessage((message) => {
          if (message.kind === 'request') seen.push(message.xid);
        });
        connection.pauseReading();
        connection.resumeReading();
        pending = connection;
      },
    });
    const raw = await rawConnect(port);
    cleanups.push(() => {
      raw.socket.destroy();
    });
    raw.socket.write(
      encodeClientMessage({ kind: 'connectRequest', protocolVersion: CLIENT_PROTOCOL_VERSION, ...newSession }),
    );
    for (let xid = 1; xid <= 3; xid++) raw.socket.write(encodeClientMessage(setData(xid, 10)));
    await waitFor(() => pending !== undefined, 'the connect');
    await sleep(50);
    expect(seen).toEqual([]);
    pending!.accept({ timeoutMs: 1_000, sessionId: 5, password, readOnly: false });
    await waitFor(() => seen.length === 3, 'the held requests');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('reports the client closing while paused, with requests held', async () => {
    const delivered: number[] = [];
    const closes: (TransportError | undefined)[] = [];
    const { port } = await echoServer({
      onConnect(connection) {
        connection.onMessage(() => delivered.push(1));
        connection.onClose((error) => closes.push(error));
        connection.accept({ timeoutMs: 10_000, sessionId: 1, password, readOnly: false });
        connection.pauseReading();
      },
    });
    const polite = await client(port);
    for (let xid = 1; xid <= 3; xid++) polite.connection.send(setData(xid, 100));
    await sleep(30);
    polite.connection.close();
    await waitFor(() => closes.length === 1, 'the clean close to be noticed', 5_000);
    const abrupt = await rawSession(port);
    abrupt.socket.write(encodeClientMessage(setData(1, 100)));
    await sleep(30);
    abrupt.socket.destroy();
    await waitFor(() => closes.length === 2, 'the abrupt close to be noticed', 5_000);
    expect(closes.map((error) => error?.code)).toEqual(['SOCKET', 'SOCKET']);
    expect(delivered).toEqual([]);
  });

  it('stops reading a paused connection past its held bytes, so TCP pushes back, and loses nothing', async () => {
    const xids: number[] = [];
    let server: ServerConnection | undefined;
    const { port } = await echoServer({
      onConnect(connection) {
        server = connection;
        connection.onMessage((message) => {
          if (message.kind === 'request') xids.push(message.xid);
        });
        connection.accept({ timeoutMs: 10_000, sessionId: 1, password, readOnly: false });
        connection.pauseReading();
      },
    });
    const { connection } = await client(port);
    const count = 3_000;
    for (let xid = 1; xid <= count; xid++) connection.send(setData(xid, 1_000));
    await waitFor(() => server !== undefined && !framedOf(server).isReading, 'reading to stop');
    const framed = framedOf(server!);
    const held = framed.heldBytes;
    expect(held).toBeGreaterThanOrEqual(16 * 1024);
    expect(held).toBeLessThanOrEqual(16 * 1024 + 64 * 1024);
    await sleep(50);
    expect(framed.heldBytes).toBe(held);
    expect(xids).toEqual([]);
    server!.resumeReading();
    await waitFor(() => xids.length === count, 'every request');
    expect(xids).toEqual([...Array(count).keys()].map((i) => i + 1));
  });
});
