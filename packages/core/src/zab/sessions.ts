import type { Random } from '../prng.js';
import type { Request, SessionId } from '../types.js';
import type { Zxid } from '../zxid.js';
import { NO_ZXID } from './invariant.js';
import type { ReplicatedMachine } from './machine.js';

/*
 * Sessions in zabkit — the one model, used by the server, the simulator and the tests alike.
 *
 * - Creation: a client asks any member (ZabPeer.submitCreateSession); the request goes to the
 *   leader, which negotiates the timeout ({@link negotiateSessionTimeoutMs}: clamped into the
 *   machine's sessionTimeoutMsMin..Max, by default 2 and 20 ticks; the machine's
 *   negotiateTimeoutMs) and proposes a createSession transaction. The session id
 *   IS the zxid of that transaction: unique across leaders and epochs with no other rule, and
 *   known to every replica that applies it. The member the client asked answers once it applied it.
 * - Password: the member the client asked draws SESSION_PASSWORD_BYTES random bytes (node:crypto
 *   in the server; the seeded generator in the simulator) and sends them with the request; the
 *   leader copies them into the createSession transaction, so every replica holds the password in
 *   its tree, its log and its snapshots. A resume is accepted only with that password
 *   ({@link samePassword}, constant time), on any member. The id is not a secret (every reader
 *   sees it as ephemeralOwner, as in ZooKeeper); the password is. A session written before
 *   passwords were replicated has an empty one and cannot be resumed: its client starts a new
 *   session and the old one expires.
 * - Liveness: every request and ping of a session touches it (ZabPeer.touchSession). A learner
 *   collects the sessions touched since its last ping and sends them in its next PING; the leader
 *   alone keeps the deadlines ({@link SessionExpiry}).
 * - Expiry: a session expires at a tick at least `timeoutMs` after its last touch, never before:
 *   at tick N + ticks + 1 for a touch in tick N ({@link expiryDeadlineTick}, rounded up as
 *   ZooKeeper's ExpiryQueue rounds a deadline up to the next interval), and only once the host's
 *   clock (`tick(nowMs)`) says timeoutMs have passed since the tick after the touch (see
 *   {@link SessionExpiry} for why both). The leader checks every
 *   expiryCheckTicks and proposes a closeSession for each expired session (and a delete for each
 *   expired container or TTL znode); applying it removes the session and its ephemerals
 *   everywhere, and its clients get `sessionClosed`. A client can therefore count on its session
 *   living `timeoutMs` from the moment it sent its last frame (a touch on a follower reaches the
 *   leader with the follower's next PING, only later).
 * - Leader change: a new leader tracks every session of the tree with a full timeout from the
 *   moment it is established (ZooKeeper's SessionTracker does the same), so a session outlives a
 *   leader change as long as its client reconnects within its timeout.
 */

/** SESSION_PASSWORD_BYTES is the length of a session password (ZooKeeper's 16). */
export const SESSION_PASSWORD_BYTES = 16;

/**
 * samePassword tells whether `given` is the session's password. It reads every byte of both
 * whatever they hold (no early exit), so the time it takes does not say how much of a guess was
 * right; an empty stored password (a session from before passwords) matches nothing.
 */
export function samePassword(stored: Uint8Array, given: Uint8Array): boolean {
  if (stored.length === 0) return false;
  let diff = stored.length ^ given.length;
  for (let i = 0; i < stored.length; i++) diff |= (stored[i] as number) ^ (given[i % (given.length || 1)] ?? 0);
  return diff === 0;
}

/**
 * seededPassword draws a session password from a seeded generator, for the simulator and tests
 * (replayable); a server draws its passwords from node:crypto instead.
 */
export function seededPassword(random: Random): Uint8Array {
  const password = new Uint8Array(SESSION_PASSWORD_BYTES);
  for (let i = 0; i < password.length; i++) password[i] = Math.floor(random.next() * 256);
  return password;
}

/** SessionTimeoutBounds are the least and most a session's timeout may be, in ms. */
export interface SessionTimeoutBounds {
  sessionTimeoutMsMin: number;
  sessionTimeoutMsMax: number;
}

/**
 * sessionTimeoutBounds checks the configured bounds, defaulting to 2 × tickMs and 20 × tickMs
 * (ZooKeeper's minSessionTimeout and maxSessionTimeout); a bad tick or bound is a RangeError.
 */
export function sessionTimeoutBounds(tickMs: number, minMs?: number, maxMs?: number): SessionTimeoutBounds {
  if (!(Number.isInteger(tickMs) && tickMs > 0)) throw new RangeError(`tickMs must be a positive integer: ${tickMs}`);
  const sessionTimeoutMsMin = minMs ?? 2 * tickMs;
  const sessionTimeoutMsMax = maxMs ?? 20 * tickMs;
  if (!(sessionTimeoutMsMin > 0 && sessionTimeoutMsMin <= sessionTimeoutMsMax)) {
    throw new RangeError(
      `session timeout bounds invalid: min ${sessionTimeoutMsMin} ms, max ${sessionTimeoutMsMax} ms`,
    );
  }
  return { sessionTimeoutMsMin, sessionTimeoutMsMax };
}

/**
 * negotiateSessionTimeoutMs is the timeout a session gets for the one it asked: clamped into
 * the bounds (ZooKeeper's minSessionTimeout and maxSessionTimeout); a non-number gets the minimum.
 */
export function negotiateSessionTimeoutMs(requestedMs: number, bounds: SessionTimeoutBounds): number {
  if (typeof requestedMs !== 'number' || Number.isNaN(requestedMs)) return bounds.sessionTimeoutMsMin;
  return Math.min(bounds.sessionTimeoutMsMax, Math.max(bounds.sessionTimeoutMsMin, Math.floor(requestedMs)));
}

/** sessionTimeoutTicks: how many ticks without a touch a session of `timeoutMs` lives (at least one). */
export function sessionTimeoutTicks(timeoutMs: number, tickMs: number): number {
  return Math.max(1, Math.ceil(timeoutMs / tickMs));
}

/**
 * expiryDeadlineTick is the first tick at which a session of `ticks` ticks touched in tick
 * `touchTick` may expire. The touch happened at some moment inside tick `touchTick` (possibly just
 * before tick `touchTick + 1`), so counting from `touchTick` would expire it up to a tick early;
 * the deadline rounds up instead, as ZooKeeper's ExpiryQueue rounds up to the next interval.
 */
export function expiryDeadlineTick(touchTick: number, ticks: number): number {
  return touchTick + ticks + 1;
}

/** Deadline is one tracked session's: its timeout, and when it was last touched, in ticks and in ms. */
interface Deadline {
  timeoutMs: number;
  /** tick: {@link expiryDeadlineTick} of the last touch. */
  tick: number;
  /**
   * touchedBeforeMs: the host's clock (`tick(nowMs)`) at the first tick after the last touch, so no
   * earlier than the touch; undefined until that tick.
   */
  touchedBeforeMs: number | undefined;
}

/**
 * SessionExpiry is an established leader's clock of session deadlines (see the model above). It
 * also remembers the closeSession and delete proposals it issued, so it proposes each once.
 *
 * A session expires once both its tick deadline ({@link expiryDeadlineTick}) and its timeout in
 * the host's ms have passed since its last touch. Ticks alone are not enough: a host's timer may
 * fire a fraction of a ms early each tick, and a host that was stopped runs the ticks it missed
 * at once when it wakes (the server does, so that a deposed leader notices quickly), so ticks
 * that pass in a burst after a touch would expire a session whose client had just been heard.
 * The ms alone follow the host's wall clock, which may step; with both, a step forward cannot
 * expire a session before its ticks, and a step back delays an expiry by the step at most.
 */
export class SessionExpiry {
  private readonly deadlines = new Map<SessionId, Deadline>();
  /** touched: sessions touched since the last tick, whose touchedBeforeMs the next tick sets. */
  private readonly touched = new Set<SessionId>();
  /** expiring: sessions and paths whose removal is proposed, with the zxid of that proposal. */
  private readonly expiring = new Map<SessionId, Zxid>();
  private readonly expiringPaths = new Map<string, Zxid>();
  private lastCheckTick: number;

  constructor(
    private readonly tickMs: number,
    private readonly checkEveryTicks: number,
    nowTick: number,
  ) {
    this.lastCheckTick = nowTick;
  }

  /** track starts (or restarts) a session's full timeout from `nowTick`. */
  track(sessionId: SessionId, timeoutMs: number, nowTick: number): void {
    const ticks = sessionTimeoutTicks(timeoutMs, this.tickMs);
    this.deadlines.set(sessionId, {
      timeoutMs,
      tick: expiryDeadlineTick(nowTick, ticks),
      touchedBeforeMs: undefined,
    });
    this.touched.add(sessionId);
  }

  isTracked(sessionId: SessionId): boolean {
    return this.deadlines.has(sessionId);
  }

  /** touch renews a tracked session's deadline. */
  touch(sessionId: SessionId, nowTick: number): void {
    const deadline = this.deadlines.get(sessionId);
    if (deadline === undefined) return;
    deadline.tick = expiryDeadlineTick(nowTick, sessionTimeoutTicks(deadline.timeoutMs, this.tickMs));
    deadline.touchedBeforeMs = undefined;
    this.touched.add(sessionId);
  }

  /** closed forgets a session whose closeSession was applied. */
  closed(sessionId: SessionId): void {
    this.deadlines.delete(sessionId);
    this.touched.delete(sessionId);
    this.expiring.delete(sessionId);
  }

  /** isExpired: both the tick deadline and the timeout in ms have passed since the session's last touch. */
  private isExpired(deadline: Deadline, nowTick: number, nowMs: number): boolean {
    return (
      deadline.tick <= nowTick &&
      deadline.touchedBeforeMs !== undefined &&
      nowMs - deadline.touchedBeforeMs >= deadline.timeoutMs
    );
  }

  /**
   * check runs at every tick of the leader: it dates the touches since the last tick with `nowMs`,
   * and, every checkEveryTicks, proposes a closeSession for each session past its deadline and a
   * delete for each container or TTL znode the machine says has expired, through `propose` (which
   * returns the zxid of the proposal), once each until that proposal is applied.
   */
  check(
    nowTick: number,
    nowMs: number,
    machine: ReplicatedMachine,
    propose: (sessionId: SessionId, request: Request) => Zxid,
  ): void {
    // Called every tick (the leader's tick), so this is the first tick after each of these touches.
    for (const sessionId of this.touched) {
      const deadline = this.deadlines.get(sessionId);
      if (deadline !== undefined) deadline.touchedBeforeMs = nowMs;
    }
    this.touched.clear();
    if (nowTick - this.lastCheckTick < this.checkEveryTicks) return;
    this.lastCheckTick = nowTick;
    const applied = machine.lastAppliedZxid;
    for (const [sessionId, deadline] of this.deadlines) {
      if (!this.isExpired(deadline, nowTick, nowMs)) continue;
      if ((this.expiring.get(sessionId) ?? NO_ZXID) > applied) continue;
      if (!machine.hasSession(sessionId)) {
        if (!this.expiring.has(sessionId) || (this.expiring.get(sessionId) as Zxid) <= applied) {
          this.deadlines.delete(sessionId);
          this.expiring.delete(sessionId);
        }
        continue;
      }
      this.expiring.set(sessionId, propose(sessionId, { op: 'closeSession' }));
    }
    for (const [path, zxid] of this.expiringPaths) if (zxid <= applied) this.expiringPaths.delete(path);
    for (const path of machine.expiredNodes(nowMs)) {
      if (this.expiringPaths.has(path)) continue;
      this.expiringPaths.set(path, propose(0, { op: 'delete', path, version: -1 }));
    }
  }
}
