import type { ClientConnection } from '@zabkit/transport-tcp';

/**
 * sessionClock is the clock of session time: monotonic (a step of the wall clock neither expires
 * nor revives a session) and running while the process is stopped (SIGSTOP, a long GC), so a
 * pause shows as time passed. @internal tests replace `now` to simulate a pause.
 */
export const sessionClock = { now: (): number => performance.now() };

/**
 * Heartbeats is how a session and its server know the other is alive, in ZooKeeper's terms of
 * the negotiated session timeout:
 * - the client sends a Ping whenever it sent nothing for a third of the timeout, so an idle
 *   session stays alive on the server;
 * - a connection on which nothing (not even a Pong) arrived for two thirds of the timeout is
 *   dropped (ZooKeeper's readTimeout): the server is gone or cut off, and there is still a third of
 *   the timeout left to resume the session elsewhere. The same rule is checked against the clock
 *   ({@link isStale}) before the client reports itself connected or delivers a frame, because a
 *   process that was paused wakes with its timers and its sockets' data queued in any order;
 * - the server expires a session no sooner than its timeout after it last heard from the client,
 *   which is no sooner than the client sent the frame of the last answer it heard (a reply or a
 *   Pong) or the connect request of the connection it runs on: {@link msLeft} counts from that
 *   moment, so it is a lower bound of the session's life, and once it reaches 0 without a server
 *   heard, the client declares the session expired.
 * Failure detection is these protocol pings, never TCP keepalive.
 */
export class Heartbeats {
  private lastSentMs = 0;
  private lastHeardMs = 0;
  /** confirmedMs: when the client sent the last frame a server answered (the server touched the session after it). */
  private confirmedMs = 0;
  /** pingsSentMs: the send times of the pings not yet answered, oldest first (a server answers them in order). */
  private pingsSentMs: number[] = [];
  private readTimeoutMsValue = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * begin starts counting on a newly adopted connection: heard from and sent to now, the session
   * confirmed alive since `requestSentMs` (when its connect request went out), the read timeout armed.
   */
  begin(connection: ClientConnection, timeoutMs: number, requestSentMs: number): void {
    const now = sessionClock.now();
    this.lastHeardMs = now;
    this.lastSentMs = now;
    this.confirmedMs = Math.min(requestSentMs, now);
    this.pingsSentMs = [];
    this.readTimeoutMsValue = readTimeoutMs(timeoutMs);
    connection.setIdleTimeout(this.readTimeoutMsValue);
  }

  /** sent records that a frame went out (a ping is due only a third of the timeout after the last one). */
  sent(): void {
    this.lastSentMs = sessionClock.now();
  }

  /** heard records that a frame arrived from the server. */
  heard(): void {
    this.lastHeardMs = sessionClock.now();
  }

  /** answered records the answer to a frame sent at `sentMs` (see {@link msLeft}). */
  answered(sentMs: number): void {
    if (sentMs > this.confirmedMs) this.confirmedMs = sentMs;
  }

  /** pong records the answer to the oldest ping in flight. */
  pong(): void {
    const sentMs = this.pingsSentMs.shift();
    if (sentMs !== undefined) this.answered(sentMs);
  }

  /** silentMs is how long nothing was heard from the server. */
  silentMs(): number {
    return sessionClock.now() - this.lastHeardMs;
  }

  /** isStale: the connection was silent for longer than the read timeout (two thirds of the session timeout). */
  isStale(): boolean {
    return this.silentMs() > this.readTimeoutMsValue;
  }

  /** readTimeoutMs is the current connection's read timeout. */
  get readTimeoutMs(): number {
    return this.readTimeoutMsValue;
  }

  /**
   * msLeft is how long the session surely lives, counted from the moment the client sent the last
   * frame a server answered (see the class comment); 0 or less: the cluster may have expired it.
   */
  msLeft(timeoutMs: number): number {
    return this.confirmedMs + timeoutMs - sessionClock.now();
  }

  /**
   * schedule sends a Ping whenever nothing was sent for a third of `timeoutMs`, on the connection
   * `connectionOf` returns (undefined once the session is not connected on it: the pings stop).
   */
  schedule(timeoutMs: number, connectionOf: () => ClientConnection | undefined): void {
    this.stop();
    const intervalMs = Math.max(1, Math.floor(timeoutMs / 3));
    const tick = () => {
      this.timer = undefined;
      const connection = connectionOf();
      if (connection === undefined) return;
      const idleMs = sessionClock.now() - this.lastSentMs;
      if (idleMs >= intervalMs) {
        connection.send({ kind: 'ping' });
        this.lastSentMs = sessionClock.now();
        this.pingsSentMs.push(this.lastSentMs);
        this.timer = setTimeout(tick, intervalMs);
      } else this.timer = setTimeout(tick, intervalMs - idleMs);
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  /** stop cancels the pings. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** readTimeoutMs is two thirds of a session timeout (ZooKeeper's readTimeout), at least 1 ms. */
export function readTimeoutMs(timeoutMs: number): number {
  return Math.max(1, Math.floor((timeoutMs * 2) / 3));
}
