import type { Zxid } from '@zabkit/core';
import { type ClientConnection, TransportError } from '@zabkit/transport-tcp';
import type { Attempt } from './attempt.js';
import type { CallQueue } from './call-queue.js';
import { describeServer, type ServerAddress } from './connect-string.js';
import type { ServerList } from './server-list.js';
import type { ClientLogger, ConnectionState } from './types.js';

/** REBALANCE_DOUBLINGS_MAX caps the rebalance delay at 2^3 = 8 times rebalanceDelayMs after refused tries. */
const REBALANCE_DOUBLINGS_MAX = 3;
/** MOVE_WAIT_MS_MAX bounds each of a move's two waits (replies due, home's handshake) while calls are held. */
const MOVE_WAIT_MS_MAX = 500;

/** HomeMoveHost is the session as the move home sees it. */
export interface HomeMoveHost {
  readonly state: ConnectionState;
  readonly closing: boolean;
  /** connection is the session's connection, undefined while disconnected. */
  readonly connection: ClientConnection | undefined;
  /** currentServer is the member the session last ran on. */
  readonly currentServer: ServerAddress | undefined;
  readonly lastZxid: Zxid;
  readonly serverList: ServerList;
  readonly calls: CallQueue;
  readonly logger: ClientLogger;
  readonly random: () => number;
  attemptTimeoutMs(): number;
  attempt(server: ServerAddress, timeoutMs: number): Promise<Attempt>;
  adopt(attempt: Attempt, event: 'reconnected', movedHome: boolean): void;
  expire(reason: string): void;
  /** flushWaiting sends the calls that waited, in call order, if the session is connected and not holding. */
  flushWaiting(): void;
}

/**
 * HomeMove brings a session back to its home member (the first of its server order) after a
 * fault sent it elsewhere. ZooKeeper's client has no such move: without it every fault would
 * leave the clients on fewer members, and a member that comes back (restarted, resumed, caught up)
 * would never get its clients back.
 */
export class HomeMove {
  /** timer is set while the client is away from its home member and will try to move back. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** tries counts the tries to move home that failed since the client was last at home. */
  private tries = 0;
  private moving = false;

  constructor(
    private readonly session: HomeMoveHost,
    private readonly rebalanceDelayMs: number,
  ) {}

  /**
   * schedule arms the move back to the home member while the client is connected elsewhere:
   * after between half and all of rebalanceDelayMs, doubled per refused try (capped). At home it
   * resets the count of tries.
   */
  schedule(): void {
    const { session } = this;
    if (session.currentServer === session.serverList.home) {
      this.tries = 0;
      this.stop();
      return;
    }
    if (this.timer !== undefined || this.rebalanceDelayMs === 0 || session.closing) return;
    if (session.state !== 'CONNECTED') return;
    const capMs = this.rebalanceDelayMs * 2 ** Math.min(this.tries, REBALANCE_DOUBLINGS_MAX);
    const delayMs = capMs / 2 + (session.random() * capMs) / 2;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.move().catch((error: unknown) => session.logger.warn({ error: String(error) }, 'moving home failed'));
    }, delayMs);
  }

  /** stop cancels a scheduled move (the connection went, or the session ended). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * move resumes the session on the home member. A member may drop the session's old connection
   * as soon as another one resumes it, so the client first holds new calls and waits for the
   * replies already due (FIFO order across the two connections, nothing in flight to lose), then
   * resumes on home with its final lastZxidSeen, adopts the new connection (setWatches first, then
   * the held calls; `reconnected`) and closes the old one. Each wait is bounded by
   * MOVE_WAIT_MS_MAX, so a home member that is paused stalls calls only that long. If home refuses
   * or does not answer in time, or a watch event raised lastZxidSeen during the handshake (home may
   * be behind it), the client stays where it is, sends the held calls there, and tries again later.
   */
  private async move(): Promise<void> {
    const { session } = this;
    const from = session.connection;
    const home = session.serverList.home;
    if (this.moving || from === undefined || session.state !== 'CONNECTED' || session.closing) return;
    if (session.currentServer === home) return;
    this.moving = true;
    let attempt: Attempt | undefined;
    const stillHere = () =>
      session.connection === from &&
      session.state === 'CONNECTED' &&
      !session.closing &&
      attempt?.closedEarly === undefined;
    const waitMs = Math.min(session.attemptTimeoutMs(), MOVE_WAIT_MS_MAX);
    try {
      session.calls.holding = true;
      if (!(await session.calls.drained(waitMs)) || !stillHere()) return;
      const checkedZxid = session.lastZxid;
      attempt = await this.tryHome(home, waitMs);
      if (attempt === undefined || !stillHere() || session.lastZxid > checkedZxid) return;
      const accepted = attempt;
      attempt = undefined;
      session.calls.holding = false;
      session.adopt(accepted, 'reconnected', true);
      from.close();
    } finally {
      this.moving = false;
      session.calls.holding = false;
      // A home connection that was not adopted: the old one keeps the session (or, if the member
      // dropped it for the new one, the client reconnects as after any loss).
      attempt?.connection?.close();
      if (session.connection === from && session.state === 'CONNECTED') {
        session.flushWaiting();
        this.tries++;
        this.schedule();
      }
    }
  }

  /** tryHome opens a resume on the home member; undefined if it refused or did not answer (SESSION_EXPIRED expires the session). */
  private async tryHome(home: ServerAddress, timeoutMs: number): Promise<Attempt | undefined> {
    const { session } = this;
    try {
      return await session.attempt(home, timeoutMs);
    } catch (error) {
      if (TransportError.isInstance(error) && error.reason === 'SESSION_EXPIRED') {
        session.expire(`${describeServer(home)}: ${error.message}`);
        return undefined;
      }
      session.logger.debug(
        { server: describeServer(home), error: String(error) },
        'the home member did not take the session; staying',
      );
      return undefined;
    }
  }
}
