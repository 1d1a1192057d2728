import type { ACL, CreateMode, ErrorCode, Stat, Zxid } from '@zabkit/core';
import type { TlsClientOptions } from '@zabkit/transport-tcp';
import type { RetryOption } from './retry.js';
import type { ServerOrder } from './server-list.js';
import type { WatchedEvent } from './watch-registry.js';

/** ClientLogger is the part of a pino logger the client uses: `(fields, message)`. */
export interface ClientLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** ConnectOptions configure {@link connect}. */
export interface ConnectOptions {
  /** sessionTimeoutMs is the session timeout to ask for; the server negotiates it (default 30 000). */
  sessionTimeoutMs?: number;
  /** connectTimeoutMs bounds `connect()` as a whole: every server is tried, with backoff, until then (default 15 000). */
  connectTimeoutMs?: number;
  /** signal aborts `connect()` (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  logger?: ClientLogger;
  /** frameBytesMax is the largest frame sent or accepted (default: the codec's, 1 MiB of data plus headers). */
  frameBytesMax?: number;
  /** pendingRequestsMax bounds the calls waiting for a reconnect; past it, calls fail with CONNECTION_LOSS (default 10 000). */
  pendingRequestsMax?: number;
  /**
   * serverOrder is the order the members are tried in: `random` (the default) shuffles the connect
   * string once per client, so clients spread over the members; `inOrder` keeps it as written. The
   * first member of the order is the client's home (see `rebalanceDelayMs`).
   */
  serverOrder?: ServerOrder;
  /**
   * rebalanceDelayMs is how long a client connected elsewhere than its home member waits before it
   * tries to move back there (between half of it and all of it, at random; doubled after each try
   * the home member refuses, up to 8 times). The move waits for the replies already due, so no call
   * fails; it emits `reconnected`. 0 turns moving back off. Default 5 000.
   */
  rebalanceDelayMs?: number;
  /**
   * followEnsemble: keep the server list on the members in force (Curator's EnsembleTracker): on
   * every (re)connect and on every membership change the client reads `/zookeeper/members` and,
   * once the ensemble's membership was changed (`reconfig`, `zabkit members`), connects to the
   * members' client ports instead of the connect string's (a session on a removed member moves).
   * Default false: the connect string is used as given.
   */
  followEnsemble?: boolean;
  /** random drives the server order, backoff and rebalance jitter (default Math.random); tests pass a seeded one. */
  random?: () => number;
  /**
   * tls connects with TLS, to the members' TLS client ports (list their secureClientPort in the
   * connect string): `ca` (PEM) verifies the members' certificates, `cert` and `key` are this
   * client's certificate for a port that asks for one (its x509 identity), `servername` the name
   * the certificates must carry (default: the host of each member, if it is a name). A certificate
   * the CA did not sign, or a plain port, fails the connect with a TLS error that says which.
   */
  tls?: TlsClientOptions;
  /**
   * auth authenticates the session (ZooKeeper's addAuthInfo before any call): each entry is sent as
   * an addAuth right after the connection is established, and again on every later connection
   * (before the watches are re-registered and before any waiting call). `connect()` resolves once
   * the server accepted them all, and rejects with AUTH_FAILED (closing the session) if it refused
   * one. The server takes scheme `digest` with credentials `user:password`.
   */
  auth?: readonly AuthInfo[];
  /**
   * retry is the retry policy of every call that does not set its own (default false: a call that
   * loses its connection fails with CONNECTION_LOSS). `true` takes the defaults; see RetryOptions
   * and the README ("Timeouts and retries") for what is retried: reads and versioned writes only.
   */
  retry?: RetryOption;
}

/** AuthInfo is one identity to authenticate a session with: `{ scheme: 'digest', credentials: 'user:password' }`. */
export interface AuthInfo {
  scheme: string;
  /** credentials as the scheme takes them; a string is sent as UTF-8. */
  credentials: string | Uint8Array;
}

/** SignalOptions: an AbortSignal. */
export interface SignalOptions {
  /**
   * signal abandons the call: it rejects with the signal's reason at once. A request that was
   * already sent may still take effect on the server (as a lost reply would); its reply is ignored.
   */
  signal?: AbortSignal;
}

/** WaitOptions bound a wait: a signal, and a timeout. */
export interface WaitOptions extends SignalOptions {
  /**
   * timeoutMs gives up after this many ms (any number ≥ 0, fractions included; Infinity: never),
   * rejecting with a ZabError OPERATION_TIMEOUT. As with the signal, a request already sent may
   * still take effect; its reply is ignored. It bounds the whole call, retries and their waits included.
   */
  timeoutMs?: number;
}

/** CallOptions: every call accepts an AbortSignal, a timeout, and a retry policy of its own. */
export interface CallOptions extends WaitOptions {
  /**
   * retry overrides the client's retry policy (ConnectOptions.retry) for this call: false for none,
   * true for the defaults, or RetryOptions. Only reads and versioned writes are ever retried.
   */
  retry?: RetryOption;
}

/** CreateModeName names a CreateMode (ZooKeeper's CreateMode enum). */
export type CreateModeName = keyof typeof CreateMode;

/** Data is what a znode holds: bytes, or a string written as UTF-8. */
export type Data = Uint8Array | string;

/**
 * CreateOptions: `mode` (default PERSISTENT), `ttlMs` for the *_WITH_TTL modes, and `acl`, the new
 * znode's access list (default OPEN_ACL_UNSAFE, as ZooKeeper's; CREATOR_ALL_ACL grants everything to
 * the ids the session authenticated as, and fails with INVALID_ACL if it authenticated as none).
 */
export interface CreateOptions extends CallOptions {
  mode?: CreateModeName;
  ttlMs?: number;
  acl?: readonly ACL[];
}

/** VersionOptions: `version` is the expected version (the aversion for setACL), -1 (the default) for any. */
export interface VersionOptions extends CallOptions {
  version?: number;
}

/**
 * WatchOption sets a one-shot watch: `true` delivers the event through the client's `watch` event,
 * a function receives it itself. The watch fires at most once, and survives reconnects.
 */
export type WatchOption = boolean | ((event: WatchedEvent) => void);

/** GetOptions: a one-shot data watch, and `linearizable` to have the server confirm its leadership with a quorum first. */
export interface GetOptions extends CallOptions {
  watch?: WatchOption;
  linearizable?: boolean;
}

/** ExistsOptions: a one-shot watch that fires on create if the znode is missing, on change or delete if it exists. */
export interface ExistsOptions extends CallOptions {
  watch?: WatchOption;
}

/** ChildrenOptions: a one-shot child watch; `stat: true` also returns the parent's Stat. */
export interface ChildrenOptions extends CallOptions {
  watch?: WatchOption;
  stat?: boolean;
}

/**
 * WatchOptions configure a persistent watch stream. It takes a signal (which ends the stream) but
 * no timeout or retry: the stream lives until it is closed, and survives reconnects by itself.
 */
export interface WatchOptions extends SignalOptions {
  /** recursive covers the whole subtree (created, deleted and data-changed events; never children-changed). */
  recursive?: boolean;
  /** eventsMax bounds the events buffered for a slow consumer; past it the stream throws (default 10 000). */
  eventsMax?: number;
}

/** GetResult is a znode's data and Stat. */
export interface GetResult {
  data: Uint8Array;
  stat: Stat;
}

/** GetACLResult is a znode's access list (`auth` entries expanded to the creator's ids) and Stat (`aversion` counts setACLs). */
export interface GetACLResult {
  acl: ACL[];
  stat: Stat;
}

/** Op is one operation of a multi: create, set, delete, or a version check. */
export type Op =
  | { op: 'create'; path: string; data?: Data; mode?: CreateModeName; ttlMs?: number; acl?: readonly ACL[] }
  | { op: 'set'; path: string; data: Data; version?: number }
  | { op: 'delete'; path: string; version?: number }
  | { op: 'check'; path: string; version: number };

/** OpResult answers one Op of a successful multi. */
export type OpResult =
  | { op: 'create'; path: string; stat: Stat }
  | { op: 'set'; stat: Stat }
  | { op: 'delete' }
  | { op: 'check' };

/** ConnectionState is where a client is in its session's life. */
export type ConnectionState = 'CONNECTING' | 'CONNECTED' | 'DISCONNECTED' | 'EXPIRED' | 'CLOSED';

/** ClientEvents: the client's events and their arguments. */
export interface ClientEvents {
  /** connected: the session was established (once, before `connect()` resolves). */
  connected: [{ server: string; sessionId: number }];
  /**
   * disconnected: the connection was lost; calls wait for a reconnect, calls in flight failed with
   * CONNECTION_LOSS. Also emitted, with a `reason` starting `stale connection:`, when the client
   * notices it was paused (nothing heard for longer than two thirds of the session timeout) before
   * it reported itself connected or delivered a frame: that connection is dropped and the session
   * resumed.
   */
  disconnected: [{ server: string; reason: string }];
  /**
   * reconnected: the session continues on `server`; watches were re-registered. Also emitted
   * (without `disconnected` before it) when the client moves back to its home member.
   */
  reconnected: [{ server: string }];
  /**
   * expired: the session is gone (the server said so, or no server answered within the session
   * timeout, also noticed on waking from a pause).
   */
  expired: [{ reason: string }];
  /** closed: `close()` finished. */
  closed: [];
  /** watch: a one-shot watch set with `watch: true` fired. */
  watch: [WatchedEvent];
  /**
   * authFailed: `server` refused remembered credentials when a new connection replayed them
   * (`code` AUTH_FAILED); they are not sent again, and calls run without that identity.
   */
  authFailed: [{ scheme: string; server: string; code: ErrorCode }];
}

export type { ACL, ServerOrder, Stat, WatchedEvent, Zxid };
