import type { ErrorCode, SessionId } from '../types.js';

interface TrackedSession {
  timeoutMs: number;
  closing: boolean;
}

/**
 * SessionTracker is the set of live sessions the leader's RequestPipeline checks write requests
 * against (ZooKeeper's SessionTracker.checkSession), mirroring the sessions of the tree: a session
 * is added when its createSession is prepared or applied, marked closing while its closeSession is
 * proposed (further requests get SESSION_EXPIRED), and removed once that is applied.
 *
 * It holds no clock and issues no ids: the session model — ids (the zxid of the createSession
 * transaction), timeout negotiation and expiry — is ZabPeer's, in `zab/sessions.ts`.
 */
export class SessionTracker {
  private readonly sessions = new Map<SessionId, TrackedSession>();

  /** size is the number of tracked sessions, closing ones included. */
  get size(): number {
    return this.sessions.size;
  }

  /** addSession tracks a session (created, or in the tree when the pipeline starts) as live. */
  addSession(sessionId: SessionId, timeoutMs: number): void {
    if (!(timeoutMs > 0)) throw new RangeError(`session timeout must be positive: ${timeoutMs}`);
    this.sessions.set(sessionId, { timeoutMs, closing: false });
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
   * SESSION_EXPIRED) or, with `closing = false`, live again (the proposal was abandoned).
   */
  setClosing(sessionId: SessionId, closing = true): void {
    const session = this.sessions.get(sessionId);
    if (session !== undefined) session.closing = closing;
  }

  /** removeSession forgets a session (its closeSession was applied). */
  removeSession(sessionId: SessionId): void {
    this.sessions.delete(sessionId);
  }
}
