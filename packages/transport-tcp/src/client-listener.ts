import { createServer, type Server, type Socket } from 'node:net';
import {
  CLIENT_PROTOCOL_VERSION,
  CodecError,
  type ConnectRefusedReason,
  type ConnectRequest,
  type ConnectResponse,
  decodeClientMessage,
  encodeServerMessage,
  FRAME_BYTES_MAX_DEFAULT,
  type Ping,
  type RequestFrame,
  type ServerMessage,
} from '@zabkit/codec';
import { TransportError } from './errors.js';
import { FramedSocket, SEND_QUEUE_BYTES_MAX_DEFAULT } from './framed-socket.js';
import { SILENT_LOGGER, type TransportLogger } from './logger.js';

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
   * onConnect is called with each ConnectRequest. Call `accept` or `refuse` on the connection,
   * now or later: requests that arrive before are held (and the socket not read) until `accept`.
   */
  onConnect(connection: ServerConnection, request: ConnectRequest): void;
  logger?: TransportLogger;
}

/** SessionClientMessage: what a client sends once its session is connected. */
export type SessionClientMessage = RequestFrame | Ping;
/** SessionReply: what a server sends once the session is connected. */
export type SessionReply = Exclude<ServerMessage, { kind: 'connectResponse' | 'connectRefused' }>;

/**
 * ServerConnection is the server's side of one client connection (ZooKeeper's ServerCnxn): it
 * delivers the client's requests and pings, sends replies, watch events and pongs, and closes
 * with the reason a handler can log.
 */
export class ServerConnection {
  private messageHandler: (message: SessionClientMessage) => void = () => {};
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

  /** queuedBytes is what waits to reach the kernel for this client. */
  get queuedBytes(): number {
    return this.framed.queuedBytes;
  }

  /** onMessage sets the handler of the client's requests and pings, in order. */
  onMessage(handler: (message: SessionClientMessage) => void): void {
    this.messageHandler = handler;
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
    this.framed.resume();
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
  deliver(message: SessionClientMessage): void {
    this.messageHandler(message);
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
 */
export class ClientListener {
  private readonly server: Server;
  private readonly connections = new Set<Socket>();
  private readonly perAddress = new Map<string, number>();
  private readonly frameBytesMax: number;
  private readonly logger: TransportLogger;
  private nextId = 1;
  private closing = false;

  constructor(private readonly options: ClientListenerOptions) {
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.server = createServer((socket) => this.accept(socket));
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

  /** close stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.closing = true;
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? 'unknown';
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
          accepted.deliver(message);
        });
        // Hold what follows until the server accepts the session.
        framed.pause();
        this.options.onConnect(accepted, request);
      },
      onClose: (error) => {
        clearTimeout(timer);
        if (error?.code === 'PROTOCOL')
          this.logger.warn({ remote: address, error: error.message }, 'client connection closed');
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
