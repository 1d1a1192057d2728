import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type AddAuthFrame,
  CLIENT_PROTOCOL_VERSIONS,
  type ClientMessage,
  type ConnectRefused,
  type ConnectRequest,
  type ConnectResponse,
  checkProtocolVersions,
  decodeServerMessage,
  describeProtocolVersions,
  encodeClientMessage,
  FRAME_BYTES_MAX_DEFAULT,
  fallbackProtocolVersion,
  type Ping,
  type ProtocolVersions,
  type RequestFrame,
  type ServerMessage,
} from '@zabkit/codec';
import { TransportError } from './errors.js';
import { FramedSocket, SEND_QUEUE_BYTES_MAX_DEFAULT } from './framed-socket.js';
import { plainOnTlsHint, type TlsClientOptions, tlsConnectFailure, tlsConnectOptions } from './tls-options.js';

/** SessionServerMessage: what a server sends once the session is connected. */
export type SessionServerMessage = Exclude<ServerMessage, { kind: 'connectResponse' | 'connectRefused' }>;

/** ClientConnectionOptions configure one client connection to one server. */
export interface ClientConnectionOptions {
  host: string;
  port: number;
  /** request is the ConnectRequest to open or resume the session with (protocolVersion is filled in). */
  request: Omit<ConnectRequest, 'kind' | 'protocolVersion'>;
  /** connectTimeoutMs bounds the TCP connect and the handshake together. */
  connectTimeoutMs: number;
  frameBytesMax?: number;
  sendQueueBytesMax?: number;
  /** tls makes the connection speak TLS (to a member's secureClientPort); plain TCP without it. */
  tls?: TlsClientOptions;
  /**
   * protocolVersions are the client protocol versions this client speaks (default
   * CLIENT_PROTOCOL_VERSIONS). It offers the max; a server that refuses it with PROTOCOL_VERSION
   * naming a lower version this client speaks is connected to again, once, at that version, within
   * the same connectTimeoutMs. Only tests of the negotiation set another range.
   */
  protocolVersions?: ProtocolVersions;
  /** onMessage receives replies, watch events and pongs, in the order the server sent them. */
  onMessage(message: SessionServerMessage): void;
  /** onClose is called once when the connection is gone after it was connected. */
  onClose(error: TransportError | undefined): void;
}

/** Fallback: the server refused our offer naming `version`, which we speak: connect again at it. */
interface Fallback {
  version: number;
}

/**
 * ClientConnection is the client side of one connection to a server: TCP connect and the
 * ConnectRequest/ConnectResponse handshake within connectTimeoutMs, then framed requests and
 * pings out, replies, watch events and pongs in. Sessions, retries and server choice belong to
 * @zabkit/client; this is the wire only.
 */
export class ClientConnection {
  private constructor(
    private readonly framed: FramedSocket,
    private readonly frameBytesMax: number,
    /** response is the server's ConnectResponse: negotiated timeout, session id and password. */
    readonly response: ConnectResponse,
  ) {}

  /** protocolVersion is the client protocol version negotiated with the server. */
  get protocolVersion(): number {
    return this.response.protocolVersion;
  }

  /**
   * connect resolves once the server accepted the session, or rejects with a TransportError:
   * CONNECT_TIMEOUT, REFUSED (with the server's `reason`, such as PROTOCOL_VERSION or
   * TOO_MANY_CONNECTIONS), TLS (an untrusted certificate, a port that does not speak TLS, a
   * refused client certificate: the message says what to check), PROTOCOL or SOCKET. The version
   * is negotiated as {@link ClientConnectionOptions.protocolVersions} says: a server of the
   * previous release costs one more round trip.
   */
  static async connect(options: ClientConnectionOptions): Promise<ClientConnection> {
    const versions = checkProtocolVersions(options.protocolVersions ?? CLIENT_PROTOCOL_VERSIONS, 'client');
    const startedMs = Date.now();
    const first = await ClientConnection.handshake(options, versions, versions.max, false, options.connectTimeoutMs);
    if (first instanceof ClientConnection) return first;
    const leftMs = Math.max(1, options.connectTimeoutMs - (Date.now() - startedMs));
    return (await ClientConnection.handshake(options, versions, first.version, true, leftMs)) as ClientConnection;
  }

  /**
   * handshake opens one connection offering `offered`: resolves with the connection, or with a
   * Fallback when the server refused the offer naming a version this client speaks (never when
   * `fallback`: a retry is not retried).
   */
  private static handshake(
    options: ClientConnectionOptions,
    versions: ProtocolVersions,
    offered: number,
    fallback: boolean,
    timeoutMs: number,
  ): Promise<ClientConnection | Fallback> {
    const frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    return new Promise((resolve, reject) => {
      let connection: ClientConnection | undefined;
      const remote = `${options.host}:${options.port}`;
      const socket =
        options.tls === undefined
          ? tcpConnect({ host: options.host, port: options.port })
          : tlsConnect(tlsConnectOptions(options.host, options.port, options.tls));
      const framed = new FramedSocket(socket, {
        frameBytesMax,
        sendQueueBytesMax: options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX_DEFAULT,
        onFrame(body) {
          const message = decodeServerMessage(body, versions);
          if (message.kind === 'connectRefused') {
            if (message.reason === 'PROTOCOL_VERSION') {
              const retryAt = fallback
                ? undefined
                : fallbackProtocolVersion(versions, offered, message.protocolVersion);
              if (retryAt === undefined) throw versionRefused(remote, versions, offered, message);
              clearTimeout(timer);
              framed.setFrameHandler(() => {});
              framed.close();
              resolve({ version: retryAt });
              return;
            }
            throw new TransportError(
              'REFUSED',
              `${options.host}:${options.port} refused the connection: ${message.message}`,
              {
                reason: message.reason,
              },
            );
          }
          if (message.kind !== 'connectResponse') {
            throw new TransportError('PROTOCOL', `expected a connect response, got ${message.kind}`);
          }
          if (message.protocolVersion !== offered) {
            throw new TransportError(
              'PROTOCOL',
              `${remote} answered client protocol version ${message.protocolVersion} to an offer of ${offered}`,
            );
          }
          clearTimeout(timer);
          connection = new ClientConnection(framed, frameBytesMax, message);
          framed.setFrameHandler((next) => {
            const session = decodeServerMessage(next, versions);
            if (session.kind === 'connectResponse' || session.kind === 'connectRefused') {
              throw new TransportError('PROTOCOL', `unexpected ${session.kind} after the handshake`);
            }
            options.onMessage(session);
          });
          resolve(connection);
        },
        onClose(error) {
          clearTimeout(timer);
          if (connection === undefined) {
            // After a Fallback resolved, the promise is settled: nothing below has any effect.
            if (error?.code === 'CONNECT_TIMEOUT' || error?.code === 'REFUSED' || error?.code === 'PROTOCOL') {
              reject(error);
            } else if (options.tls !== undefined && (!secured || error === undefined || error.code === 'SOCKET')) {
              // Under TLS 1.3 a refused client certificate arrives as an alert just after the
              // client thought the handshake done: still a TLS failure, said as one.
              reject(tlsConnectFailure(remote, error));
            } else if (options.tls === undefined && (error === undefined || error.code === 'SOCKET')) {
              reject(plainOnTlsHint(remote, error));
            } else {
              reject(error ?? new TransportError('SOCKET', `${remote} closed during the handshake`));
            }
          } else options.onClose(error);
        },
      });
      let secured = false;
      socket.once('secureConnect', () => {
        secured = true;
      });
      const timer = setTimeout(() => {
        framed.destroy(
          new TransportError(
            'CONNECT_TIMEOUT',
            `no connect response from ${options.host}:${options.port} within ${options.connectTimeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const request: ClientMessage = {
        kind: 'connectRequest',
        protocolVersion: offered,
        ...options.request,
      };
      framed.send(encodeClientMessage(request, frameBytesMax));
    });
  }

  /** send queues a request or ping; false if the connection is closed or was just dropped as too slow. */
  send(message: RequestFrame | Ping | AddAuthFrame): boolean {
    return this.framed.send(encodeClientMessage(message, this.frameBytesMax));
  }

  /** queuedBytes is what waits to reach the kernel. */
  get queuedBytes(): number {
    return this.framed.queuedBytes;
  }

  /** isOpen is false once closing or closed. */
  get isOpen(): boolean {
    return this.framed.isOpen;
  }

  /** setIdleTimeout closes the connection with IDLE_TIMEOUT when nothing arrives for `timeoutMs` (0: off). */
  setIdleTimeout(timeoutMs: number): void {
    this.framed.setIdleTimeout(timeoutMs);
  }

  /** close sends what is queued and closes; onClose follows with no error. */
  close(): void {
    this.framed.close();
  }
}

/** versionRefused explains a refusal of the offered version with nothing left to retry: both ends' versions. */
function versionRefused(
  remote: string,
  versions: ProtocolVersions,
  offered: number,
  refusal: ConnectRefused,
): TransportError {
  return new TransportError(
    'REFUSED',
    `${remote} refused client protocol version ${offered}: ${refusal.message} (the server speaks up to version ${refusal.protocolVersion}, this client ${describeProtocolVersions(versions)})`,
    { reason: refusal.reason },
  );
}
