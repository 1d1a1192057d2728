import { FRAME_BYTES_MAX_DEFAULT, PASSWORD_BYTES, type ReplyFrame, type RequestFrame } from '@zabkit/codec';
import {
  AddWatchMode,
  CreateMode,
  type MultiOp,
  type MultiOpResult,
  type Request,
  type Result,
  type Stat,
  type WatchEvent,
  WatcherType,
  type Zxid,
} from '@zabkit/core';
import { backoffDelayMs, ClientConnection, type SessionServerMessage, TransportError } from '@zabkit/transport-tcp';
import { Chroot } from './chroot.js';
import { parseConnectString, type ServerAddress } from './connect-string.js';
import { Emitter } from './emitter.js';
import { ZabError } from './errors.js';
import { EventQueue } from './event-queue.js';
import { ServerList } from './server-list.js';
import { Transaction } from './transaction.js';
import type {
  CallOptions,
  ChildrenOptions,
  ClientEvents,
  ClientLogger,
  ConnectionState,
  ConnectOptions,
  CreateOptions,
  Data,
  ExistsOptions,
  GetOptions,
  GetResult,
  Op,
  OpResult,
  VersionOptions,
  WatchOption,
  WatchOptions,
} from './types.js';
import {
  type WatchedEvent,
  type WatchKind,
  type WatchListener,
  WatchRegistry,
  watchedEventType,
} from './watch-registry.js';

const SESSION_TIMEOUT_MS_DEFAULT = 30_000;
const CONNECT_TIMEOUT_MS_DEFAULT = 15_000;
const PENDING_REQUESTS_MAX_DEFAULT = 10_000;
const WATCH_EVENTS_MAX_DEFAULT = 10_000;
const XID_MAX = 0x7fff_ffff;
const BACKOFF = { reconnectDelayMsBase: 50, reconnectDelayMsMax: 1_000 };
const REBALANCE_DELAY_MS_DEFAULT = 5_000;
/** REBALANCE_DOUBLINGS_MAX caps the rebalance delay at 2^3 = 8 times rebalanceDelayMs after refused tries. */
const REBALANCE_DOUBLINGS_MAX = 3;
/** MOVE_WAIT_MS_MAX bounds each of a move's two waits (replies due, home's handshake) while calls are held. */
const MOVE_WAIT_MS_MAX = 500;

const SILENT: ClientLogger = { debug() {}, info() {}, warn() {} };
const encoder = new TextEncoder();

/** Call is one request of the session: waiting for a connection, then in flight until its reply. */
interface Call {
  xid: number;
  request: Request;
  linearizable: boolean;
  /** settle turns the reply into the caller's result (synchronously: watches register before any later event). */
  settle(reply: ReplyFrame): void;
  fail(error: unknown): void;
  /** abandoned: the caller aborted; the reply, when it comes, is dropped. */
  abandoned: boolean;
}

/** Attempt is one connection being opened; it holds what arrives before the client adopts it. */
interface Attempt {
  server: ServerAddress;
  connection: ClientConnection | undefined;
  adopted: boolean;
  early: SessionServerMessage[];
  closedEarly: { error: TransportError | undefined } | undefined;
}

function toBytes(data: Data | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === 'string' ? encoder.encode(data) : data;
}

function describe(server: ServerAddress): string {
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * connect opens a session with the ensemble named by `connectString` (`host:port,...[/chroot]`)
 * and resolves with a client once the session is established. Servers are tried in a random
 * order until one accepts, within `connectTimeoutMs`; it rejects with CONNECTION_LOSS if none
 * does, or with the signal's reason when aborted.
 */
export async function connect(connectString: string, options: ConnectOptions = {}): Promise<ZabClient> {
  const client = new ZabClient(connectString, options);
  await client.open(options.signal);
  return client;
}

/**
 * ZabClient is one session with a zabkit ensemble. Calls may overlap freely: they are sent on one
 * connection, answered in the order sent (reads included), and matched by xid. When the
 * connection is lost the client reconnects to another server with its session id, password and
 * the last zxid it saw (so it never reads older data than it saw), re-registers its watches, and
 * fails the calls that were in flight with CONNECTION_LOSS (never resending them); calls made
 * while disconnected wait for the reconnect. Once the session has expired every call fails with
 * SESSION_EXPIRED. Build one with {@link connect}.
 */
export class ZabClient {
  private readonly serverList: ServerList;
  private readonly chroot: Chroot;
  private readonly logger: ClientLogger;
  private readonly random: () => number;
  private readonly requestedTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly frameBytesMax: number;
  private readonly pendingRequestsMax: number;
  private readonly rebalanceDelayMs: number;
  private readonly emitter = new Emitter<ClientEvents>();
  private readonly watches = new WatchRegistry();
  private readonly streams = new Set<EventQueue<WatchedEvent>>();
  private readonly wrappers = new WeakMap<(event: WatchedEvent) => void, WatchListener>();
  private readonly emitWatch: WatchListener;

  private stateValue: ConnectionState = 'CONNECTING';
  private connection: ClientConnection | undefined;
  private currentServer: ServerAddress | undefined;
  private sessionIdValue = 0;
  private password: Uint8Array = new Uint8Array(PASSWORD_BYTES);
  private negotiatedTimeoutMs = 0;
  private lastZxid: Zxid = 0;
  private nextXid = 1;
  private readonly waiting: Call[] = [];
  private inFlight: Call[] = [];
  private inFlightHead = 0;
  private lastSentMs = 0;
  private lastHeardMs = 0;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;
  private wakeSleep: (() => void) | undefined;
  private readonly stateWaiters = new Set<() => void>();
  /** rebalanceTimer is set while the client is away from its home member and will try to move back. */
  private rebalanceTimer: ReturnType<typeof setTimeout> | undefined;
  /** rebalanceTries counts the tries to move home that failed since the client was last at home. */
  private rebalanceTries = 0;
  private moving = false;
  /** holding: calls wait in `waiting` instead of being sent (a move to home waits for the replies already due). */
  private holding = false;
  private onDrained: (() => void) | undefined;

  /** @internal use {@link connect}. */
  constructor(connectString: string, options: ConnectOptions = {}) {
    const parsed = parseConnectString(connectString);
    this.chroot = new Chroot(parsed.chroot);
    this.logger = options.logger ?? SILENT;
    this.random = options.random ?? Math.random;
    this.requestedTimeoutMs = options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS_DEFAULT;
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    this.pendingRequestsMax = options.pendingRequestsMax ?? PENDING_REQUESTS_MAX_DEFAULT;
    this.rebalanceDelayMs = options.rebalanceDelayMs ?? REBALANCE_DELAY_MS_DEFAULT;
    if (!(this.requestedTimeoutMs > 0))
      throw new RangeError(`sessionTimeoutMs must be > 0: ${this.requestedTimeoutMs}`);
    if (!(this.connectTimeoutMs > 0)) throw new RangeError(`connectTimeoutMs must be > 0: ${this.connectTimeoutMs}`);
    if (!(this.rebalanceDelayMs >= 0 && Number.isFinite(this.rebalanceDelayMs)))
      throw new RangeError(`rebalanceDelayMs must be a finite number >= 0: ${this.rebalanceDelayMs}`);
    this.serverList = new ServerList(parsed.servers, options.serverOrder ?? 'random', this.random);
    this.emitWatch = (event) => this.emitter.emit('watch', this.toWatchedEvent(event));
  }

  // -------------------------------------------------------------------------------------------
  // Session state.

  /** state is where the session is: CONNECTING, CONNECTED, DISCONNECTED (reconnecting), EXPIRED or CLOSED. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** sessionId is the session's id (0 before it is established). */
  get sessionId(): number {
    return this.sessionIdValue;
  }

  /** sessionTimeoutMs is the timeout the server negotiated (0 before the session is established). */
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  /** lastZxidSeen is the highest zxid of any reply or event: a reconnect never goes to a server behind it. */
  get lastZxidSeen(): Zxid {
    return this.lastZxid;
  }

  /** server is the `host:port` the client is connected to, or undefined while disconnected. */
  get server(): string | undefined {
    return this.connection === undefined || this.currentServer === undefined ? undefined : describe(this.currentServer);
  }

  /** on subscribes to a client event; returns the function that unsubscribes. */
  on<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** off unsubscribes a listener. */
  off<E extends keyof ClientEvents>(event: E, listener: (...args: ClientEvents[E]) => void): void {
    this.emitter.off(event, listener);
  }

  /**
   * waitForState resolves once the client is in `state` (at once if it already is), e.g.
   * `await client.waitForState('CONNECTED', { signal: AbortSignal.timeout(10_000) })` after a
   * disconnect. It rejects with SESSION_EXPIRED when the session ends (EXPIRED or CLOSED) before
   * reaching another state, and with the signal's reason when the signal aborts. A state is a
   * moment: the client may have left it again by the time the caller looks.
   */
  waitForState(state: ConnectionState, options: CallOptions = {}): Promise<void> {
    const { signal } = options;
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
      check();
    });
  }

  private setState(state: ConnectionState): void {
    this.stateValue = state;
    for (const check of [...this.stateWaiters]) check();
  }

  // -------------------------------------------------------------------------------------------
  // Operations.

  /** create makes a znode and returns its path (with the sequence suffix for sequential modes). */
  async create(path: string, data?: Data, options: CreateOptions = {}): Promise<string> {
    const request = this.createRequest(path, data, options.mode, options.ttlMs, 'create');
    const result = await this.call(request, options.signal, path);
    if (result?.op !== 'create') throw this.unexpected('create', path, result?.op);
    return this.chroot.toClient(result.path);
  }

  /** get returns a znode's data and Stat; `watch` sets a one-shot data watch, `linearizable` a quorum-confirmed read. */
  async get(path: string, options: GetOptions = {}): Promise<GetResult> {
    const serverPath = this.chroot.toServer(path, 'getData');
    const linearizable = options.linearizable === true;
    const watch = this.listenerOf(options.watch);
    const result = await this.call(
      { op: 'getData', path: serverPath, watch: watch !== undefined },
      options.signal,
      path,
      (reply) => {
        this.check(reply, 'getData', path);
        if (watch !== undefined) this.watches.add('data', serverPath, watch);
        return reply.result;
      },
      linearizable,
    );
    if (result?.op !== 'getData') throw this.unexpected('getData', path, result?.op);
    return { data: result.data, stat: result.stat };
  }

  /** set replaces a znode's data if its version matches (`version` -1, the default, matches any); returns the new Stat. */
  async set(path: string, data: Data, options: VersionOptions = {}): Promise<Stat> {
    const request: Request = {
      op: 'setData',
      path: this.chroot.toServer(path, 'setData'),
      data: toBytes(data),
      version: options.version ?? -1,
    };
    const result = await this.call(request, options.signal, path);
    if (result?.op !== 'setData') throw this.unexpected('setData', path, result?.op);
    return result.stat;
  }

  /** delete removes a znode if its version matches (-1, the default, matches any) and it has no children. */
  async delete(path: string, options: VersionOptions = {}): Promise<void> {
    const request: Request = {
      op: 'delete',
      path: this.chroot.toServer(path, 'delete'),
      version: options.version ?? -1,
    };
    await this.call(request, options.signal, path);
  }

  /** exists returns a znode's Stat or null; `watch` fires on its creation if missing, on change or delete if present. */
  async exists(path: string, options: ExistsOptions = {}): Promise<Stat | null> {
    const serverPath = this.chroot.toServer(path, 'exists');
    const watch = this.listenerOf(options.watch);
    const result = await this.call(
      { op: 'exists', path: serverPath, watch: watch !== undefined },
      options.signal,
      path,
      (reply) => {
        // A server may answer a missing znode with NO_NODE rather than a null Stat: both mean null.
        if (reply.error === 'NO_NODE') reply = { ...reply, error: null, result: { op: 'exists', stat: null } };
        this.check(reply, 'exists', path);
        const stat = reply.result?.op === 'exists' ? reply.result.stat : null;
        if (watch !== undefined) this.watches.add(stat === null ? 'exist' : 'data', serverPath, watch);
        return reply.result;
      },
    );
    if (result?.op !== 'exists') throw this.unexpected('exists', path, result?.op);
    return result.stat;
  }

  /** children returns the names of a znode's children, sorted; with `stat: true` also the znode's Stat. */
  children(path: string, options?: ChildrenOptions & { stat?: false }): Promise<string[]>;
  children(path: string, options: ChildrenOptions & { stat: true }): Promise<{ children: string[]; stat: Stat }>;
  async children(path: string, options: ChildrenOptions = {}): Promise<string[] | { children: string[]; stat: Stat }> {
    const serverPath = this.chroot.toServer(path, 'getChildren');
    const watch = this.listenerOf(options.watch);
    const result = await this.call(
      { op: 'getChildren', path: serverPath, watch: watch !== undefined },
      options.signal,
      path,
      (reply) => {
        this.check(reply, 'getChildren', path);
        if (watch !== undefined) this.watches.add('child', serverPath, watch);
        return reply.result;
      },
    );
    if (result?.op !== 'getChildren') throw this.unexpected('getChildren', path, result?.op);
    return options.stat === true ? { children: result.children, stat: result.stat } : result.children;
  }

  /** getEphemerals lists this session's ephemeral znodes under `prefixPath` (default '/'). */
  async getEphemerals(prefixPath = '/', options: CallOptions = {}): Promise<string[]> {
    const request: Request = { op: 'getEphemerals', prefixPath: this.chroot.toServer(prefixPath, 'getEphemerals') };
    const result = await this.call(request, options.signal, prefixPath);
    if (result?.op !== 'getEphemerals') throw this.unexpected('getEphemerals', prefixPath, result?.op);
    return result.paths.map((path) => this.chroot.toClient(path)).sort();
  }

  /** sync brings the connected server up to date with the leader, so the reads that follow are as fresh as the leader was. */
  async sync(path = '/', options: CallOptions = {}): Promise<void> {
    await this.call({ op: 'sync', path: this.chroot.toServer(path, 'sync') }, options.signal, path);
  }

  /**
   * multi commits all the ops or none. On failure it throws the ZabError of the op that failed
   * (its `path`, and `results` with every op's outcome).
   */
  async multi(ops: readonly Op[], options: CallOptions = {}): Promise<OpResult[]> {
    const requests = ops.map((op) => this.multiOp(op));
    const result = await this.call({ op: 'multi', ops: requests }, options.signal, undefined, (reply) => {
      if (reply.error !== null && reply.result?.op === 'multi')
        throw this.multiFailure(ops, reply.result.results, reply.error);
      this.check(reply, 'multi', undefined);
      return reply.result;
    });
    if (result?.op !== 'multi') throw this.unexpected('multi', undefined, result?.op);
    return result.results.map((item, index) => {
      switch (item.op) {
        case 'create':
          return { op: 'create', path: this.chroot.toClient(item.path), stat: item.stat };
        case 'setData':
          return { op: 'set', stat: item.stat };
        case 'delete':
          return { op: 'delete' };
        case 'check':
          return { op: 'check' };
        default:
          throw new ZabError(item.code, { op: 'multi', path: ops[index]?.path });
      }
    });
  }

  /** transaction starts a multi built step by step: `client.transaction().create(...).set(...).commit()`. */
  transaction(): Transaction {
    return new Transaction((ops, options) => this.multi(ops, options));
  }

  /**
   * watch sets a persistent watch on `path` (the subtree with `recursive`) and returns its events
   * as an AsyncIterable. The watch is registered at once (await `ready` to know the server has it),
   * survives reconnects, and is removed when the loop breaks, `close()` is called, or the signal
   * aborts (the loop then throws the signal's reason). The stream ends when the client closes and
   * throws SESSION_EXPIRED when the session expires. Events that happen while the client is
   * disconnected are not replayed for persistent watches (the server re-adds them without events).
   */
  watch(path: string, options: WatchOptions = {}): WatchStream {
    const serverPath = this.chroot.toServer(path, 'addWatch');
    const kind: WatchKind = options.recursive === true ? 'persistentRecursive' : 'persistent';
    const eventsMax = options.eventsMax ?? WATCH_EVENTS_MAX_DEFAULT;
    const queue = new EventQueue<WatchedEvent>(eventsMax, () => {
      // The consumer fell behind: drop the watch too (after the push that overflowed returns).
      queueMicrotask(() => remove());
      return new ZabError('SYSTEM_ERROR', {
        message: `the consumer fell behind by ${eventsMax} events; the watch was removed`,
        op: 'watch',
        path,
      });
    });
    const listener: WatchListener = (event) => queue.push(this.toWatchedEvent(event));
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      this.streams.delete(queue);
      options.signal?.removeEventListener('abort', onAbort);
      if (this.watches.remove(kind, serverPath, listener) && this.isUsable()) {
        const watcherType = kind === 'persistent' ? WatcherType.PERSISTENT : WatcherType.PERSISTENT_RECURSIVE;
        this.call({ op: 'removeWatches', path: serverPath, watcherType }, undefined, path).catch((error: unknown) =>
          this.logger.debug({ path, error: String(error) }, 'removeWatches failed'),
        );
      }
    };
    const onAbort = () => {
      queue.fail(abortReason(options.signal!));
      remove();
    };
    const stream: WatchStream = {
      ready: Promise.resolve(),
      close() {
        queue.discard();
        remove();
      },
      [Symbol.asyncIterator]() {
        return {
          next: () => queue.next(),
          return: () => {
            stream.close();
            return Promise.resolve({ value: undefined, done: true });
          },
        };
      },
    };
    if (options.signal?.aborted) {
      queue.fail(abortReason(options.signal));
      removed = true;
      return stream;
    }
    if (!this.isUsable()) {
      queue.fail(this.deadError('addWatch', path));
      removed = true;
      return stream;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.streams.add(queue);
    this.watches.add(kind, serverPath, listener);
    const mode = kind === 'persistent' ? AddWatchMode.PERSISTENT : AddWatchMode.PERSISTENT_RECURSIVE;
    stream.ready = this.call({ op: 'addWatch', path: serverPath, mode }, undefined, path).then(
      () => undefined,
      async (error: unknown) => {
        // A lost connection is harmless: the watch is in the registry, so the reconnect's
        // setWatches registers it before any later request.
        if (ZabError.isInstance(error, 'CONNECTION_LOSS') && this.isUsable()) {
          await this.reconnected();
          return;
        }
        queue.fail(error);
        remove();
        throw error;
      },
    );
    stream.ready.catch(() => {});
    return stream;
  }

  /**
   * close ends the session: the server deletes its ephemerals and the client fails later calls
   * with SESSION_EXPIRED. Calls already made are answered first. If the client is disconnected,
   * it closes locally and the server expires the session after its timeout.
   */
  async close(): Promise<void> {
    if (this.stateValue === 'CLOSED' || this.closing) return;
    this.closing = true;
    if (this.stateValue === 'CONNECTED') {
      const timeoutMs = Math.min(this.negotiatedTimeoutMs, 5_000);
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        await this.call({ op: 'closeSession' }, signal, undefined, undefined, false, true);
      } catch (error) {
        this.logger.debug({ error: String(error) }, 'closeSession did not complete; closing locally');
      }
    }
    this.finish('CLOSED', new ZabError('SESSION_EXPIRED', { message: 'the client is closed' }), 'closed');
    this.emitter.emit('closed');
  }

  // -------------------------------------------------------------------------------------------
  // Connecting.

  /** @internal open establishes the first session (used by {@link connect}). */
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
              message: `no server accepted a session within ${this.connectTimeoutMs} ms: ${[...lastErrors].map(([where, message]) => `${describe(where)}: ${message}`).join('; ')}`,
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
            this.logger.debug({ server: describe(server), error: String(error) }, 'connect attempt failed');
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
  private attemptTimeoutMs(): number {
    const timeoutMs = this.negotiatedTimeoutMs || this.requestedTimeoutMs;
    return Math.max(1_000, Math.floor(timeoutMs / this.serverList.size));
  }

  private async attempt(server: ServerAddress, timeoutMs: number, signal?: AbortSignal): Promise<Attempt> {
    const attempt: Attempt = { server, connection: undefined, adopted: false, early: [], closedEarly: undefined };
    const pending = ClientConnection.connect({
      host: server.host,
      port: server.port,
      connectTimeoutMs: timeoutMs,
      frameBytesMax: this.frameBytesMax,
      request: {
        lastZxidSeen: this.lastZxid,
        timeoutMs: this.requestedTimeoutMs,
        sessionId: this.sessionIdValue,
        password: this.password,
        readOnly: false,
      },
      onMessage: (message) => {
        if (attempt.adopted) this.onMessage(attempt, message);
        else attempt.early.push(message);
      },
      onClose: (error) => {
        if (attempt.adopted) this.onConnectionClose(attempt, error);
        else attempt.closedEarly = { error };
      },
    });
    if (signal !== undefined) {
      // An abort does not wait for the attempt's own timeout.
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(abortReason(signal));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        pending.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
      });
      pending.then((connection) => signal.aborted && connection.close()).catch(() => {});
      attempt.connection = await Promise.race([pending, aborted]);
    } else attempt.connection = await pending;
    return attempt;
  }

  /**
   * adopt makes an accepted connection the session's: watches re-registered first, then waiting
   * calls, in order. `movedHome`: the client left a working connection for its home member.
   */
  private adopt(attempt: Attempt, event: 'connected' | 'reconnected', movedHome = false): void {
    const connection = attempt.connection!;
    const response = connection.response;
    if (event === 'connected') {
      this.sessionIdValue = response.sessionId;
      this.password = response.password;
    } else if (response.sessionId !== this.sessionIdValue) {
      connection.close();
      this.expire(`server ${describe(attempt.server)} answered with another session id`);
      return;
    }
    this.negotiatedTimeoutMs = response.timeoutMs;
    this.connection = connection;
    this.currentServer = attempt.server;
    this.serverList.connectedTo(attempt.server);
    attempt.adopted = true;
    const now = Date.now();
    this.lastHeardMs = now;
    this.lastSentMs = now;
    // ZooKeeper's readTimeout: a server that sends nothing (not even a pong) for 2/3 of the timeout is gone.
    connection.setIdleTimeout(Math.max(1, Math.floor((response.timeoutMs * 2) / 3)));
    this.setState('CONNECTED');
    if (event === 'reconnected') {
      for (const request of this.watches.setWatchesBatches(this.lastZxid)) {
        this.send(this.internalCall(request, 'setWatches'));
      }
    }
    for (const call of this.waiting.splice(0)) this.send(call);
    this.schedulePing();
    this.scheduleRebalance();
    this.logger.info(
      { server: describe(attempt.server), sessionId: this.sessionIdValue, timeoutMs: response.timeoutMs },
      event === 'connected'
        ? 'session established'
        : movedHome
          ? 'session moved to its home member'
          : 'session resumed',
    );
    if (event === 'connected') {
      this.emitter.emit('connected', { server: describe(attempt.server), sessionId: this.sessionIdValue });
    } else this.emitter.emit('reconnected', { server: describe(attempt.server) });
    for (const message of attempt.early.splice(0)) {
      if (this.connection === connection) this.onMessage(attempt, message);
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
        const remaining = this.lastHeardMs + this.negotiatedTimeoutMs - Date.now();
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
            this.expire(`${describe(server)}: ${error.message}`);
            return;
          }
          this.logger.debug({ server: describe(server), error: String(error) }, 'reconnect attempt failed');
        }
      }
      const remaining = this.lastHeardMs + this.negotiatedTimeoutMs - Date.now();
      await this.sleep(Math.min(backoffDelayMs(round, this.random, BACKOFF), Math.max(0, remaining)));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Moving back home (rebalancing).

  /**
   * scheduleRebalance arms the move back to the home member while the client is connected
   * elsewhere: after between half and all of rebalanceDelayMs, doubled per refused try (capped).
   * Without it every fault would leave the clients on fewer members: a member that comes back
   * (restarted, resumed, caught up) would never get its clients back.
   */
  private scheduleRebalance(): void {
    if (this.currentServer === this.serverList.home) {
      this.rebalanceTries = 0;
      this.stopRebalance();
      return;
    }
    if (this.rebalanceTimer !== undefined || this.rebalanceDelayMs === 0 || this.closing) return;
    if (this.stateValue !== 'CONNECTED') return;
    const capMs = this.rebalanceDelayMs * 2 ** Math.min(this.rebalanceTries, REBALANCE_DOUBLINGS_MAX);
    const delayMs = capMs / 2 + (this.random() * capMs) / 2;
    this.rebalanceTimer = setTimeout(() => {
      this.rebalanceTimer = undefined;
      this.moveHome().catch((error: unknown) => this.logger.warn({ error: String(error) }, 'moving home failed'));
    }, delayMs);
  }

  private stopRebalance(): void {
    if (this.rebalanceTimer !== undefined) clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = undefined;
  }

  /**
   * moveHome resumes the session on the home member. A member may drop the session's old
   * connection as soon as another one resumes it, so the client first holds new calls and waits
   * for the replies already due (FIFO order across the two connections, nothing in flight to
   * lose), then resumes on home with its final lastZxidSeen, adopts the new connection (setWatches
   * first, then the held calls; `reconnected`) and closes the old one. Each wait is bounded by
   * MOVE_WAIT_MS_MAX, so a home member that is paused stalls calls only that long. If home
   * refuses or does not answer in time, or a watch event raised lastZxidSeen during the handshake
   * (home may be behind it), the client stays where it is, sends the held calls there, and tries
   * again later.
   */
  private async moveHome(): Promise<void> {
    const from = this.connection;
    const home = this.serverList.home;
    if (this.moving || from === undefined || this.stateValue !== 'CONNECTED' || this.closing) return;
    if (this.currentServer === home) return;
    this.moving = true;
    let attempt: Attempt | undefined;
    const stillHere = () =>
      this.connection === from &&
      this.stateValue === 'CONNECTED' &&
      !this.closing &&
      attempt?.closedEarly === undefined;
    const waitMs = Math.min(this.attemptTimeoutMs(), MOVE_WAIT_MS_MAX);
    try {
      this.holding = true;
      if (!(await this.drain(waitMs)) || !stillHere()) return;
      const checkedZxid = this.lastZxid;
      attempt = await this.tryHome(home, waitMs);
      if (attempt === undefined || !stillHere() || this.lastZxid > checkedZxid) return;
      const accepted = attempt;
      attempt = undefined;
      this.holding = false;
      this.adopt(accepted, 'reconnected', true);
      from.close();
    } finally {
      this.moving = false;
      this.holding = false;
      // A home connection that was not adopted: the old one keeps the session (or, if the member
      // dropped it for the new one, the client reconnects as after any loss).
      attempt?.connection?.close();
      if (this.connection === from && this.stateValue === 'CONNECTED') {
        this.flushWaiting();
        this.rebalanceTries++;
        this.scheduleRebalance();
      }
    }
  }

  /** tryHome opens a resume on the home member; undefined if it refused or did not answer (SESSION_EXPIRED expires the session). */
  private async tryHome(home: ServerAddress, timeoutMs: number): Promise<Attempt | undefined> {
    try {
      return await this.attempt(home, timeoutMs);
    } catch (error) {
      if (TransportError.isInstance(error) && error.reason === 'SESSION_EXPIRED') {
        this.expire(`${describe(home)}: ${error.message}`);
        return undefined;
      }
      this.logger.debug(
        { server: describe(home), error: String(error) },
        'the home member did not take the session; staying',
      );
      return undefined;
    }
  }

  /** drain resolves true once no call is in flight, false if that takes longer than `timeoutMs` or the connection went. */
  private drain(timeoutMs: number): Promise<boolean> {
    if (this.inFlightCount() === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        this.onDrained = undefined;
        resolve(drained);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.onDrained = () => finish(this.inFlightCount() === 0);
    });
  }

  private inFlightCount(): number {
    return this.inFlight.length - this.inFlightHead;
  }

  /** flushWaiting sends the calls that waited (for a reconnect or a move that did not happen), in call order. */
  private flushWaiting(): void {
    if (this.stateValue !== 'CONNECTED' || this.connection === undefined || this.holding) return;
    for (const call of this.waiting.splice(0)) this.send(call);
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

  private onMessage(attempt: Attempt, message: SessionServerMessage): void {
    if (this.connection !== attempt.connection) return;
    this.lastHeardMs = Date.now();
    switch (message.kind) {
      case 'pong':
        return;
      case 'watchEvent': {
        if (message.event.zxid > this.lastZxid) this.lastZxid = message.event.zxid;
        for (const listener of this.watches.materialize(message.event)) {
          try {
            listener(message.event);
          } catch (error) {
            this.logger.warn({ path: message.event.path, error: String(error) }, 'a watch listener threw');
          }
        }
        return;
      }
      case 'reply': {
        const call = this.inFlight[this.inFlightHead];
        if (call === undefined || call.xid !== message.xid) {
          this.logger.warn(
            { server: describe(attempt.server), xid: message.xid, expected: call?.xid },
            'reply out of order: dropping the connection',
          );
          attempt.connection?.close();
          return;
        }
        this.inFlight[this.inFlightHead++] = undefined as unknown as Call;
        if (this.inFlightHead === this.inFlight.length) {
          this.inFlight = [];
          this.inFlightHead = 0;
        } else if (this.inFlightHead > 1024 && this.inFlightHead * 2 > this.inFlight.length) {
          this.inFlight = this.inFlight.slice(this.inFlightHead);
          this.inFlightHead = 0;
        }
        if (message.zxid > this.lastZxid) this.lastZxid = message.zxid;
        if (!call.abandoned) call.settle(message);
        if (this.onDrained !== undefined && this.inFlightCount() === 0) this.onDrained();
        return;
      }
    }
  }

  private onConnectionClose(attempt: Attempt, error: TransportError | undefined): void {
    if (this.connection !== attempt.connection) return;
    this.connection = undefined;
    this.stopPing();
    this.stopRebalance();
    const reason = error?.message ?? 'closed';
    this.failInFlight(
      () =>
        new ZabError('CONNECTION_LOSS', {
          message: `the connection to ${describe(attempt.server)} was lost: ${reason}`,
        }),
    );
    if (this.stateValue !== 'CONNECTED') return;
    if (this.closing) return;
    this.setState('DISCONNECTED');
    this.logger.info({ server: describe(attempt.server), reason }, 'disconnected; reconnecting');
    this.emitter.emit('disconnected', { server: describe(attempt.server), reason });
    this.reconnect().catch((failure: unknown) => {
      this.logger.warn({ error: String(failure) }, 'reconnect failed');
      this.expire(`reconnect failed: ${String(failure)}`);
    });
  }

  private expire(reason: string): void {
    if (this.stateValue === 'EXPIRED' || this.stateValue === 'CLOSED') return;
    this.logger.warn({ sessionId: this.sessionIdValue, reason }, 'session expired');
    this.finish(
      'EXPIRED',
      new ZabError('SESSION_EXPIRED', { message: `the session has expired: ${reason}` }),
      'expired',
    );
    this.emitter.emit('expired', { reason });
  }

  /** finish ends the session locally: connection closed, calls and watch streams failed or ended. */
  private finish(state: 'EXPIRED' | 'CLOSED', error: ZabError, how: 'expired' | 'closed'): void {
    this.setState(state);
    this.wakeSleep?.();
    this.stopPing();
    this.stopRebalance();
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
    const withOp = (call: Call) =>
      new ZabError(error.code, { message: error.message.replace(/^[A-Z_]+: /, ''), op: call.request.op });
    this.failInFlight(withOp);
    for (const call of this.waiting.splice(0)) call.fail(withOp(call));
    this.watches.clear();
    for (const stream of this.streams) {
      if (how === 'closed') stream.end();
      else stream.fail(error);
    }
    this.streams.clear();
  }

  private failInFlight(errorOf: (call: Call) => unknown): void {
    const calls = this.inFlight.slice(this.inFlightHead);
    this.inFlight = [];
    this.inFlightHead = 0;
    for (const call of calls) call.fail(errorOf(call));
    this.onDrained?.();
  }

  private schedulePing(): void {
    this.stopPing();
    const intervalMs = Math.max(1, Math.floor(this.negotiatedTimeoutMs / 3));
    const tick = () => {
      this.pingTimer = undefined;
      const connection = this.connection;
      if (connection === undefined || this.stateValue !== 'CONNECTED') return;
      const idleMs = Date.now() - this.lastSentMs;
      if (idleMs >= intervalMs) {
        connection.send({ kind: 'ping' });
        this.lastSentMs = Date.now();
        this.pingTimer = setTimeout(tick, intervalMs);
      } else this.pingTimer = setTimeout(tick, intervalMs - idleMs);
    };
    this.pingTimer = setTimeout(tick, intervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }

  /** reconnected resolves at the next reconnect, or rejects when the session ends first. */
  private reconnected(): Promise<void> {
    if (this.stateValue === 'CONNECTED') return Promise.resolve();
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

  // -------------------------------------------------------------------------------------------
  // Calls.

  private isUsable(): boolean {
    return !this.closing && this.stateValue !== 'EXPIRED' && this.stateValue !== 'CLOSED';
  }

  private deadError(op: string, path?: string): ZabError {
    return new ZabError('SESSION_EXPIRED', {
      message: this.stateValue === 'EXPIRED' ? 'the session has expired' : 'the client is closed',
      op,
      path,
    });
  }

  /**
   * call sends one request (or queues it until connected) and resolves with what `onReply`
   * makes of the reply; a reply with an error rejects with a ZabError naming `path` and the op.
   */
  private call<T = Result | null>(
    request: Request,
    signal: AbortSignal | undefined,
    path: string | undefined,
    onReply: (reply: ReplyFrame) => T = (reply) => {
      this.check(reply, request.op, path);
      return reply.result as T;
    },
    linearizable = false,
    evenIfClosing = false,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      if (!this.isUsable() && !(evenIfClosing && this.stateValue === 'CONNECTED')) {
        reject(this.deadError(request.op, path));
        return;
      }
      const onAbort = () => {
        call.abandoned = true;
        const index = this.waiting.indexOf(call);
        if (index !== -1) this.waiting.splice(index, 1);
        reject(abortReason(signal!));
      };
      const call: Call = {
        xid: 0,
        request,
        linearizable,
        abandoned: false,
        settle: (reply) => {
          signal?.removeEventListener('abort', onAbort);
          try {
            resolve(onReply(reply));
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort);
          const failure =
            ZabError.isInstance(error) && error.path === undefined && path !== undefined
              ? new ZabError(error.code, { message: error.message.replace(/^[A-Z_]+: /, ''), op: request.op, path })
              : error;
          reject(failure);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.stateValue === 'CONNECTED' && this.connection !== undefined && !this.holding) this.send(call);
      else if (this.waiting.length >= this.pendingRequestsMax) {
        call.fail(
          new ZabError('CONNECTION_LOSS', {
            message: `${this.holding ? 'moving to the home member' : 'disconnected'}, and ${this.pendingRequestsMax} calls already wait`,
          }),
        );
      } else this.waiting.push(call);
    });
  }

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

  private send(call: Call): void {
    const connection = this.connection!;
    call.xid = this.nextXid;
    this.nextXid = this.nextXid === XID_MAX ? 1 : this.nextXid + 1;
    this.inFlight.push(call);
    const frame: RequestFrame = { kind: 'request', xid: call.xid, request: call.request };
    if (call.linearizable) frame.linearizable = true;
    try {
      connection.send(frame);
    } catch (error) {
      // The codec refused the frame (too big, out of range): fail this call alone.
      this.inFlight.pop();
      call.fail(
        new ZabError('MARSHALLING_ERROR', {
          message: String((error as Error).message ?? error),
          op: call.request.op,
          cause: error,
        }),
      );
      return;
    }
    this.lastSentMs = Date.now();
  }

  // -------------------------------------------------------------------------------------------
  // Helpers.

  private listenerOf(watch: WatchOption | undefined): WatchListener | undefined {
    if (watch === undefined || watch === false) return undefined;
    if (watch === true) return this.emitWatch;
    let wrapper = this.wrappers.get(watch);
    if (wrapper === undefined) {
      wrapper = (event) => watch(this.toWatchedEvent(event));
      this.wrappers.set(watch, wrapper);
    }
    return wrapper;
  }

  private toWatchedEvent(event: WatchEvent): WatchedEvent {
    return {
      type: watchedEventType(event.type) ?? 'NODE_DATA_CHANGED',
      path: this.chroot.toClient(event.path),
      zxid: event.zxid,
    };
  }

  private createRequest(
    path: string,
    data: Data | undefined,
    modeName: keyof typeof CreateMode | undefined,
    ttlMs: number | undefined,
    op: string,
  ): Request & { op: 'create' } {
    const mode = CreateMode[modeName ?? 'PERSISTENT'];
    if (mode === undefined)
      throw new ZabError('BAD_ARGUMENTS', { message: `unknown create mode ${String(modeName)}`, op, path });
    const sequential =
      mode === CreateMode.PERSISTENT_SEQUENTIAL ||
      mode === CreateMode.EPHEMERAL_SEQUENTIAL ||
      mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
    return {
      op: 'create',
      path: this.chroot.toServer(path, op, sequential),
      data: toBytes(data),
      mode,
      ttlMs: ttlMs ?? 0,
    };
  }

  private multiOp(op: Op): MultiOp {
    switch (op.op) {
      case 'create':
        return this.createRequest(op.path, op.data, op.mode, op.ttlMs, 'multi');
      case 'set':
        return {
          op: 'setData',
          path: this.chroot.toServer(op.path, 'multi'),
          data: toBytes(op.data),
          version: op.version ?? -1,
        };
      case 'delete':
        return { op: 'delete', path: this.chroot.toServer(op.path, 'multi'), version: op.version ?? -1 };
      case 'check':
        return { op: 'check', path: this.chroot.toServer(op.path, 'multi'), version: op.version };
      default:
        throw new ZabError('BAD_ARGUMENTS', {
          message: `unknown multi op ${String((op as { op: unknown }).op)}`,
          op: 'multi',
        });
    }
  }

  private multiFailure(ops: readonly Op[], results: MultiOpResult[], code: ZabError['code']): ZabError {
    let index = results.findIndex((item) => item.op === 'error' && item.code !== 'RUNTIME_INCONSISTENCY');
    if (index === -1) index = results.findIndex((item) => item.op === 'error');
    const failed = results[index];
    return new ZabError(failed?.op === 'error' ? failed.code : code, {
      op: 'multi',
      path: ops[index]?.path,
      message: index === -1 ? undefined : `op ${index} (${ops[index]?.op}) failed`,
      results,
    });
  }

  /** check throws the ZabError of a reply that carries an error. */
  private check(reply: ReplyFrame, op: string, path: string | undefined): void {
    if (reply.error !== null) throw new ZabError(reply.error, { op, path });
  }

  private unexpected(op: string, path: string | undefined, got: string | undefined): ZabError {
    return new ZabError('MARSHALLING_ERROR', {
      message: `the server answered ${op} with a ${got ?? 'missing'} result`,
      op,
      path,
    });
  }
}

/**
 * WatchStream is a persistent watch's events as an AsyncIterable (use `for await`). Breaking the
 * loop or calling `close()` removes the watch.
 */
export interface WatchStream extends AsyncIterable<WatchedEvent> {
  /** ready resolves once the server has registered the watch. */
  ready: Promise<void>;
  /** close removes the watch and ends the iteration. */
  close(): void;
}
