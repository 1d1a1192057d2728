import { type AddAuthFrame, AUTH_XID, PASSWORD_BYTES, type ReplyFrame } from '@zabkit/codec';
import type { Request, Zxid } from '@zabkit/core';
import {
  backoffDelayMs,
  type ClientConnection,
  type SessionServerMessage,
  type TlsClientOptions,
  TransportError,
} from '@zabkit/transport-tcp';
import { type Attempt, openAttempt } from './attempt.js';
import type { Call, CallQueue } from './call-queue.js';
import { describeServer, type ServerAddress } from './connect-string.js';
import type { Emitter } from './emitter.js';
import { abortReason, ZabError } from './errors.js';
import { Heartbeats } from './heartbeats.js';
import { HomeMove, type HomeMoveHost } from './move-home.js';
import type { ServerList } from './server-list.js';
import type { AuthCall, Credentials, SessionAuth } from './session-auth.js';
import type { ClientEvents, ClientLogger, ConnectionState } from './types.js';
import type { WatchRegistry } from './watch-registry.js';

/** BACKOFF: the sleep after a full round of members refused, capped exponential with full jitter. */
const BACKOFF = { reconnectDelayMsBase: 50, reconnectDelayMsMax: 1_000 };
/** CLOSE_WAIT_MS_MAX bounds how long close() waits for the closeSession reply. */
const CLOSE_WAIT_MS_MAX = 5_000;

/** SessionOptions: the client's settings (defaults applied and checked) and the parts it shares with the session. */
export interface SessionOptions {
  serverList: ServerList;
  calls: CallQueue;
  watches: WatchRegistry;
  auth: SessionAuth;
  emitter: Emitter<ClientEvents>;
  logger: ClientLogger;
  random: () => number;
  requestedTimeoutMs: number;
  connectTimeoutMs: number;
  frameBytesMax: number;
  rebalanceDelayMs: number;
  tls?: TlsClientOptions | undefined;
  /** onEnd runs as the session ends, once its calls have failed and before `expired`/`closed` is emitted. */
  onEnd(how: 'expired' | 'closed', error: ZabError): void;
}

/**
 * Session is the life of one session with an ensemble, under the API of ZabClient: which member
 * it runs on and how it gets there (the first connect, the reconnect after a loss, the move back
 * home), the credentials it resumes with (session id, password, the last zxid it saw, so it never
 * reads older data than it saw), its state (CONNECTING, CONNECTED, DISCONNECTED, EXPIRED, CLOSED)
 * and the events that report it, the heartbeats, the expiry (by the server, or locally once no
 * member was reachable within the session timeout), the clock check after a pause (see
 * {@link checkClock}), and the traffic of its connection: calls out
 * in order, replies matched to them by xid, watch events to their listeners, and on every new
 * connection the credentials replayed (addAuth) first, then the watches re-registered with
 * setWatches, then the waiting calls.
 */
export class Session implements HomeMoveHost {
  readonly serverList: ServerList;
  readonly calls: CallQueue;
  readonly watches: WatchRegistry;
  readonly auth: SessionAuth;
  readonly logger: ClientLogger;
  readonly random: () => number;
  private readonly emitter: Emitter<ClientEvents>;
  private readonly requestedTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly frameBytesMax: number;
  private readonly tls: TlsClientOptions | undefined;
  private readonly onEnd: SessionOptions['onEnd'];
  private readonly heartbeats = new Heartbeats();
  private readonly homeMove: HomeMove;

  private stateValue: ConnectionState = 'CONNECTING';
  private connectionValue: ClientConnection | undefined;
  private currentServerValue: ServerAddress | undefined;
  private sessionIdValue = 0;
  private password: Uint8Array = new Uint8Array(PASSWORD_BYTES);
  private negotiatedTimeoutMs = 0;
  private lastZxidValue: Zxid = 0;
  private closingValue = false;
  private wakeSleep: (() => void) | undefined;
  private readonly stateWaiters = new Set<() => void>();

  constructor(options: SessionOptions) {
    this.serverList = options.serverList;
    this.calls = options.calls;
    this.watches = options.watches;
    this.auth = options.auth;
    this.emitter = options.emitter;
    this.logger = options.logger;
    this.random = options.random;
    this.requestedTimeoutMs = options.requestedTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.frameBytesMax = options.frameBytesMax;
    this.tls = options.tls;
    this.onEnd = options.onEnd;
    this.homeMove = new HomeMove(this, options.rebalanceDelayMs);
  }

  // -------------------------------------------------------------------------------------------
  // State.

  /**
   * state is where the session is, checked against the clock first ({@link checkClock}): a process
   * that wakes from a pause never reads a stale CONNECTED here.
   */
  get state(): ConnectionState {
    this.checkClock();
    return this.stateValue;
  }

  /**
   * msLeft is how long the session surely lives (0 once it may have expired, and when it has not
   * started or has ended): counted from when the client sent the last frame a server answered,
   * since a server expires a session no sooner than its timeout after it heard from it.
   */
  get msLeft(): number {
    const state = this.state;
    if (state !== 'CONNECTED' && state !== 'DISCONNECTED') return 0;
    return Math.max(0, this.heartbeats.msLeft(this.negotiatedTimeoutMs));
  }

  get sessionId(): number {
    return this.sessionIdValue;
  }

  /** timeoutMs is the timeout the server negotiated (0 before the session is established). */
  get timeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  /** lastZxid is the highest zxid of any reply or event: a resume never goes to a member behind it. */
  get lastZxid(): Zxid {
    return this.lastZxidValue;
  }

  /** connection is the connection the session runs on, undefined while it has none. */
  get connection(): ClientConnection | undefined {
    return this.connectionValue;
  }

  /** currentServer is the member the session last ran on (kept while disconnected). */
  get currentServer(): ServerAddress | undefined {
    return this.currentServerValue;
  }

  /** closing: close() was called. */
  get closing(): boolean {
    return this.closingValue;
  }

  /** server is the `host:port` the session is connected to, or undefined while disconnected. */
  get server(): string | undefined {
    return this.connectionValue === undefined || this.currentServerValue === undefined
      ? undefined
      : describeServer(this.currentServerValue);
  }

  /** isUsable: calls may still be made (not closing, not ended). */
  isUsable(): boolean {
    const state = this.state;
    return !this.closingValue && state !== 'EXPIRED' && state !== 'CLOSED';
  }

  /** deadError is what a call on an ended (or closing) session fails with. */
  deadError(op: string, path?: string): ZabError {
    return new ZabError('SESSION_EXPIRED', {
      message: this.stateValue === 'EXPIRED' ? 'the session has expired' : 'the client is closed',
      op,
      path,
    });
  }

  /** waitForState: see ZabClient.waitForState. */
  waitForState(state: ConnectionState, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const done = () => {
        this.stateWaiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
      };
      const check = () => {
        if (this.stateValue === state) {
          done();
          resolve();
        } else if (this.stateValue === 'EXPIRED' || this.stateValue === 'CLOSED') {
          done();
          reject(this.deadError('waitForState'));
        }
      };
      const onAbort = () => {
        done();
        reject(abortReason(signal!));
      };
      this.stateWaiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.checkClock();
      check();
    });
  }

  /** reconnected resolves at the next reconnect (at once if connected), or rejects when the session ends first. */
  reconnected(): Promise<void> {
    if (this.state === 'CONNECTED') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offs = [
        this.emitter.on('reconnected', () => done(undefined)),
        this.emitter.on('expired', () => done(this.deadError('addWatch'))),
        this.emitter.on('closed', () => done(this.deadError('addWatch'))),
      ];
      const done = (error: unknown) => {
        for (const off of offs) off();
        if (error === undefined) resolve();
        else reject(error);
      };
    });
  }

  private setState(state: ConnectionState): void {
    this.stateValue = state;
    for (const check of [...this.stateWaiters]) check();
  }

  // -------------------------------------------------------------------------------------------
  // Calls.

  /** submit sends a call now if the session is connected (and not holding calls for a move), else keeps it waiting. */
  submit(call: Call): void {
    if (this.state === 'CONNECTED' && this.connectionValue !== undefined && !this.calls.holding) this.send(call);
    else this.calls.wait(call);
  }

  private send(call: Call): void {
    if (this.calls.send(call, this.connectionValue!)) this.heartbeats.sent();
  }

  /** flushWaiting sends the addAuth calls and then the calls that waited (for a reconnect or a move that did not happen), in call order. */
  flushWaiting(): void {
    if (this.state !== 'CONNECTED' || this.connectionValue === undefined || this.calls.holding) return;
    for (const call of this.auth.takeWaiting()) this.sendAuth(call);
    for (const call of this.calls.takeWaiting()) this.send(call);
  }

  /**
   * submitAuth sends an addAuth now if the session is connected (and not holding calls for a
   * move), else keeps it waiting: a new connection sends it before the calls that wait.
   */
  submitAuth(call: AuthCall): void {
    if (this.state === 'CONNECTED' && this.connectionValue !== undefined && !this.calls.holding) this.sendAuth(call);
    else this.auth.wait(call);
  }

  /** sendAuth writes an addAuth frame; one the codec refuses (too big) fails that call alone with MARSHALLING_ERROR. */
  private sendAuth(call: AuthCall): void {
    this.auth.sent(call);
    const frame: AddAuthFrame = { kind: 'addAuth', scheme: call.scheme, credentials: call.credentials };
    try {
      this.connectionValue!.send(frame);
    } catch (error) {
      this.auth.unsent(call);
      call.fail(
        new ZabError('MARSHALLING_ERROR', {
          message: String((error as Error).message ?? error),
          op: 'addAuth',
          cause: error,
        }),
      );
      return;
    }
    this.heartbeats.sent();
  }

  /** replayCall resends remembered credentials on a new connection; no caller waits (onAuthReply reports a refusal). */
  private replayCall(credentials: Credentials): AuthCall {
    return {
      scheme: credentials.scheme,
      credentials: credentials.credentials,
      replay: true,
      abandoned: false,
      settle: () => {},
      fail: () => {},
    };
  }

  /** internalCall is a request of the session's own (setWatches): its failure is only logged. */
  private internalCall(request: Request, what: string): Call {
    return {
      xid: 0,
      request,
      linearizable: false,
      abandoned: false,
      settle: (reply) => {
        if (reply.error !== null) this.logger.warn({ error: reply.error }, `${what} failed`);
      },
      fail: () => {},
    };
  }

  // -------------------------------------------------------------------------------------------
  // Connecting.

  /** open establishes the first session: members in order, a backoff after each full round, until connectTimeoutMs. */
  async open(signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.connectTimeoutMs;
    // Each server's last error, except the timeout of an attempt that the connect deadline cut
    // short: that says nothing about the server, and would hide an earlier refusal's reason.
    const lastErrors = new Map<ServerAddress, string>();
    const onAbort = () => this.wakeSleep?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (let round = 0; ; round++) {
        for (let i = 0; i < this.serverList.size; i++) {
          if (signal?.aborted) throw abortReason(signal);
          const remaining = deadline - Date.now();
          if (remaining <= 0) {
            throw new ZabError('CONNECTION_LOSS', {
              message: `no server accepted a session within ${this.connectTimeoutMs} ms: ${[...lastErrors].map(([where, message]) => `${describeServer(where)}: ${message}`).join('; ')}`,
              op: 'connect',
            });
          }
          const server = this.serverList.next();
          const timeoutMs = Math.min(remaining, this.attemptTimeoutMs());
          try {
            const attempt = await this.attempt(server, timeoutMs, signal);
            if (signal?.aborted) {
              attempt.connection?.close();
              throw abortReason(signal);
            }
            this.adopt(attempt, 'connected');
            return;
          } catch (error) {
            if (signal?.aborted) throw abortReason(signal);
            const cutShort =
              timeoutMs < this.attemptTimeoutMs() &&
              TransportError.isInstance(error) &&
              error.code === 'CONNECT_TIMEOUT';
            if (!cutShort || !lastErrors.has(server))
              lastErrors.set(server, error instanceof Error ? error.message : String(error));
            this.logger.debug({ server: describeServer(server), error: String(error) }, 'connect attempt failed');
          }
        }
        await this.sleep(Math.min(backoffDelayMs(round, this.random, BACKOFF), Math.max(0, deadline - Date.now())));
      }
    } catch (error) {
      this.setState('CLOSED');
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** attemptTimeoutMs bounds one connect attempt: a share of the session timeout per server, as ZooKeeper's connectTimeout. */
  attemptTimeoutMs(): number {
    const timeoutMs = this.negotiatedTimeoutMs || this.requestedTimeoutMs;
    return Math.max(1_000, Math.floor(timeoutMs / this.serverList.size));
  }

  /** attempt opens a connection to `server` with the session's credentials as they are now. */
  attempt(server: ServerAddress, timeoutMs: number, signal?: AbortSignal): Promise<Attempt> {
    return openAttempt({
      server,
      timeoutMs,
      frameBytesMax: this.frameBytesMax,
      tls: this.tls,
      request: {
        lastZxidSeen: this.lastZxidValue,
        timeoutMs: this.requestedTimeoutMs,
        sessionId: this.sessionIdValue,
        password: this.password,
        readOnly: false,
      },
      onMessage: (attempt, message) => this.onMessage(attempt, message),
      onClose: (attempt, error) => this.onConnectionClose(attempt, error),
      signal,
    });
  }

  /**
   * adopt makes an accepted connection the session's: watches re-registered first, then waiting
   * calls, in order. `movedHome`: the client left a working connection for its home member.
   */
  adopt(attempt: Attempt, event: 'connected' | 'reconnected', movedHome = false): void {
    const connection = attempt.connection!;
    const response = connection.response;
    if (event === 'connected') {
      this.sessionIdValue = response.sessionId;
      this.password = response.password;
    } else if (response.sessionId !== this.sessionIdValue) {
      connection.close();
      this.expire(`server ${describeServer(attempt.server)} answered with another session id`);
      return;
    }
    this.negotiatedTimeoutMs = response.timeoutMs;
    this.connectionValue = connection;
    this.currentServerValue = attempt.server;
    this.serverList.connectedTo(attempt.server);
    attempt.adopted = true;
    this.heartbeats.begin(connection, response.timeoutMs, attempt.requestSentMs);
    this.setState('CONNECTED');
    // Identities are the connection's: the remembered credentials go first, then the addAuth calls
    // that waited (or were in flight on the connection left behind by a move home), so every
    // request after them runs with them.
    this.auth.requeueInFlight();
    for (const credentials of [...this.auth.credentials]) this.sendAuth(this.replayCall(credentials));
    for (const call of this.auth.takeWaiting()) this.sendAuth(call);
    if (event === 'reconnected') {
      for (const request of this.watches.setWatchesBatches(this.lastZxidValue)) {
        this.send(this.internalCall(request, 'setWatches'));
      }
    }
    for (const call of this.calls.takeWaiting()) this.send(call);
    // `state` checks the clock: a ping timer that fires after a pause drops the stale connection instead.
    this.heartbeats.schedule(response.timeoutMs, () => (this.state === 'CONNECTED' ? this.connectionValue : undefined));
    this.homeMove.schedule();
    const server = describeServer(attempt.server);
    this.logger.info(
      { server, sessionId: this.sessionIdValue, timeoutMs: response.timeoutMs },
      event === 'connected'
        ? 'session established'
        : movedHome
          ? 'session moved to its home member'
          : 'session resumed',
    );
    if (event === 'connected') this.emitter.emit('connected', { server, sessionId: this.sessionIdValue });
    else this.emitter.emit('reconnected', { server });
    for (const message of attempt.early.splice(0)) {
      if (this.connectionValue === connection) this.onMessage(attempt, message);
    }
    if (attempt.closedEarly !== undefined) this.onConnectionClose(attempt, attempt.closedEarly.error);
  }

  /**
   * reconnect resumes the session after a connection loss: from the member after the lost one,
   * round robin (so the clients of one member split over the others by their own orders), with
   * backoff and full jitter after each full round (as ZooKeeper's StaticHostProvider sleeps after
   * one), until a member accepts or the session timeout has passed. Any refusal but
   * SESSION_EXPIRED moves on to the next member.
   */
  private async reconnect(): Promise<void> {
    for (let round = 0; this.stateValue === 'DISCONNECTED'; round++) {
      for (let i = 0; i < this.serverList.size && this.stateValue === 'DISCONNECTED'; i++) {
        // The cluster expires a session it has not heard from for its timeout; past that, so does the client.
        const remaining = this.heartbeats.msLeft(this.negotiatedTimeoutMs);
        if (remaining <= 0) {
          this.expire(`no server was reachable within the session timeout (${this.negotiatedTimeoutMs} ms)`);
          return;
        }
        const server = this.serverList.next();
        try {
          const attempt = await this.attempt(server, Math.min(remaining, this.attemptTimeoutMs()));
          if (this.stateValue !== 'DISCONNECTED') {
            attempt.connection?.close();
            return;
          }
          this.adopt(attempt, 'reconnected');
          return;
        } catch (error) {
          if (TransportError.isInstance(error) && error.reason === 'SESSION_EXPIRED') {
            this.expire(`${describeServer(server)}: ${error.message}`);
            return;
          }
          this.logger.debug({ server: describeServer(server), error: String(error) }, 'reconnect attempt failed');
        }
      }
      const remaining = this.heartbeats.msLeft(this.negotiatedTimeoutMs);
      await this.sleep(Math.min(backoffDelayMs(round, this.random, BACKOFF), Math.max(0, remaining)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeSleep = undefined;
        resolve();
      }, ms);
      this.wakeSleep = () => {
        clearTimeout(timer);
        this.wakeSleep = undefined;
        resolve();
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // The connection's traffic.

  private onMessage(attempt: Attempt, message: SessionServerMessage): void {
    if (this.connectionValue !== attempt.connection) return;
    // Before the frame counts as heard: one that waited in the socket while this process was
    // paused says nothing of whether the session still lives, and is not delivered.
    this.checkClock();
    if (this.connectionValue !== attempt.connection) return;
    this.heartbeats.heard();
    switch (message.kind) {
      case 'pong':
        this.heartbeats.pong();
        return;
      case 'watchEvent': {
        if (message.event.zxid > this.lastZxidValue) this.lastZxidValue = message.event.zxid;
        for (const listener of this.watches.materialize(message.event)) {
          try {
            listener(message.event);
          } catch (error) {
            this.logger.warn({ path: message.event.path, error: String(error) }, 'a watch listener threw');
          }
        }
        return;
      }
      case 'reply':
        this.onReply(attempt, message);
        return;
    }
  }

  private onReply(attempt: Attempt, reply: ReplyFrame): void {
    if (reply.xid === AUTH_XID) {
      this.onAuthReply(attempt, reply);
      return;
    }
    const call = this.calls.take(reply.xid);
    if (call === undefined) {
      this.logger.warn(
        { server: describeServer(attempt.server), xid: reply.xid, expected: this.calls.expectedXid },
        'reply out of order: dropping the connection',
      );
      attempt.connection?.close();
      return;
    }
    if (reply.zxid > this.lastZxidValue) this.lastZxidValue = reply.zxid;
    if (call.sentMs !== undefined) this.heartbeats.answered(call.sentMs);
    if (!call.abandoned) call.settle(reply);
    this.calls.answered();
  }

  /**
   * onAuthReply answers the oldest addAuth in flight (a server answers them in the order sent, apart
   * from requests). Its zxid is the member's, not a read the client made: lastZxidSeen keeps its value.
   */
  private onAuthReply(attempt: Attempt, reply: ReplyFrame): void {
    const server = describeServer(attempt.server);
    const call = this.auth.take();
    if (call === undefined) {
      this.logger.warn({ server }, 'an addAuth reply without an addAuth: dropping the connection');
      attempt.connection?.close();
      return;
    }
    if (reply.error === null) this.auth.remember(call);
    else if (call.replay) {
      this.auth.forget(call);
      this.logger.warn(
        { server, scheme: call.scheme, error: reply.error },
        'the server refused remembered credentials; they are not sent again',
      );
      this.emitter.emit('authFailed', { scheme: call.scheme, server, code: reply.error });
    }
    if (!call.abandoned) call.settle(reply.error);
  }

  private onConnectionClose(attempt: Attempt, error: TransportError | undefined): void {
    if (this.connectionValue !== attempt.connection) return;
    this.connectionValue = undefined;
    this.lost(attempt.server, error?.message ?? 'closed');
  }

  /**
   * checkClock applies the heartbeat rules (heartbeats.ts) to the clock now, before the session
   * reports its state or delivers a frame. A paused process (SIGSTOP, a long GC, a blocked event
   * loop) wakes with its timers and its sockets' data queued in any order, so neither the read
   * timeout's timer nor the frames can be trusted to come first: a session silent for longer than
   * its timeout since it was last confirmed is EXPIRED (`expired`); a CONNECTED one silent for
   * longer than the read timeout has a stale connection, dropped at once (`disconnected`, its calls
   * in flight fail with CONNECTION_LOSS, the frames still queued on it are never delivered) and
   * resumed elsewhere, where the server tells whether the session still lives.
   */
  private checkClock(): void {
    const state = this.stateValue;
    if ((state !== 'CONNECTED' && state !== 'DISCONNECTED') || this.negotiatedTimeoutMs === 0) return;
    if (this.heartbeats.msLeft(this.negotiatedTimeoutMs) <= 0) {
      this.expire(
        `no server answered within the session timeout (${this.negotiatedTimeoutMs} ms); the cluster may have expired it`,
      );
      return;
    }
    if (state !== 'CONNECTED' || this.connectionValue === undefined || !this.heartbeats.isStale()) return;
    const connection = this.connectionValue;
    const where = this.currentServerValue as ServerAddress;
    const reason =
      `stale connection: nothing heard from ${describeServer(where)} for ${Math.round(this.heartbeats.silentMs())} ms, ` +
      `more than the read timeout (${this.heartbeats.readTimeoutMs} ms): this process was paused or its event loop blocked`;
    this.connectionValue = undefined;
    connection.close();
    this.lost(where, reason);
  }

  /** lost handles the loss of the session's connection (already cleared) to `where`: calls in flight fail, then a resume. */
  private lost(where: ServerAddress, reason: string): void {
    this.heartbeats.stop();
    this.homeMove.stop();
    const server = describeServer(where);
    this.calls.failInFlight(
      () => new ZabError('CONNECTION_LOSS', { message: `the connection to ${server} was lost: ${reason}` }),
    );
    this.auth.requeueInFlight();
    if (this.stateValue !== 'CONNECTED') return;
    if (this.closingValue) return;
    this.setState('DISCONNECTED');
    this.logger.info({ server, reason }, 'disconnected; reconnecting');
    this.emitter.emit('disconnected', { server, reason });
    this.reconnect().catch((failure: unknown) => {
      this.logger.warn({ error: String(failure) }, 'reconnect failed');
      this.expire(`reconnect failed: ${String(failure)}`);
    });
  }

  // -------------------------------------------------------------------------------------------
  // The end.

  /** expire ends the session as expired (the server said so, or no member was reachable in time). */
  expire(reason: string): void {
    if (this.stateValue === 'EXPIRED' || this.stateValue === 'CLOSED') return;
    this.logger.warn({ sessionId: this.sessionIdValue, reason }, 'session expired');
    this.finish(
      'EXPIRED',
      new ZabError('SESSION_EXPIRED', { message: `the session has expired: ${reason}` }),
      'expired',
    );
    this.emitter.emit('expired', { reason });
  }

  /**
   * close ends the session: if connected, `closeSession` (the API's call, made after every call
   * already made) runs first, for at most CLOSE_WAIT_MS_MAX; then the session ends locally.
   */
  async close(closeSession: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    if (this.stateValue === 'CLOSED' || this.closingValue) return;
    this.closingValue = true;
    if (this.stateValue === 'CONNECTED') {
      const signal = AbortSignal.timeout(Math.min(this.negotiatedTimeoutMs, CLOSE_WAIT_MS_MAX));
      try {
        await closeSession(signal);
      } catch (error) {
        this.logger.debug({ error: String(error) }, 'closeSession did not complete; closing locally');
      }
    }
    this.finish('CLOSED', new ZabError('SESSION_EXPIRED', { message: 'the client is closed' }), 'closed');
    this.emitter.emit('closed');
  }

  /** finish ends the session locally: connection closed, calls failed, watches forgotten, then `onEnd`. */
  private finish(state: 'EXPIRED' | 'CLOSED', error: ZabError, how: 'expired' | 'closed'): void {
    this.setState(state);
    this.wakeSleep?.();
    this.heartbeats.stop();
    this.homeMove.stop();
    const connection = this.connectionValue;
    this.connectionValue = undefined;
    connection?.close();
    const withOp = (call: Call) =>
      new ZabError(error.code, { message: error.message.replace(/^[A-Z_]+: /, ''), op: call.request.op });
    this.calls.failInFlight(withOp);
    this.calls.failWaiting(withOp);
    this.auth.failAll(
      () => new ZabError(error.code, { message: error.message.replace(/^[A-Z_]+: /, ''), op: 'addAuth' }),
    );
    this.watches.clear();
    this.onEnd(how, error);
  }
}
