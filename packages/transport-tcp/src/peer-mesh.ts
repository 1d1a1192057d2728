import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import {
  CodecError,
  decodePeerHandshake,
  decodePeerMessage,
  encodePeerHandshake,
  encodePeerMessage,
  FRAME_BYTES_MAX_DEFAULT,
  PEER_PROTOCOL_VERSION,
  type PeerHandshakeRefusedReason,
} from '@zabkit/codec';
import type { PeerMessage } from '@zabkit/core';
import { BACKOFF_DEFAULTS, backoffDelayMs } from './backoff.js';
import { TransportError } from './errors.js';
import { FRAME_TIMEOUT_MS_DEFAULT, FramedSocket, SEND_QUEUE_BYTES_MAX_DEFAULT } from './framed-socket.js';
import { SILENT_LOGGER, type TransportLogger } from './logger.js';
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
}

/**
 * PeerMesh keeps one TCP connection to every other member of the ensemble, as ZooKeeper's
 * QuorumCnxManager: between two servers the one with the higher id dials. A lower id may dial a
 * higher one too (it does when it has no connection, to ask for one): the higher answers the
 * handshake, drops that connection and dials back at once, so however the two race they end with
 * exactly one connection, the higher one's. Each connection starts with a handshake each way
 * ({protocolVersion, serverId}); another version, an unknown server or our own id are refused with
 * a handshakeRefused frame. Lost connections are retried with capped exponential backoff and full
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
  private readonly peers = new Map<number, Peer>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private started = false;
  private closed = false;
  private messageHandler: (from: number, message: PeerMessage) => void = () => {};
  private peerUpHandler: (serverId: number) => void = () => {};
  private peerDownHandler: (serverId: number, error: Error | undefined) => void = () => {};

  constructor(private readonly options: PeerMeshOptions) {
    this.serverId = options.serverId;
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
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
    if (this.sendQueueBytesMax < this.frameBytesMax + 4) {
      throw new RangeError('sendQueueBytesMax must hold at least one frame of frameBytesMax');
    }
    this.server = createServer((socket) => this.accept(socket));
  }

  onMessage(handler: (from: number, message: PeerMessage) => void): void {
    this.messageHandler = handler;
  }
  onPeerUp(handler: (serverId: number) => void): void {
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
      const peer: Peer = { address, connection: undefined, dial: undefined, timer: undefined, attempt: 0 };
      this.peers.set(id, peer);
      if (this.started && !this.closed) this.dial(peer);
    }
  }

  send(to: number, message: PeerMessage): boolean {
    const connection = this.peers.get(to)?.connection;
    if (connection === undefined) return false;
    return connection.send(encodePeerMessage(message, this.frameBytesMax));
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

  /** dial connects to a peer unless a connection or a dial exists; for a higher id it is a request to be dialed. */
  private dial(peer: Peer): void {
    if (this.closed || peer.connection !== undefined || peer.dial !== undefined) return;
    clearTimeout(peer.timer);
    peer.timer = undefined;
    const { id, host, port } = peer.address;
    const socket = tcpConnect({ host, port });
    this.track(socket);
    let handshaken = false;
    const framed = this.framed(
      socket,
      (body) => {
        const reply = decodePeerHandshake(body);
        if (reply.type === 'handshakeRefused') {
          throw new TransportError('REFUSED', `server ${id} refused the handshake: ${reply.message}`, {
            reason: reply.reason,
          });
        }
        if (reply.serverId !== id) {
          throw new TransportError('PROTOCOL', `${host}:${port} is server ${reply.serverId}, expected server ${id}`);
        }
        clearTimeout(timer);
        handshaken = true;
        peer.dial = undefined;
        if (id < this.serverId) this.adopt(peer, framed);
        // A higher id answers and then drops this connection; it dials us back.
        else framed.setFrameHandler(() => {});
      },
      (error) => {
        clearTimeout(timer);
        if (peer.dial === framed) peer.dial = undefined;
        if (peer.connection === framed) return;
        if (!handshaken || id > this.serverId) {
          if (!handshaken && error?.code !== 'CLOSED') {
            this.logger.debug({ peer: id, error: error?.message }, 'peer dial failed');
          }
          this.retry(peer);
        }
      },
    );
    peer.dial = framed;
    const timer = setTimeout(() => {
      framed.destroy(
        new TransportError(
          socket.connecting ? 'CONNECT_TIMEOUT' : 'HANDSHAKE_TIMEOUT',
          `no handshake from server ${id} at ${host}:${port} within ${this.connectTimeoutMs + this.handshakeTimeoutMs} ms`,
        ),
      );
    }, this.connectTimeoutMs + this.handshakeTimeoutMs);
    socket.once('connect', () => {
      framed.send(
        encodePeerHandshake({ type: 'handshake', protocolVersion: PEER_PROTOCOL_VERSION, serverId: this.serverId }),
      );
    });
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

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.track(socket);
    const timer = setTimeout(() => {
      framed.destroy(new TransportError('HANDSHAKE_TIMEOUT', `no handshake within ${this.handshakeTimeoutMs} ms`));
    }, this.handshakeTimeoutMs);
    const refuse = (reason: PeerHandshakeRefusedReason, message: string) => {
      this.logger.warn({ remote: framed.remoteAddress, reason }, `peer connection refused: ${message}`);
      framed.send(
        encodePeerHandshake({ type: 'handshakeRefused', protocolVersion: PEER_PROTOCOL_VERSION, reason, message }),
      );
      framed.close();
    };
    const framed = this.framed(
      socket,
      (body) => {
        clearTimeout(timer);
        framed.setFrameHandler(() => {}); // anything after the handshake is ignored until adopted
        let handshake: ReturnType<typeof decodePeerHandshake>;
        try {
          handshake = decodePeerHandshake(body);
        } catch (error) {
          if (!CodecError.isInstance(error)) throw error;
          refuse(error.field === 'protocolVersion' ? 'PROTOCOL_VERSION' : 'BAD_HANDSHAKE', error.message);
          return;
        }
        if (handshake.type !== 'handshake') {
          refuse('BAD_HANDSHAKE', 'expected a handshake');
          return;
        }
        const id = handshake.serverId;
        const peer = this.peers.get(id);
        if (id === this.serverId) {
          refuse('SAME_SERVER_ID', `server ${id} is this server's own id`);
          return;
        }
        if (peer === undefined) {
          refuse('UNKNOWN_SERVER', `server ${id} is not a member known to server ${this.serverId}`);
          return;
        }
        framed.send(
          encodePeerHandshake({ type: 'handshake', protocolVersion: PEER_PROTOCOL_VERSION, serverId: this.serverId }),
        );
        if (id < this.serverId) {
          // QuorumCnxManager: the lower id does not keep the connection; we dial it back now.
          framed.close();
          if (peer.connection === undefined) {
            peer.attempt = 0;
            this.dial(peer);
          }
          return;
        }
        // A higher id dialed: its connection is the one. A newer one replaces an older one (the
        // other end has evidently given up on it), and our own request-to-be-dialed is moot.
        peer.dial?.destroy(new TransportError('CLOSED', `server ${id} dialed us`));
        peer.dial = undefined;
        clearTimeout(peer.timer);
        peer.timer = undefined;
        this.adopt(peer, framed);
      },
      () => clearTimeout(timer),
    );
  }

  private adopt(peer: Peer, framed: FramedSocket): void {
    const id = peer.address.id;
    if (peer.connection !== undefined && peer.connection !== framed) {
      const old = peer.connection;
      const error = new TransportError('CLOSED', `server ${id} replaced its connection with a newer one`);
      peer.connection = undefined;
      old.destroy(error);
      this.peerDownHandler(id, error);
    }
    peer.connection = framed;
    peer.attempt = 0;
    framed.setFrameHandler((body) => this.messageHandler(id, decodePeerMessage(body)));
    const onClose = (error: TransportError | undefined) => {
      if (peer.connection !== framed) return;
      peer.connection = undefined;
      this.logger.info({ peer: id, error: error?.message }, 'peer connection lost');
      this.peerDownHandler(id, error);
      this.retry(peer);
    };
    framed.setCloseHandler(onClose);
    this.logger.info({ peer: id }, 'peer connection established');
    this.peerUpHandler(id);
  }
}
