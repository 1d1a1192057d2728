import type { ConnectRequest, ReplyFrame, RequestFrame } from '@zabkit/codec';
import {
  DataTree,
  type LocalRequest,
  type LogEntry,
  RequestPipeline,
  type SessionId,
  SessionTracker,
  type WatchTrigger,
  type WriteRequest,
} from '@zabkit/core';
import { ClientListener, type ServerConnection } from '@zabkit/transport-tcp';

/**
 * FakeEnsemble is a test double of a zabkit ensemble for the client's unit tests: several client
 * ports (members) in one process over ONE shared DataTree, RequestPipeline and SessionTracker, so
 * writes commit at once and every member is up to date. It speaks the real codec over real TCP,
 * creates, resumes and expires sessions like the server, delivers watch events before replies,
 * and lets a test kill a member (its connections drop), make one refuse resumes as behind
 * (ZXID_AHEAD), hold replies, or record the frames it received. It is not the server: no Zab, no
 * disk; integration tests run the real one.
 */
export class FakeEnsemble {
  readonly tree = new DataTree();
  readonly sessions: SessionTracker;
  readonly pipeline: RequestPipeline;
  readonly members: FakeMember[] = [];
  /** sessionConnections maps a session to the connection that holds it now. */
  readonly sessionConnections = new Map<SessionId, { member: FakeMember; connection: ServerConnection }>();
  /** frames records every request frame received, in order. */
  readonly frames: RequestFrame[] = [];
  private zxid = 2 ** 32;
  private timer: ReturnType<typeof setInterval>;

  private constructor(readonly tickMs: number) {
    this.sessions = new SessionTracker({
      serverId: 1,
      epoch: 1,
      tickMs,
      sessionTimeoutMsMin: 2 * tickMs,
      sessionTimeoutMsMax: 60_000,
    });
    this.pipeline = new RequestPipeline(this.tree, this.sessions);
    this.timer = setInterval(() => {
      for (const sessionId of this.sessions.tick()) this.closeSession(sessionId);
    }, tickMs);
  }

  /** start opens `size` members on free loopback ports. */
  static async start(size = 3, tickMs = 20): Promise<FakeEnsemble> {
    const ensemble = new FakeEnsemble(tickMs);
    for (let i = 0; i < size; i++) {
      const member = new FakeMember(ensemble, i);
      await member.listen(0);
      ensemble.members.push(member);
    }
    return ensemble;
  }

  /** connectString names every member. */
  get connectString(): string {
    return this.members.map((member) => `127.0.0.1:${member.port}`).join(',');
  }

  /** lastZxid is the tree's last applied zxid. */
  get lastZxid(): number {
    return this.tree.lastProcessedZxid;
  }

  /** memberOf is the member a session is connected to now. */
  memberOf(sessionId: SessionId): FakeMember | undefined {
    return this.sessionConnections.get(sessionId)?.member;
  }

  /** expire ends a session as the leader would when its timeout passes. */
  expire(sessionId: SessionId): void {
    this.sessions.setClosing(sessionId, true);
    this.closeSession(sessionId);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.members.map((member) => member.kill()));
  }

  /** @internal */
  commit(
    sessionId: SessionId,
    cxid: number,
    txn: LogEntry['txn'],
  ): { entry: LogEntry; error: ReplyFrame['error']; result: ReplyFrame['result'] } {
    const zxid = ++this.zxid;
    this.pipeline.noteProposed(zxid, txn);
    const entry: LogEntry = { zxid, sessionId, cxid, timeMs: Date.now(), txn };
    const applied = this.tree.applyTxn(entry);
    this.pipeline.noteApplied(zxid);
    this.deliver(applied.watches);
    return { entry, error: applied.error, result: applied.result };
  }

  /** @internal */
  deliver(triggers: readonly WatchTrigger[]): void {
    for (const trigger of triggers) {
      for (const sessionId of trigger.sessionIds) {
        const holder = this.sessionConnections.get(sessionId);
        holder?.member.sendTo(holder.connection, { kind: 'watchEvent', xid: -1, event: trigger.event });
      }
    }
  }

  /** @internal */
  closeSession(sessionId: SessionId): void {
    const txn = this.pipeline.prepareCloseSession(sessionId);
    this.commit(0, 0, txn);
    this.sessions.removeSession(sessionId);
    const holder = this.sessionConnections.get(sessionId);
    this.sessionConnections.delete(sessionId);
    holder?.connection.close();
  }

  /** @internal */
  nextZxidForTest(): number {
    return this.zxid;
  }
}

/** FakeMember is one client port of a FakeEnsemble. */
export class FakeMember {
  port = 0;
  /** behind: refuse resumes (lastZxidSeen > 0) with ZXID_AHEAD, as a member that has not caught up. */
  behind = false;
  /** serving: false refuses every connect with NOT_SERVING. */
  serving = true;
  /** holdReplies: queue replies (not watch events) until releaseReplies(). */
  holdReplies = false;
  /** pings counts the pings received. */
  pings = 0;
  readonly connects: ConnectRequest[] = [];
  private listener: ClientListener | undefined;
  private readonly connections = new Set<ServerConnection>();
  private readonly held: { connection: ServerConnection; reply: ReplyFrame }[] = [];

  constructor(
    private readonly ensemble: FakeEnsemble,
    readonly index: number,
  ) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(port: number): Promise<void> {
    this.listener = new ClientListener({
      host: '127.0.0.1',
      port,
      onConnect: (connection, request) => this.onConnect(connection, request),
    });
    const bound = await this.listener.listen();
    this.port = bound.port;
  }

  /** kill closes the port and every connection, as a crashed process would. */
  async kill(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    for (const connection of this.connections) connection.close();
    this.connections.clear();
    await listener?.close();
  }

  /** restart listens again on the same port. */
  async restart(): Promise<void> {
    await this.listen(this.port);
  }

  /** dropConnections closes every client connection but keeps listening (a leader change does this). */
  dropConnections(): void {
    for (const connection of this.connections) connection.close();
    this.connections.clear();
  }

  releaseReplies(): void {
    this.holdReplies = false;
    for (const { connection, reply } of this.held.splice(0)) connection.send(reply);
  }

  /** @internal */
  sendTo(connection: ServerConnection, message: Parameters<ServerConnection['send']>[0]): void {
    connection.send(message);
  }

  private reply(connection: ServerConnection, reply: ReplyFrame): void {
    if (this.holdReplies) this.held.push({ connection, reply });
    else connection.send(reply);
  }

  private onConnect(connection: ServerConnection, request: ConnectRequest): void {
    const { ensemble } = this;
    this.connects.push(request);
    if (!this.serving) {
      connection.refuse('NOT_SERVING', 'no leader');
      return;
    }
    if (request.lastZxidSeen > ensemble.lastZxid || (this.behind && request.lastZxidSeen > 0)) {
      connection.refuse('ZXID_AHEAD', `client saw ${request.lastZxidSeen}, this member is behind`);
      return;
    }
    let sessionId = request.sessionId;
    let timeoutMs: number;
    if (sessionId === 0) {
      const txn = ensemble.pipeline.prepareCreateSession(request.timeoutMs);
      if (txn.type !== 'createSession') throw new Error('expected a createSession txn');
      ensemble.commit(0, 0, txn);
      sessionId = txn.sessionId;
      timeoutMs = txn.timeoutMs;
    } else {
      if (!ensemble.sessions.isLive(sessionId) || !samePassword(request.password, passwordOf(sessionId))) {
        connection.refuse('SESSION_EXPIRED', `session ${sessionId} expired`);
        return;
      }
      ensemble.sessions.touch(sessionId);
      timeoutMs = ensemble.sessions.timeoutMsOf(sessionId)!;
      const previous = ensemble.sessionConnections.get(sessionId);
      previous?.connection.close();
    }
    this.connections.add(connection);
    ensemble.tree.dropWatches(sessionId);
    ensemble.sessionConnections.set(sessionId, { member: this, connection });
    connection.onClose(() => {
      this.connections.delete(connection);
      const holder = ensemble.sessionConnections.get(sessionId);
      if (holder?.connection === connection) {
        ensemble.sessionConnections.delete(sessionId);
        // Watches live on the connection; a reconnect re-registers them with setWatches.
        ensemble.tree.dropWatches(sessionId);
      }
    });
    connection.onMessage((message) => {
      if (ensemble.sessionConnections.get(sessionId)?.connection !== connection) return;
      ensemble.sessions.touch(sessionId);
      if (message.kind === 'ping') {
        this.pings++;
        connection.send({ kind: 'pong' });
        return;
      }
      ensemble.frames.push(message);
      this.onRequest(connection, sessionId, message);
    });
    connection.accept({ timeoutMs, sessionId, password: passwordOf(sessionId), readOnly: false });
  }

  private onRequest(connection: ServerConnection, sessionId: SessionId, frame: RequestFrame): void {
    const { ensemble } = this;
    const { xid, request } = frame;
    switch (request.op) {
      case 'create':
      case 'delete':
      case 'setData':
      case 'multi':
      case 'closeSession': {
        const txn = ensemble.pipeline.prepare(sessionId, xid, request as WriteRequest, Date.now());
        const { entry, error, result } = ensemble.commit(sessionId, xid, txn);
        const reply: ReplyFrame = {
          kind: 'reply',
          xid,
          zxid: entry.zxid,
          error,
          result: request.op === 'closeSession' ? { op: 'closeSession' } : result,
        };
        this.reply(connection, reply);
        if (request.op === 'closeSession' && error === null) {
          ensemble.sessions.removeSession(sessionId);
          ensemble.sessionConnections.delete(sessionId);
          connection.close();
        }
        return;
      }
      case 'sync':
        this.reply(connection, {
          kind: 'reply',
          xid,
          zxid: ensemble.lastZxid,
          error: null,
          result: { op: 'sync', path: request.path },
        });
        return;
      default: {
        const outcome = ensemble.tree.processLocal(sessionId, request as LocalRequest);
        ensemble.deliver(outcome.watches);
        this.reply(connection, {
          kind: 'reply',
          xid,
          zxid: ensemble.lastZxid,
          error: outcome.error,
          result: outcome.result,
        });
      }
    }
  }
}

/** passwordOf is the fake's session password: derived from the id, so a wrong one can be tested. */
export function passwordOf(sessionId: SessionId): Uint8Array {
  const password = new Uint8Array(16);
  let x = sessionId % 2 ** 32;
  for (let i = 0; i < 16; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    password[i] = x & 0xff;
  }
  return password;
}

function samePassword(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
