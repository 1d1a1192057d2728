import { randomBytes } from 'node:crypto';
import { AUTH_XID, CodecError, type ConnectRequest } from '@zabkit/codec';
import {
  type ClientOutput,
  type ErrorCode,
  formatZxid,
  type Result,
  SESSION_PASSWORD_BYTES,
  type SessionId,
  type ZabPeer,
} from '@zabkit/core';
import { ConnectionAuth, type ServerConnection } from '@zabkit/transport-tcp';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import type { FourLetterWordFacts } from './four-letter-words.js';
import type { Metrics } from './metrics.js';
import type { RequestBudget } from './request-budget.js';

/** LIMIT_ERRORS: reply errors that mean a request met a limit, and their metric label. */
const LIMIT_ERRORS: Partial<Record<ErrorCode, string>> = {
  MARSHALLING_ERROR: 'reply_too_large',
  INVALID_PATH: 'invalid_path',
  QUOTA_EXCEEDED: 'watch_quota',
};

/** ClientSessionsHost is what the client side needs of its member. */
export interface ClientSessionsHost {
  readonly config: ServerConfig;
  readonly peer: ZabPeer;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly budget: RequestBudget<ServerConnection>;
  isStopping(): boolean;
  /** schedule runs the host loop soon (a request or a new session waits in core). */
  schedule(): void;
  /** contained runs `work`, logging and counting a throw instead of letting it take the member down. */
  contained(
    input: Parameters<Metrics['inputFailed']>[0],
    what: string,
    work: () => void,
    onError?: (error: unknown) => void,
  ): void;
}

/**
 * ClientSessions is a member's side of its client connections (ZooKeeper's ServerCnxnFactory
 * and FinalRequestProcessor's sending half), on every client port alike (native or ZooKeeper's,
 * plain or TLS): it answers connects (new sessions, resumes checked against the replicated
 * password), binds a session to its connection and moves it when the client reconnects, keeps each
 * connection's identities (ACL ids, addAuth), hands requests to core with them, and sends core's
 * replies and watch events back, counting what each connection received and was sent.
 */
export class ClientSessions {
  /** connections: each session connected here, by id. */
  readonly connections = new Map<SessionId, ServerConnection>();
  /** connectionCounts: frames received from and sent to each client connection (for `stat` and `cons`). */
  private readonly connectionCounts = new WeakMap<ServerConnection, { received: number; sent: number }>();
  private readonly pendingConnects = new Map<number, { connection: ServerConnection; password: Uint8Array }>();
  /** packetsReceived and packetsSent count frames over every connection since start (`srvr`). */
  packetsReceived = 0;
  packetsSent = 0;

  constructor(private readonly host: ClientSessionsHost) {}

  /** closeAll closes every client connection (the member stopped serving, or stops). */
  closeAll(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  /** connectionFacts describes each connection for `stat` and `cons`. */
  connectionFacts(): FourLetterWordFacts['connections'] {
    return [...this.connections].map(([sessionId, connection]) => {
      const counts = this.connectionCounts.get(connection);
      return {
        remote: connection.remoteAddress,
        sessionId,
        received: counts?.received ?? 0,
        sent: counts?.sent ?? 0,
        queuedBytes: connection.queuedBytes,
      };
    });
  }

  /** onConnect answers a ConnectRequest: a new session (its password drawn here), or a resume. */
  onConnect(connection: ServerConnection, request: ConnectRequest): void {
    const status = this.host.peer.status();
    if (!status.established) {
      connection.refuse('NOT_SERVING', `member ${this.host.config.id} has no established leader yet`);
      return;
    }
    if (request.lastZxidSeen > status.lastAppliedZxid) {
      connection.refuse(
        'ZXID_AHEAD',
        `client has seen ${formatZxid(request.lastZxidSeen)}, member ${this.host.config.id} has only ${formatZxid(status.lastAppliedZxid)}`,
      );
      return;
    }
    if (request.sessionId === 0) {
      // The session's password: random, replicated with the session (core's zab/sessions.ts).
      const password = new Uint8Array(randomBytes(SESSION_PASSWORD_BYTES));
      const connectId = this.host.peer.submitCreateSession(request.timeoutMs, password);
      this.pendingConnects.set(connectId, { connection, password });
      connection.onClose(() => this.pendingConnects.delete(connectId));
      this.host.schedule();
      return;
    }
    // A session that is not live and a wrong password get the same answer (ZooKeeper does the
    // same), so probing ids tells an outsider nothing; the real session is not touched.
    const timeoutMs = this.host.peer.resumableSession(request.sessionId, request.password);
    if (timeoutMs === undefined) {
      connection.refuse('SESSION_EXPIRED', `session 0x${request.sessionId.toString(16)} has expired`);
      return;
    }
    this.bind(connection, request.sessionId, timeoutMs, request.password);
  }

  private bind(connection: ServerConnection, sessionId: SessionId, timeoutMs: number, password: Uint8Array): void {
    const previous = this.connections.get(sessionId);
    if (previous && previous !== connection) {
      // The session moved to a new connection: the old one must not answer for it any more.
      this.host.peer.detachSession(sessionId);
      previous.close();
    }
    this.connections.set(sessionId, connection);
    connection.accept({ timeoutMs, sessionId, password, readOnly: false });
    connection.setIdleTimeout(timeoutMs);
    this.host.peer.touchSession(sessionId);
    this.host.metrics.connections(this.connections.size);
    const auth = new ConnectionAuth(connection.remoteAddress, connection.clientCertificate, {
      digest: this.host.config.superDigest,
      x509: this.host.config.superX509,
    });
    const counts = { received: 0, sent: 0 };
    this.connectionCounts.set(connection, counts);
    connection.onMessage((message, frameBytes) => {
      if (this.host.isStopping()) return;
      counts.received++;
      this.packetsReceived++;
      if (message.kind === 'ping') {
        this.host.contained('ping', 'a ping', () => this.host.peer.touchSession(sessionId));
        connection.send({ kind: 'pong' });
        return;
      }
      if (message.kind === 'addAuth') {
        // Connection state, answered at once (ZooKeeper's auth packet, xid -4); it covers every
        // frame read after it.
        const error = auth.add(message.scheme, message.credentials);
        if (error !== null) {
          this.host.metrics.authFailed();
          this.host.logger.info(
            { sessionId: `0x${sessionId.toString(16)}`, address: connection.remoteAddress, scheme: message.scheme },
            'addAuth refused',
          );
        }
        const zxid = this.host.peer.status().lastAppliedZxid;
        connection.send({ kind: 'reply', xid: AUTH_XID, zxid, error, result: null });
        return;
      }
      this.host.metrics.request(message.request.op);
      this.host.metrics.requestReceived(sessionId, message.xid, message.request.op);
      const paused = this.host.budget.received(connection, message.xid, frameBytes);
      if (paused !== null) this.host.metrics.limitRefused(`paused_${paused}`);
      const linearizable = message.linearizable === true;
      this.host.contained(
        'client request',
        `a ${message.request.op} request of session 0x${sessionId.toString(16)}`,
        () => this.host.peer.submit(sessionId, message.xid, message.request, { linearizable, auth: auth.ids }),
        () => connection.close(),
      );
      this.host.schedule();
    });
    connection.onClose(() => {
      this.host.metrics.connectionClosed(sessionId);
      this.host.budget.closed(connection);
      if (this.connections.get(sessionId) === connection) {
        this.connections.delete(sessionId);
        this.host.peer.detachSession(sessionId);
        this.host.metrics.connections(this.connections.size);
      }
    });
  }

  /** deliver carries out core's client output: replies, watch events, new sessions, closes. */
  deliver(outputs: readonly ClientOutput[]): void {
    const closing: SessionId[] = [];
    for (const output of outputs) {
      switch (output.type) {
        case 'reply': {
          const { sessionId, xid, zxid, error, result } = output.reply;
          const connection = this.connections.get(sessionId);
          if (connection) {
            this.sendReply(connection, sessionId, xid, zxid, error, result);
            this.countSent(connection);
            this.host.budget.answered(connection, xid);
          }
          const limit = error === null ? undefined : LIMIT_ERRORS[error];
          if (limit !== undefined) this.host.metrics.limitRefused(limit);
          this.host.metrics.requestAnswered(sessionId, xid);
          if (result?.op === 'closeSession' && error === null) closing.push(sessionId);
          break;
        }
        case 'event': {
          const connection = this.connections.get(output.sessionId);
          if (!connection) break;
          try {
            connection.send({ kind: 'watchEvent', xid: -1, event: output.event });
            this.countSent(connection);
          } catch (error) {
            // An event is a path and a zxid: within the limits by construction. Should one not
            // encode, the client must not miss it silently: it reconnects and setWatches replays.
            this.host.metrics.inputFailed('watch event');
            this.host.logger.error(
              { err: error, sessionId: `0x${output.sessionId.toString(16)}` },
              'watch event not sent',
            );
            connection.close();
          }
          break;
        }
        case 'sessionCreated': {
          const pending = this.pendingConnects.get(output.connectId);
          if (!pending) break;
          this.pendingConnects.delete(output.connectId);
          this.bind(pending.connection, output.sessionId, output.timeoutMs, pending.password);
          break;
        }
        case 'connectFailed': {
          const pending = this.pendingConnects.get(output.connectId);
          if (!pending) break;
          this.pendingConnects.delete(output.connectId);
          pending.connection.refuse(
            'NOT_SERVING',
            `member ${this.host.config.id} lost its leader while creating the session`,
          );
          break;
        }
        case 'sessionClosed':
          closing.push(output.sessionId);
          break;
      }
    }
    // Close after the batch, so a closeSession's own reply goes out first.
    for (const sessionId of closing) {
      const connection = this.connections.get(sessionId);
      if (connection) {
        this.connections.delete(sessionId);
        connection.close();
      }
    }
  }

  private countSent(connection: ServerConnection): void {
    this.packetsSent++;
    const counts = this.connectionCounts.get(connection);
    if (counts !== undefined) counts.sent++;
  }

  /**
   * sendReply sends one reply. Core answers MARSHALLING_ERROR for a read whose reply would be over
   * the client frame limit and refuses a write whose reply could not fit, so a reply that does not
   * encode here is a bug in a size bound: the request still fails alone, with MARSHALLING_ERROR,
   * and the connection carries on.
   */
  private sendReply(
    connection: ServerConnection,
    sessionId: SessionId,
    xid: number,
    zxid: number,
    error: ErrorCode | null,
    result: Result | null,
  ): void {
    try {
      connection.send({ kind: 'reply', xid, zxid, error, result });
    } catch (failure) {
      if (!CodecError.isInstance(failure)) throw failure;
      this.host.metrics.limitRefused('reply_too_large');
      this.host.logger.warn(
        { sessionId: `0x${sessionId.toString(16)}`, xid, op: result?.op, reason: failure.message },
        'reply could not be sent: answering MARSHALLING_ERROR',
      );
      connection.send({ kind: 'reply', xid, zxid, error: 'MARSHALLING_ERROR', result: null });
    }
  }
}
