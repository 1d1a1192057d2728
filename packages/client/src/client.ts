import type { ReplyFrame } from '@zabkit/codec';
import { FRAME_BYTES_MAX_DEFAULT } from '@zabkit/codec';
import {
  type ACL,
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
import { type CallDeadline, deadlineOf, TIMER_MS_MAX } from './call-deadline.js';
import { type Call, CallQueue } from './call-queue.js';
import { Chroot } from './chroot.js';
import { describeServer, parseConnectString, type ServerAddress } from './connect-string.js';
import { Emitter } from './emitter.js';
import {
  type EnsembleConfig,
  type EnsembleMember,
  EnsembleTracker,
  MEMBERS_PATH,
  parseEnsembleConfig,
} from './ensemble.js';
import { abortReason, ZabError } from './errors.js';
import { EventQueue } from './event-queue.js';
import { isRetryable, RetryPolicy, retrying } from './retry.js';
import { ServerList } from './server-list.js';
import { Session } from './session.js';
import { type AuthCall, type Credentials, SessionAuth } from './session-auth.js';
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
  GetACLResult,
  GetOptions,
  GetResult,
  Op,
  OpResult,
  VersionOptions,
  WaitOptions,
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
const REBALANCE_DELAY_MS_DEFAULT = 5_000;

const SILENT: ClientLogger = { debug() {}, info() {}, warn() {} };
const encoder = new TextEncoder();

function toBytes(data: Data | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === 'string' ? encoder.encode(data) : data;
}

/** toCredentials checks one addAuth's arguments (a TypeError names what is wrong) and encodes them. */
function toCredentials(scheme: unknown, credentials: unknown): Credentials {
  if (typeof scheme !== 'string' || scheme === '')
    throw new TypeError(`addAuth: scheme must be a non-empty string: ${String(scheme)}`);
  if (typeof credentials !== 'string' && !(credentials instanceof Uint8Array))
    throw new TypeError('addAuth: credentials must be a string or a Uint8Array');
  // A copy: the caller's bytes may change, the remembered ones are replayed later.
  return { scheme, credentials: typeof credentials === 'string' ? encoder.encode(credentials) : credentials.slice() };
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
 *
 * ZabClient is the API: it turns calls into requests and replies into results, paths through
 * the chroot, and watch events into listeners and streams. The connection's life (members,
 * reconnects, heartbeats, expiry, the move home, the call queue) is its session's (session.ts).
 */
export class ZabClient {
  private readonly chroot: Chroot;
  private readonly logger: ClientLogger;
  private readonly emitter = new Emitter<ClientEvents>();
  private readonly watches = new WatchRegistry();
  private readonly auth = new SessionAuth();
  /** initialAuth: ConnectOptions.auth, sent once the first connection is open (see open). */
  private readonly initialAuth: Credentials[];
  private readonly connectTimeoutMs: number;
  private readonly random: () => number;
  /** retryPolicy: ConnectOptions.retry, for the calls that set none of their own. */
  private readonly retryPolicy: RetryPolicy | undefined;
  private readonly session: Session;
  private readonly streams = new Set<EventQueue<WatchedEvent>>();
  private readonly wrappers = new WeakMap<(event: WatchedEvent) => void, WatchListener>();
  private readonly emitWatch: WatchListener;

  /** @internal use {@link connect}. */
  constructor(connectString: string, options: ConnectOptions = {}) {
    const parsed = parseConnectString(connectString);
    this.chroot = new Chroot(parsed.chroot);
    this.logger = options.logger ?? SILENT;
    const random = options.random ?? Math.random;
    const requestedTimeoutMs = options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS_DEFAULT;
    const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    const rebalanceDelayMs = options.rebalanceDelayMs ?? REBALANCE_DELAY_MS_DEFAULT;
    if (!(requestedTimeoutMs > 0)) throw new RangeError(`sessionTimeoutMs must be > 0: ${requestedTimeoutMs}`);
    if (!(connectTimeoutMs > 0)) throw new RangeError(`connectTimeoutMs must be > 0: ${connectTimeoutMs}`);
    if (!(rebalanceDelayMs >= 0 && Number.isFinite(rebalanceDelayMs)))
      throw new RangeError(`rebalanceDelayMs must be a finite number >= 0: ${rebalanceDelayMs}`);
    this.initialAuth = (options.auth ?? []).map((entry) => toCredentials(entry?.scheme, entry?.credentials));
    this.connectTimeoutMs = connectTimeoutMs;
    this.random = random;
    this.retryPolicy = RetryPolicy.of(options.retry);
    this.session = new Session({
      serverList: new ServerList(parsed.servers, options.serverOrder ?? 'random', random),
      calls: new CallQueue(options.pendingRequestsMax ?? PENDING_REQUESTS_MAX_DEFAULT),
      watches: this.watches,
      auth: this.auth,
      emitter: this.emitter,
      logger: this.logger,
      random,
      // The wire takes whole ms (an int32): a fraction rounds up, a huge timeout asks for the most.
      requestedTimeoutMs: Math.min(Math.ceil(requestedTimeoutMs), TIMER_MS_MAX),
      connectTimeoutMs,
      frameBytesMax: options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT,
      rebalanceDelayMs,
      tls: options.tls,
      onEnd: (how, error) => {
        for (const stream of this.streams) {
          if (how === 'closed') stream.end();
          else stream.fail(error);
        }
        this.streams.clear();
      },
    });
    this.emitWatch = (event) => this.emitter.emit('watch', this.toWatchedEvent(event));
    if (options.followEnsemble === true) {
      const tracker = new EnsembleTracker({
        read: (changed) => this.readMembers(() => changed()),
        update: (servers) => this.updateServers(servers),
        tls: options.tls !== undefined,
        logger: this.logger,
      });
      this.emitter.on('connected', () => tracker.refresh());
      this.emitter.on('reconnected', () => tracker.refresh());
      this.emitter.on('expired', () => tracker.stop());
      this.emitter.on('closed', () => tracker.stop());
    }
  }

  // -------------------------------------------------------------------------------------------
  // Session state.

  /**
   * state is where the session is: CONNECTING, CONNECTED, DISCONNECTED (reconnecting), EXPIRED or
   * CLOSED. Reading it checks the clock first, so a process that wakes from a pause (SIGSTOP, a
   * long GC, a blocked event loop) never reads a stale CONNECTED: if nothing was heard for longer
   * than two thirds of the session timeout, the client drops that connection and reads
   * DISCONNECTED (it resumes the session, and `disconnected` is emitted during this read); if the
   * whole timeout passed since a server last answered, EXPIRED (`expired` is emitted).
   */
  get state(): ConnectionState {
    return this.session.state;
  }

  /**
   * sessionMsLeft is how long the session surely lives, in ms: the server cannot expire it sooner,
   * because it counts the timeout from a moment no earlier than when this client sent the last
   * frame a server answered (a reply or a Pong), and this counts from then. While CONNECTED it
   * stays above about two thirds of the timeout minus a round trip (pings go every third); it
   * falls while DISCONNECTED; it is 0 once the session may have expired, and before the session
   * is established or after it ended. Work that relies on the session (a lock held, leadership)
   * should finish within it, or check again. Reading it checks the clock as `state` does.
   */
  get sessionMsLeft(): number {
    return this.session.msLeft;
  }

  /** sessionId is the session's id (0 before it is established). */
  get sessionId(): number {
    return this.session.sessionId;
  }

  /** sessionTimeoutMs is the timeout the server negotiated (0 before the session is established). */
  get sessionTimeoutMs(): number {
    return this.session.timeoutMs;
  }

  /** lastZxidSeen is the highest zxid of any reply or event: a reconnect never goes to a server behind it. */
  get lastZxidSeen(): Zxid {
    return this.session.lastZxid;
  }

  /** server is the `host:port` the client is connected to, or undefined while disconnected. */
  get server(): string | undefined {
    return this.session.server;
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
  waitForState(state: ConnectionState, options: WaitOptions = {}): Promise<void> {
    let deadline: CallDeadline;
    try {
      deadline = deadlineOf(options, 'waitForState', undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    const waiting = this.session.waitForState(state, deadline.signal);
    waiting.then(deadline.clear, deadline.clear);
    return waiting;
  }

  /**
   * @internal open establishes the first session (used by {@link connect}), then authenticates it
   * with ConnectOptions.auth: nothing else was sent yet, so every call runs with those ids. A
   * refusal (AUTH_FAILED), the signal, or no answer within what is left of connectTimeoutMs closes
   * the session and rejects.
   */
  async open(signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.connectTimeoutMs;
    await this.session.open(signal);
    if (this.initialAuth.length === 0) return;
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new ZabError('CONNECTION_LOSS', {
            message: `no answer to addAuth within connectTimeoutMs (${this.connectTimeoutMs} ms)`,
            op: 'connect',
          }),
        ),
      Math.max(0, deadline - Date.now()),
    );
    const authSignal = signal === undefined ? timeout.signal : AbortSignal.any([signal, timeout.signal]);
    try {
      await Promise.all(this.initialAuth.map((entry) => this.authenticate(entry, authSignal)));
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Operations.

  /**
   * addAuth authenticates the session as `credentials` in `scheme` (ZooKeeper's addAuthInfo; the
   * server takes `digest` with `user:password`). It is sent at once if connected (else first thing
   * on the next connection) and every request made after it runs with the identity. It resolves
   * when the server accepted it, rejects with AUTH_FAILED when it refused. Accepted credentials are
   * remembered and sent again on every later connection, before anything else. A connection lost
   * before the answer does not fail it: it is sent again on the next connection and settles there.
   */
  addAuth(scheme: string, credentials: string | Uint8Array, options: CallOptions = {}): Promise<void> {
    let entry: Credentials;
    try {
      entry = toCredentials(scheme, credentials);
    } catch (error) {
      return Promise.reject(error);
    }
    let deadline: CallDeadline;
    try {
      deadline = deadlineOf(options, 'addAuth', undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    const authenticating = this.authenticate(entry, deadline.signal);
    authenticating.then(deadline.clear, deadline.clear);
    return authenticating;
  }

  /** create makes a znode and returns its path (with the sequence suffix for sequential modes); `acl` defaults to OPEN_ACL_UNSAFE. */
  async create(path: string, data?: Data, options: CreateOptions = {}): Promise<string> {
    const request = this.createRequest(path, data, options.mode, options.ttlMs, options.acl, 'create');
    const result = await this.call(request, options, path);
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
      options,
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
    const result = await this.call(request, options, path);
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
    await this.call(request, options, path);
  }

  /** exists returns a znode's Stat or null; `watch` fires on its creation if missing, on change or delete if present. */
  async exists(path: string, options: ExistsOptions = {}): Promise<Stat | null> {
    const serverPath = this.chroot.toServer(path, 'exists');
    const watch = this.listenerOf(options.watch);
    const result = await this.call(
      { op: 'exists', path: serverPath, watch: watch !== undefined },
      options,
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
      options,
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

  /**
   * getACL returns a znode's access list and Stat. NO_AUTH unless the session holds READ or ADMIN
   * on it (as ZooKeeper's getACL).
   */
  async getACL(path: string, options: CallOptions = {}): Promise<GetACLResult> {
    const request: Request = { op: 'getACL', path: this.chroot.toServer(path, 'getACL') };
    const result = await this.call(request, options, path);
    if (result?.op !== 'getACL') throw this.unexpected('getACL', path, result?.op);
    return { acl: result.acl, stat: result.stat };
  }

  /**
   * setACL replaces a znode's access list if its aversion matches `version` (-1, the default,
   * matches any) and returns the new Stat (aversion + 1). NO_AUTH without ADMIN on the znode,
   * INVALID_ACL for an empty or malformed list, or `auth` entries while the session holds no
   * authenticated id.
   */
  async setACL(path: string, acl: readonly ACL[], options: VersionOptions = {}): Promise<Stat> {
    const request: Request = {
      op: 'setACL',
      path: this.chroot.toServer(path, 'setACL'),
      acl,
      version: options.version ?? -1,
    };
    const result = await this.call(request, options, path);
    if (result?.op !== 'setACL') throw this.unexpected('setACL', path, result?.op);
    return result.stat;
  }

  /** getEphemerals lists this session's ephemeral znodes under `prefixPath` (default '/'). */
  async getEphemerals(prefixPath = '/', options: CallOptions = {}): Promise<string[]> {
    const request: Request = { op: 'getEphemerals', prefixPath: this.chroot.toServer(prefixPath, 'getEphemerals') };
    const result = await this.call(request, options, prefixPath);
    if (result?.op !== 'getEphemerals') throw this.unexpected('getEphemerals', prefixPath, result?.op);
    return result.paths.map((path) => this.chroot.toClient(path)).sort();
  }

  /** sync brings the connected server up to date with the leader, so the reads that follow are as fresh as the leader was. */
  async sync(path = '/', options: CallOptions = {}): Promise<void> {
    await this.call({ op: 'sync', path: this.chroot.toServer(path, 'sync') }, options, path);
  }

  /**
   * multi commits all the ops or none. On failure it throws the ZabError of the op that failed
   * (its `path`, and `results` with every op's outcome).
   */
  async multi(ops: readonly Op[], options: CallOptions = {}): Promise<OpResult[]> {
    const requests = ops.map((op) => this.multiOp(op));
    const result = await this.call({ op: 'multi', ops: requests }, options, undefined, (reply) => {
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
      if (this.watches.remove(kind, serverPath, listener) && this.session.isUsable()) {
        const watcherType = kind === 'persistent' ? WatcherType.PERSISTENT : WatcherType.PERSISTENT_RECURSIVE;
        this.callOnce({ op: 'removeWatches', path: serverPath, watcherType }, undefined, path).catch((error: unknown) =>
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
    if (!this.session.isUsable()) {
      queue.fail(this.session.deadError('addWatch', path));
      removed = true;
      return stream;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.streams.add(queue);
    this.watches.add(kind, serverPath, listener);
    const mode = kind === 'persistent' ? AddWatchMode.PERSISTENT : AddWatchMode.PERSISTENT_RECURSIVE;
    stream.ready = this.callOnce({ op: 'addWatch', path: serverPath, mode }, undefined, path).then(
      () => undefined,
      async (error: unknown) => {
        // A lost connection is harmless: the watch is in the registry, so the reconnect's
        // setWatches registers it before any later request.
        if (ZabError.isInstance(error, 'CONNECTION_LOSS') && this.session.isUsable()) {
          await this.session.reconnected();
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

  // -------------------------------------------------------------------------------------------
  // Membership (ensemble.ts).

  /**
   * getConfig reads the ensemble's configuration: its version (the reconfig's zxid; 0 for the one it
   * started with) and members, with the addresses each carries (ZooKeeper's getConfig reads the
   * same from `/zookeeper/config`, without zabkit's native ports). Outside any chroot.
   */
  async getConfig(options: CallOptions = {}): Promise<EnsembleConfig> {
    return this.readMembers(undefined, options);
  }

  /**
   * reconfig changes the membership to `members`, the whole new list (ZooKeeper's non-incremental
   * reconfig), if `fromVersion` is the version in force (default -1: whatever it is); resolves with
   * the new version once the change committed. The super user only (NO_AUTH). Refusals:
   * RECONFIG_IN_PROGRESS (another change is not committed yet), NEW_CONFIG_NO_QUORUM (a quorum of
   * the new voters is not connected and synced with the leader: add a member as an observer first),
   * BAD_VERSION, BAD_ARGUMENTS. Retried after CONNECTION_LOSS (with a retry policy) only from an explicit
   * `fromVersion`; otherwise read getConfig to see whether it happened.
   */
  async reconfig(
    members: readonly EnsembleMember[],
    options: CallOptions & { fromVersion?: Zxid } = {},
  ): Promise<Zxid> {
    const request = {
      op: 'reconfig' as const,
      members: members.map(({ id, role, address, clientAddress, endpoints }) => ({
        id,
        role,
        address,
        clientAddress,
        endpoints,
      })),
      fromVersion: options.fromVersion ?? -1,
    };
    const result = await this.call(request, options, MEMBERS_PATH);
    if (result?.op !== 'reconfig') throw this.unexpected('reconfig', MEMBERS_PATH, result?.op);
    return result.version;
  }

  /**
   * updateServers replaces the members this client connects to (ZooKeeper's updateServerList):
   * `host:port,...` or addresses. A session on a member no longer listed moves to a listed one
   * (it is resumed there, as after any disconnect).
   */
  updateServers(servers: string | readonly ServerAddress[]): void {
    const list = typeof servers === 'string' ? parseConnectString(servers).servers : servers;
    const current = this.session.currentServer;
    if (!this.session.serverList.update(list, current) && current !== undefined) {
      this.logger.info(
        { server: describeServer(current) },
        'the member this session runs on is no longer listed: moving',
      );
      this.session.connection?.close();
    }
  }

  /** readMembers reads `/zookeeper/members` (outside the chroot), with a one-shot data watch calling `changed`. */
  private async readMembers(changed?: () => void, options: CallOptions = {}): Promise<EnsembleConfig> {
    const watch: WatchListener | undefined = changed === undefined ? undefined : () => changed();
    const result = await this.call(
      { op: 'getData', path: MEMBERS_PATH, watch: watch !== undefined },
      options,
      MEMBERS_PATH,
      (reply) => {
        this.check(reply, 'getData', MEMBERS_PATH);
        if (watch !== undefined) this.watches.add('data', MEMBERS_PATH, watch);
        return reply.result;
      },
    );
    if (result?.op !== 'getData') throw this.unexpected('getData', MEMBERS_PATH, result?.op);
    return parseEnsembleConfig(result.data);
  }

  /**
   * close ends the session: the server deletes its ephemerals and the client fails later calls
   * with SESSION_EXPIRED. Calls already made are answered first. If the client is disconnected,
   * it closes locally and the server expires the session after its timeout.
   */
  close(): Promise<void> {
    return this.session.close((signal) =>
      this.callOnce({ op: 'closeSession' }, signal, undefined, undefined, false, true),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Calls.

  /**
   * call makes one call with its options: `timeoutMs` joined into its signal, and tried again after
   * CONNECTION_LOSS if a retry policy applies (the call's, else the client's) and the request is
   * safe to send again (retry.ts `isRetryable`).
   */
  private async call<T = Result | null>(
    request: Request,
    options: CallOptions,
    path: string | undefined,
    onReply?: (reply: ReplyFrame) => T,
    linearizable = false,
  ): Promise<T> {
    const deadline = deadlineOf(options, request.op, path);
    try {
      const policy = options.retry === undefined ? this.retryPolicy : RetryPolicy.of(options.retry);
      const once = () => this.callOnce(request, deadline.signal, path, onReply, linearizable);
      if (policy === undefined || !isRetryable(request)) return await once();
      return await retrying(policy, once, { random: this.random, signal: deadline.signal });
    } finally {
      deadline.clear();
    }
  }

  /**
   * callOnce sends one request (or queues it until connected) and resolves with what `onReply`
   * makes of the reply; a reply with an error rejects with a ZabError naming `path` and the op.
   */
  private callOnce<T = Result | null>(
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
      if (!this.session.isUsable() && !(evenIfClosing && this.session.state === 'CONNECTED')) {
        reject(this.session.deadError(request.op, path));
        return;
      }
      const onAbort = () => {
        call.abandoned = true;
        this.session.calls.withdraw(call);
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
      this.session.submit(call);
    });
  }

  /** authenticate sends one addAuth through the session (see {@link addAuth}). */
  private authenticate(entry: Credentials, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      if (!this.session.isUsable()) {
        reject(this.session.deadError('addAuth'));
        return;
      }
      const onAbort = () => {
        call.abandoned = true;
        this.auth.withdraw(call);
        reject(abortReason(signal!));
      };
      const call: AuthCall = {
        scheme: entry.scheme,
        credentials: entry.credentials,
        replay: false,
        abandoned: false,
        settle: (error) => {
          signal?.removeEventListener('abort', onAbort);
          if (error === null) resolve();
          else
            reject(
              new ZabError(error, {
                message: `the server refused the ${entry.scheme} credentials`,
                op: 'addAuth',
              }),
            );
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.session.submitAuth(call);
    });
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
    acl: readonly ACL[] | undefined,
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
      // Left out, the server's default applies: OPEN_ACL_UNSAFE.
      ...(acl === undefined ? {} : { acl }),
    };
  }

  private multiOp(op: Op): MultiOp {
    switch (op.op) {
      case 'create':
        return this.createRequest(op.path, op.data, op.mode, op.ttlMs, op.acl, 'multi');
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
