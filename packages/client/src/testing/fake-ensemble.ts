import { randomBytes } from 'node:crypto';
import { AUTH_XID, CodecError, type ConnectRequest, type ReplyFrame, type RequestFrame } from '@zabkit/codec';
import {
  type ClientOutput,
  createPrng,
  createTreeMachine,
  deriveLimits,
  MemoryStorage,
  type Outbound,
  type PeerConfig,
  type Ready,
  ReadyDriver,
  SESSION_PASSWORD_BYTES,
  type SessionId,
  type Stat,
  ZabPeer,
} from '@zabkit/core';
import { ClientListener, ConnectionAuth, type ServerConnection, type TlsServerOptions } from '@zabkit/transport-tcp';

/** LEADER_ID is the ensemble's one voter; the members the tests see are its observers, ids 2, 3, … */
const LEADER_ID = 1;
/** START_TICKS_MAX bounds the ticks the first election and the observers' first sync may take. */
const START_TICKS_MAX = 1_000;
/** REJOIN_MS_MAX bounds how long a restarted member may take to serve again. */
const REJOIN_MS_MAX = 5_000;

/**
 * FakeEnsemble is a real zabkit ensemble in the test's process, for the client's unit tests: the
 * ZabPeers of @zabkit/core, each with createTreeMachine and an in-memory log (core's
 * MemoryStorage: it survives a kill, as a disk would), driven by core's host loop as the server's
 * Member drives them (persist, send, deliver to clients, advance), with the peer messages
 * delivered in-process at once and ticks from a timer. So sessions, their ids (the zxid of the
 * createSession), expiry (decided by the leader in ticks), FIFO order, watches and errors are the
 * server's own.
 *
 * One voter (id 1) leads, with no client port; each member a test talks to is an observer of it
 * (ids 2, 3, …) with a client port on loopback (ClientListener, the real codec over TCP). An
 * observer serves reads from its replica, forwards writes and session creation to the leader,
 * and learns each commit by INFORM — so a test can kill, restart, isolate or slow any member
 * without an election, and every member has applied a write before its reply reaches a client
 * (delivery takes microtasks, a reply a socket). Leader loss is the integration tests' part,
 * against real servers.
 *
 * Faults a test injects: kill (the process dies: port and connections closed; its log survives)
 * and restart (recovered from that log, it rejoins and syncs), `serving = false` (cut off from
 * the leader: it stops serving, drops its clients and refuses with NOT_SERVING, as a member
 * without a leader does), `behind` (its link holds the leader's INFORMs: it serves, but learns no
 * commit, so it refuses with ZXID_AHEAD the resumes of clients that saw more, by the server's rule),
 * `holdReplies`, dropConnections, and expire (the leader expires a session now).
 */
export class FakeEnsemble {
  /** sessionTimeoutMsMax is the longest session timeout the members negotiate (a request above gets it). */
  readonly sessionTimeoutMsMax = 60_000;
  /** sessionTimeoutMsMin is the shortest session timeout the members negotiate: two ticks. */
  readonly sessionTimeoutMsMin: number;
  readonly members: FakeMember[] = [];
  /** frames records every request frame the members received, in order. */
  readonly frames: RequestFrame[] = [];
  /** authFrames: the scheme of every addAuth frame any member received, in order (a test sees replays after a reconnect). */
  readonly authFrames: string[] = [];
  /** superDigest: the super user's digest id, as the server's superDigest setting. */
  superDigest: string | undefined;
  /** tree reads the leader's applied tree. */
  readonly tree = {
    /** stat is a znode's Stat in the leader's applied state, or null if there is none. */
    stat: (path: string): Stat | null => {
      const { result } = this.leader.peer.readDirect({ op: 'exists', path, watch: false });
      return result?.op === 'exists' ? result.stat : null;
    },
  };
  /** sessions reads the sessions of the leader's applied state. */
  readonly sessions = {
    isLive: (sessionId: SessionId): boolean => this.leader.peer.sessionTimeoutMs(sessionId) !== undefined,
  };
  /** leader is the voter that leads; it has no client port. */
  private readonly leader: PeerHost;
  /** sessionConnections maps a session to the member and connection that bound it last. */
  private readonly sessionConnections = new Map<SessionId, { member: FakeMember; connection: ServerConnection }>();
  /** isolated: members cut off from every other peer. */
  private readonly isolated = new Set<number>();
  /** heldInforms: the INFORMs held back from each member that is `behind`, in order. */
  private readonly heldInforms = new Map<number, { from: number; message: Outbound['message'] }[]>();
  private readonly expiring = new Set<SessionId>();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** failure is the first error a host loop or a peer raised: stop() rethrows it. */
  private failure: unknown;

  private constructor(
    readonly size: number,
    readonly tickMs: number,
    /** tls: the members' client ports speak TLS with this certificate. */
    readonly tls: TlsServerOptions | undefined,
  ) {
    this.sessionTimeoutMsMin = 2 * tickMs;
    this.leader = new PeerHost(this, LEADER_ID, (outputs) => this.dropClientOutputs(outputs));
    for (let index = 0; index < size; index++) this.members.push(new FakeMember(this, index));
  }

  /** start runs a leader and `size` members, waits until every member serves, and opens their client ports (TLS ones with `options.tls`). */
  static async start(
    size = 3,
    tickMs = 20,
    options: { tls?: TlsServerOptions; superDigest?: string } = {},
  ): Promise<FakeEnsemble> {
    const ensemble = new FakeEnsemble(size, tickMs, options.tls);
    ensemble.superDigest = options.superDigest;
    await ensemble.leader.boot();
    for (const member of ensemble.members) await member.host.boot();
    // The first election and syncs, on ticks as fast as the host loops allow.
    for (let tick = 0; !ensemble.members.every((member) => member.host.peer.isServing()); tick++) {
      if (tick === START_TICKS_MAX) throw new Error(`the fake ensemble did not serve within ${tick} ticks`);
      ensemble.tickAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const member of ensemble.members) await member.listen(0);
    ensemble.timer = setInterval(() => ensemble.tickAll(), tickMs);
    return ensemble;
  }

  /** connectString names every member. */
  get connectString(): string {
    return this.members.map((member) => `127.0.0.1:${member.port}`).join(',');
  }

  /** memberOf is the member a session is connected to now (the one that accepted it last). */
  memberOf(sessionId: SessionId): FakeMember | undefined {
    return this.sessionConnections.get(sessionId)?.member;
  }

  /**
   * expire makes the leader expire a session now, as its expiry check does once the session's
   * timeout has passed without a heartbeat: it proposes the session's closeSession (cxid 0). Every
   * member that applies it closes the session's connection; a resume is refused SESSION_EXPIRED.
   */
  expire(sessionId: SessionId): void {
    if (this.expiring.has(sessionId)) return;
    this.expiring.add(sessionId);
    this.contained(() => this.leader.peer.submit(sessionId, 0, { op: 'closeSession' }));
    this.leader.schedule();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.leader.alive = false;
    await Promise.all(this.members.map((member) => member.kill()));
    if (this.failure !== undefined) throw this.failure;
  }

  /** @internal the peer configuration every host uses. */
  peerConfig(id: number): PeerConfig {
    const limits = deriveLimits();
    return {
      id,
      voters: [LEADER_ID],
      observers: this.members.map((member) => member.id),
      random: createPrng(id),
      machine: createTreeMachine({
        tickMs: this.tickMs,
        sessionTimeoutMsMin: this.sessionTimeoutMsMin,
        sessionTimeoutMsMax: this.sessionTimeoutMsMax,
        limits,
      }),
      tickMs: this.tickMs,
      limits,
    };
  }

  /** @internal send delivers a peer message at once, unless either end is dead or isolated. */
  send(from: number, { to, message }: Outbound): void {
    const target = this.hostOf(to);
    if (target === undefined || !target.alive || this.isolated.has(from) || this.isolated.has(to)) return;
    const held = this.heldInforms.get(to);
    if (held !== undefined && message.type === 'inform') {
      held.push({ from, message });
      return;
    }
    this.contained(() => target.peer.step(from, message));
    target.schedule();
  }

  /** @internal hold holds the INFORMs to member `id` (behind), or delivers the held ones in order and stops holding. */
  hold(id: number, holding: boolean): void {
    const held = this.heldInforms.get(id);
    if (holding) {
      if (held === undefined) this.heldInforms.set(id, []);
      return;
    }
    this.heldInforms.delete(id);
    const target = this.hostOf(id);
    if (held === undefined || target === undefined || !target.alive) return;
    for (const { from, message } of held) this.contained(() => target.peer.step(from, message));
    target.schedule();
  }

  /** @internal isBehind tells whether member `id` is held back. */
  isBehind(id: number): boolean {
    return this.heldInforms.has(id);
  }

  /** @internal cut breaks every link of `id` (a killed or isolated member). */
  cut(id: number): void {
    // What the broken links held is lost with them; a rejoin syncs it again.
    this.heldInforms.get(id)?.splice(0);
    for (const other of this.hosts()) if (other.id !== id) this.cutLink(id, other.id);
  }

  /** @internal cutLink breaks the link between two peers: each live end learns it, as from a mesh disconnect. */
  cutLink(a: number, b: number): void {
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const host = this.hostOf(self);
      if (host === undefined || !host.alive) continue;
      this.contained(() => host.peer.disconnected(other));
      host.schedule();
    }
  }

  /** @internal isolate cuts a member off from every peer (serving = false), or joins it again. */
  isolate(id: number, isolated: boolean): void {
    if (isolated === this.isolated.has(id)) return;
    if (isolated) {
      this.isolated.add(id);
      this.cut(id);
    } else this.isolated.delete(id);
  }

  /** @internal */
  bound(sessionId: SessionId, member: FakeMember, connection: ServerConnection): void {
    this.sessionConnections.set(sessionId, { member, connection });
  }

  /** @internal */
  unbound(sessionId: SessionId, connection: ServerConnection): void {
    if (this.sessionConnections.get(sessionId)?.connection === connection) this.sessionConnections.delete(sessionId);
  }

  /** @internal contained runs work on a peer; an error (a broken invariant, a bug) is kept for stop() to throw. */
  contained(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.fail(error);
    }
  }

  /** @internal */
  fail(error: unknown): void {
    this.failure ??= error;
    console.error('fake ensemble:', error);
  }

  private hostOf(id: number): PeerHost | undefined {
    if (id === LEADER_ID) return this.leader;
    return this.members[id - LEADER_ID - 1]?.host;
  }

  private hosts(): PeerHost[] {
    return [this.leader, ...this.members.map((member) => member.host)];
  }

  private tickAll(): void {
    const now = Date.now();
    for (const host of this.hosts()) {
      if (!host.alive) continue;
      this.contained(() => host.peer.tick(now));
      host.schedule();
    }
  }

  /** dropClientOutputs: the leader has no client port; the replies to expire()'s closeSession go nowhere. */
  private dropClientOutputs(outputs: readonly ClientOutput[]): void {
    for (const output of outputs) {
      if (output.type === 'sessionClosed') this.expiring.delete(output.sessionId);
    }
  }
}

/**
 * PeerHost runs one ZabPeer in memory with core's host loop (ReadyDriver), as the server's Member
 * does with disk and TCP: the driver sends the leader's PROPOSAL/COMMIT/INFORM, the host persists
 * the Ready to its MemoryStorage, then the driver sends the rest, delivers the client output and
 * advances the peer.
 */
export class PeerHost {
  readonly storage = new MemoryStorage();
  alive = false;
  private peerValue: ZabPeer | undefined;
  private driver: ReadyDriver | undefined;
  private pumping = false;
  private pumpScheduled = false;

  constructor(
    private readonly ensemble: FakeEnsemble,
    readonly id: number,
    private readonly deliver: (outputs: readonly ClientOutput[]) => void,
    private readonly afterAdvance: () => void = () => {},
  ) {}

  get peer(): ZabPeer {
    if (this.peerValue === undefined) throw new Error(`peer ${this.id} was never booted`);
    return this.peerValue;
  }

  /** boot starts the peer from what its storage holds (nothing at first; its log after a kill). */
  async boot(): Promise<void> {
    const recovered = await this.storage.load();
    const peer = new ZabPeer(this.ensemble.peerConfig(this.id), recovered);
    this.peerValue = peer;
    this.driver = new ReadyDriver(peer, {
      send: (messages) => {
        for (const outbound of messages) this.ensemble.send(this.id, outbound);
      },
      deliver: (outputs) => this.deliver(outputs),
      // The leader gave up on a stalled learner: drop the link both ways, as the mesh does.
      disconnect: (peers) => {
        for (const id of peers) this.ensemble.cutLink(this.id, id);
      },
    });
    this.alive = true;
    this.schedule();
  }

  /** schedule runs the host loop once the current work is done. */
  schedule(): void {
    if (this.pumpScheduled || !this.alive) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump().catch((error: unknown) => this.ensemble.fail(error));
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping || !this.alive) return;
    this.pumping = true;
    const peer = this.peer;
    const driver = this.driver as ReadyDriver;
    try {
      for (let ready = driver.begin(); ready !== null; ready = driver.begin()) {
        await this.persist(ready);
        // Killed during the persist: the process is gone, nothing after it happens.
        if (!this.alive || this.peerValue !== peer) return;
        driver.finish();
        this.afterAdvance();
      }
    } finally {
      this.pumping = false;
    }
  }

  private async persist(ready: Ready): Promise<void> {
    if (ready.truncateAfter !== null) await this.storage.truncateAfter(ready.truncateAfter);
    if (ready.snapshot !== null) await this.storage.saveSnapshot(ready.snapshot.header, ready.snapshot.records);
    if (ready.entries.length > 0) await this.storage.append(ready.entries);
    if (ready.epochs !== null) await this.storage.saveEpochs(ready.epochs);
  }
}

/**
 * FakeMember is one observer of a FakeEnsemble with its client port, serving sessions as the
 * server's Member does: it refuses a connect with NOT_SERVING while it has no leader and with
 * ZXID_AHEAD when the client has seen more than it applied; it creates a session through the
 * leader (submitCreateSession) and resumes one with its password anywhere it is live; a session
 * is bound to one connection at a time (a new one detaches and closes the old); pings touch it;
 * replies and watch events go to the session's connection, which closes when the session does.
 */
export class FakeMember {
  readonly id: number;
  readonly host: PeerHost;
  port = 0;
  /** holdReplies: queue replies (not watch events) until releaseReplies(). */
  holdReplies = false;
  /** pings counts the pings received. */
  pings = 0;
  readonly connects: ConnectRequest[] = [];
  private listener: ClientListener | undefined;
  private readonly connections = new Map<SessionId, ServerConnection>();
  private readonly pendingConnects = new Map<number, { connection: ServerConnection; password: Uint8Array }>();
  private readonly held: { connection: ServerConnection; reply: ReplyFrame }[] = [];
  private wasServing = false;

  constructor(
    private readonly ensemble: FakeEnsemble,
    readonly index: number,
  ) {
    this.id = LEADER_ID + 1 + index;
    this.host = new PeerHost(
      ensemble,
      this.id,
      (outputs) => this.deliver(outputs),
      () => this.afterAdvance(),
    );
  }

  /** serving: false cuts the member off from the leader (it stops serving and drops its clients); true joins it again. */
  get serving(): boolean {
    return this.host.alive && this.host.peer.isServing();
  }

  set serving(serving: boolean) {
    this.ensemble.isolate(this.id, !serving);
  }

  /**
   * behind: true holds the leader's INFORMs to this member (its pings still arrive): it keeps
   * serving but applies no new commit, so a client that saw a later zxid elsewhere is refused with
   * ZXID_AHEAD when it resumes here, by the server's own check. false delivers what was held: it
   * catches up.
   */
  get behind(): boolean {
    return this.ensemble.isBehind(this.id);
  }

  set behind(behind: boolean) {
    this.ensemble.hold(this.id, behind);
  }

  /** @internal */
  async listen(port: number): Promise<void> {
    this.listener = new ClientListener({
      host: '127.0.0.1',
      port,
      frameBytesMax: deriveLimits().clientFrameBytesMax,
      ...(this.ensemble.tls === undefined ? {} : { tls: this.ensemble.tls }),
      onConnect: (connection, request) => this.onConnect(connection, request),
    });
    const bound = await this.listener.listen();
    this.port = bound.port;
  }

  /** kill stops the member as a crashed process: port and connections closed, peer gone; its log survives. */
  async kill(): Promise<void> {
    if (!this.host.alive && this.listener === undefined) return;
    this.host.alive = false;
    this.ensemble.cut(this.id);
    const listener = this.listener;
    this.listener = undefined;
    this.dropConnections();
    this.held.length = 0;
    await listener?.close();
  }

  /**
   * restart recovers the member from its log and opens its client port at once, as the server
   * does (clients are refused NOT_SERVING until it has synced), and resolves once it serves.
   */
  async restart(): Promise<void> {
    await this.host.boot();
    this.wasServing = false;
    await this.openPort();
    await this.untilServing();
  }

  /**
   * recover recovers the member from its log and resolves once it serves, with its client port
   * still closed until {@link openPort}: a test can act on a member no client can reach yet.
   */
  async recover(): Promise<void> {
    await this.host.boot();
    this.wasServing = false;
    await this.untilServing();
  }

  /** openPort listens again on the member's port (after {@link recover}). */
  async openPort(): Promise<void> {
    if (this.listener === undefined) await this.listen(this.port);
  }

  private async untilServing(): Promise<void> {
    const deadline = Date.now() + REJOIN_MS_MAX;
    while (!this.host.peer.isServing()) {
      if (Date.now() > deadline) throw new Error(`member ${this.id} did not serve within ${REJOIN_MS_MAX} ms`);
      await new Promise((resolve) => setTimeout(resolve, this.ensemble.tickMs));
    }
  }

  /** dropConnections closes every client connection but keeps listening (a leader change does this). */
  dropConnections(): void {
    for (const connection of this.connections.values()) connection.close();
    for (const { connection } of this.pendingConnects.values()) connection.close();
  }

  releaseReplies(): void {
    this.holdReplies = false;
    for (const { connection, reply } of this.held.splice(0)) connection.send(reply);
  }

  private onConnect(connection: ServerConnection, request: ConnectRequest): void {
    this.connects.push(request);
    const peer = this.host.peer;
    const status = peer.status();
    if (!this.host.alive || !status.established) {
      connection.refuse('NOT_SERVING', `member ${this.id} has no leader: it is ${status.role}`);
      return;
    }
    if (request.lastZxidSeen > status.lastAppliedZxid) {
      connection.refuse('ZXID_AHEAD', `client saw ${request.lastZxidSeen}, member ${this.id} is behind`);
      return;
    }
    if (request.sessionId === 0) {
      let connectId = 0;
      // As the server does: a random password, replicated with the session (core's zab/sessions.ts).
      const password = new Uint8Array(randomBytes(SESSION_PASSWORD_BYTES));
      this.ensemble.contained(() => {
        connectId = peer.submitCreateSession(request.timeoutMs, password);
      });
      this.pendingConnects.set(connectId, { connection, password });
      connection.onClose(() => {
        if (this.pendingConnects.get(connectId)?.connection === connection) this.pendingConnects.delete(connectId);
      });
      this.host.schedule();
      return;
    }
    const timeoutMs = peer.resumableSession(request.sessionId, request.password);
    if (timeoutMs === undefined) {
      connection.refuse('SESSION_EXPIRED', `session 0x${request.sessionId.toString(16)} has expired`);
      return;
    }
    this.bind(connection, request.sessionId, timeoutMs, request.password);
  }

  private bind(connection: ServerConnection, sessionId: SessionId, timeoutMs: number, password: Uint8Array): void {
    const peer = this.host.peer;
    const previous = this.connections.get(sessionId);
    if (previous !== undefined && previous !== connection) {
      // The session moved to a new connection: the old one must not answer for it any more.
      this.ensemble.contained(() => peer.detachSession(sessionId));
      previous.close();
    }
    this.connections.set(sessionId, connection);
    this.ensemble.bound(sessionId, this, connection);
    connection.accept({ timeoutMs, sessionId, password, readOnly: false });
    connection.setIdleTimeout(timeoutMs);
    this.ensemble.contained(() => peer.touchSession(sessionId));
    // The connection's ids, as the server's member.ts keeps them.
    const auth = new ConnectionAuth(connection.remoteAddress, connection.clientCertificate, {
      digest: this.ensemble.superDigest,
    });
    connection.onMessage((message) => {
      if (!this.host.alive || this.host.peer !== peer) return;
      if (message.kind === 'ping') {
        this.pings++;
        this.ensemble.contained(() => peer.touchSession(sessionId));
        connection.send({ kind: 'pong' });
        return;
      }
      if (message.kind === 'addAuth') {
        this.ensemble.authFrames.push(message.scheme);
        const error = auth.add(message.scheme, message.credentials);
        const zxid = peer.status().lastAppliedZxid;
        connection.send({ kind: 'reply', xid: AUTH_XID, zxid, error, result: null });
        return;
      }
      this.ensemble.frames.push(message);
      const linearizable = message.linearizable === true;
      this.ensemble.contained(() =>
        peer.submit(sessionId, message.xid, message.request, { linearizable, auth: auth.ids }),
      );
      this.host.schedule();
    });
    connection.onClose(() => {
      this.ensemble.unbound(sessionId, connection);
      if (this.connections.get(sessionId) === connection) {
        this.connections.delete(sessionId);
        if (this.host.alive && this.host.peer === peer) this.ensemble.contained(() => peer.detachSession(sessionId));
      }
    });
  }

  private deliver(outputs: readonly ClientOutput[]): void {
    const closing: SessionId[] = [];
    for (const output of outputs) {
      switch (output.type) {
        case 'reply': {
          const { sessionId, xid, zxid, error, result } = output.reply;
          const connection = this.connections.get(sessionId);
          if (connection !== undefined) this.reply(connection, { kind: 'reply', xid, zxid, error, result });
          if (result?.op === 'closeSession' && error === null) closing.push(sessionId);
          break;
        }
        case 'event':
          this.connections.get(output.sessionId)?.send({ kind: 'watchEvent', xid: -1, event: output.event });
          break;
        case 'sessionCreated': {
          const pending = this.pendingConnects.get(output.connectId);
          if (pending === undefined) break;
          this.pendingConnects.delete(output.connectId);
          this.bind(pending.connection, output.sessionId, output.timeoutMs, pending.password);
          break;
        }
        case 'connectFailed': {
          const pending = this.pendingConnects.get(output.connectId);
          if (pending === undefined) break;
          this.pendingConnects.delete(output.connectId);
          pending.connection.refuse('NOT_SERVING', `member ${this.id} lost its leader while creating the session`);
          break;
        }
        case 'sessionClosed':
          closing.push(output.sessionId);
          break;
      }
    }
    // Close after the batch, so a closeSession's own reply goes out first.
    for (const sessionId of closing) {
      const connection = this.connections.get(sessionId);
      if (connection === undefined) continue;
      this.connections.delete(sessionId);
      connection.close();
    }
  }

  /** reply sends a reply (or holds it); one the codec cannot encode is answered MARSHALLING_ERROR, as the server does. */
  private reply(connection: ServerConnection, reply: ReplyFrame): void {
    if (this.holdReplies) {
      this.held.push({ connection, reply });
      return;
    }
    try {
      connection.send(reply);
    } catch (failure) {
      if (!CodecError.isInstance(failure)) throw failure;
      connection.send({ ...reply, error: 'MARSHALLING_ERROR', result: null });
    }
  }

  /** afterAdvance: a member that stops serving closes its client connections (ZooKeeper does too); clients move on. */
  private afterAdvance(): void {
    const serving = this.host.peer.isServing();
    if (!serving && this.wasServing) this.dropConnections();
    this.wasServing = serving;
  }
}
