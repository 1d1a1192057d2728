import { X509Certificate } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type Server as TlsServer, createServer as tlsCreateServer } from 'node:tls';
import {
  type AddAuthFrame,
  CLIENT_PROTOCOL_VERSION,
  CodecError,
  type ConnectRefusedReason,
  type ConnectRequest,
  type ConnectResponse,
  decodeClientMessage,
  encodeServerMessage,
  FRAME_BYTES_MAX_DEFAULT,
  FRAME_HEADER_BYTES,
  type Ping,
  type RequestFrame,
  type ServerMessage,
} from '@zabkit/codec';
import { TransportError } from './errors.js';
import { FRAME_TIMEOUT_MS_DEFAULT, FramedSocket, SEND_QUEUE_BYTES_MAX_DEFAULT } from './framed-socket.js';
import { SILENT_LOGGER, type TransportLogger } from './logger.js';
import { PARTIAL_FRAME_BYTES_MAX_DEFAULT, PartialFrameBudget } from './partial-frame-budget.js';
import { secureContextOptions, type TlsServerOptions, tlsServerOptions } from './tls-options.js';

// Why a FramedSocket's delivery is paused; independent, so resuming one leaves the other in place.
const PAUSED_UNTIL_ACCEPT = 'accept';
const PAUSED_BY_SERVER = 'server';

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
}

/** SessionClientMessage: what a client sends once its session is connected. */
export type SessionClientMessage = RequestFrame | Ping | AddAuthFrame;
/** SessionReply: what a server sends once the session is connected. */
export type SessionReply = Exclude<ServerMessage, { kind: 'connectResponse' | 'connectRefused' }>;

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
 * ServerConnection is the server's side of one client connection (ZooKeeper's ServerCnxn): it
 * delivers the client's requests and pings, sends replies, watch events and pongs, and closes
 * with the reason a handler can log.
 */
export class ServerConnection {
  private messageHandler: (message: SessionClientMessage, frameBytes: number) => void = () => {};
  private closeHandler: (error: TransportError | undefined) => void = () => {};
  private state: 'connecting' | 'accepted' | 'closed' = 'connecting';

  /** @internal built by ClientListener. */
  constructor(
    private readonly framed: FramedSocket,
    private readonly frameBytesMax: number,
    /** id numbers connections in the order the listener accepted them, for logs. */
    readonly id: number,
  ) {}

  /** remoteAddress is the client's address. */
  get remoteAddress(): string {
    return this.framed.remoteAddress;
  }

  /** secure is true for a connection to a TLS port. */
  get secure(): boolean {
    return this.framed.socket instanceof TLSSocket;
  }

  /**
   * clientCertificate is the certificate the client presented on a TLS port, if the port's CA
   * verified it (the `x509` identity); undefined otherwise.
   */
  get clientCertificate(): X509Certificate | undefined {
    const socket = this.framed.socket;
    if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
    const raw = socket.getPeerCertificate()?.raw;
    return raw === undefined ? undefined : new X509Certificate(raw);
  }

  /** queuedBytes is what waits to reach the kernel for this client. */
  get queuedBytes(): number {
    return this.framed.queuedBytes;
  }

  /**
   * onMessage sets the handler of the client's requests and pings, in order. `frameBytes` is the
   * size of the frame the message came in, length prefix included: what a server counts against
   * its budget of request bytes in flight.
   */
  onMessage(handler: (message: SessionClientMessage, frameBytes: number) => void): void {
    this.messageHandler = handler;
  }

  /**
   * pauseReading stops delivering the client's messages until {@link ServerConnection.resumeReading}
   * (backpressure: too many requests outstanding, or the member's request bytes in flight at their
   * budget). Idempotent. Messages that arrive meanwhile wait in order; the socket is read on until
   * 16 KiB of them are held, so that the client closing is still noticed (onClose fires while
   * paused), then not at all, so TCP pushes back on the client. While the socket is not read, the
   * idle timeout and the frame deadline do not run; they start afresh on resume. Independent of
   * the hold until `accept`: neither lifts the other.
   */
  pauseReading(): void {
    this.framed.pause(PAUSED_BY_SERVER);
  }

  /**
   * resumeReading lifts {@link ServerConnection.pauseReading}: held messages are delivered at once,
   * in order (the handler may pause again between two of them), then reading goes on. Idempotent;
   * before `accept` it only lifts the server's pause.
   */
  resumeReading(): void {
    this.framed.resume(PAUSED_BY_SERVER);
  }

  /** isReadingPaused is true between pauseReading and resumeReading (while open). */
  get isReadingPaused(): boolean {
    return this.state !== 'closed' && this.framed.isPaused(PAUSED_BY_SERVER);
  }

  /** onClose sets the handler called once when the connection is gone (error undefined: closed by this end). */
  onClose(handler: (error: TransportError | undefined) => void): void {
    this.closeHandler = handler;
  }

  /** accept answers the ConnectRequest and starts delivering the session's requests. */
  accept(response: Omit<ConnectResponse, 'kind' | 'protocolVersion'>): void {
    if (this.state !== 'connecting') throw new Error(`cannot accept a connection that is ${this.state}`);
    this.state = 'accepted';
    this.framed.send(
      encodeServerMessage(
        { kind: 'connectResponse', protocolVersion: CLIENT_PROTOCOL_VERSION, ...response },
        this.frameBytesMax,
      ),
    );
    this.framed.resume(PAUSED_UNTIL_ACCEPT);
  }

  /** refuse answers with a ConnectRefused frame that says why, then closes. */
  refuse(reason: ConnectRefusedReason, message: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.framed.send(
      encodeServerMessage({ kind: 'connectRefused', protocolVersion: CLIENT_PROTOCOL_VERSION, reason, message }),
    );
    this.framed.close();
  }

  /** send queues a reply, watch event or pong; false if closed or just dropped as too slow. */
  send(message: SessionReply): boolean {
    if (this.state !== 'accepted') return false;
    return this.framed.send(encodeServerMessage(message, this.frameBytesMax));
  }

  /** setIdleTimeout closes the connection with IDLE_TIMEOUT when nothing arrives for `timeoutMs` (0: off). */
  setIdleTimeout(timeoutMs: number): void {
    this.framed.setIdleTimeout(timeoutMs);
  }

  /** close sends what is queued and closes. */
  close(): void {
    this.state = 'closed';
    this.framed.close();
  }

  /** @internal */
  deliver(message: SessionClientMessage, frameBytes: number): void {
    this.messageHandler(message, frameBytes);
  }

  /** @internal */
  closed(error: TransportError | undefined): void {
    this.state = 'closed';
    this.closeHandler(error);
  }
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
    const framed = new FramedSocket(socket, {
      frameBytesMax: this.frameBytesMax,
      sendQueueBytesMax: this.options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX_DEFAULT,
      frameTimeoutMs: this.frameTimeoutMs,
      partialFrameBudget: this.partialFrameBudget,
      onFrame: (body) => {
        clearTimeout(timer);
        let request: ReturnType<typeof decodeClientMessage>;
        try {
          request = decodeClientMessage(body);
        } catch (error) {
          if (!CodecError.isInstance(error)) throw error;
          refuse(error.field === 'protocolVersion' ? 'PROTOCOL_VERSION' : 'BAD_REQUEST', error.message);
          return;
        }
        if (request.kind !== 'connectRequest') {
          refuse('BAD_REQUEST', `expected a connect request, got ${request.kind}`);
          return;
        }
        connection = new ServerConnection(framed, this.frameBytesMax, this.nextId++);
        const accepted = connection;
        framed.setFrameHandler((next) => {
          const message = decodeClientMessage(next);
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
      framed.send(
        encodeServerMessage({ kind: 'connectRefused', protocolVersion: CLIENT_PROTOCOL_VERSION, reason, message }),
      );
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
