import type { ErrorCode } from '@zabkit/core';

/** Credentials are one identity to authenticate with: a scheme (`digest`) and its credentials (`user:password` as UTF-8). */
export interface Credentials {
  scheme: string;
  credentials: Uint8Array;
}

/** AuthCall is one addAuth frame of the session: a caller's addAuth, or a replay of remembered credentials. */
export interface AuthCall extends Credentials {
  /** replay: remembered credentials resent on a new connection (a refusal is reported with `authFailed`, not to a caller). */
  replay: boolean;
  /** settle receives the server's answer: null (accepted) or its error code (AUTH_FAILED). */
  settle(error: ErrorCode | null): void;
  fail(error: unknown): void;
  /** abandoned: the caller aborted after the frame was sent; the answer still counts (see SessionAuth). */
  abandoned: boolean;
}

function sameCredentials(a: Credentials, b: Credentials): boolean {
  if (a.scheme !== b.scheme || a.credentials.length !== b.credentials.length) return false;
  for (let i = 0; i < a.credentials.length; i++) if (a.credentials[i] !== b.credentials[i]) return false;
  return true;
}

/**
 * SessionAuth is a session's authentication (ZooKeeper's ClientCnxn authInfo): the credentials the
 * server accepted, which every new connection sends again (a server keeps identities per
 * connection, not per session), and the addAuth frames not yet answered. A server answers addAuth
 * frames at once with the reply xid AUTH_XID, in the order they came but not in order with the
 * session's requests: so they are matched FIFO here, apart from the call queue.
 *
 * Choices:
 * - only credentials the server accepted are remembered (a refused addAuth is not replayed);
 * - an addAuth whose connection went before its answer is not failed: it is sent again on the next
 *   connection (ahead of the calls waiting there) and settles with that answer. An identity is the
 *   connection's, so sending it again is safe, unlike a write;
 * - an addAuth aborted after it was sent still counts if the server accepts it: the connection then
 *   holds the identity, so the later connections get it too.
 */
export class SessionAuth {
  private readonly remembered: Credentials[] = [];
  /** waiting: addAuth calls not sent yet (no connection, or calls held for a move home), in call order. */
  private waiting: AuthCall[] = [];
  /** inFlight: addAuth frames sent on the current connection, oldest first, not yet answered. */
  private inFlight: AuthCall[] = [];

  /** credentials are the remembered credentials, in the order they were first accepted. */
  get credentials(): readonly Credentials[] {
    return this.remembered;
  }

  /** inFlightCount is the number of addAuth frames waiting for their answer on the current connection. */
  get inFlightCount(): number {
    return this.inFlight.length;
  }

  /** remember keeps accepted credentials for every later connection (once). */
  remember(credentials: Credentials): void {
    if (!this.remembered.some((held) => sameCredentials(held, credentials)))
      this.remembered.push({ scheme: credentials.scheme, credentials: credentials.credentials });
  }

  /** forget drops credentials a server refused on replay, so they are not sent again. */
  forget(credentials: Credentials): void {
    const index = this.remembered.findIndex((held) => sameCredentials(held, credentials));
    if (index !== -1) this.remembered.splice(index, 1);
  }

  /** wait keeps an addAuth call until a connection takes it. */
  wait(call: AuthCall): void {
    this.waiting.push(call);
  }

  /** withdraw removes a waiting call (its caller aborted before it was sent). */
  withdraw(call: AuthCall): void {
    const index = this.waiting.indexOf(call);
    if (index !== -1) this.waiting.splice(index, 1);
  }

  /** takeWaiting empties the waiting calls, in call order, for a connection to send. */
  takeWaiting(): AuthCall[] {
    return this.waiting.splice(0);
  }

  /** sent records a frame written on the current connection. */
  sent(call: AuthCall): void {
    this.inFlight.push(call);
  }

  /** unsent undoes `sent` for the newest frame (the codec refused it). */
  unsent(call: AuthCall): void {
    if (this.inFlight.at(-1) === call) this.inFlight.pop();
  }

  /** take removes and returns the oldest frame in flight: the one an AUTH_XID reply answers (undefined: none was sent). */
  take(): AuthCall | undefined {
    return this.inFlight.shift();
  }

  /**
   * requeueInFlight is for a connection that will answer no more: the callers' frames go back to
   * the front of the waiting calls, in order, to be sent on the next connection; replays are
   * dropped (the next connection replays the remembered credentials anyway).
   */
  requeueInFlight(): void {
    const again = this.inFlight.filter((call) => !call.replay && !call.abandoned);
    this.inFlight = [];
    this.waiting = [...again, ...this.waiting];
  }

  /** failAll fails every caller's addAuth, sent or waiting (the session ended); remembered credentials are dropped. */
  failAll(errorOf: (call: AuthCall) => unknown): void {
    const calls = [...this.inFlight, ...this.waiting];
    this.inFlight = [];
    this.waiting = [];
    this.remembered.length = 0;
    for (const call of calls) if (!call.replay && !call.abandoned) call.fail(errorOf(call));
  }
}
