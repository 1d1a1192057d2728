import type { ReplyFrame, RequestFrame } from '@zabkit/codec';
import { nextXid, type Request } from '@zabkit/core';
import type { ClientConnection } from '@zabkit/transport-tcp';
import { ZabError } from './errors.js';
import { sessionClock } from './heartbeats.js';

/** Call is one request of the session: waiting for a connection, then in flight until its reply. */
export interface Call {
  xid: number;
  request: Request;
  linearizable: boolean;
  /** settle turns the reply into the caller's result (synchronously: watches register before any later event). */
  settle(reply: ReplyFrame): void;
  fail(error: unknown): void;
  /** abandoned: the caller aborted; the reply, when it comes, is dropped. */
  abandoned: boolean;
  /** sentMs: when the call was written on its connection (sessionClock); its reply confirms the session was alive then. */
  sentMs?: number;
}

/**
 * CallQueue holds a session's calls in the order they were made: first waiting for a connection
 * (bounded by `pendingRequestsMax`), then in flight on one connection. A server answers a session
 * in the order it sent (reads included), so a reply must be for the oldest call in flight, matched
 * by xid; xids run 1, 2, … and wrap to 1 after XID_MAX (core's `nextXid`). Calls in flight are
 * never resent: when their connection goes they fail, because a write may or may not have happened.
 */
export class CallQueue {
  private readonly waiting: Call[] = [];
  /** inFlight[inFlightHead..] are the calls sent and not yet answered, oldest first. */
  private inFlight: Call[] = [];
  private inFlightHead = 0;
  private lastXid = 0;
  /** holding: calls wait instead of being sent (a move to home waits for the replies already due). */
  holding = false;
  private onDrained: (() => void) | undefined;

  constructor(private readonly pendingRequestsMax: number) {}

  /** inFlightCount is the number of calls sent and not yet answered. */
  get inFlightCount(): number {
    return this.inFlight.length - this.inFlightHead;
  }

  /** expectedXid is the xid the next reply must carry (the oldest call in flight), if any. */
  get expectedXid(): number | undefined {
    return this.inFlight[this.inFlightHead]?.xid;
  }

  /** wait keeps a call until a connection takes it; past pendingRequestsMax it fails the call with CONNECTION_LOSS. */
  wait(call: Call): void {
    if (this.waiting.length >= this.pendingRequestsMax) {
      call.fail(
        new ZabError('CONNECTION_LOSS', {
          message: `${this.holding ? 'moving to the home member' : 'disconnected'}, and ${this.pendingRequestsMax} calls already wait`,
        }),
      );
    } else this.waiting.push(call);
  }

  /** withdraw removes a waiting call (its caller aborted before it was sent). */
  withdraw(call: Call): void {
    const index = this.waiting.indexOf(call);
    if (index !== -1) this.waiting.splice(index, 1);
  }

  /**
   * send numbers a call and writes it on `connection`; false if the codec refused the frame (too
   * big, out of range), in which case that call alone fails with MARSHALLING_ERROR.
   */
  send(call: Call, connection: ClientConnection): boolean {
    this.lastXid = nextXid(this.lastXid);
    call.xid = this.lastXid;
    call.sentMs = sessionClock.now();
    this.inFlight.push(call);
    const frame: RequestFrame = { kind: 'request', xid: call.xid, request: call.request };
    if (call.linearizable) frame.linearizable = true;
    try {
      connection.send(frame);
    } catch (error) {
      this.inFlight.pop();
      call.fail(
        new ZabError('MARSHALLING_ERROR', {
          message: String((error as Error).message ?? error),
          op: call.request.op,
          cause: error,
        }),
      );
      return false;
    }
    return true;
  }

  /** takeWaiting empties the waiting calls, in call order, for a connection to send. */
  takeWaiting(): Call[] {
    return this.waiting.splice(0);
  }

  /** take removes and returns the oldest call in flight if the reply's `xid` is its, else undefined (out of order). */
  take(xid: number): Call | undefined {
    const call = this.inFlight[this.inFlightHead];
    if (call === undefined || call.xid !== xid) return undefined;
    this.inFlight[this.inFlightHead++] = undefined as unknown as Call;
    if (this.inFlightHead === this.inFlight.length) {
      this.inFlight = [];
      this.inFlightHead = 0;
    } else if (this.inFlightHead > 1024 && this.inFlightHead * 2 > this.inFlight.length) {
      this.inFlight = this.inFlight.slice(this.inFlightHead);
      this.inFlightHead = 0;
    }
    return call;
  }

  /** answered tells a pending {@link drained} that a reply was handled. */
  answered(): void {
    if (this.onDrained !== undefined && this.inFlightCount === 0) this.onDrained();
  }

  /** failInFlight fails every call in flight (their connection is gone), oldest first. */
  failInFlight(errorOf: (call: Call) => unknown): void {
    const calls = this.inFlight.slice(this.inFlightHead);
    this.inFlight = [];
    this.inFlightHead = 0;
    for (const call of calls) call.fail(errorOf(call));
    this.onDrained?.();
  }

  /** failWaiting fails every waiting call (the session ended), in call order. */
  failWaiting(errorOf: (call: Call) => unknown): void {
    for (const call of this.waiting.splice(0)) call.fail(errorOf(call));
  }

  /** drained resolves true once no call is in flight, false if that takes longer than `timeoutMs` or the connection went. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.inFlightCount === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        this.onDrained = undefined;
        resolve(drained);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.onDrained = () => finish(this.inFlightCount === 0);
    });
  }
}
