import type { ClientConnection } from '@zabkit/transport-tcp';

/**
 * Heartbeats is how a session and its server know the other is alive, in ZooKeeper's terms of
 * the negotiated session timeout:
 * - the client sends a Ping whenever it sent nothing for a third of the timeout, so an idle
 *   session stays alive on the server;
 * - a connection on which nothing (not even a Pong) arrived for two thirds of the timeout is
 *   dropped (ZooKeeper's readTimeout): the server is gone or cut off, and there is still a third of
 *   the timeout left to resume the session elsewhere;
 * - once nothing was heard from any server for the whole timeout, the cluster has expired the
 *   session, and so does the client ({@link msLeft}).
 * Failure detection is these protocol pings, never TCP keepalive.
 */
export class Heartbeats {
  private lastSentMs = 0;
  private lastHeardMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** begin starts counting on a newly adopted connection: heard from and sent to now; the read timeout armed. */
  begin(connection: ClientConnection, timeoutMs: number): void {
    const now = Date.now();
    this.lastHeardMs = now;
    this.lastSentMs = now;
    connection.setIdleTimeout(Math.max(1, Math.floor((timeoutMs * 2) / 3)));
  }

  /** sent records that a frame went out (a ping is due only a third of the timeout after the last one). */
  sent(): void {
    this.lastSentMs = Date.now();
  }

  /** heard records that a frame arrived from the server. */
  heard(): void {
    this.lastHeardMs = Date.now();
  }

  /** msLeft is how long the session has before the cluster expires it, counted from the last frame heard. */
  msLeft(timeoutMs: number): number {
    return this.lastHeardMs + timeoutMs - Date.now();
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
      const idleMs = Date.now() - this.lastSentMs;
      if (idleMs >= intervalMs) {
        connection.send({ kind: 'ping' });
        this.lastSentMs = Date.now();
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
