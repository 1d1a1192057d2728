import {
  formatZxid,
  type LogEntry,
  makeZxid,
  type ReadyDriver,
  ReconfigError,
  type ZabPeer,
  zxidEpoch,
} from '@zabkit/core';
import { ACKED_WRITE_INVARIANT } from './acked-write-checker.js';
import { ACL_WRITE_INVARIANT } from './acl-checker.js';
import { SimFaults } from './faults.js';
import { LEADER_INVARIANT } from './leader-checker.js';
import { livenessBoundMs, SIM_TIMEOUTS } from './liveness.js';
import { drawReconfig, MEMBERSHIP_INVARIANT, simConfigOf } from './membership.js';
import { type SimResult, SimViolation } from './options.js';
import { checkAppliedOrder, ORDER_INVARIANT } from './order-checker.js';
import { checkEntryNotFromOutsider, checkTreeNotFromOutsider, OUTSIDER_INVARIANT } from './outsider-checker.js';
import { PREFIX_INVARIANT } from './prefix-checker.js';
import { COMMIT_QUORUM_INVARIANT, checkCommitQuorum } from './quorum-checker.js';
import { checkReplicasIdentical, REPLICA_INVARIANT } from './replica-checker.js';
import {
  BREAK_NOTICE_MS_MAX,
  bytes,
  CLIENT_TIMEOUT_MS,
  CONNECT_NOTICE_MS_MAX,
  linkKey,
  type SimClient,
  type SimEvent,
  type SimServer,
  TICK_MS,
} from './world.js';

/**
 * SimEventLoop runs the virtual clock: it pops events in time order, lets the members' storage
 * settle between them (host.ts), and runs a seed through its safety and liveness phases, checking
 * the invariants on each step.
 */
export abstract class SimEventLoop extends SimFaults {
  /**
   * run drives the safety phase (faults), then heals everything and requires liveness: an
   * established leader with a quorum, every pending request answered, and a fresh write committed,
   * within the liveness bound. Throws {@link SimViolation} on any broken invariant.
   */
  async run(): Promise<SimResult> {
    const safetyMs = this.options.safetyMs ?? 20_000;
    this.queue.push(this.nextFaultDelay(), { kind: 'fault' });
    if (this.options.membership) this.queue.push(this.nextReconfigDelay(), { kind: 'reconfig' });
    await this.runUntil(safetyMs);
    this.healAll();
    // Liveness: once the last pause has run out the heal watch wants a leader with a quorum serving
    // within the bound; then a fresh write must commit and every client request be answered, which
    // may take a client timeout more (a request sent to a member that lost its leader).
    const settleMs = this.options.livenessMs ?? 3 * CLIENT_TIMEOUT_MS;
    const startedAt = this.now;
    let probe: { client: SimClient; xid: number } | null = null;
    for (;;) {
      await this.runUntil(this.now + 50);
      const healedAt = this.liveness.healedAt ?? startedAt;
      const deadline = Math.max(startedAt, healedAt) + this.livenessBoundMs() + settleMs;
      if (this.now > deadline) {
        const status = this.servers.map((s) => (s.peer ? this.describe(s) : `${s.id}:down`)).join(' ');
        const pending = this.clients.reduce((n, c) => n + c.pending.size, 0);
        this.violation(
          'liveness',
          `${probe ? 'the probe write or ' : ''}${pending} pending client requests not answered within ${deadline - healedAt} ms of the last heal at ${healedAt} ms (${status})`,
        );
      }
      if (!this.quiet() || !this.leaderServing()) continue;
      if (!probe) {
        const client = this.clients.find((c) => c.sessionId !== null && c.server !== null);
        if (client)
          probe = { client, xid: this.issue(client, { op: 'setData', path: '/', data: bytes('probe'), version: -1 }) };
        continue;
      }
      const answered = this.checker.find(probe.client.id, probe.xid);
      if (answered && answered.complete !== null && answered.ok) {
        if (this.clients.every((c) => c.pending.size === 0)) break;
      } else if (answered && answered.complete !== null) {
        probe = null;
      }
    }
    await this.checkConvergence();
    const violation = this.checker.verify(this.committedView()) ?? this.aclChecker.verify(this.checker.operations());
    if (violation) this.violation(violation.invariant, violation.detail);
    return {
      seed: this.seed,
      faults: this.faults,
      workload: this.workload.mix,
      committed: this.prefixChecker.committed,
      committedBytes: this.prefixChecker.committedBytes,
      operations: this.checker.count,
      elections: this.elections,
      crashes: this.crashes,
      heals: this.liveness.heals,
      recoveryMsMax: this.liveness.recoveryMsMax,
      recoveryRatioMax: this.liveness.recoveryRatioMax,
      livenessBoundMs: this.livenessBoundMs(),
      peerFrameBytesMax: this.peerFrameBytesSeen,
      sendQueueBytesPeak: this.sendQueues.peakBytes,
      sendQueueBreaks: this.sendQueueBreaks,
      marshallingErrors: this.marshallingErrors,
      leaderFollowsNotices: this.leaderFollowsNotices,
      syncs: { ...this.syncs },
      leaderPartitions: this.episodes.stats.leaderPartitions,
      longDowns: this.episodes.stats.longDowns,
      aclRefusals: this.aclChecker.refusals,
      invalidAcls: this.aclChecker.invalid,
      aclChanges: this.aclChecker.aclChanges,
      outsiderMessages: this.outsider.total,
      wipes: this.episodes.stats.wipes,
      stalls: this.episodes.stats.stalls,
      reconfigs: this.reconfigStats,
      timeMs: this.now,
    };
  }

  /**
   * livenessBoundMs is this seed's bound (liveness.ts): from the last heal to a leader with a quorum
   * serving, given its latency, fsync time and the bytes a sync may have to stream.
   */
  livenessBoundMs(): number {
    // With membership changes one more election may fail after a heal: a member that missed the
    // change that made it a voter cannot decide, only echo votes, and a leader elected on such an
    // echo can be left waiting out initLimit for followers that chose another (README: the known
    // limit; ZooKeeper's notifications carry the whole configuration, zabkit's only its version).
    const membershipAllowanceMs = this.options.membership
      ? (SIM_TIMEOUTS.initLimitTicks + SIM_TIMEOUTS.electionTimeoutTicks) * SIM_TIMEOUTS.tickMs
      : 0;
    return (
      membershipAllowanceMs +
      livenessBoundMs(
        SIM_TIMEOUTS,
        {
          delayMsMax: this.faults.delayMsMax,
          fsyncMsMax: this.faults.fsyncMsMax,
          breakNoticeMsMax: BREAK_NOTICE_MS_MAX,
        },
        this.limits,
        this.prefixChecker.committedBytes,
      )
    );
  }

  /** nowMs is the virtual time. */
  nowMs(): number {
    return this.now;
  }

  /** stats: what the network measured so far (the largest peer frame, the fullest send queue). */
  stats(): Pick<SimResult, 'peerFrameBytesMax' | 'sendQueueBytesPeak' | 'sendQueueBreaks' | 'marshallingErrors'> {
    return {
      peerFrameBytesMax: this.peerFrameBytesSeen,
      sendQueueBytesPeak: this.sendQueues.peakBytes,
      sendQueueBreaks: this.sendQueueBreaks,
      marshallingErrors: this.marshallingErrors,
    };
  }

  /**
   * leaderServing: an established leader with a quorum of voters serving under it (the voters of
   * the last committed configuration: the static ones without membership changes).
   */
  leaderServing(): boolean {
    const leader = this.establishedLeader();
    if (!leader) return false;
    const voters = this.timeline.latest().voters;
    let serving = 0;
    for (const id of voters) {
      const peer = this.server(id).peer;
      if (peer?.isServing() && peer.status().leader === leader.id) serving++;
    }
    return serving >= Math.floor(voters.length / 2) + 1;
  }

  /** nextReconfigDelay: membership changes come at the seed's rate, drawn from their own stream. */
  private reconfigPerSecond = 0;
  protected nextReconfigDelay(): number {
    if (this.reconfigPerSecond === 0) this.reconfigPerSecond = [0.3, 1, 3][this.membershipRandom.int(3)] as number;
    return Math.max(1, Math.floor((-Math.log(1 - this.membershipRandom.next()) / this.reconfigPerSecond) * 1_000));
  }

  /**
   * proposeChange asks the established leader for a change drawn from its configuration
   * (membership.ts): refusals are expected (a change in flight, a new quorum not synced) and counted.
   */
  protected proposeChange(): void {
    // An episode's check is about it alone (and its victim must stay a member to serve again).
    if (this.episodes.isActive()) return;
    const leader = this.establishedLeader();
    if (!leader?.peer || this.now < leader.pausedUntil || leader.held.length > 0) return;
    const status = leader.peer.status();
    const current = simConfigOf(status.config);
    const nodes = this.options.nodes;
    const draw = drawReconfig(
      this.membershipRandom,
      current,
      this.servers.map((s) => s.id),
      leader.id,
      nodes === 1 ? 1 : 2,
      Math.min(nodes + 2, 7),
    );
    if (draw === null) return;
    // While a change is pending the leader refuses (RECONFIG_IN_PROGRESS): no operator step then.
    for (const added of status.configCommitted ? draw.added.filter((id) => id !== leader.id) : []) {
      // An operator starts the new member with the ensemble's current configuration, on an empty
      // data directory (a member removed earlier is rebuilt, as its old data would be discarded).
      const spare = this.server(added);
      // One that crashed and awaits its restart is left alone (its restart event is queued).
      if (!spare.peer && !spare.dormant) return;
      if (spare.peer) this.crash(spare, false);
      if (spare.peer || spare.loading) return;
      spare.configured = { voters: current.voters, observers: current.observers, version: current.version };
      spare.dormant = false;
      this.log(`operator starts ${added} afresh with the current configuration`);
      this.restartNow(added, { wipe: true });
    }
    // One time in eight the version is stale: refused BAD_VERSION (ZooKeeper's fromConfig check).
    const stale = this.membershipRandom.int(8) === 0 && current.version > 0;
    const fromVersion = stale ? current.version - 1 : current.version;
    this.reconfigStats.proposed++;
    try {
      const zxid = leader.peer.proposeReconfig({ members: draw.members, fromVersion });
      this.log(`reconfig: leader ${leader.id} proposes ${draw.what} at ${formatZxid(zxid)}`);
    } catch (error) {
      if (!(error instanceof ReconfigError)) throw error;
      this.reconfigStats.refused[error.code] = (this.reconfigStats.refused[error.code] ?? 0) + 1;
      if (stale && error.code !== 'BAD_VERSION' && error.code !== 'RECONFIG_IN_PROGRESS') {
        this.violation(
          MEMBERSHIP_INVARIANT,
          `a change from a stale version was refused ${error.code}, not BAD_VERSION`,
        );
      }
      this.log(`reconfig: leader ${leader.id} refuses ${draw.what}: ${error.message}`);
      return;
    }
    if (stale) this.violation(MEMBERSHIP_INVARIANT, `leader ${leader.id} took a change from a stale version`);
    this.observeStatus(leader);
    this.pump(leader);
  }

  /** quiet: no fault in force: no partition or slow link, every member up, none paused, every break noticed. */
  quiet(): boolean {
    if (this.blocked.size > 0 || this.slowLinks.size > 0 || this.now < this.breakNoticeUntil) return false;
    for (const server of this.servers) {
      if (server.dormant) continue;
      if (!server.peer || this.now < server.pausedUntil || server.held.length > 0) return false;
    }
    return true;
  }

  /** runUntil processes events until virtual time `until`. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      if (this.pendingDrain || this.completions.length > 0) await this.settle();
      const time = this.queue.peekTime();
      if (time === undefined || time > until) break;
      const next = this.queue.pop() as { time: number; value: SimEvent };
      this.now = next.time;
      this.handle(next.value);
      const kind = next.value.kind;
      if (kind === 'heal' || kind === 'restart' || kind === 'unpause' || kind === 'notifyBreak') this.noteHeal();
    }
    this.now = Math.max(this.now, until);
  }

  /** establishedLeader is the server currently established as leader with the highest epoch, if any. */
  establishedLeader(): SimServer | undefined {
    let best: SimServer | undefined;
    for (const server of this.servers) {
      const status = server.peer?.status();
      if (
        status?.role === 'leading' &&
        status.established &&
        (!best || status.epoch > (best.peer?.status().epoch ?? 0))
      ) {
        best = server;
      }
    }
    return best;
  }

  protected handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        server.peer.tick(this.now);
        this.observeStatus(server);
        this.pump(server);
        this.queue.push(this.now + TICK_MS, event);
        return;
      }
      case 'deliver': {
        const server = this.server(event.to);
        const key = linkKey(event.from, event.to);
        const current = (this.generations.get(key) ?? 0) === event.generation;
        if (!server.peer || (!current && !this.staleGenerations.has(`${key}#${event.generation}`))) {
          this.sendQueues.release(event.from, event.to, event.generation, event.bytes);
          return;
        }
        // A paused process takes nothing in: what reaches it stays queued on the connection.
        if (this.hold(server, event)) return;
        this.sendQueues.release(event.from, event.to, event.generation, event.bytes);
        // A socket reports its close before a new connection from the same peer delivers anything.
        const directed = `${event.from}>${event.to}`;
        if (event.generation > (this.notified.get(directed) ?? 0)) {
          this.notified.set(directed, event.generation);
          server.peer.disconnected(event.from);
          // ... and the new connection is up (the real mesh reports it before its first message).
          server.peer.connected(event.from);
          this.connectAnnounced.set(directed, event.generation);
        }
        if (event.message.type === 'notification' && event.message.state === 'FOLLOWING') {
          const status = server.peer.status();
          if (status.role !== 'looking' && status.role !== 'leading' && status.leader === event.from) {
            this.leaderFollowsNotices++;
          }
        }
        server.peer.step(event.from, event.message);
        this.observeStatus(server);
        this.pump(server);
        return;
      }
      case 'persisted': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        // The rest of the messages (checked against the durable state as they leave), advance.
        (server.driver as ReadyDriver).finish();
        this.observeStatus(server);
        this.pump(server);
        return;
      }
      case 'clients': {
        const server = this.server(event.server);
        if (server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        server.clientsScheduled = false;
        if (server.driver?.busy) server.driver.deliverClients();
        else if (server.peer) this.pump(server);
        return;
      }
      case 'logRead': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        if (event.entries !== null) this.syncs.diskReads++;
        server.peer.logRead(event.read, event.entries);
        this.observeStatus(server);
        this.pump(server);
        return;
      }
      case 'notifyBreak': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        const directed = `${event.peer}>${event.server}`;
        const generation = this.generations.get(linkKey(event.peer, event.server)) ?? 0;
        if (generation <= (this.notified.get(directed) ?? 0)) return;
        this.notified.set(directed, generation);
        server.peer.disconnected(event.peer);
        this.pump(server);
        return;
      }
      case 'notifyConnect': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        // Broken again, or cut off, since it was announced: that break's notice comes instead.
        if ((this.generations.get(linkKey(event.server, event.peer)) ?? 0) !== event.generation) return;
        if (this.linkBlocked(event.server, event.peer)) return;
        if (!this.server(event.peer).peer) return;
        if (this.hold(server, event)) return;
        server.peer.connected(event.peer);
        this.pump(server);
        return;
      }
      case 'fsync': {
        // The disk is not paused with the process: the fsync completes; the host sees it when it runs.
        if (this.server(event.server).incarnation !== event.incarnation) return;
        this.running++;
        this.pendingDrain = true;
        event.release();
        return;
      }
      case 'restart': {
        const server = this.server(event.server);
        if (!server.peer) this.start(server);
        return;
      }
      case 'unpause': {
        const server = this.server(event.server);
        if (this.now < server.pausedUntil) return;
        // The process resumes: what reached it meanwhile is handled in arrival order.
        const held = server.held;
        server.held = [];
        for (const waiting of held) this.handle(waiting);
        if (server.peer) this.pump(server);
        return;
      }
      case 'fault':
        if (!this.faultsOn) return;
        this.injectFault();
        this.queue.push(this.now + this.nextFaultDelay(), { kind: 'fault' });
        return;
      case 'heal':
        // Partitions overlap and the first heal ends them all; one of an older era has nothing left.
        if (event.era === this.partitionEra) this.blocked.clear();
        return;
      case 'client':
        this.stepClient(this.clients[event.client] as SimClient);
        return;
      case 'clientTimeout': {
        const client = this.clients[event.client] as SimClient;
        if (client.generation !== event.generation || !client.pending.has(event.xid)) return;
        this.log(`client ${client.id} timed out on xid ${event.xid} at server ${client.server}`);
        this.disconnectClient(client);
        return;
      }
      case 'livenessCheck':
        this.liveness.check(event.token);
        return;
      case 'episode':
        event.action();
        return;
      case 'reconfig':
        if (!this.faultsOn) return;
        this.proposeChange();
        this.queue.push(this.now + this.nextReconfigDelay(), event);
        return;
      case 'outsider':
        this.outsiderSends();
        this.queue.push(this.now + this.nextOutsiderDelay(), event);
        return;
      case 'outsiderDeliver': {
        // The member's transport takes the message in like any other; its configuration must refuse it.
        const server = this.server(event.to);
        if (!server.peer || this.hold(server, event)) return;
        server.peer.step(this.outsider.id, event.message);
        this.observeStatus(server);
        this.pump(server);
        return;
      }
    }
  }

  /**
   * noteHeal is called when a fault may have ended: once nothing is in force any more, the
   * liveness watch arms (liveness.ts).
   */
  protected noteHeal(): void {
    this.announceConnections();
    if (this.options.livenessWatch !== false) this.liveness.noteHeal();
  }

  /**
   * announceConnections tells each running server, a moment later, of each connection to a running
   * peer that is up again — not blocked by a partition, its break already noticed at that end, not
   * yet announced: what a transport reports once its redial succeeds (PeerMesh.onPeerUp, which the
   * server turns into ZabPeer.connected). Called wherever a connection may come back: a heal, a
   * restart, a noticed break, the start.
   */
  private announceConnections(): void {
    for (const server of this.servers) {
      if (!server.peer) continue;
      for (const other of this.servers) {
        if (other === server || !other.peer) continue;
        if (this.linkBlocked(server.id, other.id)) continue;
        const directed = `${other.id}>${server.id}`;
        const generation = this.generations.get(linkKey(server.id, other.id)) ?? 0;
        // Its break notice comes first (a socket reports its close before a new connection is up).
        if ((this.notified.get(directed) ?? 0) < generation) continue;
        if ((this.connectAnnounced.get(directed) ?? -1) >= generation) continue;
        this.connectAnnounced.set(directed, generation);
        this.queue.push(this.now + 1 + this.prng.int(CONNECT_NOTICE_MS_MAX), {
          kind: 'notifyConnect',
          server: server.id,
          incarnation: server.incarnation,
          peer: other.id,
          generation,
        });
      }
    }
  }

  /**
   * orphanBoundMs is how long a learner may keep following a member that gave up on it: the
   * LOOKING notification it sent when it stopped leading (re-sent every election timeout), or the
   * FOLLOWING one when it decided for another, must reach the learner, which then looks too.
   */
  orphanBoundMs(): number {
    return SIM_TIMEOUTS.electionTimeoutTicks * TICK_MS + this.faults.delayMsMax + this.faults.fsyncMsMax + 2 * TICK_MS;
  }

  protected observeApplied(server: SimServer, applied: LogEntry[]): void {
    for (const entry of applied) {
      const order = checkAppliedOrder(server.id, server.lastApplied, entry.zxid);
      if (order !== null) this.violation(ORDER_INVARIANT, order);
      const prefix = this.prefixChecker.observe(server.id, server.lastApplied, entry, (first) => {
        this.checker.observeCommitted(first);
        if (first.txn.type === 'reconfig') {
          this.timeline.observeCommitted(first);
          this.reconfigStats.committed++;
          this.log(
            `reconfig ${formatZxid(first.zxid)} committed: ${first.txn.members.map((m) => `${m.id}:${m.role}`).join(',')}`,
          );
          this.noteConfigs();
        }
        const outsider = checkEntryNotFromOutsider(first);
        if (outsider !== null) this.violation(OUTSIDER_INVARIANT, outsider);
        const acl = this.aclChecker.observeCommitted(first);
        if (acl !== null) this.violation(ACL_WRITE_INVARIANT, acl);
      });
      if (prefix !== null) this.violation(PREFIX_INVARIANT, prefix);
      server.lastApplied = entry.zxid;
    }
  }

  protected observeStatus(server: SimServer): void {
    const status = (server.peer as ZabPeer).status();
    this.liveness.observe(server.id, status);
    if (status.leader === this.outsider.id) {
      this.violation(
        OUTSIDER_INVARIANT,
        `server ${server.id} (${status.role}) takes the outsider ${this.outsider.id} for its leader`,
      );
    }
    const checked = this.commitChecked.get(server.id);
    if (
      status.role === 'leading' &&
      (checked === undefined || checked.epoch !== status.epoch || checked.zxid !== status.committedZxid)
    ) {
      // The commit point moved from `from` (in this epoch: everything above the epoch's start is new).
      const from = checked !== undefined && checked.epoch === status.epoch ? checked.zxid : makeZxid(status.epoch, 0);
      this.commitChecked.set(server.id, { epoch: status.epoch, zxid: status.committedZxid });
      if (zxidEpoch(status.committedZxid) === status.epoch && this.options.commitQuorumCheck !== false) {
        const required = this.timeline.requiredForCommit(
          (server.peer as ZabPeer).history(),
          Math.min(from, status.committedZxid),
          status.committedZxid,
        );
        for (const { zxid, config } of required) {
          const short = checkCommitQuorum(
            server.id,
            status.epoch,
            zxid,
            config.voters.map((id) => ({ id, durable: this.server(id).storage.durableState() })),
          );
          if (short !== null) {
            this.violation(COMMIT_QUORUM_INVARIANT, `${short} (configuration ${formatZxid(config.version)})`);
          }
        }
      }
    }
    if (this.options.membership) this.checkMembership(server, status);
    const shape = `${status.role}/${status.phase}/e${status.epoch}`;
    if (shape !== server.lastShape) {
      this.log(
        `${server.id}: ${server.lastShape} -> ${shape} (logged ${formatZxid(status.lastLoggedZxid)}, accepted ${status.acceptedEpoch}, current ${status.currentEpoch})`,
      );
      server.lastShape = shape;
    }
    if (status.role === 'leading' && status.established && !server.wasEstablished) {
      server.wasEstablished = true;
      this.elections++;
      this.log(`leader ${server.id} established in epoch ${status.epoch} at ${formatZxid(status.lastLoggedZxid)}`);
      const twoLeaders = this.leaderChecker.established(server.id, status.epoch);
      if (twoLeaders !== null) this.violation(LEADER_INVARIANT, twoLeaders);
      const peer = server.peer as ZabPeer;
      const lost = this.ackedWriteChecker.established(server.id, status.epoch, (zxid) => peer.hasLogged(zxid));
      if (lost !== null) this.violation(ACKED_WRITE_INVARIANT, lost);
      if (this.options.membership) {
        const wrong = this.timeline.checkEstablished(server.id, status.epoch, status.config, status.role);
        if (wrong !== null) this.violation(MEMBERSHIP_INVARIANT, wrong);
      }
    }
    if (!(status.role === 'leading' && status.established)) server.wasEstablished = false;
  }

  /** configSeen: per server, the configuration version last checked (checkMembership runs on a change only). */
  private readonly configSeen = new Map<number, number>();

  /** checkMembership: a version names one member list everywhere; liveVoterIds follows what members logged. */
  private checkMembership(server: SimServer, status: ReturnType<ZabPeer['status']>): void {
    if (this.configSeen.get(server.id) === status.config.version) return;
    this.configSeen.set(server.id, status.config.version);
    const wrong = this.timeline.noteLogged(server.id, status.config);
    if (wrong !== null) this.violation(MEMBERSHIP_INVARIANT, wrong);
    this.noteConfigs();
  }

  protected async checkConvergence(): Promise<void> {
    // Let the healed ensemble settle, then caught-up members must hold identical trees.
    await this.runUntil(this.now + 3_000);
    const different = checkReplicasIdentical(this.servers);
    if (different !== null) this.violation(REPLICA_INVARIANT, different);
    for (const server of this.servers) {
      if (!server.peer?.isServing()) continue;
      const outsider = checkTreeNotFromOutsider(server.id, server.peer.snapshot().records);
      if (outsider !== null) this.violation(OUTSIDER_INVARIANT, outsider);
    }
  }
}
