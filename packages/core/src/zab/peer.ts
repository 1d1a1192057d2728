import { deriveLimits, type Limits } from '../limits.js';
import type { Random } from '../prng.js';
import type { RecoveredState } from '../storage.js';
import { NO_AUTH_IDS, SUPER_SCHEME } from '../tree/acl.js';
import type {
  AuthId,
  ClusterConfig,
  ErrorCode,
  LogEntry,
  Reply,
  Request,
  SessionId,
  SnapshotRecord,
} from '../types.js';
import { formatZxid, type Zxid } from '../zxid.js';
import { ClientRequests } from './client-requests.js';
import type { PeerContext, PeerSettings, Phase, UnsafeMembershipRule } from './context.js';
import { Election, totalOrder } from './election.js';
import { History } from './history.js';
import { assert, ZabInvariantError } from './invariant.js';
import { Leader } from './leader.js';
import { Learner } from './learner.js';
import type { ReplicatedMachine } from './machine.js';
import {
  isMemberIn,
  isVoterIn,
  membersOf,
  type ReconfigChange,
  ReconfigError,
  restoreMachine,
  staticConfig,
  withConfigRecord,
} from './membership.js';
import type { CreateSessionRequest, PeerMessage } from './messages.js';
import {
  type ClientOutput,
  type EarlyClientOutputs,
  type LogRead,
  type Outbound,
  Outbox,
  type Ready,
} from './outbox.js';
import { samePassword } from './sessions.js';

const NO_PASSWORD = new Uint8Array(0);

export type { ClientOutput, EarlyClientOutputs, LogRead, Outbound, Ready };
export { totalOrder, ZabInvariantError };

/** DIRECT_AUTH: readDirect reads as the super user. */
const DIRECT_AUTH: readonly AuthId[] = Object.freeze([{ scheme: SUPER_SCHEME, id: '' }]);
/** PeerConfig configures one member. Every duration is in ticks; the host decides how long a tick is. */
export interface PeerConfig {
  /** id is this server's id, unique in the ensemble. */
  id: number;
  /**
   * voters are the ids of the voting members (this one included if it votes): the static
   * configuration (version 0). Once the log or snapshot holds a reconfig, that is in force instead
   * (README "Membership changes"). A server in neither list is a spare: it votes for no one and
   * joins once a change names it.
   */
  voters: readonly number[];
  /** observers are the ids of non-voting members. */
  observers?: readonly number[];
  /**
   * joinVersion: for a member started afresh to join a running ensemble (a spare, or one rebuilt on
   * an empty disk), the version of the configuration it was given (`voters`/`observers` as of that
   * version). It joins a leader out of the election on a newer configuration only if that is newer
   * than this too: a leader of an older configuration (a stale one, cut off since) may still count
   * a reused id as a voter, and a member with an empty disk has forgotten the epochs it promised
   * under that id (sim seed 504). Default 0: no version given.
   */
  joinVersion?: Zxid;
  /** unsafeMembershipRule: only for the simulator's test that a wrong rule is caught (context.ts). */
  unsafeMembershipRule?: UnsafeMembershipRule;
  /**
   * reconfigRefusal: asked by a leader before it proposes a membership change; a reason refuses the
   * change with RECONFIG_DISABLED (the server refuses while a member it is connected to speaks a
   * peer protocol without membership changes, which could not read the change).
   */
  reconfigRefusal?: () => string | null;
  /** random drives every jitter; seed it for a replayable run. */
  random: Random;
  /** machine is the replicated state (the data tree). */
  machine: ReplicatedMachine;
  /** tickMs is how long a tick is, to turn session timeouts (ms) into ticks. */
  tickMs: number;
  /** electionTimeoutTicks: a LOOKING server re-sends its vote when it heard nothing better for this long. */
  electionTimeoutTicks?: number;
  /** finalizeWaitTicks: how long a server waits for a better vote once a quorum agrees (plus jitter up to as much again). */
  finalizeWaitTicks?: number;
  /** initLimitTicks bounds discovery and synchronization; past it, back to LOOKING. */
  initLimitTicks?: number;
  /** syncLimitTicks: a follower that hears nothing from its leader, or a leader that hears from no quorum, for this long goes back to LOOKING. */
  syncLimitTicks?: number;
  /** historyEntriesMax is how many applied entries stay in memory for DIFF; older learners get a DIFF from disk, or a SNAP. */
  historyEntriesMax?: number;
  /**
   * diskDiffFactor: a leader streams a learner behind its in-memory history a DIFF read from the disk
   * log (through Ready.logReads, which the host must answer) when the entries it lacks number at most
   * this many times the znodes in the tree; past that, or at 0 (the default: a host that does not
   * answer LogReads), a SNAP. ZooKeeper's snapshotSizeFactor (0.33) weighs bytes the same way.
   */
  diskDiffFactor?: number;
  /** syncBatchEntriesMax bounds the entries in one sync or proposal message. */
  syncBatchEntriesMax?: number;
  /** snapChunkRecordsMax bounds the records in one snapChunk message. */
  snapChunkRecordsMax?: number;
  /** expiryCheckTicks: how often the leader looks for expired sessions, containers and TTL znodes. */
  expiryCheckTicks?: number;
  /**
   * limits are the member's byte limits (limits.ts, default {@link deriveLimits}()): every peer
   * message stays under peerFrameBytesMax, every reply under clientFrameBytesMax; history and the
   * leader's proposals in flight are bounded in bytes. Give the machine the same object.
   */
  limits?: Limits;
}

/** Role is what this server currently does. */
export type Role = 'looking' | 'following' | 'leading' | 'observing';

/** PeerStatus is a snapshot of a peer's state for hosts, admin pages and the simulator. */
export interface PeerStatus {
  id: number;
  role: Role;
  /** phase: election (LOOKING), then the Zab phase of the leader or learner (context.ts {@link Phase}). */
  phase: 'election' | Phase;
  /** established is true for a leader whose NEWLEADER a quorum acknowledged, and for a learner that got UPTODATE. */
  established: boolean;
  leader: number | null;
  /** epoch is the leader's epoch this server works in (0 when looking). */
  epoch: number;
  acceptedEpoch: number;
  currentEpoch: number;
  lastLoggedZxid: Zxid;
  persistedZxid: Zxid;
  committedZxid: Zxid;
  lastAppliedZxid: Zxid;
  /** outstanding is the number of proposals not yet committed (leader). */
  outstanding: number;
  /** config is the last configuration this member logged (its version is the reconfig's zxid, 0 for the static one). */
  config: ClusterConfig;
  /** configCommitted: `config` is committed here (false while the change is pending in this member's view). */
  configCommitted: boolean;
  /** voting: this member is a voter of a configuration in force. */
  voting: boolean;
}

/** RoleState is the role with its state: one transition (becomeLooking, decided) replaces it whole. */
type RoleState =
  | { role: 'looking' }
  | { role: 'leading'; leader: Leader }
  | { role: 'following' | 'observing'; learner: Learner };

/**
 * ZabPeer is one member of a Zab ensemble as a pure state machine (etcd raft's RawNode). The host
 * calls {@link ZabPeer.tick}, {@link ZabPeer.step} and the submit methods, then takes
 * {@link ZabPeer.ready} batches and calls {@link ZabPeer.advance} once a batch is carried out.
 * Nothing that must be durable is acknowledged before the host has persisted it: acknowledgements
 * ride in the same Ready as what they acknowledge, and the host sends messages only after persisting.
 *
 * The protocol lives beside it, one concern a file: election.ts (LOOKING), leader.ts and
 * sync-stream.ts (leading), learner.ts (following, observing), history.ts (the log and its
 * marks), quorum.ts, sessions.ts, client-requests.ts and outbox.ts (the Ready being filled).
 */
export class ZabPeer {
  readonly id: number;
  /** limits are the byte limits this peer keeps its messages, replies and memory within. */
  readonly limits: Limits;
  private readonly context: PeerContext;
  private readonly machine: ReplicatedMachine;
  private readonly log: History;
  private readonly outbox: Outbox;
  private readonly clients: ClientRequests;
  private readonly election: Election;
  private state: RoleState = { role: 'looking' };
  /** inflight: the Ready handed out and not yet advanced. */
  private inflight: Ready | null = null;

  constructor(config: PeerConfig, recovered: RecoveredState) {
    const voters = [...config.voters];
    const observers = [...(config.observers ?? [])];
    assert(!(voters.includes(config.id) && observers.includes(config.id)), `server ${config.id} is listed twice`);
    // Server id 0 stands for no one in a vote (an observer's own): ids start at 1, as ZooKeeper's myid.
    for (const id of [...voters, ...observers, config.id]) assert(id >= 1, `server id ${id} must be at least 1`);
    const settings: PeerSettings = {
      id: config.id,
      voters,
      observers,
      joinVersion: config.joinVersion ?? 0,
      unsafeMembershipRule: config.unsafeMembershipRule ?? null,
      reconfigRefusal: config.reconfigRefusal ?? null,
      tickMs: config.tickMs,
      electionTimeoutTicks: config.electionTimeoutTicks ?? 10,
      finalizeWaitTicks: config.finalizeWaitTicks ?? 2,
      initLimitTicks: config.initLimitTicks ?? 10,
      syncLimitTicks: config.syncLimitTicks ?? 5,
      historyEntriesMax: config.historyEntriesMax ?? 10_000,
      diskDiffFactor: config.diskDiffFactor ?? 0,
      syncBatchEntriesMax: config.syncBatchEntriesMax ?? 500,
      snapChunkRecordsMax: config.snapChunkRecordsMax ?? 1_000,
      expiryCheckTicks: config.expiryCheckTicks ?? 1,
      limits: config.limits ?? deriveLimits(),
    };
    this.id = config.id;
    this.limits = settings.limits;
    this.machine = config.machine;
    this.outbox = new Outbox(settings.syncBatchEntriesMax, settings.limits.batchBytesTarget);
    const base = recovered.snapshot?.header.zxid ?? 0;
    let baseConfig = staticConfig(voters, observers);
    if (recovered.snapshot) {
      baseConfig = restoreMachine(this.machine, base, recovered.snapshot.records, baseConfig, recovered.entries.length);
    }
    this.log = new History(
      base,
      baseConfig,
      recovered.entries,
      this.outbox,
      settings.historyEntriesMax,
      settings.limits.historyBytesMax,
    );
    this.clients = new ClientRequests(config.id, this.machine, this.outbox, settings.limits);
    const epochs = { acceptedEpoch: recovered.epochs.acceptedEpoch, currentEpoch: recovered.epochs.currentEpoch };
    const outbox = this.outbox;
    const log = this.log;
    const configs = (): readonly ClusterConfig[] => {
      const inForce = log.configs();
      // The deliberately wrong rule (tests only): a logged configuration alone, as if in force.
      return settings.unsafeMembershipRule === 'new-config-only' ? [log.lastSeenConfig()] : inForce;
    };
    this.context = {
      settings,
      random: config.random,
      machine: this.machine,
      log: this.log,
      outbox,
      clients: this.clients,
      clock: { ticks: 0, nowMs: 0 },
      epochs,
      configs,
      isVoter: (id) => configs().some((c) => isVoterIn(c, id)),
      isMember: (id) => configs().some((c) => isMemberIn(c, id)),
      saveEpochs: () => {
        outbox.ready.epochs = { acceptedEpoch: epochs.acceptedEpoch, currentEpoch: epochs.currentEpoch };
      },
      becomeLooking: () => this.becomeLooking(),
      applyCommitted: () => this.applyCommitted(),
    };
    this.election = new Election(this.context, {
      // A learner tells FOLLOWING or OBSERVING as the configurations in force say now (a change
      // may have promoted or demoted it since it decided): a member deciding out of the election
      // counts only voters that say they follow.
      role: () => this.shownRole(),
      followedLeader: () =>
        this.state.role === 'following' || this.state.role === 'observing' ? this.state.learner.leaderId : null,
      establishing: () => this.state.role === 'leading' && this.state.leader.phase !== 'broadcast',
      decided: (leader) => this.decided(leader),
    });
    this.peers = membersOf(this.context.configs());
    this.becomeLooking();
  }

  /** peers: the servers last handed to the host (Ready.peers): every member of a configuration in force. */
  private peers: number[];

  // ---------------------------------------------------------------------------------------------
  // Host interface.

  /** tick advances logical time by one tick; `nowMs` is the host's wall clock, used only for znode times. */
  tick(nowMs: number): void {
    this.context.clock.ticks++;
    this.context.clock.nowMs = nowMs;
    const state = this.state;
    switch (state.role) {
      case 'looking':
        this.election.tick();
        break;
      case 'leading':
        state.leader.tick();
        break;
      default:
        state.learner.tick();
    }
  }

  /** step feeds one message from another server. Messages of a stale epoch are dropped. */
  step(from: number, message: PeerMessage): void {
    if (from === this.id) return;
    // Only members of a configuration in force are heard (a removed member, a spare not yet added,
    // an outsider are not) — but for one thing: a member that missed a change hears a leader it does
    // not know say it leads, which it follows only if a quorum of its own voters names it too.
    const following = this.state.role === 'following' || this.state.role === 'observing' ? this.state.learner : null;
    // (The leader we follow is heard even if our configurations lack it: we joined it that way.)
    if (!this.context.isMember(from) && following?.leaderId !== from) {
      if (message.type === 'notification' && this.state.role === 'looking') this.election.stepOutsider(from, message);
      return;
    }
    if (message.type === 'notification') {
      this.election.step(from, message);
      return;
    }
    const state = this.state;
    if (state.role === 'leading') state.leader.step(from, message);
    else if (state.role === 'following' || state.role === 'observing') {
      // A learner that decided for us on votes asks us to lead while we follow another: tell it
      // whom we follow (it looks again on a FOLLOWING notification from its leader), or it waits
      // out initLimit. Our notification at the decision may have reached it before it decided.
      if (message.type === 'followerInfo') this.outbox.send(from, this.election.notification());
      state.learner.step(from, message);
    }
  }

  /**
   * submit queues a client request of a session connected to this server. Replies come out in
   * Ready.toClients in the order the session submitted (FIFO client order, reads included).
   * `linearizable` makes a read confirm leadership with a quorum first. `auth` are the ids the
   * client's connection authenticated as (ACLs are checked against them; none: only `world`).
   */
  submit(
    sessionId: SessionId,
    xid: number,
    request: Request,
    options: { linearizable?: boolean; auth?: readonly AuthId[] } = {},
  ): void {
    if (!this.isServing()) {
      this.clients.reply(sessionId, xid, 'CONNECTION_LOSS', null);
      return;
    }
    if (request.op !== 'closeSession' && !this.machine.hasSession(sessionId)) {
      this.clients.reply(sessionId, xid, 'SESSION_EXPIRED', null);
      return;
    }
    this.touch(sessionId);
    const auth = options.auth ?? NO_AUTH_IDS;
    const item = this.clients.enqueue(sessionId, xid, request, options.linearizable === true, auth);
    const state = this.state;
    if (item.kind === 'write') {
      if (state.role === 'leading') state.leader.admit(sessionId, xid, request, auth);
      else if (state.role !== 'looking') state.learner.forward(sessionId, xid, request, auth);
    } else if (item.kind === 'barrier') {
      const localId = this.clients.waitForBarrier(sessionId, item, this.context.clock.ticks);
      if (state.role === 'leading') state.leader.startBarrier(null, localId);
      else if (state.role !== 'looking') state.learner.requestBarrier(localId);
    }
    this.clients.flushSession(sessionId);
  }

  /**
   * submitCreateSession asks for a new session with the requested timeout and the password the
   * caller drew for it (SESSION_PASSWORD_BYTES random bytes, sessions.ts); the answer is a
   * `sessionCreated` (or `connectFailed`) ClientOutput carrying the returned connect id.
   */
  submitCreateSession(timeoutMs: number, password: Uint8Array): number {
    const connectId = this.clients.newConnectId();
    if (!this.isServing()) {
      this.outbox.toClient({ type: 'connectFailed', connectId, error: 'CONNECTION_LOSS' });
      return connectId;
    }
    const request: CreateSessionRequest = { op: 'createSession', timeoutMs, password };
    this.clients.awaitConnect(connectId, timeoutMs);
    const state = this.state;
    if (state.role === 'leading') state.leader.admit(0, connectId, request);
    else if (state.role !== 'looking') state.learner.forward(0, connectId, request);
    return connectId;
  }

  /** touchSession records client activity (a ping) so the leader does not expire the session. */
  touchSession(sessionId: SessionId): void {
    this.touch(sessionId);
  }

  /**
   * detachSession forgets a session's pending requests and watches on this server (its client
   * disconnected); the session itself lives on until it expires or is closed.
   */
  detachSession(sessionId: SessionId): void {
    this.clients.detach(sessionId);
    this.machine.dropSessionWatches(sessionId);
  }

  /**
   * disconnected tells the peer its connection to `peerId` broke (messages in flight may be lost).
   * As ZooKeeper's Learner does when its leader's socket closes, a learner goes back to LOOKING; a
   * leader forgets that learner until it reconnects and syncs again.
   */
  disconnected(peerId: number): void {
    const state = this.state;
    if ((state.role === 'following' || state.role === 'observing') && state.learner.leaderId === peerId) {
      this.becomeLooking();
    } else if (state.role === 'leading') {
      state.leader.forgetLearner(peerId);
    }
    // The election stops waiting for votes from a server it cannot hear (election.ts).
    this.election.disconnected(peerId);
  }

  /**
   * logRead answers a LogRead of a Ready: the entries the host read from the durable log (storage.ts
   * `readLogEntries`), or null when it could not read them (the log was compacted since, or a
   * record failed its crc). An answer for a stream that is gone is ignored.
   */
  logRead(read: LogRead, entries: readonly LogEntry[] | null): void {
    const state = this.state;
    if (state.role === 'leading') state.leader.logRead(read, entries);
  }

  /**
   * connected tells the peer its connection to `peerId` is up (again): a LOOKING member sends it
   * its vote at once, and the election waits for that server's vote again.
   */
  connected(peerId: number): void {
    if (peerId !== this.id) this.election.connected(peerId);
  }

  /** hasReady tells whether a Ready batch is waiting and none is in flight. */
  hasReady(): boolean {
    return this.inflight === null && !this.outbox.isEmpty();
  }

  /** ready hands out the next batch; call {@link advance} once it is carried out. */
  ready(): Ready {
    assert(this.inflight === null, 'ready() called before advance()');
    this.inflight = this.outbox.take();
    this.log.handedOut();
    const peers = membersOf(this.context.configs());
    if (peers.length !== this.peers.length || peers.some((id, i) => id !== this.peers[i])) {
      this.peers = peers;
      this.inflight.peers = peers;
    }
    return this.inflight;
  }

  /**
   * takeClientOutputs hands out the client outputs (replies, watch events, session notices) queued
   * since the last Ready, in order, so a host may deliver them while that Ready's persist runs: a
   * read need not wait for an fsync it does not depend on. None of them waits for a persist: they
   * show only entries applied here, and an entry is applied only once committed and durable here.
   * `applied` are the entries applied since the last take (the next Ready lists them again).
   */
  takeClientOutputs(): EarlyClientOutputs {
    return this.outbox.takeClientOutputs();
  }

  /** advance tells the peer the last Ready is carried out: what it persisted is durable. */
  advance(): void {
    assert(this.inflight !== null, 'advance() without ready()');
    this.inflight = null;
    this.log.advanced();
    if (this.state.role === 'leading') this.state.leader.maybeCommit();
    this.applyCommitted();
  }

  /** status describes the peer for hosts and checks. */
  status(): PeerStatus {
    const state = this.state;
    const role = state.role === 'looking' ? null : state.role === 'leading' ? state.leader : state.learner;
    const { epochs } = this.context;
    return {
      id: this.id,
      role: this.shownRole(),
      phase: role?.phase ?? 'election',
      established: role?.established ?? false,
      leader: state.role === 'leading' ? this.id : state.role === 'looking' ? null : state.learner.leaderId,
      epoch: role?.epoch ?? 0,
      acceptedEpoch: epochs.acceptedEpoch,
      currentEpoch: epochs.currentEpoch,
      lastLoggedZxid: this.log.lastLoggedZxid(),
      persistedZxid: this.log.persistedZxid,
      committedZxid: this.log.committedZxid,
      lastAppliedZxid: this.machine.lastAppliedZxid,
      outstanding: state.role === 'leading' ? state.leader.outstanding() : 0,
      config: this.log.lastSeenConfig(),
      configCommitted: !this.log.pendingReconfig(),
      voting: this.context.isVoter(this.id),
    };
  }

  /**
   * proposeReconfig asks this member, which must be the established leader, to change the
   * membership to `change.members` (the whole new list) if `change.fromVersion` is the version in
   * force (-1: whatever it is). Returns the reconfig's zxid, the new version once it commits (watch
   * `status().config`); throws {@link ReconfigError} when refused: NOT_LEADER, RECONFIG_IN_PROGRESS,
   * BAD_VERSION, BAD_ARGUMENTS, NEW_CONFIG_NO_QUORUM (README "Membership changes").
   */
  proposeReconfig(change: ReconfigChange): Zxid {
    const state = this.state;
    if (state.role !== 'leading') throw new ReconfigError('NOT_LEADER', `server ${this.id} is ${state.role}`);
    return state.leader.proposeReconfig(change);
  }

  /** configs are the configurations in force here: one, or the last committed and the pending one. */
  configs(): ClusterConfig[] {
    return [...this.context.configs()];
  }

  /** shownRole: a learner's role follows the configurations in force (a change may promote or demote it while it learns). */
  private shownRole(): Role {
    const role = this.state.role;
    if (role !== 'following' && role !== 'observing') return role;
    return this.context.isVoter(this.id) ? 'following' : 'observing';
  }

  /** isServing tells whether this server answers clients (it is an established leader or up-to-date learner). */
  isServing(): boolean {
    const state = this.state;
    if (state.role === 'leading') return state.leader.established;
    return state.role !== 'looking' && state.learner.established;
  }

  /** hasLogged tells whether the entry with this zxid is in this server's accepted history (or below its base). */
  hasLogged(zxid: Zxid): boolean {
    return this.log.hasLogged(zxid);
  }

  /**
   * appliedEntriesAfter returns the applied entries above `zxid` (up to lastAppliedZxid), or null
   * if some of them are no longer held in memory (the history was trimmed past `zxid`). A backup
   * completes a fuzzy snapshot taken at `zxid` with them.
   */
  appliedEntriesAfter(zxid: Zxid): LogEntry[] | null {
    if (this.log.base > zxid) return null;
    const applied = this.machine.lastAppliedZxid;
    return this.log.entries().filter((entry) => entry.zxid > zxid && entry.zxid <= applied);
  }

  /**
   * diskLogHolds tells whether the log on disk continues this member's history right after `zxid`
   * (zxid is the base the history was rooted at, or an entry trimmed from memory since, or held):
   * the entries after it up to the last applied one can be read back with Storage.readFrom.
   */
  diskLogHolds(zxid: Zxid): boolean {
    return zxid >= this.log.base ? this.log.hasLogged(zxid) : this.log.trimmed.holds(zxid);
  }

  /** history returns the accepted entries held in memory (above the base), for checks and DIFF. */
  history(): readonly LogEntry[] {
    return this.log.entries();
  }

  /**
   * resumableSession is a live session's negotiated timeout if `password` is its password (compared
   * in constant time), else undefined: a session that is not live and a wrong password look the
   * same, so a caller that answers both alike tells a scanner nothing.
   */
  resumableSession(sessionId: SessionId, password: Uint8Array): number | undefined {
    const stored = this.machine.hasSession(sessionId) ? this.machine.sessionPassword(sessionId) : undefined;
    const match = samePassword(stored ?? NO_PASSWORD, password);
    return match ? this.machine.sessionTimeoutMs(sessionId) : undefined;
  }

  /** sessionTimeoutMs is a live session's negotiated timeout in the applied state, or undefined if it is not live. */
  sessionTimeoutMs(sessionId: SessionId): number | undefined {
    return this.machine.hasSession(sessionId) ? this.machine.sessionTimeoutMs(sessionId) : undefined;
  }

  /** machineStats counts znodes, sessions and watches of the applied state. */
  machineStats(): { znodes: number; sessions: number; watches: number } {
    return this.machine.stats();
  }

  /**
   * read answers a read of the applied state outside any session's order (admin pages, tooling),
   * as the super user: the host guards who may call it (the admin port's token).
   */
  readDirect(request: Request): { result: Reply['result']; error: ErrorCode | null } {
    const outcome = this.machine.read(0, request, DIRECT_AUTH);
    return { result: outcome.result, error: outcome.error };
  }

  /** stateDigest fingerprints the applied state, to compare replicas. */
  stateDigest(): string {
    return this.machine.digest();
  }

  /** snapshot gives a header and the records of the applied state, for the host's periodic snapshots. */
  snapshot(): { zxid: Zxid; records: Iterable<SnapshotRecord> } {
    const zxid = this.machine.lastAppliedZxid;
    // The membership at the snapshot's zxid goes first (membership.ts): a restart rebuilds it from there.
    return { zxid, records: withConfigRecord(this.log.configAt(zxid), this.machine.snapshotRecords()) };
  }

  // ---------------------------------------------------------------------------------------------
  // Role transitions (etcd raft's becomeX): each replaces the role state whole.

  private becomeLooking(): void {
    this.clients.failAll();
    if (this.state.role === 'leading') this.machine.clearOutstanding();
    this.state = { role: 'looking' };
    this.election.start();
  }

  /** decided takes up the role FastLeaderElection chose: leading, or following (observing) `leaderId`. */
  private decided(leaderId: number): void {
    if (leaderId === this.id) {
      const leader = new Leader(this.context);
      this.state = { role: 'leading', leader };
      leader.start();
      return;
    }
    const learner = new Learner(this.context, leaderId);
    this.state = { role: this.context.isVoter(this.id) ? 'following' : 'observing', learner };
    learner.start();
  }

  private touch(sessionId: SessionId): void {
    const state = this.state;
    if (state.role === 'leading') state.leader.touch(sessionId);
    else if (state.role !== 'looking') state.learner.touch(sessionId);
  }

  // ---------------------------------------------------------------------------------------------
  // Apply.

  /** applyCommitted applies, in order, every entry that is both committed and durable here. */
  private applyCommitted(): void {
    const log = this.log;
    const limit = Math.min(log.committedZxid, log.persistedZxid);
    const applied = this.machine.lastAppliedZxid;
    if (applied >= limit) return;
    let index = log.indexAfter(applied);
    assert(index >= 0, () => `applied ${formatZxid(applied)} not in history`);
    while (index < log.length) {
      const entry = log.at(index);
      if (entry.zxid > limit) break;
      if (entry.zxid > this.machine.lastAppliedZxid) this.applyEntry(entry);
      index++;
    }
    log.trim(() => this.historyPin());
  }

  private applyEntry(entry: LogEntry): void {
    const before = this.machine.lastAppliedZxid;
    assert(entry.zxid > before, () => `apply ${formatZxid(entry.zxid)} after ${formatZxid(before)}`);
    const outcome = this.machine.apply(entry);
    this.outbox.ready.applied.push(entry);
    for (const event of outcome.events) this.outbox.toClient({ type: 'event', ...event });
    const state = this.state;
    if (state.role === 'leading') {
      // The leader's session clock follows the applied sessions (sessions.ts).
      const txn = entry.txn;
      const sessions = state.leader.sessions;
      if (txn.type === 'createSession' && !sessions.isTracked(txn.sessionId)) {
        sessions.track(txn.sessionId, txn.timeoutMs, this.context.clock.ticks);
      } else if (txn.type === 'closeSession') {
        sessions.closed(txn.sessionId);
      }
    }
    this.clients.applied(entry, outcome);
  }

  /** historyPin: the history may be trimmed up to the applied zxid, but not past what a leader's sync stream still has to send. */
  private historyPin(): Zxid {
    const pin = this.machine.lastAppliedZxid;
    return this.state.role === 'leading' ? this.state.leader.historyPin(pin) : pin;
  }
}
