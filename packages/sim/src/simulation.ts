import {
  type AuthId,
  type ClientOutput,
  type Reply,
  type Request,
  type SessionId,
  seededPassword,
  type ZabPeer,
} from '@zabkit/core';
import { ACL_READ_INVARIANT, ACL_WRITE_INVARIANT } from './acl-checker.js';
import { SimEventLoop } from './event-loop.js';
import type { DurableView } from './member-storage.js';
import type { SimOptions } from './options.js';
import { SESSION_TIMEOUT_MS } from './world.js';

export type { FaultMix, SimOptions, SimResult } from './options.js';
export { SimViolation } from './options.js';

/**
 * Simulation runs a whole ensemble of {@link ZabPeer}s in one process on a seeded virtual clock,
 * network and disk, with a client workload, and checks DESIGN.md's invariants as it goes. The seed
 * decides everything: run it again and the same events happen in the same order.
 */
export class Simulation extends SimEventLoop {
  /** scriptedRequests: what each scripted xid asked, with which ids (its reply is checked against the ACLs). */
  private readonly scriptedRequests = new Map<number, { request: Request; auth: readonly AuthId[] }>();

  constructor(options: SimOptions) {
    super(options);
    for (const server of this.servers) server.storage = this.memberStorage(server);
    for (const server of this.servers) if (!server.dormant) this.start(server);
    for (let i = 0; i < (options.clients ?? 4); i++) {
      this.clients.push({
        id: i,
        sessionId: null,
        password: new Uint8Array(0),
        server: null,
        connectId: null,
        nextXid: 1,
        pending: new Map(),
        generation: 0,
        lastZxidSeen: 0,
        auth: [],
        ephemerals: [],
        bulk: [],
      });
      this.queue.push(100 + i * 7, { kind: 'client', client: i });
    }
    this.startOutsider();
    // Starting is the first heal: the ensemble must elect within the bound from nothing too.
    this.noteHeal();
  }

  // Scripted control, for scenario tests.

  /** peerOf gives a running server's peer (throws if it is down). */
  peerOf(id: number): ZabPeer {
    const peer = this.server(id).peer;
    if (!peer) throw new Error(`server ${id} is down`);
    return peer;
  }

  /** isUp tells whether a server is running. */
  isUp(id: number): boolean {
    return this.server(id).peer !== null;
  }

  /**
   * durableOf is what a server's storage has confirmed durable (each persist step counted once it
   * resolved); right after a restart, what its recovery found.
   */
  durableOf(id: number): DurableView {
    return this.server(id).storage.durableState();
  }

  /** kill crashes a server now (kill -9): its unsynced writes are lost or torn. */
  kill(id: number): void {
    this.crash(this.server(id), false);
  }

  /**
   * restart starts a crashed server from its disk (FileStorage's recovery; no virtual time passes);
   * `wipe` first empties the disk (a replaced machine).
   */
  async restart(id: number, options: { wipe?: boolean } = {}): Promise<void> {
    this.restartNow(id, options);
    await this.settle();
  }

  /** stopFaults ends random faults and workload-driven crashes (scenarios drive faults themselves). */
  stopFaults(): void {
    this.faultsOn = false;
  }

  /** waitFor runs until `predicate` holds, or throws after `maxMs` of virtual time. */
  async waitFor(what: string, predicate: () => boolean, maxMs = 20_000): Promise<void> {
    const deadline = this.now + maxMs;
    while (!predicate()) {
      if (this.now >= deadline) this.violation('scenario', `timed out waiting for: ${what}`);
      await this.runUntil(this.now + 10);
    }
  }

  /** leaderId is the id of the established leader of the highest epoch, or null. */
  leaderId(): number | null {
    return this.establishedLeader()?.id ?? null;
  }

  /** openSession creates a session through server `id` and returns its id. */
  async openSession(id: number, timeoutMs = SESSION_TIMEOUT_MS): Promise<SessionId> {
    const server = this.server(id);
    const connectId = this.peerOf(id).submitCreateSession(timeoutMs, seededPassword(this.passwords));
    this.pump(server);
    await this.waitFor(`session via ${id}`, () => this.scripted.has(`c${id}:${connectId}`));
    const output = this.scripted.get(`c${id}:${connectId}`) as ClientOutput;
    if (output.type !== 'sessionCreated') throw new Error(`session via ${id} failed: ${JSON.stringify(output)}`);
    return output.sessionId;
  }

  /**
   * request submits a request of a session through server `id`, from a connection holding `auth`
   * (none: only world ACLs match), and runs until it is answered; the answer is held to the ACLs.
   */
  async request(
    id: number,
    sessionId: SessionId,
    request: Request,
    options: { linearizable?: boolean; auth?: readonly AuthId[] } = {},
  ): Promise<Reply> {
    const xid = this.submitOnly(id, sessionId, request, options);
    const reply = await this.awaitReply(id, sessionId, xid);
    if (reply.error === null && ['create', 'delete', 'setData', 'setACL', 'multi'].includes(request.op)) {
      this.ackedWriteChecker.acknowledged(reply.zxid);
    }
    return reply;
  }

  /** awaitReply runs until the request `xid` submitted through server `id` is answered, and returns the reply. */
  async awaitReply(id: number, sessionId: SessionId, xid: number): Promise<Reply> {
    await this.waitFor(`reply to xid ${xid} via ${id}`, () => this.scripted.has(`r${id}:${sessionId}:${xid}`));
    const reply = (this.scripted.get(`r${id}:${sessionId}:${xid}`) as Extract<ClientOutput, { type: 'reply' }>).reply;
    const sent = this.scriptedRequests.get(xid);
    if (sent && reply.error !== 'CONNECTION_LOSS' && reply.error !== 'SESSION_EXPIRED') {
      const write = this.aclChecker.checkWriteReply({ ...reply, request: sent.request });
      if (write !== null) this.violation(ACL_WRITE_INVARIANT, `scripted ${write}`);
      const read = this.aclChecker.checkRead({ ...reply, ...sent });
      if (read !== null) this.violation(ACL_READ_INVARIANT, `scripted session ${sessionId} xid ${xid}: ${read}`);
    }
    return reply;
  }

  /** submitOnly submits a request without waiting (its reply may never come), from a connection holding `auth`. */
  submitOnly(
    id: number,
    sessionId: SessionId,
    request: Request,
    options: { linearizable?: boolean; auth?: readonly AuthId[] } = {},
  ): number {
    const xid = this.nextScriptXid++;
    const auth = options.auth ?? [];
    this.scriptedRequests.set(xid, { request, auth });
    this.aclChecker.sent(sessionId, xid, request, auth);
    this.peerOf(id).submit(sessionId, xid, request, options);
    this.pump(this.server(id));
    return xid;
  }

  /**
   * reconfig asks the established leader for the member list `voters` + `observers` (a scripted
   * membership change); returns the reconfig's zxid, or throws the leader's ReconfigError.
   */
  reconfig(voters: readonly number[], observers: readonly number[] = []): number {
    const leader = this.establishedLeader();
    if (!leader?.peer) throw new Error('no established leader to ask');
    const members = [
      ...voters.map((id) => ({
        id,
        role: 'participant' as const,
        address: `sim-${id}`,
        clientAddress: '',
        endpoints: '',
      })),
      ...observers.map((id) => ({
        id,
        role: 'observer' as const,
        address: `sim-${id}`,
        clientAddress: '',
        endpoints: '',
      })),
    ];
    const zxid = leader.peer.proposeReconfig({ members, fromVersion: -1 });
    this.log(`reconfig: scripted ${voters.join(',')} | ${observers.join(',')} at ${zxid.toString(16)}`);
    this.pump(leader);
    return zxid;
  }

  /** outsiderSent: the messages the outsider forged so far, by type. */
  outsiderSent(): ReadonlyMap<string, number> {
    return this.outsider.sent;
  }

  /** assertReplicasIdentical checks that every serving member that applied the same zxid holds the same tree. */
  async assertReplicasIdentical(): Promise<void> {
    await this.checkConvergence();
  }
}
