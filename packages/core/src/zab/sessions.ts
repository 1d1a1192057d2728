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
 * - Expiry: a session expires `ceil(timeoutMs / tickMs)` ticks after its last touch. The leader
 *   checks every expiryCheckTicks and proposes a closeSession for each expired session (and a
 *   delete for each expired container or TTL znode); applying it removes the session and its
 *   ephemerals everywhere, and its clients get `sessionClosed`.
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
 * SessionExpiry is an established leader's clock of session deadlines (see the model above). It
 * also remembers the closeSession and delete proposals it issued, so it proposes each once.
 */
export class SessionExpiry {
  /** deadlines: session id → tick at which it expires unless touched. */
  private readonly deadlines = new Map<SessionId, number>();
  private readonly timeouts = new Map<SessionId, number>();
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
    this.timeouts.set(sessionId, ticks);
    this.deadlines.set(sessionId, nowTick + ticks);
  }

  isTracked(sessionId: SessionId): boolean {
    return this.deadlines.has(sessionId);
  }

  /** touch renews a tracked session's deadline. */
  touch(sessionId: SessionId, nowTick: number): void {
    const ticks = this.timeouts.get(sessionId);
    if (ticks !== undefined) this.deadlines.set(sessionId, nowTick + ticks);
  }

  /** closed forgets a session whose closeSession was applied. */
  closed(sessionId: SessionId): void {
    this.deadlines.delete(sessionId);
    this.timeouts.delete(sessionId);
    this.expiring.delete(sessionId);
  }

  /**
   * check, every checkEveryTicks, proposes a closeSession for each session past its deadline and a
   * delete for each container or TTL znode the machine says has expired, through `propose` (which
   * returns the zxid of the proposal), once each until that proposal is applied.
   */
  check(
    nowTick: number,
    nowMs: number,
    machine: ReplicatedMachine,
    propose: (sessionId: SessionId, request: Request) => Zxid,
  ): void {
    if (nowTick - this.lastCheckTick < this.checkEveryTicks) return;
    this.lastCheckTick = nowTick;
    const applied = machine.lastAppliedZxid;
    for (const [sessionId, deadline] of this.deadlines) {
      if (deadline > nowTick) continue;
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
