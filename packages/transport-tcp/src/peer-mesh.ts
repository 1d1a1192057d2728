import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';
import {
  CodecError,
  checkProtocolVersions,
  decodePeerHandshake,
  decodePeerMessage,
  describeProtocolVersions,
  encodePeerHandshake,
  encodePeerMessage,
  FRAME_BYTES_MAX_DEFAULT,
  fallbackProtocolVersion,
  PEER_PROTOCOL_VERSIONS,
  type PeerAuthMode,
  type PeerHandshakeMessage,
  type PeerHandshakeRefused,
  type PeerHandshakeRefusedReason,
  type ProtocolVersions,
} from '@zabkit/codec';
import type { PeerMessage } from '@zabkit/core';
import { BACKOFF_DEFAULTS, backoffDelayMs } from './backoff.js';
import { startDeadline } from './deadline.js';
import { EntryFrameCache } from './entry-frame-cache.js';
import { TransportError } from './errors.js';
import { FRAME_TIMEOUT_MS_DEFAULT, FramedSocket, SEND_QUEUE_BYTES_MAX_DEFAULT } from './framed-socket.js';
import { SILENT_LOGGER, type TransportLogger } from './logger.js';
import {
  newPeerNonce,
  PEER_NONCE_BYTES,
  PEER_SECRET_BYTES_MIN,
  type PeerTranscript,
  peerProof,
  verifyPeerProof,
} from './peer-auth.js';
import {
  certificateNames,
  memberCertificateName,
  namesMember,
  type PeerTlsOptions,
  peerTlsConnectOptions,
  peerTlsServerOptions,
} from './peer-tls.js';
import type { PeerTransport } from './peer-transport.js';

/** PeerAddress is where a member of the ensemble listens for peers. */
export interface PeerAddress {
  id: number;
  host: string;
  port: number;
}

/** PeerMeshOptions configure one server's side of the mesh. */
export interface PeerMeshOptions {
  serverId: number;
  /** listen is this server's peer port; port 0 picks a free one (see {@link PeerMesh.start}). */
  listen: { host: string; port: number };
  /** peers are the other members; may be replaced later with {@link PeerMesh.setPeers}. */
  peers?: PeerAddress[];
  frameBytesMax?: number;
  /** sendQueueBytesMax bounds what may wait for one peer; past it the connection is dropped. */
  sendQueueBytesMax?: number;
  /** random returns [0, 1) for the reconnect jitter; inject a seeded one for replayable tests. */
  random?: () => number;
  reconnectDelayMsBase?: number;
  reconnectDelayMsMax?: number;
  connectTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  /**
   * frameTimeoutMs: once the first byte of a frame has arrived, the whole frame must arrive within
   * this (default 30 000, as on the client port), or the connection is closed with FRAME_TIMEOUT,
   * reported down and redialed. 0 turns it off.
   */
  frameTimeoutMs?: number;
  /**
   * secret is the ensemble's shared secret (at least 32 bytes). With it, both ends of every peer
   * connection prove they know it (HMAC-SHA256 over both fresh nonces, both ids, the role and the
   * version) before a message is delivered; a member with another secret, or none, is refused.
   * Without it, any process that reaches the peer port and names a member's id is believed.
   */
  secret?: Uint8Array;
  /**
   * tls makes every peer connection mutual TLS: both ends present a certificate signed by `ca`, and
   * each checks that the other's names the member it claims to be (`zabkit-member-<id>`, as subject
   * CN or DNS SAN). A connection whose certificate is missing, from another CA or for another member
   * is closed before anything it says reaches the protocol. With `secret` too, both checks run.
   */
  tls?: PeerTlsOptions;
  /**
   * protocolVersions are the peer protocol versions this end speaks (default
   * PEER_PROTOCOL_VERSIONS: the codec's own version and, once there is one, the previous one).
   * Each connection negotiates one
   * (README "Versions"): the dialer offers its max; the acceptor answers with it if it speaks it,
   * else refuses naming its own max, and the dialer retries once at that version if it speaks it.
   * The mesh carries frames the same way at every version: what a version changes is the codec's
   * and the host's business ({@link PeerMesh.protocolVersion}). Only tests of the negotiation set
   * another range.
   */
  protocolVersions?: ProtocolVersions;
  /**
   * announceVersion is for tests of a rolling upgrade only: the version this end offers first when
   * it dials (default: protocolVersions.max), as a member of a later release would. It only
   * announces: this end still accepts, answers and falls back within protocolVersions, so against
   * members of today's release it ends up at a version it speaks (an acceptor that speaks the
   * announced version would answer with it, and this end would close that connection as PROTOCOL,
   * since it speaks no such version).
   */
  announceVersion?: number;
  logger?: TransportLogger;
}

/** PeerStatus is the state of the link to one peer. */
export type PeerStatus = 'connected' | 'connecting' | 'waiting' | 'idle';

interface Peer {
  address: PeerAddress;
  /** connection is the established connection, the only one messages go over. */
  connection: FramedSocket | undefined;
  /** dial is an outgoing connection whose handshake has not completed. */
  dial: FramedSocket | undefined;
  timer: NodeJS.Timeout | undefined;
  attempt: number;
  /** lastFailure: the code and reason of the last failed dial, so a repeated refusal is logged once. */
  lastFailure?: string | undefined;
  /** protocolVersion: the version negotiated on `connection` (undefined without one). */
  protocolVersion: number | undefined;
}

const EMPTY = new Uint8Array(0);

/** wrongCertificate explains a TLS peer whose (CA-verified) certificate names another member. */
function wrongCertificate(remote: string, id: number, socket: Socket): string {
  const names = certificateNames(socket);
  return `${remote} claims to be server ${id} but its certificate names ${names.length === 0 ? 'nothing' : names.join(', ')}, not ${memberCertificateName(id)}`;
}

/**
 * versionRefused explains a refusal of the version this end offered, with nothing left to retry:
 * both ends' versions, so whoever reads it knows which member to upgrade.
 */
function versionRefused(
  self: number,
  versions: ProtocolVersions,
  id: number,
  offered: number,
  reply: PeerHandshakeRefused,
) {
  return new TransportError(
    'REFUSED',
    `server ${id} refused peer protocol version ${offered} (${reply.message}); server ${id} speaks up to version ${reply.protocolVersion}, server ${self} speaks ${describeProtocolVersions(versions)}: upgrade the older member`,
    { reason: reply.reason },
  );
}

/** authMismatch explains why two members cannot talk: one has the shared secret and the other has not. */
function authMismatch(self: number, mode: PeerAuthMode, other: number): string {
  return mode === 'none'
    ? `server ${other} uses a shared secret and server ${self} has none: configure the same peerSecretFile on every member`
    : `server ${self} requires the shared secret and server ${other} offers none: configure the same peerSecretFile on every member`;
}

/**
 * PeerMesh keeps one TCP connection to every other member of the ensemble, as ZooKeeper's
 * QuorumCnxManager: between two servers the one with the higher id dials. A lower id may dial a
 * higher one too (it does when it has no connection, to ask for one): the higher answers the
 * handshake, drops that connection and dials back at once, so however the two race they end with
 * exactly one connection, the higher one's. Each connection starts with a handshake each way
 * ({protocolVersion, serverId, auth, nonce, proof}); a version this end does not speak, an unknown
 * server, our own id or another auth mode are refused with a handshakeRefused frame. The version is
 * negotiated per connection (see {@link PeerMeshOptions.protocolVersions}) and bound into the
 * proofs. With a `secret`, the acceptor
 * proves itself in its handshake and the dialer in a third frame (see peer-auth.ts); only then is
 * the connection adopted, so an outsider can neither deliver a message nor displace a connection. Lost connections are retried with capped exponential backoff and full
 * jitter. Sends are queued and batched per event-loop turn; a peer whose queue passes
 * sendQueueBytesMax is disconnected (Zab resyncs it when it comes back).
 */
export class PeerMesh implements PeerTransport {
  readonly serverId: number;
  private readonly frameBytesMax: number;
  private readonly sendQueueBytesMax: number;
  private readonly random: () => number;
  private readonly backoff: { reconnectDelayMsBase: number; reconnectDelayMsMax: number };
  private readonly connectTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly frameTimeoutMs: number;
  private readonly logger: TransportLogger;
  private readonly secret: Uint8Array | undefined;
  private readonly authMode: PeerAuthMode;
  private readonly tls: PeerTlsOptions | undefined;
  private readonly versions: ProtocolVersions;
  /** announceVersion: the version a dial offers first. */
  private readonly announceVersion: number;
  private readonly peers = new Map<number, Peer>();
  private readonly sockets = new Set<Socket>();
  /** handshaking: with tls, the raw sockets accepted, from accept until they close (their TLS handshake included). */
  private readonly handshaking = new Set<Socket>();
  private readonly server: Server;
  /** entryFrames encodes a PROPOSAL or INFORM once for every learner it goes to. */
  private readonly entryFrames: EntryFrameCache;
  private started = false;
  private closed = false;
  private messageHandler: (from: number, message: PeerMessage) => void = () => {};
  private peerUpHandler: (serverId: number, protocolVersion: number) => void = () => {};
  private peerDownHandler: (serverId: number, error: Error | undefined) => void = () => {};

  constructor(private readonly options: PeerMeshOptions) {
    this.serverId = options.serverId;
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    this.entryFrames = new EntryFrameCache((message) => encodePeerMessage(message, this.frameBytesMax));
    this.sendQueueBytesMax = options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX_DEFAULT;
    this.random = options.random ?? Math.random;
    this.backoff = {
      reconnectDelayMsBase: options.reconnectDelayMsBase ?? BACKOFF_DEFAULTS.reconnectDelayMsBase,
      reconnectDelayMsMax: options.reconnectDelayMsMax ?? BACKOFF_DEFAULTS.reconnectDelayMsMax,
    };
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5_000;
    this.frameTimeoutMs = options.frameTimeoutMs ?? FRAME_TIMEOUT_MS_DEFAULT;
    this.logger = options.logger ?? SILENT_LOGGER;
    if (options.secret !== undefined && options.secret.length < PEER_SECRET_BYTES_MIN) {
      throw new RangeError(`the peer secret must be at least ${PEER_SECRET_BYTES_MIN} bytes`);
    }
    this.secret = options.secret === undefined ? undefined : Uint8Array.from(options.secret);
    this.authMode = this.secret === undefined ? 'none' : 'hmac-sha256';
    if (this.sendQueueBytesMax < this.frameBytesMax + 4) {
      throw new RangeError('sendQueueBytesMax must hold at least one frame of frameBytesMax');
    }
    this.versions = checkProtocolVersions(options.protocolVersions ?? PEER_PROTOCOL_VERSIONS, 'peer');
    this.announceVersion = options.announceVersion ?? this.versions.max;
    if (!Number.isInteger(this.announceVersion) || this.announceVersion < this.versions.max) {
      throw new RangeError(`announceVersion must be at least protocolVersions.max (${this.versions.max})`);
    }
    this.tls = options.tls;
    if (this.tls === undefined) {
      this.server = createServer((socket) => this.accept(socket));
    } else {
      const server = tlsCreateServer(peerTlsServerOptions(this.tls, this.handshakeTimeoutMs), (socket) =>
        this.accept(socket),
      );
      server.on('connection', (socket: Socket) => {
        this.handshaking.add(socket);
        socket.once('close', () => this.handshaking.delete(socket));
      });
      server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
        this.logger.warn(
          { remote: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`, reason: 'TLS', code: error.code },
          `peer connection refused: TLS handshake failed: ${error.message}`,
        );
      });
      this.server = server;
    }
  }

  onMessage(handler: (from: number, message: PeerMessage) => void): void {
    this.messageHandler = handler;
  }
  /** onPeerUp: `protocolVersion` is the version negotiated on the new connection. */
  onPeerUp(handler: (serverId: number, protocolVersion: number) => void): void {
    this.peerUpHandler = handler;
  }
  onPeerDown(handler: (serverId: number, error: Error | undefined) => void): void {
    this.peerDownHandler = handler;
  }

  /** start listens on the peer port and starts connecting; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    if (this.started) throw new Error('PeerMesh already started');
    this.started = true;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.setPeers(this.options.peers ?? []);
    return this.address();
  }

  /** address is the bound peer address (after start). */
  address(): { host: string; port: number } {
    const bound = this.server.address();
    if (bound === null || typeof bound === 'string') throw new Error('PeerMesh is not listening');
    return { host: bound.address, port: bound.port };
  }

  /**
   * setPeers replaces the member list: connections to servers no longer listed close, new ones are
   * dialed. A server whose address changed is reconnected.
   */
  setPeers(peers: PeerAddress[]): void {
    const wanted = new Map(peers.filter((p) => p.id !== this.serverId).map((p) => [p.id, p]));
    for (const [id, peer] of this.peers) {
      const next = wanted.get(id);
      if (next === undefined || next.host !== peer.address.host || next.port !== peer.address.port) {
        this.forget(peer);
        this.peers.delete(id);
      }
    }
    for (const [id, address] of wanted) {
      if (this.peers.has(id)) continue;
      const peer: Peer = {
        address,
        connection: undefined,
        dial: undefined,
        timer: undefined,
        attempt: 0,
        protocolVersion: undefined,
      };
      this.peers.set(id, peer);
      if (this.started && !this.closed) this.dial(peer);
    }
  }

  send(to: number, message: PeerMessage): boolean {
    const connection = this.peers.get(to)?.connection;
    if (connection === undefined) return false;
    return connection.send(this.entryFrames.frameOf(message));
  }

  /**
   * disconnect drops the established connection to a peer (the protocol gave up on it): both ends
   * see it break, and the higher id dials again as after any break. No-op without a connection.
   */
  disconnect(serverId: number, reason = 'dropped by the protocol'): void {
    this.peers.get(serverId)?.connection?.destroy(new TransportError('CLOSED', reason));
  }

  /** status tells how the link to a peer stands. */
  status(serverId: number): PeerStatus {
    const peer = this.peers.get(serverId);
    if (peer === undefined) return 'idle';
    if (peer.connection !== undefined) return 'connected';
    if (peer.dial !== undefined) return 'connecting';
    return peer.timer !== undefined ? 'waiting' : 'idle';
  }

  /**
   * protocolVersion is the peer protocol version negotiated with a connected peer (undefined while
   * not connected): what the host gates a feature on, e.g. only when every member speaks at least
   * the version that carries it.
   */
  protocolVersion(serverId: number): number | undefined {
    const peer = this.peers.get(serverId);
    return peer?.connection === undefined ? undefined : peer.protocolVersion;
  }

  /** protocolVersions are the peer protocol versions this end speaks. */
  get protocolVersions(): ProtocolVersions {
    return this.versions;
  }

  /** queuedBytes is what waits to be sent to a peer (0 without a connection); never above sendQueueBytesMax. */
  queuedBytes(serverId: number): number {
    return this.peers.get(serverId)?.connection?.queuedBytes ?? 0;
  }

  /** socketCount is how many TCP sockets this mesh holds open, in any state. */
  get socketCount(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) this.forget(peer);
    for (const socket of this.sockets) socket.destroy();
    for (const socket of this.handshaking) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forget(peer: Peer): void {
    clearTimeout(peer.timer);
    peer.timer = undefined;
    peer.dial?.destroy(new TransportError('CLOSED', 'peer removed or mesh closed'));
    peer.connection?.destroy(new TransportError('CLOSED', 'peer removed or mesh closed'));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private framed(socket: Socket, onFrame: (body: Uint8Array) => void, onClose: (error?: TransportError) => void) {
    return new FramedSocket(socket, {
      frameBytesMax: this.frameBytesMax,
      sendQueueBytesMax: this.sendQueueBytesMax,
      frameTimeoutMs: this.frameTimeoutMs,
      onFrame,
      onClose,
    });
  }

  /** handshake is this server's handshake frame at `version` with the given nonce and proof (empty without a secret). */
  private handshake(version: number, nonce: Uint8Array, proof: Uint8Array): Uint8Array {
    return encodePeerHandshake({
      type: 'handshake',
      protocolVersion: version,
      serverId: this.serverId,
      auth: this.authMode,
      nonce,
      proof,
    });
  }

  /**
   * dial connects to a peer unless a connection or a dial exists; for a higher id it is a request to
   * be dialed. With a secret, the dialer checks the acceptor's proof before it sends its own, so it
   * never proves anything to a server that has not proved itself first. It offers `offered` (first
   * announceVersion); refused with PROTOCOL_VERSION naming a lower version it speaks, it dials
   * again at once at that version (`fallback`), and only once.
   */
  private dial(peer: Peer, offered = this.announceVersion, fallback = false): void {
    if (this.closed || peer.connection !== undefined || peer.dial !== undefined) return;
    clearTimeout(peer.timer);
    peer.timer = undefined;
    const { id, host, port } = peer.address;
    const remote = `${host}:${port}`;
    const socket =
      this.tls === undefined ? tcpConnect({ host, port }) : tlsConnect(peerTlsConnectOptions(this.tls, host, port));
    this.track(socket);
    const dialerNonce = this.secret === undefined ? EMPTY : newPeerNonce();
    let handshaken = false;
    /** failure: why this end refused the acceptor (the connection is closed gracefully so the refusal gets out). */
    let failure: TransportError | undefined;
    /** retryAt: the acceptor refused our offer naming a version we speak: dial again at it. */
    let retryAt: number | undefined;
    const refuse = (reason: PeerHandshakeRefusedReason, message: string) => {
      failure = new TransportError('REFUSED', message, { reason });
      framed.setFrameHandler(() => {});
      framed.send(
        encodePeerHandshake({ type: 'handshakeRefused', protocolVersion: this.versions.max, reason, message }),
      );
      framed.close();
    };
    const framed = this.framed(
      socket,
      (body) => {
        const reply = decodePeerHandshake(body, this.versions);
        if (reply.type === 'handshakeRefused') {
          if (reply.reason === 'PROTOCOL_VERSION') {
            // Not authenticated (nothing is before the handshake): see README "Versions" for why a
            // forged refusal can cost at most a fallback to a version this end still speaks.
            retryAt = fallback ? undefined : fallbackProtocolVersion(this.versions, offered, reply.protocolVersion);
            if (retryAt === undefined) throw versionRefused(this.serverId, this.versions, id, offered, reply);
            framed.setFrameHandler(() => {});
            framed.close();
            return;
          }
          throw new TransportError('REFUSED', `server ${id} refused the handshake: ${reply.message}`, {
            reason: reply.reason,
          });
        }
        if (reply.type !== 'handshake') {
          throw new TransportError('PROTOCOL', `${remote} sent ${reply.type} before its handshake`);
        }
        if (reply.protocolVersion !== offered) {
          throw new TransportError(
            'PROTOCOL',
            `${remote} answered peer protocol version ${reply.protocolVersion} to an offer of ${offered}`,
          );
        }
        if (reply.serverId !== id) {
          throw new TransportError('PROTOCOL', `${remote} is server ${reply.serverId}, expected server ${id}`);
        }
        if (this.tls !== undefined && !namesMember(socket, id)) {
          refuse('AUTH_FAILED', wrongCertificate(remote, id, socket));
          return;
        }
        if (reply.auth !== this.authMode) {
          refuse('AUTH_MISMATCH', authMismatch(this.serverId, this.authMode, id));
          return;
        }
        if (this.secret !== undefined) {
          const transcript: PeerTranscript = {
            protocolVersion: offered,
            dialerId: this.serverId,
            acceptorId: id,
            dialerNonce,
            acceptorNonce: reply.nonce,
          };
          if (
            reply.nonce.length !== PEER_NONCE_BYTES ||
            !verifyPeerProof(this.secret, 'acceptor', transcript, reply.proof)
          ) {
            refuse(
              'AUTH_FAILED',
              `server ${id} at ${remote} did not prove it knows the shared secret (wrong proof: is peerSecretFile the same on both members?)`,
            );
            return;
          }
          framed.send(
            encodePeerHandshake({ type: 'handshakeProof', proof: peerProof(this.secret, 'dialer', transcript) }),
          );
        }
        deadline.clear();
        handshaken = true;
        peer.dial = undefined;
        peer.lastFailure = undefined;
        if (id < this.serverId) this.adopt(peer, framed, offered);
        // A higher id answers and then drops this connection; it dials us back.
        else framed.setFrameHandler(() => {});
      },
      (closeError) => {
        deadline.clear();
        const error = failure ?? closeError;
        if (peer.dial === framed) peer.dial = undefined;
        if (peer.connection === framed) return;
        if (retryAt !== undefined && !handshaken && !this.closed && this.peers.get(id) === peer) {
          this.logger.info(
            { peer: id, remote, offered, protocolVersion: retryAt },
            `server ${id} speaks peer protocol version ${retryAt} at most: dialing again at version ${retryAt}`,
          );
          this.dial(peer, retryAt, true);
          return;
        }
        if (!handshaken || id > this.serverId) {
          if (!handshaken && error !== undefined && error.code !== 'CLOSED') this.dialFailed(peer, remote, error);
          this.retry(peer);
        }
      },
    );
    peer.dial = framed;
    const deadline = startDeadline(this.connectTimeoutMs + this.handshakeTimeoutMs, () => {
      framed.destroy(
        new TransportError(
          socket.connecting ? 'CONNECT_TIMEOUT' : 'HANDSHAKE_TIMEOUT',
          `no handshake from server ${id} at ${remote} within ${this.connectTimeoutMs + this.handshakeTimeoutMs} ms`,
        ),
      );
    });
    socket.once('connect', () => {
      framed.send(this.handshake(offered, dialerNonce, EMPTY));
    });
  }

  /**
   * dialFailed logs a failed dial: a refusal or a failed proof at warn (the two members are
   * misconfigured, someone must act) once per reason in a row, so a retry every few seconds does not
   * flood the log; an unreachable peer at debug (it is down, the protocol copes).
   */
  private dialFailed(peer: Peer, remote: string, error: TransportError): void {
    const fields = { peer: peer.address.id, remote, code: error.code, reason: error.reason, error: error.message };
    const loud = error.code === 'REFUSED' || error.code === 'PROTOCOL';
    const key = `${error.code}:${error.reason ?? ''}`;
    if (loud && peer.lastFailure !== key) this.logger.warn(fields, `peer connection refused: ${error.message}`);
    else this.logger.debug(fields, 'peer dial failed');
    peer.lastFailure = key;
  }

  private retry(peer: Peer): void {
    if (this.closed || this.peers.get(peer.address.id) !== peer) return;
    if (peer.connection !== undefined || peer.dial !== undefined || peer.timer !== undefined) return;
    const delayMs = backoffDelayMs(peer.attempt, this.random, this.backoff);
    peer.attempt++;
    peer.timer = setTimeout(() => {
      peer.timer = undefined;
      this.dial(peer);
    }, delayMs);
  }

  /**
   * accept runs the acceptor's side of the handshake. Nothing the connection says reaches the mesh
   * (no message, no replacement of an existing connection, no dial back) until the handshake is
   * complete: with a secret, until the dialer's proof over our fresh nonce has verified. Every
   * connection that fails is closed and logged once at warn with its remote address and the reason.
   */
  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.track(socket);
    const remote = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    /** stage: waiting for the dialer's handshake, then (with a secret) its proof, then done. */
    let stage: 'handshake' | 'proof' | 'done' = 'handshake';
    let claimed: number | undefined;
    let transcript: PeerTranscript | undefined;
    const finish = () => {
      stage = 'done';
      deadline.clear();
      framed.setFrameHandler(() => {}); // anything after the handshake is ignored until adopted
    };
    const deadline = startDeadline(this.handshakeTimeoutMs, () => {
      finish();
      const message = `no ${stage === 'proof' ? 'proof' : 'handshake'} within ${this.handshakeTimeoutMs} ms`;
      this.logger.warn({ remote, peer: claimed, reason: 'HANDSHAKE_TIMEOUT' }, `peer connection refused: ${message}`);
      framed.destroy(new TransportError('HANDSHAKE_TIMEOUT', message));
    });
    const refuse = (reason: PeerHandshakeRefusedReason, message: string) => {
      finish();
      this.logger.warn({ remote, peer: claimed, reason }, `peer connection refused: ${message}`);
      // A refusal names this end's newest version: a newer dialer retries at it (README "Versions").
      framed.send(
        encodePeerHandshake({ type: 'handshakeRefused', protocolVersion: this.versions.max, reason, message }),
      );
      framed.close();
    };
    const decode = (body: Uint8Array): PeerHandshakeMessage | undefined => {
      try {
        return decodePeerHandshake(body, this.versions);
      } catch (error) {
        if (!CodecError.isInstance(error)) throw error;
        refuse(error.field === 'protocolVersion' ? 'PROTOCOL_VERSION' : 'BAD_HANDSHAKE', error.message);
        return undefined;
      }
    };
    const onHandshake = (handshake: PeerHandshakeMessage) => {
      if (handshake.type !== 'handshake') {
        refuse('BAD_HANDSHAKE', 'expected a handshake');
        return;
      }
      const id = handshake.serverId;
      // The dialer's offer, which this end speaks (decoding checked it): the connection's version.
      const version = handshake.protocolVersion;
      claimed = id;
      if (id === this.serverId) {
        refuse('SAME_SERVER_ID', `server ${id} is this server's own id`);
        return;
      }
      if (!this.peers.has(id)) {
        refuse('UNKNOWN_SERVER', `server ${id} is not a member known to server ${this.serverId}`);
        return;
      }
      if (this.tls !== undefined && !namesMember(socket, id)) {
        refuse('AUTH_FAILED', wrongCertificate(remote, id, socket));
        return;
      }
      if (handshake.auth !== this.authMode) {
        refuse('AUTH_MISMATCH', authMismatch(this.serverId, this.authMode, id));
        return;
      }
      if (this.secret === undefined) {
        // Done: the deadline must go now, or it would fire on the adopted connection later.
        finish();
        framed.send(this.handshake(version, EMPTY, EMPTY));
        this.authenticated(id, framed, remote, version);
        return;
      }
      if (handshake.nonce.length !== PEER_NONCE_BYTES) {
        refuse('BAD_HANDSHAKE', `the nonce must be ${PEER_NONCE_BYTES} bytes, got ${handshake.nonce.length}`);
        return;
      }
      transcript = {
        protocolVersion: version,
        dialerId: id,
        acceptorId: this.serverId,
        dialerNonce: handshake.nonce,
        acceptorNonce: newPeerNonce(),
      };
      framed.send(this.handshake(version, transcript.acceptorNonce, peerProof(this.secret, 'acceptor', transcript)));
      stage = 'proof';
    };
    const onProof = (message: PeerHandshakeMessage, secret: Uint8Array, proven: PeerTranscript) => {
      if (message.type === 'handshakeRefused') {
        finish();
        this.logger.warn(
          { remote, peer: claimed, reason: message.reason },
          `peer connection refused by server ${claimed}: ${message.message}`,
        );
        framed.close();
        return;
      }
      if (message.type !== 'handshakeProof') {
        refuse('BAD_HANDSHAKE', `expected the dialer's proof, got ${message.type}`);
        return;
      }
      if (!verifyPeerProof(secret, 'dialer', proven, message.proof)) {
        refuse(
          'AUTH_FAILED',
          `server ${claimed}'s proof is wrong: another shared secret, or a replayed or forged handshake`,
        );
        return;
      }
      finish();
      this.authenticated(proven.dialerId, framed, remote, proven.protocolVersion);
    };
    const framed = this.framed(
      socket,
      (body) => {
        if (stage === 'done') return;
        const message = decode(body);
        if (message === undefined) return;
        if (stage === 'handshake') onHandshake(message);
        else if (this.secret !== undefined && transcript !== undefined) onProof(message, this.secret, transcript);
      },
      (error) => {
        deadline.clear();
        // The other end left mid-handshake (a port probe, or a dialer that gave up): nothing to act on.
        if (stage !== 'done') {
          this.logger.debug(
            { remote, peer: claimed, error: error?.message },
            'peer connection closed during the handshake',
          );
        }
      },
    );
  }

  /** authenticated takes an accepted connection whose handshake (and proof) completed at `version`. */
  private authenticated(id: number, framed: FramedSocket, remote: string, version: number): void {
    const peer = this.peers.get(id);
    if (peer === undefined || this.closed) {
      // The member list changed while the handshake ran.
      this.logger.warn({ remote, peer: id }, `peer connection dropped: server ${id} is no longer a member`);
      framed.close();
      return;
    }
    framed.setFrameHandler(() => {});
    if (id < this.serverId) {
      // QuorumCnxManager: the lower id does not keep the connection; we dial it back now.
      framed.close();
      if (peer.connection === undefined) {
        peer.attempt = 0;
        this.dial(peer);
      }
      return;
    }
    // A higher id dialed and proved itself: its connection is the one. A newer one replaces an
    // older one (the other end has evidently given up on it), and our own request-to-be-dialed is moot.
    peer.dial?.destroy(new TransportError('CLOSED', `server ${id} dialed us`));
    peer.dial = undefined;
    clearTimeout(peer.timer);
    peer.timer = undefined;
    peer.lastFailure = undefined;
    this.adopt(peer, framed, version);
  }

  private adopt(peer: Peer, framed: FramedSocket, version: number): void {
    const id = peer.address.id;
    if (peer.connection !== undefined && peer.connection !== framed) {
      const old = peer.connection;
      const error = new TransportError('CLOSED', `server ${id} replaced its connection with a newer one`);
      peer.connection = undefined;
      old.destroy(error);
      this.peerDownHandler(id, error);
    }
    peer.connection = framed;
    peer.protocolVersion = version;
    peer.attempt = 0;
    framed.setFrameHandler((body) => this.messageHandler(id, decodePeerMessage(body)));
    const onClose = (error: TransportError | undefined) => {
      if (peer.connection !== framed) return;
      peer.connection = undefined;
      peer.protocolVersion = undefined;
      this.logger.info({ peer: id, error: error?.message }, 'peer connection lost');
      this.peerDownHandler(id, error);
      this.retry(peer);
    };
    framed.setCloseHandler(onClose);
    this.logger.info({ peer: id, protocolVersion: version }, 'peer connection established');
    this.peerUpHandler(id, version);
  }
}
