import { createServer, type Server, type Socket } from 'node:net';
import { type TLSSocket, type Server as TlsServer, createServer as tlsCreateServer } from 'node:tls';
import {
  CLIENT_PROTOCOL_VERSION,
  CLIENT_PROTOCOL_VERSIONS,
  CodecError,
  type ConnectRefusedReason,
  type ConnectRequest,
  checkProtocolVersions,
  decodeClientMessage,
  encodeServerMessage,
  FRAME_BYTES_MAX_DEFAULT,
  FRAME_HEADER_BYTES,
  type ProtocolVersions,
} from '@zabkit/codec';
import { decodeConnectRequest, type JuteConnectRequest, JuteError } from '@zabkit/jute';
import { TransportError } from './errors.js';
import { FRAME_TIMEOUT_MS_DEFAULT, FramedSocket, SEND_QUEUE_BYTES_MAX_DEFAULT } from './framed-socket.js';
import { SILENT_LOGGER, type TransportLogger } from './logger.js';
import { PARTIAL_FRAME_BYTES_MAX_DEFAULT, PartialFrameBudget } from './partial-frame-budget.js';
import { PAUSED_UNTIL_ACCEPT, ServerConnection } from './server-connection.js';
import { secureContextOptions, type TlsServerOptions, tlsServerOptions } from './tls-options.js';
import { ZooKeeperConnection } from './zookeeper-connection.js';

/** ClientListenerOptions configure a server's client port. */
export interface ClientListenerOptions {
  host: string;
  /** port 0 picks a free port (see {@link ClientListener.listen}). */
  port: number;
  /** connectionsMax caps open client connections in total (ZooKeeper's globalOutstandingLimit is per request; this is per socket). */
  connectionsMax?: number;
  /** connectionsPerAddressMax caps connections from one remote address (ZooKeeper's maxClientCnxns, default 60). */
  connectionsPerAddressMax?: number;
  frameBytesMax?: number;
  sendQueueBytesMax?: number;
  /** handshakeTimeoutMs bounds the wait for the ConnectRequest. */
  handshakeTimeoutMs?: number;
  /**
   * partialFrameBytesMax bounds the bytes all of this listener's connections hold allocated for
   * frames that have not fully arrived (default 64 MiB; at least frameBytesMax + 4). A connection
   * whose incomplete frame needs more than is left is closed with PARTIAL_FRAME_BUDGET; the
   * others carry on.
   */
  partialFrameBytesMax?: number;
  /**
   * frameTimeoutMs: once the first byte of a frame has arrived, the whole frame must arrive within
   * this (default 30 000), or the connection is closed with FRAME_TIMEOUT. Time between frames does
   * not count (that is the idle timeout's business); 0 turns it off.
   */
  frameTimeoutMs?: number;
  /**
   * tls makes this a TLS port (ZooKeeper's secureClientPort): the server's certificate and key, and
   * whether clients must present a certificate signed by `ca`. The TLS handshake is bounded by
   * handshakeTimeoutMs too. Certificates can be replaced later with {@link ClientListener.setTls}.
   */
  tls?: TlsServerOptions;
  /**
   * onConnect is called with each ConnectRequest. Call `accept` or `refuse` on the connection,
   * now or later: requests that arrive before are held (and the socket not read) until `accept`.
   */
  onConnect(connection: ServerConnection, request: ConnectRequest): void;
  logger?: TransportLogger;
  /**
   * protocol: `zabkit` (default) speaks zabkit's msgpack client protocol; `zookeeper` speaks
   * ZooKeeper's jute protocol, each connection a {@link ZooKeeperConnection} handed to onConnect
   * with the ConnectRequest translated (so the server serves both alike).
   */
  protocol?: 'zabkit' | 'zookeeper';
  /**
   * fourLetterWord answers ZooKeeper's four-letter words (`ruok`, `srvr`, `mntr`, …) on a
   * `zookeeper` port: the text to send (then the connection closes), or null for a word that is
   * not allowed. Absent: no four-letter words.
   */
  fourLetterWord?: (word: string) => string | null;
  /**
   * protocolVersions are the client protocol versions this port speaks (default
   * CLIENT_PROTOCOL_VERSIONS; ignored on a `zookeeper` port). A ConnectRequest of one of them is
   * answered at that version (ServerConnection.protocolVersion); another is refused with
   * PROTOCOL_VERSION naming this port's max, and a newer client retries at it. Only tests of the
   * negotiation set another range.
   */
  protocolVersions?: ProtocolVersions;
}

/** FOUR_LETTER_WORDS are the words ZooKeeper knows (a connection whose first four bytes are one is a command, not a client). */
export const FOUR_LETTER_WORDS: ReadonlySet<string> = new Set([
  'ruok',
  'srvr',
  'stat',
  'mntr',
  'conf',
  'isro',
  'envi',
  'cons',
  'wchs',
  'wchc',
  'wchp',
  'dump',
  'crst',
  'srst',
  'dirs',
  'gtmk',
  'stmk',
  'hash',
]);

/** ClientListenerStats are a listener's gauges and counters, for a server's metrics. */
export interface ClientListenerStats {
  /** connections is how many client sockets are open, refused ones that are still closing included. */
  connections: number;
  /** partialFrameBytes is what all connections hold allocated for incomplete frames now; never above partialFrameBytesMax. */
  partialFrameBytes: number;
  /** partialFrameBytesMax is the budget partialFrameBytes is held to. */
  partialFrameBytesMax: number;
  /** partialFrameBudgetCloses counts connections closed with PARTIAL_FRAME_BUDGET since the listener was made. */
  partialFrameBudgetCloses: number;
  /** frameTimeoutCloses counts connections closed with FRAME_TIMEOUT since the listener was made. */
  frameTimeoutCloses: number;
  /** tlsHandshakeFailures counts TLS handshakes that failed on a TLS port (plain clients, untrusted certificates). */
  tlsHandshakeFailures: number;
}

/**
 * ClientListener is a server's client port: it accepts connections up to `connectionsMax` in
 * total and `connectionsPerAddressMax` per remote address (past either, the client gets a
 * ConnectRefused frame with TOO_MANY_CONNECTIONS and the socket closes), reads each one's
 * ConnectRequest (another protocol version is refused with PROTOCOL_VERSION) and hands it to
 * `onConnect`. A connection that sends garbage is closed; the others are not affected.
 *
 * Incoming frames are bounded three ways: each by frameBytesMax; all incomplete frames of all
 * connections together by partialFrameBytesMax (the connection whose frame would pass it is the
 * one closed, PARTIAL_FRAME_BUDGET); and each incomplete frame in time by frameTimeoutMs
 * (FRAME_TIMEOUT). Both closes are logged at warn with the remote address and counted in
 * {@link ClientListener.stats}.
 */
export class ClientListener {
  private readonly server: Server;
  private readonly connections = new Set<Socket>();
  /** handshaking: a TLS port's raw sockets, from accept until they close (their TLS handshake included). */
  private readonly handshaking = new Set<Socket>();
  private readonly perAddress = new Map<string, number>();
  private readonly frameBytesMax: number;
  private readonly frameTimeoutMs: number;
  private readonly partialFrameBudget: PartialFrameBudget;
  private readonly logger: TransportLogger;
  private readonly versions: ProtocolVersions;
  private nextId = 1;
  private closing = false;
  private partialFrameBudgetCloses = 0;
  private frameTimeoutCloses = 0;
  private tlsHandshakeFailures = 0;

  constructor(private readonly options: ClientListenerOptions) {
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    this.frameTimeoutMs = options.frameTimeoutMs ?? FRAME_TIMEOUT_MS_DEFAULT;
    const partialFrameBytesMax = options.partialFrameBytesMax ?? PARTIAL_FRAME_BYTES_MAX_DEFAULT;
    if (partialFrameBytesMax < this.frameBytesMax + FRAME_HEADER_BYTES) {
      throw new RangeError(
        `partialFrameBytesMax (${partialFrameBytesMax}) must hold at least one frame of frameBytesMax (${this.frameBytesMax}) and its header`,
      );
    }
    this.partialFrameBudget = new PartialFrameBudget(partialFrameBytesMax);
    this.logger = options.logger ?? SILENT_LOGGER;
    this.versions = checkProtocolVersions(options.protocolVersions ?? CLIENT_PROTOCOL_VERSIONS, 'client');
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    if (options.tls === undefined) {
      this.server = createServer((socket) => this.accept(socket));
    } else {
      const server = tlsCreateServer(tlsServerOptions(options.tls, handshakeTimeoutMs), (socket) =>
        this.accept(socket),
      );
      // A plain client, a scanner, an untrusted or missing client certificate: logged, counted, closed.
      server.on('connection', (socket: Socket) => {
        this.handshaking.add(socket);
        socket.once('close', () => this.handshaking.delete(socket));
      });
      server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
        this.tlsHandshakeFailures++;
        const address = socket.remoteAddress ?? 'unknown';
        this.logger.warn(
          {
            remote: `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? '?'}`,
            code: error.code,
          },
          `client TLS handshake failed: ${error.message}`,
        );
      });
      this.server = server;
    }
  }

  /**
   * setTls replaces the certificate, key and CA of a TLS port (a renewed certificate): new
   * connections use them, established ones keep theirs. Whether clients must present a
   * certificate stays as the listener was created. Throws on a port that is not TLS, or on a
   * certificate and key that do not load (the old ones stay in use).
   */
  setTls(tls: TlsServerOptions): void {
    if (this.options.tls === undefined) throw new Error('setTls on a listener that is not TLS');
    (this.server as TlsServer).setSecureContext(secureContextOptions(tls));
  }

  /** isTls is true for a TLS port. */
  get isTls(): boolean {
    return this.options.tls !== undefined;
  }

  /** listen binds the port; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const bound = this.server.address();
    if (bound === null || typeof bound === 'string') throw new Error('ClientListener is not listening');
    return { host: bound.address, port: bound.port };
  }

  /** connectionCount is how many client sockets are open, refused ones that are still closing included. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** stats are the listener's gauges and counters; cheap, for a metrics scrape. */
  stats(): ClientListenerStats {
    return {
      connections: this.connections.size,
      partialFrameBytes: this.partialFrameBudget.bytes,
      partialFrameBytesMax: this.partialFrameBudget.bytesMax,
      partialFrameBudgetCloses: this.partialFrameBudgetCloses,
      frameTimeoutCloses: this.frameTimeoutCloses,
      tlsHandshakeFailures: this.tlsHandshakeFailures,
    };
  }

  /** close stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.closing = true;
    for (const socket of this.connections) socket.destroy();
    // TLS sockets still in their handshake are not in `connections` yet; close them too, or
    // server.close() would wait for their handshake deadline.
    for (const socket of this.handshaking) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** acceptZooKeeper reads a ZooKeeper client's ConnectRequest and hands the translated request to onConnect. */
  private acceptZooKeeper(framed: FramedSocket, body: Uint8Array, remote: string): ServerConnection | undefined {
    let request: JuteConnectRequest;
    try {
      request = decodeConnectRequest(body);
    } catch (error) {
      if (!JuteError.isInstance(error)) throw error;
      this.logger.info({ remote, error: error.message }, 'ZooKeeper client connection refused: a bad ConnectRequest');
      framed.close();
      return undefined;
    }
    const connection = new ZooKeeperConnection(framed, this.frameBytesMax, this.nextId++, request.readOnlySent);
    framed.setFrameHandler((next) => connection.deliverFrame(next, FRAME_HEADER_BYTES + next.length));
    framed.pause(PAUSED_UNTIL_ACCEPT);
    this.options.onConnect(connection, {
      kind: 'connectRequest',
      protocolVersion: CLIENT_PROTOCOL_VERSION,
      lastZxidSeen: request.lastZxidSeen,
      timeoutMs: request.timeoutMs,
      sessionId: request.sessionId,
      password: request.password,
      readOnly: request.readOnly,
    });
    return connection;
  }

  /** fourLetterWord answers a four-letter word in a connection's first bytes; false for a client's ConnectRequest. */
  private fourLetterWord(first: Buffer, framed: FramedSocket, timer: NodeJS.Timeout, remote: string): boolean {
    if (first.length < 4) return false;
    const word = first.toString('latin1', 0, 4);
    if (!FOUR_LETTER_WORDS.has(word)) return false;
    clearTimeout(timer);
    const answer = this.options.fourLetterWord?.(word) ?? null;
    this.logger.info({ remote, word, allowed: answer !== null }, 'four-letter word');
    framed.send(Buffer.from(answer ?? `${word} is not executed because it is not in the whitelist.\n`, 'utf8'));
    framed.close();
    return true;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? 'unknown';
    const remote = `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? '?'}`;
    const fromAddress = (this.perAddress.get(address) ?? 0) + 1;
    this.perAddress.set(address, fromAddress);
    this.connections.add(socket);
    socket.once('close', () => {
      this.connections.delete(socket);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    const handshakeTimeoutMs = this.options.handshakeTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      framed.destroy(new TransportError('HANDSHAKE_TIMEOUT', `no connect request within ${handshakeTimeoutMs} ms`));
    }, handshakeTimeoutMs);
    let connection: ServerConnection | undefined;
    const zookeeper = this.options.protocol === 'zookeeper';
    const framed: FramedSocket = new FramedSocket(socket, {
      ...(zookeeper ? { sniff: (first: Buffer): boolean => this.fourLetterWord(first, framed, timer, remote) } : {}),
      frameBytesMax: this.frameBytesMax,
      sendQueueBytesMax: this.options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX_DEFAULT,
      frameTimeoutMs: this.frameTimeoutMs,
      partialFrameBudget: this.partialFrameBudget,
      onFrame: (body) => {
        clearTimeout(timer);
        if (zookeeper) {
          connection = this.acceptZooKeeper(framed, body, remote);
          return;
        }
        let request: ReturnType<typeof decodeClientMessage>;
        try {
          request = decodeClientMessage(body, this.versions);
        } catch (error) {
          if (!CodecError.isInstance(error)) throw error;
          refuse(error.field === 'protocolVersion' ? 'PROTOCOL_VERSION' : 'BAD_REQUEST', error.message);
          return;
        }
        if (request.kind !== 'connectRequest') {
          refuse('BAD_REQUEST', `expected a connect request, got ${request.kind}`);
          return;
        }
        connection = new ServerConnection(framed, this.frameBytesMax, this.nextId++, request.protocolVersion);
        const accepted = connection;
        framed.setFrameHandler((next: Uint8Array) => {
          const message = decodeClientMessage(next, this.versions);
          if (message.kind === 'connectRequest') throw new TransportError('PROTOCOL', 'a second connect request');
          accepted.deliver(message, FRAME_HEADER_BYTES + next.length);
        });
        // Hold what follows until the server accepts the session.
        framed.pause(PAUSED_UNTIL_ACCEPT);
        this.options.onConnect(accepted, request);
      },
      onClose: (error) => {
        clearTimeout(timer);
        if (error?.code === 'PARTIAL_FRAME_BUDGET') this.partialFrameBudgetCloses++;
        if (error?.code === 'FRAME_TIMEOUT') this.frameTimeoutCloses++;
        if (error?.code === 'PROTOCOL' || error?.code === 'PARTIAL_FRAME_BUDGET' || error?.code === 'FRAME_TIMEOUT') {
          this.logger.warn({ remote, code: error.code, error: error.message }, 'client connection closed');
        }
        connection?.closed(error);
      },
    });
    const refuse = (reason: ConnectRefusedReason, message: string) => {
      clearTimeout(timer);
      this.logger.info({ remote: address, reason }, `client connection refused: ${message}`);
      if (zookeeper) {
        // A ZooKeeper client has no refusal message: it sees the connection close and tries another server.
        framed.close();
        return;
      }
      // A refusal names this port's newest version: a newer client retries at it.
      framed.send(encodeServerMessage({ kind: 'connectRefused', protocolVersion: this.versions.max, reason, message }));
      framed.close();
    };
    const totalMax = this.options.connectionsMax ?? 1024;
    const perAddressMax = this.options.connectionsPerAddressMax ?? 60;
    if (this.connections.size > totalMax) {
      refuse('TOO_MANY_CONNECTIONS', `too many client connections: the limit is ${totalMax}`);
    } else if (fromAddress > perAddressMax) {
      refuse('TOO_MANY_CONNECTIONS', `too many connections from ${address}: the limit is ${perAddressMax}`);
    }
  }
}
