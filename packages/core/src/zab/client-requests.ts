import type { Limits } from '../limits.js';
import { requestLimitError } from '../limits.js';
import type { AuthId, ErrorCode, LogEntry, Reply, Request, SessionId } from '../types.js';
import { replyBytes } from '../wire-size.js';
import type { Zxid } from '../zxid.js';
import { NO_ZXID } from './invariant.js';
import type { ApplyOutcome, ReplicatedMachine } from './machine.js';
import type { Outbox } from './outbox.js';

/** PendingRequest is one client request in its session's queue on the member the client is connected to. */
export interface PendingRequest {
  xid: number;
  request: Request;
  /** auth: the ids the session's connection held when it sent the request (a read is checked against them). */
  auth: readonly AuthId[];
  /** kind: refused requests are answered with `error` in their turn, without being looked at. */
  kind: 'write' | 'read' | 'barrier' | 'refused';
  /** done: the write applied (with its outcome), or the barrier resolved to a zxid. */
  done: boolean;
  error: ErrorCode | null;
  result: Reply['result'];
  /** zxid: for a write, the zxid of its transaction (the reply carries it, as ZooKeeper's reply header). */
  zxid: Zxid;
  /** barrierZxid: for a barrier, the zxid that must be applied before answering; -1 until known. */
  barrierZxid: Zxid;
  barrierId: number;
  /** readAfterBarrier: for a linearizable read, the read to answer after the barrier. */
  readAfterBarrier: boolean;
}

/**
 * ClientRequests keeps the client side of one member: each connected session's requests in a FIFO
 * queue, answered strictly in the order the session sent them, reads included (ZooKeeper's
 * CommitProcessor). A read is answered from the applied state when it reaches the head; a write
 * when its transaction is applied here; a sync or linearizable read is a read barrier: the leader
 * confirms with a quorum that it still leads and names the zxid committed at that moment, and the
 * request is answered once this member applied that far. Connects (createSession) wait here for
 * their transaction to be applied. When the member stops serving, everything waiting fails with
 * CONNECTION_LOSS.
 */
export class ClientRequests {
  private readonly pending = new Map<SessionId, PendingRequest[]>();
  private readonly pendingConnects = new Map<number, { timeoutMs: number }>();
  private nextConnectCounter = 1;
  /** barrierWaiters: local barrier id → the session waiting for it (the leader answers with that id). */
  private readonly barrierWaiters = new Map<number, { sessionId: SessionId; xid: number; startedTick: number }>();
  /** awaitingApply: sessions whose head barrier waits for its zxid to be applied. */
  private readonly awaitingApply = new Set<SessionId>();
  private nextLocalBarrierId = 1;

  constructor(
    private readonly serverId: number,
    private readonly machine: ReplicatedMachine,
    private readonly outbox: Outbox,
    private readonly limits: Limits,
  ) {}

  /**
   * enqueue puts a request at the tail of its session's queue and says what it is: a write (to
   * propose), a barrier (to confirm with the leader), a read, or a request refused by the limits
   * (answered with its error in its turn). The caller starts it, then calls {@link flushSession}.
   */
  enqueue(
    sessionId: SessionId,
    xid: number,
    request: Request,
    linearizable: boolean,
    auth: readonly AuthId[],
  ): PendingRequest {
    const queue = this.queueOf(sessionId);
    const refused = requestLimitError(request, this.limits);
    if (refused !== null) {
      const item: PendingRequest = { ...pendingItem(xid, request, 'refused', auth), done: true, error: refused };
      queue.push(item);
      return item;
    }
    const isWrite =
      request.op === 'create' ||
      request.op === 'delete' ||
      request.op === 'setData' ||
      request.op === 'setACL' ||
      request.op === 'multi' ||
      request.op === 'reconfig' ||
      request.op === 'closeSession';
    const isBarrier = request.op === 'sync' || linearizable;
    const item = pendingItem(xid, request, isWrite ? 'write' : isBarrier ? 'barrier' : 'read', auth);
    item.readAfterBarrier = isBarrier && request.op !== 'sync';
    queue.push(item);
    return item;
  }

  /** waitForBarrier registers a barrier item and returns the local id the leader's answer will carry. */
  waitForBarrier(sessionId: SessionId, item: PendingRequest, nowTick: number): number {
    const localId = this.nextLocalBarrierId++;
    item.barrierId = localId;
    this.barrierWaiters.set(localId, { sessionId, xid: item.xid, startedTick: nowTick });
    return localId;
  }

  /** resolveBarrier: the leader confirmed barrier `localId` at `zxid`, or (null) it failed. */
  resolveBarrier(localId: number, zxid: Zxid | null): void {
    const waiter = this.barrierWaiters.get(localId);
    if (!waiter) return;
    this.barrierWaiters.delete(localId);
    const queue = this.pending.get(waiter.sessionId);
    const item = queue?.find((candidate) => candidate.kind === 'barrier' && candidate.barrierId === localId);
    if (!item) return;
    if (zxid === null) {
      item.done = true;
      item.error = 'NOT_LEADER';
    } else {
      item.barrierZxid = zxid;
    }
    this.flushSession(waiter.sessionId);
  }

  /** failStaleBarriers fails the barriers waiting longer than `ticksMax` (a barrier the leader could not confirm is never answered). */
  failStaleBarriers(nowTick: number, ticksMax: number): void {
    for (const [localId, waiter] of this.barrierWaiters) {
      if (nowTick - waiter.startedTick > ticksMax) this.resolveBarrier(localId, null);
    }
  }

  /** newConnectId issues the id a connect is answered under: a counter, with this server's id in the low byte. */
  newConnectId(): number {
    return this.nextConnectCounter++ * 256 + (this.serverId % 256);
  }

  /** awaitConnect holds a connect until its createSession transaction is applied here. */
  awaitConnect(connectId: number, timeoutMs: number): void {
    this.pendingConnects.set(connectId, { timeoutMs });
  }

  /** detach forgets a session's pending requests (its client disconnected). */
  detach(sessionId: SessionId): void {
    this.pending.delete(sessionId);
  }

  /**
   * applied answers what waited for `entry`: the connect that created its session, the write it
   * carries (in its session's order), and barriers waiting for this far to be applied.
   */
  applied(entry: LogEntry, outcome: ApplyOutcome): void {
    const txn = entry.txn;
    if (txn.type === 'createSession') {
      const connect = this.pendingConnects.get(entry.cxid);
      if (connect) {
        this.pendingConnects.delete(entry.cxid);
        this.outbox.toClient({
          type: 'sessionCreated',
          connectId: entry.cxid,
          sessionId: txn.sessionId,
          timeoutMs: txn.timeoutMs,
        });
      }
    }
    if (txn.type === 'closeSession') {
      this.outbox.toClient({ type: 'sessionClosed', sessionId: txn.sessionId });
    }
    // Match the reply to the session's pending write.
    const queue = this.pending.get(entry.sessionId);
    if (queue) {
      const item = queue.find(
        (candidate) => candidate.kind === 'write' && !candidate.done && candidate.xid === entry.cxid,
      );
      if (item) {
        item.done = true;
        item.error = outcome.error;
        item.result = outcome.result;
        item.zxid = entry.zxid;
      }
    }
    this.flushSession(entry.sessionId);
    // Sessions whose barrier waits for this zxid to be applied.
    if (this.awaitingApply.size > 0) {
      for (const sessionId of [...this.awaitingApply]) {
        this.awaitingApply.delete(sessionId);
        this.flushSession(sessionId);
      }
    }
  }

  /** flushSession answers the session's requests from the head of its queue while they are ready. */
  flushSession(sessionId: SessionId): void {
    const queue = this.pending.get(sessionId);
    if (!queue) return;
    while (queue.length > 0) {
      const head = queue[0] as PendingRequest;
      if (head.kind === 'write') {
        if (!head.done) break;
        this.reply(sessionId, head.xid, head.error, head.result, head.zxid);
      } else if (head.kind === 'barrier') {
        if (head.done) {
          this.reply(sessionId, head.xid, head.error, head.result);
        } else {
          if (head.barrierZxid === NO_ZXID) break;
          if (this.machine.lastAppliedZxid < head.barrierZxid) {
            this.awaitingApply.add(sessionId);
            break;
          }
          if (head.readAfterBarrier) this.answerRead(sessionId, head);
          else this.reply(sessionId, head.xid, null, { op: 'sync', path: (head.request as { path: string }).path });
        }
      } else if (head.kind === 'refused') {
        this.reply(sessionId, head.xid, head.error, null);
      } else {
        this.answerRead(sessionId, head);
      }
      queue.shift();
    }
    if (queue.length === 0) this.pending.delete(sessionId);
  }

  /** reply answers a request at once, outside its session's queue (the zxid defaults to the applied one). */
  reply(
    sessionId: SessionId,
    xid: number,
    error: ErrorCode | null,
    result: Reply['result'],
    zxid: Zxid = this.machine.lastAppliedZxid,
  ): void {
    this.outbox.reply(sessionId, xid, zxid, error, result);
  }

  /** failAll fails every request and connect in flight with CONNECTION_LOSS (this server stops serving). */
  failAll(): void {
    for (const [sessionId, queue] of this.pending) {
      for (const item of queue) {
        this.outbox.reply(sessionId, item.xid, this.machine.lastAppliedZxid, 'CONNECTION_LOSS', null);
      }
    }
    this.pending.clear();
    this.barrierWaiters.clear();
    this.awaitingApply.clear();
    for (const connectId of this.pendingConnects.keys()) {
      this.outbox.toClient({ type: 'connectFailed', connectId, error: 'CONNECTION_LOSS' });
    }
    this.pendingConnects.clear();
  }

  private queueOf(sessionId: SessionId): PendingRequest[] {
    let queue = this.pending.get(sessionId);
    if (!queue) {
      queue = [];
      this.pending.set(sessionId, queue);
    }
    return queue;
  }

  private answerRead(sessionId: SessionId, item: PendingRequest): void {
    if (!this.machine.hasSession(sessionId)) {
      this.reply(sessionId, item.xid, 'SESSION_EXPIRED', null);
      return;
    }
    const outcome = this.machine.read(sessionId, item.request, item.auth);
    for (const event of outcome.events) this.outbox.toClient({ type: 'event', ...event });
    const reply: Reply = {
      sessionId,
      xid: item.xid,
      zxid: this.machine.lastAppliedZxid,
      error: outcome.error,
      result: outcome.result,
    };
    if (outcome.result !== null && replyBytes(reply) > this.limits.clientFrameBytesMax) {
      // Too big to send (a huge getChildren, a multiRead of big znodes): that request fails alone.
      this.reply(sessionId, item.xid, 'MARSHALLING_ERROR', null);
      return;
    }
    this.outbox.toClient({ type: 'reply', reply });
  }
}

function pendingItem(
  xid: number,
  request: Request,
  kind: PendingRequest['kind'],
  auth: readonly AuthId[],
): PendingRequest {
  return {
    xid,
    request,
    auth,
    kind,
    done: false,
    error: null,
    result: null,
    zxid: 0,
    barrierZxid: NO_ZXID,
    barrierId: 0,
    readAfterBarrier: false,
  };
}
