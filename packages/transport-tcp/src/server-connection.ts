import { X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import {
  type AddAuthFrame,
  CLIENT_PROTOCOL_VERSION,
  type ConnectRefusedReason,
  type ConnectResponse,
  encodeServerMessage,
  type Ping,
  type RequestFrame,
  type ServerMessage,
} from '@zabkit/codec';
import type { TransportError } from './errors.js';
import type { FramedSocket } from './framed-socket.js';

// Why a FramedSocket's delivery is paused; independent, so resuming one leaves the other in place.
export const PAUSED_UNTIL_ACCEPT = 'accept';
const PAUSED_BY_SERVER = 'server';

/** SessionClientMessage: what a client sends once its session is connected. */
export type SessionClientMessage = RequestFrame | Ping | AddAuthFrame;
/** SessionReply: what a server sends once the session is connected. */
export type SessionReply = Exclude<ServerMessage, { kind: 'connectResponse' | 'connectRefused' }>;

/**
 * ServerConnection is the server's side of one client connection (ZooKeeper's ServerCnxn): it
 * delivers the client's requests and pings, sends replies, watch events and pongs, and closes
 * with the reason a handler can log.
 */
export class ServerConnection {
  private messageHandler: (message: SessionClientMessage, frameBytes: number) => void = () => {};
  private closeHandler: (error: TransportError | undefined) => void = () => {};
  protected state: 'connecting' | 'accepted' | 'closed' = 'connecting';
  /** protocol is the wire the client speaks: zabkit's msgpack, or ZooKeeper's jute (ZooKeeperConnection). */
  readonly protocol: 'zabkit' | 'zookeeper' = 'zabkit';

  /** @internal built by ClientListener. */
  constructor(
    protected readonly framed: FramedSocket,
    protected readonly frameBytesMax: number,
    /** id numbers connections in the order the listener accepted them, for logs. */
    readonly id: number,
    /**
     * protocolVersion is the version of `protocol` negotiated with this client: the one its
     * ConnectRequest offered, which the listener speaks (0 for ZooKeeper's jute, which has one).
     */
    readonly protocolVersion: number = CLIENT_PROTOCOL_VERSION,
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
        { kind: 'connectResponse', protocolVersion: this.protocolVersion, ...response },
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
      encodeServerMessage({ kind: 'connectRefused', protocolVersion: this.protocolVersion, reason, message }),
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
