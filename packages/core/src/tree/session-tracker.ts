import type { ErrorCode, SessionId } from '../types.js';

/** SessionTrackerOptions configure the leader's session tracker (ZooKeeper's SessionTrackerImpl). */
export interface SessionTrackerOptions {
  /** serverId is this server's id, 1..255: the high bits of the session ids it issues. */
  serverId: number;
  /** epoch is the leader's epoch: bits of the session ids it issues, so a later leader on the same server issues others. */
  epoch: number;
  /** tickMs is the length of one tick(); session timeouts are counted in ticks. */
  tickMs: number;
  /** sessionTimeoutMsMin bounds negotiated timeouts from below; default 2 × tickMs (ZooKeeper's minSessionTimeout). */
  sessionTimeoutMsMin?: number;
  /** sessionTimeoutMsMax bounds negotiated timeouts from above; default 20 × tickMs (ZooKeeper's maxSessionTimeout). */
  sessionTimeoutMsMax?: number;
}

/** SERVER_ID_MAX is the largest server id a session id can carry (8 bits, as ZooKeeper's TTL-enabled ensembles require). */
export const SERVER_ID_MAX = 255;

const TWO_32 = 0x1_0000_0000;
const TWO_45 = 2 ** 45;
const EPOCH_BITS_MASK = 0x1fff;

/**
 * makeSessionId builds a session id: `serverId` (8 bits) · `epoch mod 2^13` (13 bits) · `counter`
 * (32 bits) = 53 bits, so every id is a safe integer below 2^53 and ids from different servers,
 * or from one server leading different epochs, differ. Deterministic: no clock, no randomness.
 */
export function makeSessionId(serverId: number, epoch: number, counter: number): SessionId {
  if (!Number.isInteger(serverId) || serverId < 1 || serverId > SERVER_ID_MAX) {
    throw new RangeError(`server id out of range 1..${SERVER_ID_MAX}: ${serverId}`);
  }
  if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch out of range: ${epoch}`);
  if (!Number.isInteger(counter) || counter < 0 || counter >= TWO_32) {
    throw new RangeError(`session counter out of range: ${counter}`);
  }
  return serverId * TWO_45 + (epoch & EPOCH_BITS_MASK) * TWO_32 + counter;
}

interface TrackedSession {
  timeoutMs: number;
  timeoutTicks: number;
  expiryTick: number;
  closing: boolean;
}

/**
 * SessionTracker is the leader's view of session liveness (ZooKeeper's SessionTrackerImpl with its
 * ExpiryQueue): sessions sit in buckets by the tick at which they expire; touch() moves a session
 * to a later bucket; tick() advances time by one tick and returns the sessions whose bucket came
 * due, marked closing. The leader then proposes a closeSession for each (RequestPipeline
 * .prepareCloseSession) and calls removeSession once it is applied.
 *
 * A session expires after `ceil(timeoutMs / tickMs)` ticks without a touch. A new leader seeds its
 * tracker from the tree's sessions (addSession), each with a full timeout, as ZooKeeper does.
 */
export class SessionTracker {
  readonly serverId: number;
  readonly epoch: number;
  readonly tickMs: number;
  readonly sessionTimeoutMsMin: number;
  readonly sessionTimeoutMsMax: number;
  private now = 0;
  private nextCounter = 0;
  private readonly sessions = new Map<SessionId, TrackedSession>();
  private readonly buckets = new Map<number, Set<SessionId>>();

  constructor(options: SessionTrackerOptions) {
    if (!(Number.isInteger(options.tickMs) && options.tickMs > 0)) {
      throw new RangeError(`tickMs must be a positive integer: ${options.tickMs}`);
    }
    makeSessionId(options.serverId, options.epoch, 0); // validates serverId and epoch
    this.serverId = options.serverId;
    this.epoch = options.epoch;
    this.tickMs = options.tickMs;
    this.sessionTimeoutMsMin = options.sessionTimeoutMsMin ?? 2 * options.tickMs;
    this.sessionTimeoutMsMax = options.sessionTimeoutMsMax ?? 20 * options.tickMs;
    if (!(this.sessionTimeoutMsMin > 0 && this.sessionTimeoutMsMin <= this.sessionTimeoutMsMax)) {
      throw new RangeError(
        `session timeout bounds invalid: min ${this.sessionTimeoutMsMin} ms, max ${this.sessionTimeoutMsMax} ms`,
      );
    }
  }

  /** currentTick counts the tick() calls so far. */
  get currentTick(): number {
    return this.now;
  }

  /** size is the number of tracked sessions, closing ones included. */
  get size(): number {
    return this.sessions.size;
  }

  /** negotiateTimeout clamps a requested timeout into [sessionTimeoutMsMin, sessionTimeoutMsMax]; a non-number gets the minimum. */
  negotiateTimeout(requestedMs: number): number {
    if (typeof requestedMs !== 'number' || Number.isNaN(requestedMs)) return this.sessionTimeoutMsMin;
    return Math.min(this.sessionTimeoutMsMax, Math.max(this.sessionTimeoutMsMin, Math.floor(requestedMs)));
  }

  /**
   * createSession issues a new session id with a negotiated timeout and tracks it as live from
   * now. The caller proposes the CreateSessionTxn (RequestPipeline.prepareCreateSession does both).
   */
  createSession(requestedTimeoutMs: number): { sessionId: SessionId; timeoutMs: number } {
    const timeoutMs = this.negotiateTimeout(requestedTimeoutMs);
    let sessionId: SessionId;
    do {
      if (this.nextCounter >= TWO_32) throw new RangeError('session counter exhausted for this epoch');
      sessionId = makeSessionId(this.serverId, this.epoch, this.nextCounter++);
    } while (this.sessions.has(sessionId));
    this.addSession(sessionId, timeoutMs);
    return { sessionId, timeoutMs };
  }

  /** addSession tracks an existing session (from the tree, when this server becomes leader) with a full timeout. */
  addSession(sessionId: SessionId, timeoutMs: number): void {
    if (!(timeoutMs > 0)) throw new RangeError(`session timeout must be positive: ${timeoutMs}`);
    const existing = this.sessions.get(sessionId);
    if (existing !== undefined) this.unbucket(sessionId, existing);
    const session: TrackedSession = {
      timeoutMs,
      timeoutTicks: Math.max(1, Math.ceil(timeoutMs / this.tickMs)),
      expiryTick: 0,
      closing: false,
    };
    this.sessions.set(sessionId, session);
    this.schedule(sessionId, session);
  }

  /** touch renews a live session's lease on every request and ping; false when it is unknown or closing. */
  touch(sessionId: SessionId): boolean {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.closing) return false;
    const expiryTick = this.now + session.timeoutTicks;
    if (expiryTick === session.expiryTick) return true;
    this.unbucket(sessionId, session);
    this.schedule(sessionId, session);
    return true;
  }

  /** checkSession is null for a live session, UNKNOWN_SESSION for one never seen or removed, SESSION_EXPIRED for a closing one (ZooKeeper's checkSession). */
  checkSession(sessionId: SessionId): ErrorCode | null {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return 'UNKNOWN_SESSION';
    return session.closing ? 'SESSION_EXPIRED' : null;
  }

  /** isLive tells whether a session is tracked and not closing. */
  isLive(sessionId: SessionId): boolean {
    return this.checkSession(sessionId) === null;
  }

  /** timeoutMsOf is a tracked session's negotiated timeout. */
  timeoutMsOf(sessionId: SessionId): number | undefined {
    return this.sessions.get(sessionId)?.timeoutMs;
  }

  /**
   * setClosing marks a session closing (its closeSession is being proposed: further requests get
   * SESSION_EXPIRED and it no longer expires) or, with `closing = false`, live again with a full
   * timeout (the proposal was abandoned).
   */
  setClosing(sessionId: SessionId, closing = true): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.closing === closing) return;
    session.closing = closing;
    if (closing) this.unbucket(sessionId, session);
    else this.schedule(sessionId, session);
  }

  /** removeSession forgets a session (its closeSession was applied). */
  removeSession(sessionId: SessionId): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    this.unbucket(sessionId, session);
    this.sessions.delete(sessionId);
  }

  /** tick advances one tick and returns the sessions that expired on it, in id order, now marked closing. */
  tick(): SessionId[] {
    this.now++;
    const due = this.buckets.get(this.now);
    if (due === undefined) return [];
    this.buckets.delete(this.now);
    const expired = [...due].sort((a, b) => a - b);
    for (const sessionId of expired) this.sessions.get(sessionId)!.closing = true;
    return expired;
  }

  private schedule(sessionId: SessionId, session: TrackedSession): void {
    session.expiryTick = this.now + session.timeoutTicks;
    let bucket = this.buckets.get(session.expiryTick);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(session.expiryTick, bucket);
    }
    bucket.add(sessionId);
  }

  private unbucket(sessionId: SessionId, session: TrackedSession): void {
    const bucket = this.buckets.get(session.expiryTick);
    if (bucket === undefined) return;
    bucket.delete(sessionId);
    if (bucket.size === 0) this.buckets.delete(session.expiryTick);
  }
}
