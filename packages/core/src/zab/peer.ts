import { deriveLimits, type Limits, requestLimitError } from '../limits.js';
import type { Random } from '../prng.js';
import type { Epochs, RecoveredState, Snapshot } from '../storage.js';
import type { ErrorCode, ErrorTxn, LogEntry, Reply, Request, SessionId, SnapshotRecord, WatchEvent } from '../types.js';
import { logEntryBytes, replyBytes, snapshotRecordBytes } from '../wire-size.js';
import { formatZxid, makeZxid, type Zxid, zxidCounter, zxidEpoch } from '../zxid.js';
import { History } from './history.js';
import { assert, NO_ZXID, ZabInvariantError } from './invariant.js';
import type { ReplicatedMachine } from './machine.js';
import type { CreateSessionRequest, NotificationMessage, PeerMessage, PeerState, ZabMessage } from './messages.js';
import { type ClientOutput, type Outbound, Outbox, type Ready } from './outbox.js';
import { quorumAckedZxid, quorumSize } from './quorum.js';

export type { ClientOutput, Outbound, Ready };
export { ZabInvariantError };

/** PeerConfig configures one member. Every duration is in ticks; the host decides how long a tick is. */
export interface PeerConfig {
  /** id is this server's id, unique in the ensemble. */
  id: number;
  /** voters are the ids of the voting members (this one included if it votes). */
  voters: readonly number[];
  /** observers are the ids of non-voting members. */
  observers?: readonly number[];
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
  /** historyEntriesMax is how many applied entries stay in memory for DIFF; older learners get a SNAP. */
  historyEntriesMax?: number;
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
  /** phase: election, discovery, synchronization or broadcast. */
  phase: 'election' | 'discovery' | 'synchronization' | 'broadcast';
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
}

interface Vote {
  leader: number;
  zxid: Zxid;
  peerEpoch: number;
}

/**
 * SyncStream is the leader's cursor in the synchronization it streams to one learner: SNAP records
 * (a live, fuzzy walk of the tree, replayed from snapshotZxid by the learner), then history entries
 * after `sentZxid`, then NEWLEADER. At most syncWindowBytes are in flight unacknowledged (SYNCACK).
 */
interface SyncStream {
  records: Iterator<SnapshotRecord> | null;
  /** heldRecord: the record read from `records` that did not fit in the last chunk. */
  heldRecord: SnapshotRecord | null;
  /** sentZxid: every history entry up to here has been streamed; trimming keeps the entries above it. */
  sentZxid: Zxid;
  /** chunkBytes: sizes of the stream messages sent and not yet acknowledged, oldest first. */
  chunkBytes: number[];
  inflightBytes: number;
  chunksSent: number;
  chunksAcked: number;
}

/** WaitingRequest is a client request the leader holds while its proposals in flight are over budget. */
interface WaitingRequest {
  sessionId: SessionId;
  cxid: number;
  request: Request | CreateSessionRequest;
}

interface Learner {
  id: number;
  observer: boolean;
  acceptedEpoch: number;
  /** stage: followerInfo received, ackEpoch received (sync sent), ackNewLeader received, upToDate sent. */
  stage: 'info' | 'syncing' | 'synced' | 'uptodate';
  /** ackedZxid is the last zxid this learner durably logged in this epoch (voters only count once synced). */
  ackedZxid: Zxid;
  lastHeardTick: number;
  currentEpoch: number;
  lastZxid: Zxid;
  /** stream is the synchronization being streamed to it; proposals wait for NEWLEADER, which ends it. */
  stream: SyncStream | null;
  /** followId: from its FOLLOWERINFO; forwards carrying another are late copies of an earlier following. */
  followId: number;
}

interface Barrier {
  acks: Set<number>;
  zxid: Zxid;
  /** origin: the learner that asked and its barrier id, or null for this server's own waiter. */
  origin: { id: number; barrierId: number } | null;
  localId: number;
  startedTick: number;
}

interface LeaderState {
  epoch: number;
  phase: 'discovery' | 'epochAck' | 'sync' | 'broadcast';
  learners: Map<number, Learner>;
  /** infoVoters: voters whose FOLLOWERINFO (or self) was counted towards the new epoch. */
  infoVoters: Map<number, number>;
  ackEpochVoters: Set<number>;
  newLeaderAcks: Set<number>;
  /** nextCounter is the counter of the next zxid this leader proposes. */
  nextCounter: number;
  startedTick: number;
  /** lastProgressTick: the last tick a learner moved its synchronization on (sync phase times out without progress). */
  lastProgressTick: number;
  /** proposedBytes: bytes of this epoch's entries proposed and not yet committed. */
  proposedBytes: number;
  /** waiting: client requests held while proposedBytes is at proposalBytesInflightMax, in arrival order. */
  waiting: WaitingRequest[];
  barriers: Map<number, Barrier>;
  nextBarrierId: number;
  touched: Map<SessionId, number>;
  lastExpiryCheckTick: number;
  /** sessionExpiry: session id → tick at which it expires unless touched. */
  sessionExpiry: Map<SessionId, number>;
  sessionTimeoutTicks: Map<SessionId, number>;
  /** expiring: sessions and paths whose removal is proposed, with the zxid of that proposal. */
  expiring: Map<SessionId, Zxid>;
  expiringPaths: Map<string, Zxid>;
}

interface FollowerState {
  leader: number;
  epoch: number;
  phase: 'discovery' | 'sync' | 'synced' | 'broadcast';
  startedTick: number;
  lastHeardTick: number;
  syncMode: 'DIFF' | 'TRUNC' | 'SNAP' | null;
  truncZxid: Zxid;
  snapshotZxid: Zxid;
  snapRecords: SnapshotRecord[];
  syncEntries: LogEntry[];
  /** syncChunks: stream messages received since SYNC, acknowledged for the leader's flow control. */
  syncChunks: number;
  /** followId is drawn for this following and sent in FOLLOWERINFO and every forward. */
  followId: number;
  touched: Set<SessionId>;
  /** barriers: barrier id → local waiter id. */
  nextBarrierId: number;
}

interface PendingRequest {
  xid: number;
  request: Request;
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
  /** then: for a linearizable read, the read to answer after the barrier. */
  readAfterBarrier: boolean;
}

/**
 * ZabPeer is one member of a Zab ensemble as a pure state machine (etcd raft's RawNode). The host
 * calls {@link ZabPeer.tick}, {@link ZabPeer.step} and the submit methods, then takes
 * {@link ZabPeer.ready} batches and calls {@link ZabPeer.advance} once a batch is carried out.
 * Nothing that must be durable is acknowledged before the host has persisted it: acknowledgements
 * ride in the same Ready as what they acknowledge, and the host sends messages only after persisting.
 */
export class ZabPeer {
  readonly id: number;
  private readonly voters: readonly number[];
  private readonly observers: readonly number[];
  private readonly isObserver: boolean;
  private readonly random: Random;
  private readonly machine: ReplicatedMachine;
  private readonly tickMs: number;
  private readonly electionTimeoutTicks: number;
  private readonly finalizeWaitTicks: number;
  private readonly initLimitTicks: number;
  private readonly syncLimitTicks: number;
  private readonly historyEntriesMax: number;
  private readonly syncBatchEntriesMax: number;
  private readonly snapChunkRecordsMax: number;
  private readonly expiryCheckTicks: number;
  /** limits are the byte limits this peer keeps its messages, replies and memory within. */
  readonly limits: Limits;

  private ticks = 0;
  private nowMs = 0;

  // Durable state (as of the last Ready handed out; durable once advanced).
  private acceptedEpoch: number;
  private currentEpoch: number;
  /** log is the accepted history and its persisted and committed marks. */
  private readonly log: History;

  // Role.
  private role: Role = 'looking';
  private leaderState: LeaderState | null = null;
  private followerState: FollowerState | null = null;

  // Election (FastLeaderElection).
  private logicalClock = 0;
  private proposal: Vote = { leader: 0, zxid: 0, peerEpoch: 0 };
  private recvSet = new Map<number, Vote & { electionEpoch: number }>();
  private outOfElection = new Map<number, NotificationMessage & { from: number }>();
  private finalizeAtTick: number | null = null;
  private lastVoteSentTick = 0;
  /** currentVote is what this server answers LOOKING peers once it has decided. */
  private currentVote: Vote & { electionEpoch: number } = { leader: 0, zxid: 0, peerEpoch: 0, electionEpoch: 0 };

  // Client side.
  private pending = new Map<SessionId, PendingRequest[]>();
  private pendingConnects = new Map<number, { timeoutMs: number }>();
  private nextConnectCounter = 1;
  private barrierWaiters = new Map<number, { sessionId: SessionId; xid: number; startedTick: number }>();
  private awaitingApply = new Set<SessionId>();
  private nextLocalBarrierId = 1;

  // Output.
  private readonly outbox: Outbox;
  /** inflight: the Ready handed out and not yet advanced. */
  private inflight: Ready | null = null;

  constructor(config: PeerConfig, recovered: RecoveredState) {
    this.id = config.id;
    this.voters = [...config.voters];
    this.observers = [...(config.observers ?? [])];
    this.isObserver = !this.voters.includes(config.id);
    assert(
      this.isObserver === this.observers.includes(config.id),
      `server ${config.id} must be a voter or an observer`,
    );
    // Server id 0 stands for no one in a vote (an observer's own): ids start at 1, as ZooKeeper's myid.
    for (const id of [...this.voters, ...this.observers]) assert(id >= 1, `server id ${id} must be at least 1`);
    this.random = config.random;
    this.machine = config.machine;
    this.tickMs = config.tickMs;
    this.electionTimeoutTicks = config.electionTimeoutTicks ?? 10;
    this.finalizeWaitTicks = config.finalizeWaitTicks ?? 2;
    this.initLimitTicks = config.initLimitTicks ?? 10;
    this.syncLimitTicks = config.syncLimitTicks ?? 5;
    this.historyEntriesMax = config.historyEntriesMax ?? 10_000;
    this.syncBatchEntriesMax = config.syncBatchEntriesMax ?? 500;
    this.snapChunkRecordsMax = config.snapChunkRecordsMax ?? 1_000;
    this.expiryCheckTicks = config.expiryCheckTicks ?? 1;
    this.limits = config.limits ?? deriveLimits();

    this.acceptedEpoch = recovered.epochs.acceptedEpoch;
    this.currentEpoch = recovered.epochs.currentEpoch;
    this.outbox = new Outbox(this.syncBatchEntriesMax, this.limits.batchBytesTarget);
    const base = recovered.snapshot?.header.zxid ?? 0;
    if (recovered.snapshot) this.machine.restore(recovered.snapshot.header.zxid, recovered.snapshot.records);
    this.log = new History(base, recovered.entries, this.outbox, this.historyEntriesMax, this.limits.historyBytesMax);
    this.becomeLooking();
  }

  // ---------------------------------------------------------------------------------------------
  // Host interface.

  /** tick advances logical time by one tick; `nowMs` is the host's wall clock, used only for znode times. */
  tick(nowMs: number): void {
    this.ticks++;
    this.nowMs = nowMs;
    switch (this.role) {
      case 'looking':
        this.tickLooking();
        break;
      case 'leading':
        this.tickLeader();
        break;
      default:
        this.tickLearner();
    }
  }

  /** step feeds one message from another server. Messages of a stale epoch are dropped. */
  step(from: number, message: PeerMessage): void {
    if (from === this.id) return;
    if (!this.voters.includes(from) && !this.observers.includes(from)) return;
    if (message.type === 'notification') {
      this.stepNotification(from, message);
      return;
    }
    if (this.role === 'leading') this.stepLeader(from, message);
    else if (this.role === 'following' || this.role === 'observing') {
      // A learner that decided for us on votes asks us to lead while we follow another: tell it
      // whom we follow (it looks again on a FOLLOWING notification from its leader), or it waits
      // out initLimit. Our notification at the decision may have reached it before it decided.
      if (message.type === 'followerInfo') this.send(from, this.notification());
      this.stepLearner(from, message);
    }
  }

  /**
   * submit queues a client request of a session connected to this server. Replies come out in
   * Ready.toClients in the order the session submitted (FIFO client order, reads included).
   * `linearizable` makes a read confirm leadership with a quorum first.
   */
  submit(sessionId: SessionId, xid: number, request: Request, options: { linearizable?: boolean } = {}): void {
    if (!this.isServing()) {
      this.replyNow(sessionId, xid, 'CONNECTION_LOSS', null);
      return;
    }
    if (request.op !== 'closeSession' && !this.machine.hasSession(sessionId)) {
      this.replyNow(sessionId, xid, 'SESSION_EXPIRED', null);
      return;
    }
    this.touch(sessionId);
    const queue = this.queueOf(sessionId);
    const refused = requestLimitError(request, this.limits);
    if (refused !== null) {
      // Answered in the session's order, after what it sent before.
      queue.push({ ...pendingItem(xid, request, 'refused'), done: true, error: refused });
      this.flushSession(sessionId);
      return;
    }
    const isWrite =
      request.op === 'create' ||
      request.op === 'delete' ||
      request.op === 'setData' ||
      request.op === 'multi' ||
      request.op === 'closeSession';
    const isBarrier = request.op === 'sync' || options.linearizable === true;
    const item = pendingItem(xid, request, isWrite ? 'write' : isBarrier ? 'barrier' : 'read');
    item.readAfterBarrier = isBarrier && request.op !== 'sync';
    queue.push(item);
    if (item.kind === 'write') this.submitWrite(sessionId, xid, request);
    else if (item.kind === 'barrier') this.startBarrier(sessionId, item);
    this.flushSession(sessionId);
  }

  /**
   * submitCreateSession asks for a new session with the requested timeout; the answer is a
   * `sessionCreated` (or `connectFailed`) ClientOutput carrying the returned connect id.
   */
  submitCreateSession(timeoutMs: number): number {
    const connectId = this.nextConnectCounter++ * 256 + (this.id % 256);
    if (!this.isServing()) {
      this.outbox.ready.toClients.push({ type: 'connectFailed', connectId, error: 'CONNECTION_LOSS' });
      return connectId;
    }
    const request: CreateSessionRequest = { op: 'createSession', timeoutMs };
    this.pendingConnects.set(connectId, { timeoutMs });
    if (this.role === 'leading') this.leaderAdmit(0, connectId, request);
    else this.forwardToLeader(0, connectId, request);
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
    this.pending.delete(sessionId);
    this.machine.dropSessionWatches(sessionId);
  }

  /**
   * disconnected tells the peer its connection to `peerId` broke (messages in flight may be lost).
   * As ZooKeeper's Learner does when its leader's socket closes, a learner goes back to LOOKING; a
   * leader forgets that learner until it reconnects and syncs again.
   */
  disconnected(peerId: number): void {
    if (this.followerState && this.followerState.leader === peerId) {
      this.becomeLooking();
      return;
    }
    this.forgetLearner(peerId);
  }

  /** forgetLearner drops a leader's record of a learner (its connection broke, or it stalled); it must sync again. */
  private forgetLearner(peerId: number): void {
    const leader = this.leaderState;
    if (leader?.learners.delete(peerId)) {
      leader.ackEpochVoters.delete(peerId);
      if (leader.phase !== 'broadcast') leader.newLeaderAcks.delete(peerId);
      if (leader.phase === 'discovery') leader.infoVoters.delete(peerId);
      for (const [id, barrier] of leader.barriers) {
        if (barrier.origin?.id === peerId) leader.barriers.delete(id);
      }
    }
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
    return this.inflight;
  }

  /** advance tells the peer the last Ready is carried out: what it persisted is durable. */
  advance(): void {
    const batch = this.inflight;
    assert(batch !== null, 'advance() without ready()');
    this.inflight = null;
    this.log.advanced();
    if (this.role === 'leading' && this.leaderState) {
      this.leaderMaybeCommit();
    }
    this.applyCommitted();
  }

  /** status describes the peer for hosts and checks. */
  status(): PeerStatus {
    const leader = this.leaderState;
    const follower = this.followerState;
    let phase: PeerStatus['phase'] = 'election';
    let established = false;
    if (leader) {
      phase = leader.phase === 'broadcast' ? 'broadcast' : leader.phase === 'sync' ? 'synchronization' : 'discovery';
      established = leader.phase === 'broadcast';
    } else if (follower) {
      phase =
        follower.phase === 'broadcast' ? 'broadcast' : follower.phase === 'discovery' ? 'discovery' : 'synchronization';
      established = follower.phase === 'broadcast';
    }
    return {
      id: this.id,
      role: this.role,
      phase,
      established,
      leader: leader ? this.id : follower ? follower.leader : null,
      epoch: leader?.epoch ?? follower?.epoch ?? 0,
      acceptedEpoch: this.acceptedEpoch,
      currentEpoch: this.currentEpoch,
      lastLoggedZxid: this.log.lastLoggedZxid(),
      persistedZxid: this.log.persistedZxid,
      committedZxid: this.log.committedZxid,
      lastAppliedZxid: this.machine.lastAppliedZxid,
      outstanding: leader ? this.log.lastLoggedZxid() - Math.max(this.log.committedZxid, makeZxid(leader.epoch, 0)) : 0,
    };
  }

  /** isServing tells whether this server answers clients (it is an established leader or up-to-date learner). */
  isServing(): boolean {
    if (this.leaderState) return this.leaderState.phase === 'broadcast';
    return this.followerState !== null && this.followerState.phase === 'broadcast';
  }

  /** hasLogged tells whether the entry with this zxid is in this server's accepted history (or below its base). */
  hasLogged(zxid: Zxid): boolean {
    return this.log.hasLogged(zxid);
  }

  /** history returns the accepted entries held in memory (above the base), for checks and DIFF. */
  history(): readonly LogEntry[] {
    return this.log.entries();
  }

  /** sessionTimeoutMs is a live session's negotiated timeout in the applied state, or undefined if it is not live. */
  sessionTimeoutMs(sessionId: SessionId): number | undefined {
    return this.machine.hasSession(sessionId) ? this.machine.sessionTimeoutMs(sessionId) : undefined;
  }

  /** machineStats counts znodes, sessions and watches of the applied state. */
  machineStats(): { znodes: number; sessions: number; watches: number } {
    return this.machine.stats();
  }

  /** read answers a read of the applied state outside any session's order (admin pages, tooling). */
  readDirect(request: Request): { result: Reply['result']; error: ErrorCode | null } {
    const outcome = this.machine.read(0, request);
    return { result: outcome.result, error: outcome.error };
  }

  /** stateDigest fingerprints the applied state, to compare replicas. */
  stateDigest(): string {
    return this.machine.digest();
  }

  /** snapshot gives a header and the records of the applied state, for the host's periodic snapshots. */
  snapshot(): { zxid: Zxid; records: Iterable<SnapshotRecord> } {
    return { zxid: this.machine.lastAppliedZxid, records: this.machine.snapshotRecords() };
  }

  // ---------------------------------------------------------------------------------------------
  // Election: FastLeaderElection.

  private becomeLooking(): void {
    this.failPending();
    if (this.leaderState) this.machine.clearOutstanding();
    this.role = 'looking';
    this.leaderState = null;
    this.followerState = null;
    this.logicalClock++;
    this.recvSet.clear();
    this.outOfElection.clear();
    this.finalizeAtTick = null;
    this.proposal = this.initialVote();
    this.currentVote = { ...this.proposal, electionEpoch: this.logicalClock };
    this.sendNotifications();
    // Our own vote counts too: alone (a one-voter ensemble) it is already a quorum.
    if (!this.isObserver) {
      this.recvSet.set(this.id, { ...this.proposal, electionEpoch: this.logicalClock });
      this.maybeScheduleFinalize();
    }
  }

  /** maybeScheduleFinalize starts the wait for a better vote once a quorum agrees with ours, or cancels it. */
  private maybeScheduleFinalize(): void {
    if (this.hasQuorumFor(this.recvSet, this.proposal)) {
      if (this.finalizeAtTick === null) {
        const jitter = Math.floor(this.random.next() * (this.finalizeWaitTicks + 1));
        this.finalizeAtTick = this.ticks + this.finalizeWaitTicks + jitter;
      }
    } else {
      this.finalizeAtTick = null;
    }
  }

  private initialVote(): Vote {
    // Observers never propose themselves: they cannot lead. Their vote names no one (server 0),
    // with values the peer protocol can carry (it has no negative ids, zxids or epochs).
    if (this.isObserver) return { leader: 0, zxid: 0, peerEpoch: 0 };
    return { leader: this.id, zxid: this.log.lastLoggedZxid(), peerEpoch: this.currentEpoch };
  }

  private notification(): NotificationMessage {
    const state: PeerState =
      this.role === 'looking'
        ? 'LOOKING'
        : this.role === 'leading'
          ? 'LEADING'
          : this.role === 'observing'
            ? 'OBSERVING'
            : 'FOLLOWING';
    const vote = this.role === 'looking' ? { ...this.proposal, electionEpoch: this.logicalClock } : this.currentVote;
    return {
      type: 'notification',
      leader: vote.leader,
      zxid: vote.zxid,
      electionEpoch: vote.electionEpoch,
      peerEpoch: vote.peerEpoch,
      state,
    };
  }

  private sendNotifications(): void {
    const message = this.notification();
    for (const id of this.allMembers()) if (id !== this.id) this.send(id, message);
    this.lastVoteSentTick = this.ticks;
  }

  private tickLooking(): void {
    if (this.finalizeAtTick !== null && this.ticks >= this.finalizeAtTick) {
      this.finalizeAtTick = null;
      if (!this.isObserver && this.hasQuorumFor(this.recvSet, this.proposal)) {
        this.decide(this.proposal, this.logicalClock);
        return;
      }
    }
    if (this.ticks - this.lastVoteSentTick >= this.electionTimeoutTicks) this.sendNotifications();
  }

  private stepNotification(from: number, n: NotificationMessage): void {
    const fromVoter = this.voters.includes(from);
    if (this.role !== 'looking') {
      if (
        this.followerState?.leader === from &&
        ((n.state === 'LOOKING' && n.electionEpoch > this.currentVote.electionEpoch) ||
          (n.state === 'FOLLOWING' && n.electionEpoch >= this.currentVote.electionEpoch))
      ) {
        // Our leader is looking again in a later round: it abandoned its term (or never took it
        // up); or it decided, in our round or a later one, to follow another server (we chose it
        // on votes while it went with a LEADING notification elsewhere): it will not lead us.
        // Waiting out initLimit or syncLimit for it would only stall the ensemble.
        this.becomeLooking();
        this.stepNotification(from, n);
        return;
      }
      // A decided server answers a LOOKING peer with the leader it follows, so late joiners learn it.
      if (n.state === 'LOOKING') this.send(from, this.notification());
      return;
    }
    if (n.state === 'LOOKING' || n.state === 'OBSERVING') {
      if (!fromVoter || n.state === 'OBSERVING') {
        // An observer's vote never counts; answer it so it learns what we think.
        if (n.state === 'LOOKING') this.send(from, this.notification());
        return;
      }
      if (n.electionEpoch > this.logicalClock) {
        this.logicalClock = n.electionEpoch;
        this.recvSet.clear();
        const mine = this.initialVote();
        this.proposal = this.isObserver || totalOrder(n, mine) ? voteOf(n) : mine;
        this.sendNotifications();
      } else if (n.electionEpoch < this.logicalClock) {
        this.send(from, this.notification());
        return;
      } else if (totalOrder(n, this.proposal)) {
        this.proposal = voteOf(n);
        this.sendNotifications();
      }
      this.recvSet.set(from, { ...voteOf(n), electionEpoch: n.electionEpoch });
      if (!this.isObserver) this.recvSet.set(this.id, { ...this.proposal, electionEpoch: this.logicalClock });
      this.maybeScheduleFinalize();
      return;
    }
    // n.state is FOLLOWING or LEADING: the sender already decided.
    if (n.electionEpoch === this.logicalClock && fromVoter) {
      this.recvSet.set(from, { ...voteOf(n), electionEpoch: n.electionEpoch });
      if (this.hasQuorumFor(this.recvSet, voteOf(n)) && this.checkLeader(n.leader, n.electionEpoch)) {
        this.decide(voteOf(n), n.electionEpoch);
        return;
      }
    }
    this.outOfElection.set(from, { ...n, from });
    // Out of the election, a quorum of decided voters naming one leader that says it is LEADING is
    // enough, whatever zxid and epochs their votes carry: a learner that decided on an older vote
    // for the same leader (a late notification) advertises that vote for as long as it follows, so
    // requiring equal votes left a restarted member LOOKING beside an ensemble that serves
    // (ZooKeeper's Vote.equals also ignores the zxid for servers out of election). We take the
    // leader's own vote and round.
    const leaderSaid = this.outOfElection.get(n.leader);
    if (leaderSaid !== undefined && this.checkLeaderOutOfElection(n.leader) && this.hasQuorumNaming(n.leader)) {
      this.logicalClock = leaderSaid.electionEpoch;
      this.decide(voteOf(leaderSaid), leaderSaid.electionEpoch);
    }
  }

  /** hasQuorumNaming: a quorum of the voters out of the election follow or are `leader`. */
  private hasQuorumNaming(leader: number): boolean {
    let count = 0;
    for (const [id, m] of this.outOfElection) if (this.voters.includes(id) && m.leader === leader) count++;
    return count >= this.quorumSize();
  }

  /** checkLeader: a vote for another server counts only if that server says it is LEADING (FLE.checkLeader). */
  private checkLeader(leader: number, electionEpoch: number): boolean {
    if (leader === this.id) return electionEpoch === this.logicalClock;
    const said = this.outOfElection.get(leader);
    return said !== undefined && said.state === 'LEADING';
  }

  private checkLeaderOutOfElection(leader: number): boolean {
    if (leader === this.id) return false;
    const said = this.outOfElection.get(leader);
    return said !== undefined && said.state === 'LEADING';
  }

  /**
   * hasQuorumFor: a quorum of voters in `votes` vote for `vote` (leader, zxid, peerEpoch). Election
   * epochs are not compared: a late joiner takes the leader's electionEpoch when it decides.
   */
  private hasQuorumFor(votes: Map<number, Vote>, vote: Vote): boolean {
    let count = 0;
    for (const id of this.voters) {
      const v = votes.get(id);
      if (v && v.leader === vote.leader && v.zxid === vote.zxid && v.peerEpoch === vote.peerEpoch) count++;
    }
    return vote.leader >= 1 && count >= this.quorumSize();
  }

  private decide(vote: Vote, electionEpoch: number): void {
    this.currentVote = { ...vote, electionEpoch };
    this.recvSet.clear();
    this.outOfElection.clear();
    this.finalizeAtTick = null;
    if (vote.leader === this.id) this.becomeLeader();
    else this.becomeLearner(vote.leader);
    // Tell everyone what we decided, so LOOKING peers can follow the same leader.
    this.sendNotifications();
  }

  // ---------------------------------------------------------------------------------------------
  // Leader: discovery, synchronization, broadcast.

  private becomeLeader(): void {
    this.role = 'leading';
    this.followerState = null;
    this.leaderState = {
      epoch: 0,
      phase: 'discovery',
      learners: new Map(),
      infoVoters: new Map([[this.id, this.acceptedEpoch]]),
      ackEpochVoters: new Set([this.id]),
      newLeaderAcks: new Set([this.id]),
      nextCounter: 1,
      startedTick: this.ticks,
      lastProgressTick: this.ticks,
      proposedBytes: 0,
      waiting: [],
      barriers: new Map(),
      nextBarrierId: 1,
      touched: new Map(),
      lastExpiryCheckTick: this.ticks,
      sessionExpiry: new Map(),
      sessionTimeoutTicks: new Map(),
      expiring: new Map(),
      expiringPaths: new Map(),
    };
    this.leaderMaybeChooseEpoch();
  }

  private leaderMaybeChooseEpoch(): void {
    const leader = this.leaderState as LeaderState;
    if (leader.phase !== 'discovery' || leader.infoVoters.size < this.quorumSize()) return;
    // New epoch: above every acceptedEpoch of a quorum (Zab discovery), and above our own.
    let epoch = this.acceptedEpoch;
    for (const accepted of leader.infoVoters.values()) epoch = Math.max(epoch, accepted);
    leader.epoch = epoch + 1;
    leader.phase = 'epochAck';
    // Persist acceptedEpoch before anyone hears of the epoch.
    this.acceptedEpoch = leader.epoch;
    this.outbox.ready.epochs = { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
    for (const learner of leader.learners.values()) {
      this.send(learner.id, { type: 'leaderInfo', epoch: leader.epoch });
    }
    this.leaderMaybeStartSync();
  }

  private leaderMaybeStartSync(): void {
    const leader = this.leaderState as LeaderState;
    if (leader.phase !== 'epochAck' || leader.ackEpochVoters.size < this.quorumSize()) return;
    // Zab: the epoch is established by a quorum none of whose members is ahead of the leader. A
    // learner ahead of us (typically the old leader, back with proposals nobody else logged: they
    // were never committed) does not count, as in ZooKeeper's waitForEpochAck; it is synced with
    // the others (TRUNC), and we wait for a quorum of the rest instead of giving up the term.
    let counted = 0;
    for (const id of leader.ackEpochVoters) {
      const learner = leader.learners.get(id);
      if (id === this.id || (learner !== undefined && !this.isAheadOfUs(learner.currentEpoch, learner.lastZxid))) {
        counted++;
      }
    }
    if (counted < this.quorumSize()) return;
    leader.phase = 'sync';
    leader.lastProgressTick = this.ticks;
    this.currentEpoch = leader.epoch;
    this.outbox.ready.epochs = { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
    for (const learner of leader.learners.values()) {
      if (learner.stage === 'syncing') this.leaderSendSync(learner);
    }
    this.leaderMaybeEstablish();
  }

  /** isAheadOfUs: a history ending at (currentEpoch, lastZxid) is more recent than ours. */
  private isAheadOfUs(currentEpoch: number, lastZxid: Zxid): boolean {
    return (
      currentEpoch > this.currentEpoch || (currentEpoch === this.currentEpoch && lastZxid > this.log.lastLoggedZxid())
    );
  }

  private leaderSendSync(learner: Learner): void {
    const leader = this.leaderState as LeaderState;
    const epoch = leader.epoch;
    const last = this.log.lastLoggedZxid();
    const peerLast = learner.lastZxid;
    let mode: 'DIFF' | 'TRUNC' | 'SNAP';
    let truncZxid = 0;
    let from: Zxid;
    const base = this.log.base;
    if (peerLast === last) {
      mode = 'DIFF';
      from = last;
    } else if (peerLast === base || (peerLast > base && this.log.findIndex(peerLast) !== -1)) {
      mode = 'DIFF';
      from = peerLast;
    } else if (peerLast > base) {
      // The learner has entries we do not: truncate it to the last zxid we share below its end.
      let index = this.log.length - 1;
      while (index >= 0 && this.log.at(index).zxid > peerLast) index--;
      if (index >= 0) {
        truncZxid = this.log.at(index).zxid;
        mode = 'TRUNC';
        from = truncZxid;
      } else {
        mode = 'SNAP';
        from = this.machine.lastAppliedZxid;
      }
    } else {
      mode = 'SNAP';
      from = this.machine.lastAppliedZxid;
    }
    this.send(learner.id, {
      type: 'sync',
      epoch,
      mode,
      truncZxid: mode === 'TRUNC' ? truncZxid : 0,
      snapshotZxid: mode === 'SNAP' ? from : 0,
    });
    assert(
      from === this.log.base || this.log.findIndex(from) !== -1,
      () => `sync start ${formatZxid(from)} not in history`,
    );
    learner.stage = 'syncing';
    // From here on the learner is in the forwarding set: after NEWLEADER ends the stream it gets
    // every new proposal; until then the stream carries them, read from the log.
    learner.ackedZxid = NO_ZXID;
    learner.stream = {
      records: mode === 'SNAP' ? this.machine.snapshotRecords()[Symbol.iterator]() : null,
      heldRecord: null,
      sentZxid: from,
      chunkBytes: [],
      inflightBytes: 0,
      chunksSent: 0,
      chunksAcked: 0,
    };
    this.leaderPumpStream(learner);
  }

  /**
   * leaderPumpStream sends the next messages of a learner's sync stream while the window allows:
   * snapChunk messages of records, then entries messages of the history after the cursor (proposals
   * made meanwhile included: they are in the log), then NEWLEADER, which ends the stream.
   */
  private leaderPumpStream(learner: Learner): void {
    const stream = learner.stream;
    if (stream === null) return;
    const epoch = (this.leaderState as LeaderState).epoch;
    const target = this.limits.batchBytesTarget;
    while (stream.inflightBytes < this.limits.syncWindowBytes) {
      if (stream.records !== null) {
        const records: SnapshotRecord[] = [];
        let bytes = 0;
        for (;;) {
          let record = stream.heldRecord;
          stream.heldRecord = null;
          if (record === null) {
            const next = stream.records.next();
            if (next.done) {
              stream.records = null;
              break;
            }
            record = next.value;
          }
          const size = snapshotRecordBytes(record);
          if (records.length > 0 && (bytes + size > target || records.length >= this.snapChunkRecordsMax)) {
            stream.heldRecord = record;
            break;
          }
          records.push(record);
          bytes += size;
        }
        if (records.length > 0) this.sendStreamChunk(learner, { type: 'snapChunk', epoch, records }, bytes);
        continue;
      }
      let index = stream.sentZxid === this.log.base ? 0 : this.log.findIndex(stream.sentZxid) + 1;
      assert(
        index > 0 || stream.sentZxid === this.log.base,
        () => `stream cursor ${formatZxid(stream.sentZxid)} trimmed`,
      );
      if (index >= this.log.length) {
        this.send(learner.id, { type: 'newLeader', epoch, zxid: makeZxid(epoch, 0) });
        learner.stream = null;
        return;
      }
      const entries: LogEntry[] = [];
      let bytes = 0;
      while (index < this.log.length && entries.length < this.syncBatchEntriesMax) {
        const entry = this.log.at(index);
        const size = logEntryBytes(entry);
        if (entries.length > 0 && bytes + size > target) break;
        entries.push(entry);
        bytes += size;
        index++;
      }
      stream.sentZxid = (entries[entries.length - 1] as LogEntry).zxid;
      this.sendStreamChunk(learner, { type: 'entries', epoch, entries }, bytes);
    }
  }

  private sendStreamChunk(learner: Learner, message: PeerMessage, bytes: number): void {
    const stream = learner.stream as SyncStream;
    this.send(learner.id, message);
    stream.chunkBytes.push(bytes);
    stream.inflightBytes += bytes;
    stream.chunksSent++;
  }

  private leaderMaybeEstablish(): void {
    const leader = this.leaderState as LeaderState;
    if (leader.phase !== 'sync' || leader.newLeaderAcks.size < this.quorumSize()) return;
    leader.phase = 'broadcast';
    // Everything in the new leader's history is committed once a quorum holds it (Zab's initial history).
    this.log.committedZxid = this.log.lastLoggedZxid();
    for (const learner of leader.learners.values()) {
      if (learner.stage === 'synced') {
        this.send(learner.id, { type: 'upToDate', epoch: leader.epoch, committedZxid: this.log.committedZxid });
        learner.stage = 'uptodate';
      }
    }
    // Session expiry restarts from now on a new leader, as ZooKeeper's SessionTracker does.
    for (const { sessionId, timeoutMs } of this.machine.sessions()) this.trackSession(sessionId, timeoutMs);
    this.applyCommitted();
  }

  private trackSession(sessionId: SessionId, timeoutMs: number): void {
    const leader = this.leaderState as LeaderState;
    const ticks = Math.max(1, Math.ceil(timeoutMs / this.tickMs));
    leader.sessionTimeoutTicks.set(sessionId, ticks);
    leader.sessionExpiry.set(sessionId, this.ticks + ticks);
  }

  private tickLeader(): void {
    const leader = this.leaderState as LeaderState;
    if (leader.phase !== 'broadcast') {
      // Discovery is bounded from the start; synchronization only while nobody makes progress, so a
      // big SNAP to a quorum takes as long as it needs (ZooKeeper's initLimit is a per-read timeout there too).
      const since = leader.phase === 'sync' ? leader.lastProgressTick : leader.startedTick;
      if (this.ticks - since > this.initLimitTicks) {
        this.becomeLooking();
        return;
      }
      // Learners that finished their sync wait for UPTODATE: keep them from timing out meanwhile.
      for (const learner of leader.learners.values()) {
        if (learner.stage === 'synced') this.send(learner.id, { type: 'ping', epoch: leader.epoch, sessions: [] });
      }
      return;
    }
    // A learner whose synchronization stalled for initLimit is dropped (it rejoins and resyncs):
    // its stream would otherwise pin the history in memory.
    for (const learner of [...leader.learners.values()]) {
      if (
        (learner.stage === 'syncing' || learner.stage === 'info') &&
        this.ticks - learner.lastHeardTick > this.initLimitTicks
      ) {
        this.forgetLearner(learner.id);
        // Tell it by dropping the connection: it looks again (and resyncs) as soon as it runs.
        this.outbox.ready.disconnect.push(learner.id);
      }
    }
    // Step down when no quorum of voters was heard from within syncLimit (Leader.lead's tick loop).
    let heard = 1;
    for (const learner of leader.learners.values()) {
      if (
        !learner.observer &&
        learner.stage === 'uptodate' &&
        this.ticks - learner.lastHeardTick <= this.syncLimitTicks
      ) {
        heard++;
      }
    }
    if (heard < this.quorumSize()) {
      this.becomeLooking();
      return;
    }
    for (const learner of leader.learners.values()) {
      if (learner.stage === 'uptodate') this.send(learner.id, { type: 'ping', epoch: leader.epoch, sessions: [] });
    }
    for (const [id, barrier] of leader.barriers) {
      if (this.ticks - barrier.startedTick > this.syncLimitTicks) this.finishBarrier(id, barrier, false);
    }
    if (this.ticks - leader.lastExpiryCheckTick >= this.expiryCheckTicks) {
      leader.lastExpiryCheckTick = this.ticks;
      this.leaderExpire();
    }
  }

  private leaderExpire(): void {
    const leader = this.leaderState as LeaderState;
    const applied = this.machine.lastAppliedZxid;
    for (const [sessionId, deadline] of leader.sessionExpiry) {
      if (deadline > this.ticks) continue;
      if ((leader.expiring.get(sessionId) ?? NO_ZXID) > applied) continue;
      if (!this.machine.hasSession(sessionId)) {
        if (!leader.expiring.has(sessionId) || (leader.expiring.get(sessionId) as Zxid) <= applied) {
          leader.sessionExpiry.delete(sessionId);
          leader.expiring.delete(sessionId);
        }
        continue;
      }
      leader.expiring.set(sessionId, this.leaderHandleRequest(sessionId, 0, { op: 'closeSession' }));
    }
    for (const [path, zxid] of leader.expiringPaths) if (zxid <= applied) leader.expiringPaths.delete(path);
    for (const path of this.machine.expiredNodes(this.nowMs)) {
      if (leader.expiringPaths.has(path)) continue;
      leader.expiringPaths.set(path, this.leaderHandleRequest(0, 0, { op: 'delete', path, version: -1 }));
    }
  }

  private stepLeader(from: number, message: PeerMessage): void {
    const leader = this.leaderState as LeaderState;
    const learner = leader.learners.get(from);
    // Only messages of this epoch show the learner still follows us.
    if (learner && message.type !== 'notification' && message.epoch === leader.epoch)
      learner.lastHeardTick = this.ticks;
    switch (message.type) {
      case 'followerInfo': {
        const observer = !this.voters.includes(from);
        if (observer !== message.observer) return;
        const entry: Learner = {
          id: from,
          observer,
          acceptedEpoch: message.acceptedEpoch,
          stage: 'info',
          ackedZxid: NO_ZXID,
          lastHeardTick: this.ticks,
          currentEpoch: 0,
          lastZxid: 0,
          stream: null,
          followId: message.followId,
        };
        leader.learners.set(from, entry);
        leader.ackEpochVoters.delete(from);
        leader.newLeaderAcks.delete(from);
        if (leader.phase === 'discovery') {
          if (!observer) leader.infoVoters.set(from, message.acceptedEpoch);
          this.leaderMaybeChooseEpoch();
        } else {
          this.send(from, { type: 'leaderInfo', epoch: leader.epoch });
        }
        return;
      }
      case 'ackEpoch': {
        if (!learner || message.epoch !== leader.epoch || learner.stage !== 'info') return;
        learner.stage = 'syncing';
        learner.currentEpoch = message.currentEpoch;
        learner.lastZxid = message.lastZxid;
        leader.lastProgressTick = this.ticks;
        if (leader.phase === 'epochAck') {
          if (!learner.observer) leader.ackEpochVoters.add(from);
          this.leaderMaybeStartSync();
        } else if (leader.phase === 'sync' || leader.phase === 'broadcast') {
          if (
            message.currentEpoch > this.currentEpoch ||
            (message.currentEpoch === this.currentEpoch && message.lastZxid > this.log.lastLoggedZxid())
          ) {
            // A learner ahead of an established leader cannot be synced; it will find the real history in an election.
            return;
          }
          this.leaderSendSync(learner);
        }
        return;
      }
      case 'ackNewLeader': {
        if (!learner || message.epoch !== leader.epoch || learner.stage !== 'syncing' || learner.stream !== null)
          return;
        learner.stage = 'synced';
        leader.lastProgressTick = this.ticks;
        learner.ackedZxid = message.lastZxid;
        if (!learner.observer) leader.newLeaderAcks.add(from);
        if (leader.phase === 'sync') {
          this.leaderMaybeEstablish();
        } else if (leader.phase === 'broadcast') {
          this.send(from, { type: 'upToDate', epoch: leader.epoch, committedZxid: this.log.committedZxid });
          learner.stage = 'uptodate';
          this.leaderMaybeCommit();
        }
        return;
      }
      case 'syncAck': {
        const stream = learner?.stream;
        if (!learner || !stream || message.epoch !== leader.epoch) return;
        if (message.chunks <= stream.chunksAcked || message.chunks > stream.chunksSent) return;
        while (stream.chunksAcked < message.chunks) {
          stream.inflightBytes -= stream.chunkBytes.shift() as number;
          stream.chunksAcked++;
        }
        leader.lastProgressTick = this.ticks;
        this.leaderPumpStream(learner);
        return;
      }
      case 'ack': {
        if (!learner || message.epoch !== leader.epoch || learner.observer) return;
        if (learner.stage !== 'synced' && learner.stage !== 'uptodate') return;
        if (message.zxid > learner.ackedZxid) learner.ackedZxid = message.zxid;
        this.leaderMaybeCommit();
        return;
      }
      case 'ping': {
        if (!learner || message.epoch !== leader.epoch) return;
        for (const sessionId of message.sessions) this.leaderTouch(sessionId);
        return;
      }
      case 'forward': {
        if (!learner || message.epoch !== leader.epoch || leader.phase !== 'broadcast') return;
        if (learner.stage !== 'uptodate' && learner.stage !== 'synced') return;
        // Only from the learner's current following: a copy from an earlier one (a connection
        // that broke with it in flight) would apply the request twice. Client xids are not
        // compared: they wrap, and a session resumed by a new client process starts again at 1.
        if (message.followId !== learner.followId) return;
        this.leaderAdmit(message.sessionId, message.cxid, message.request);
        return;
      }
      case 'barrierRequest': {
        if (!learner || message.epoch !== leader.epoch || leader.phase !== 'broadcast') return;
        this.leaderStartBarrier({ id: from, barrierId: message.id }, 0);
        return;
      }
      case 'barrierAck': {
        if (!learner || message.epoch !== leader.epoch || learner.observer) return;
        const barrier = leader.barriers.get(message.id);
        if (!barrier) return;
        barrier.acks.add(from);
        if (barrier.acks.size >= this.quorumSize()) this.finishBarrier(message.id, barrier, true);
        return;
      }
      default:
        return;
    }
  }

  private leaderTouch(sessionId: SessionId): void {
    const leader = this.leaderState as LeaderState;
    const ticks = leader.sessionTimeoutTicks.get(sessionId);
    if (ticks !== undefined) leader.sessionExpiry.set(sessionId, this.ticks + ticks);
  }

  /** leaderHandleRequest turns a request into a proposal (ZooKeeper's PrepRequestProcessor + ProposalRequestProcessor). */
  private leaderHandleRequest(sessionId: SessionId, cxid: number, request: Request | CreateSessionRequest): Zxid {
    const leader = this.leaderState as LeaderState;
    if (leader.phase !== 'broadcast') return NO_ZXID;
    const zxid = makeZxid(leader.epoch, leader.nextCounter);
    if (request.op === 'createSession') {
      const timeoutMs = this.machine.negotiateTimeoutMs(request.timeoutMs);
      // Session ids are unique across leaders: the zxid that creates a session is unique.
      const newSessionId = zxid;
      this.leaderPropose({
        zxid,
        sessionId: newSessionId,
        cxid,
        timeMs: this.nowMs,
        txn: { type: 'createSession', sessionId: newSessionId, timeoutMs },
      });
      this.trackSession(newSessionId, timeoutMs);
      return zxid;
    }
    if (sessionId !== 0) this.leaderTouch(sessionId);
    // A learner checked the path limit before forwarding; a learner configured otherwise did not.
    const refused = requestLimitError(request, this.limits);
    const txn = refused === null ? this.machine.prepare(sessionId, request, this.nowMs) : errorTxn(refused);
    this.leaderPropose({ zxid, sessionId, cxid, timeMs: this.nowMs, txn });
    return zxid;
  }

  /**
   * leaderAdmit takes a client request (local, or forwarded by a learner) into the pipeline, or
   * holds it while the proposals in flight are at proposalBytesInflightMax: a burst of big writes
   * then waits here, in order, instead of piling into every follower's send queue. Requests the
   * leader issues itself (expiry) are never held.
   */
  private leaderAdmit(sessionId: SessionId, cxid: number, request: Request | CreateSessionRequest): void {
    const leader = this.leaderState as LeaderState;
    if (leader.waiting.length > 0 || leader.proposedBytes >= this.limits.proposalBytesInflightMax) {
      leader.waiting.push({ sessionId, cxid, request });
      return;
    }
    this.leaderHandleRequest(sessionId, cxid, request);
  }

  /** leaderAdmitWaiting proposes held requests while the budget allows. */
  private leaderAdmitWaiting(): void {
    const leader = this.leaderState as LeaderState;
    let taken = 0;
    while (taken < leader.waiting.length && leader.proposedBytes < this.limits.proposalBytesInflightMax) {
      const next = leader.waiting[taken++] as WaitingRequest;
      this.leaderHandleRequest(next.sessionId, next.cxid, next.request);
    }
    if (taken > 0) leader.waiting.splice(0, taken);
  }

  private leaderPropose(entry: LogEntry): void {
    const leader = this.leaderState as LeaderState;
    assert(zxidEpoch(entry.zxid) === leader.epoch && zxidCounter(entry.zxid) === leader.nextCounter, 'zxid sequence');
    leader.nextCounter++;
    this.machine.noteProposed(entry);
    const bytes = this.log.append(entry);
    leader.proposedBytes += bytes;
    for (const learner of leader.learners.values()) {
      if (learner.observer || learner.stream !== null) continue;
      if (learner.stage === 'syncing' || learner.stage === 'synced' || learner.stage === 'uptodate') {
        this.outbox.sendEntry(learner.id, 'proposal', leader.epoch, entry, bytes);
      }
    }
  }

  private leaderMaybeCommit(): void {
    const leader = this.leaderState as LeaderState;
    if (leader.phase !== 'broadcast') return;
    const acked: Zxid[] = [this.log.persistedZxid];
    for (const learner of leader.learners.values()) {
      if (!learner.observer && (learner.stage === 'synced' || learner.stage === 'uptodate'))
        acked.push(learner.ackedZxid);
    }
    const candidate = quorumAckedZxid(acked, this.voters.length);
    if (candidate === null) return;
    // Only entries of this epoch are committed by counting acks; older ones were committed at establishment.
    if (candidate <= this.log.committedZxid || zxidEpoch(candidate) !== leader.epoch) return;
    const from = this.log.committedZxid;
    this.log.committedZxid = candidate;
    const start = from <= this.log.base ? 0 : this.log.findIndex(from) + 1;
    const end = this.log.findIndex(candidate) + 1;
    const sizes: number[] = [];
    for (let i = start; i < end; i++) {
      const entry = this.log.at(i);
      const size = logEntryBytes(entry);
      sizes.push(size);
      if (zxidEpoch(entry.zxid) === leader.epoch) leader.proposedBytes -= size;
    }
    for (const learner of leader.learners.values()) {
      if (learner.stage === 'info' || learner.stream !== null) continue;
      if (learner.observer) {
        for (let i = start; i < end; i++) {
          this.outbox.sendEntry(learner.id, 'inform', leader.epoch, this.log.at(i), sizes[i - start] as number);
        }
      } else if (learner.stage !== 'syncing') {
        // COMMIT is cumulative: a later commit round in the same Ready moves the queued one forward.
        this.outbox.sendCommit(learner.id, leader.epoch, candidate);
      }
    }
    this.applyCommitted();
    if (leader.waiting.length > 0) this.leaderAdmitWaiting();
  }

  private leaderStartBarrier(origin: Barrier['origin'], localId: number): void {
    const leader = this.leaderState as LeaderState;
    const id = leader.nextBarrierId++;
    const barrier: Barrier = {
      acks: new Set([this.id]),
      zxid: this.log.committedZxid,
      origin,
      localId,
      startedTick: this.ticks,
    };
    leader.barriers.set(id, barrier);
    if (barrier.acks.size >= this.quorumSize()) {
      this.finishBarrier(id, barrier, true);
      return;
    }
    for (const learner of leader.learners.values()) {
      if (!learner.observer && learner.stage === 'uptodate') {
        this.send(learner.id, { type: 'barrier', epoch: leader.epoch, id });
      }
    }
  }

  private finishBarrier(id: number, barrier: Barrier, ok: boolean): void {
    const leader = this.leaderState as LeaderState;
    leader.barriers.delete(id);
    if (barrier.origin) {
      if (ok) {
        this.send(barrier.origin.id, {
          type: 'barrierResult',
          epoch: leader.epoch,
          id: barrier.origin.barrierId,
          zxid: barrier.zxid,
        });
      }
      // A failed barrier is not answered: the learner's request fails when it loses the leader.
      return;
    }
    this.resolveLocalBarrier(barrier.localId, ok ? barrier.zxid : null);
  }

  // ---------------------------------------------------------------------------------------------
  // Learner (follower or observer): discovery, synchronization, broadcast.

  private becomeLearner(leaderId: number): void {
    this.role = this.isObserver ? 'observing' : 'following';
    this.leaderState = null;
    this.followerState = {
      leader: leaderId,
      epoch: 0,
      phase: 'discovery',
      startedTick: this.ticks,
      lastHeardTick: this.ticks,
      syncMode: null,
      truncZxid: 0,
      snapshotZxid: 0,
      snapRecords: [],
      syncEntries: [],
      syncChunks: 0,
      followId: Math.floor(this.random.next() * 0x1_0000_0000),
      touched: new Set(),
      nextBarrierId: 1,
    };
    this.send(leaderId, {
      type: 'followerInfo',
      epoch: 0,
      acceptedEpoch: this.acceptedEpoch,
      observer: this.isObserver,
      followId: this.followerState.followId,
    });
  }

  private tickLearner(): void {
    const follower = this.followerState as FollowerState;
    if (follower.phase !== 'broadcast') {
      // Discovery is bounded from the start; synchronization while the leader is silent (a long SNAP
      // keeps sending, and the leader pings a synced learner while it waits for a quorum).
      const since = follower.phase === 'discovery' ? follower.startedTick : follower.lastHeardTick;
      if (this.ticks - since > this.initLimitTicks) {
        this.becomeLooking();
        return;
      }
      if (follower.phase === 'discovery' && (this.ticks - follower.startedTick) % 2 === 0) {
        // The leader may not have been ready for us yet (still LOOKING): ask again.
        this.send(follower.leader, {
          type: 'followerInfo',
          epoch: 0,
          acceptedEpoch: this.acceptedEpoch,
          observer: this.isObserver,
          followId: follower.followId,
        });
      }
      return;
    }
    if (this.ticks - follower.lastHeardTick > this.syncLimitTicks) {
      this.becomeLooking();
      return;
    }
    this.send(follower.leader, { type: 'ping', epoch: follower.epoch, sessions: [...follower.touched] });
    follower.touched.clear();
    // A barrier the leader could not confirm is never answered: fail it after twice the sync limit.
    for (const [localId, waiter] of this.barrierWaiters) {
      if (this.ticks - waiter.startedTick > 2 * this.syncLimitTicks) this.resolveLocalBarrier(localId, null);
    }
  }

  private stepLearner(from: number, message: PeerMessage): void {
    const follower = this.followerState as FollowerState;
    if (from !== follower.leader) return;
    const zab = message as ZabMessage;
    if (zab.type === 'leaderInfo') {
      if (follower.phase !== 'discovery') return;
      follower.lastHeardTick = this.ticks;
      if (zab.epoch < this.acceptedEpoch) {
        // The leader proposes an epoch older than one we accepted: it cannot lead us.
        this.becomeLooking();
        return;
      }
      follower.epoch = zab.epoch;
      follower.phase = 'sync';
      if (zab.epoch > this.acceptedEpoch) {
        this.acceptedEpoch = zab.epoch;
        this.outbox.ready.epochs = { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
      }
      // Sent with the Ready that persists acceptedEpoch: never before it is durable.
      this.send(from, {
        type: 'ackEpoch',
        epoch: zab.epoch,
        currentEpoch: this.currentEpoch,
        lastZxid: this.log.lastLoggedZxid(),
      });
      return;
    }
    if (zab.epoch !== follower.epoch || follower.phase === 'discovery') return;
    follower.lastHeardTick = this.ticks;
    switch (zab.type) {
      case 'sync':
        if (follower.phase !== 'sync' || follower.syncMode !== null) return;
        follower.syncMode = zab.mode;
        follower.truncZxid = zab.truncZxid;
        follower.snapshotZxid = zab.snapshotZxid;
        return;
      case 'snapChunk':
        if (follower.phase !== 'sync' || follower.syncMode !== 'SNAP') return;
        for (const record of zab.records) follower.snapRecords.push(record);
        this.learnerAckChunk(follower);
        return;
      case 'entries':
        if (follower.phase !== 'sync' || follower.syncMode === null) return;
        for (const entry of zab.entries) follower.syncEntries.push(entry);
        this.learnerAckChunk(follower);
        return;
      case 'newLeader':
        if (follower.phase !== 'sync' || follower.syncMode === null) return;
        this.learnerInstallSync(follower);
        return;
      case 'proposal':
        if (follower.phase === 'sync') {
          // Proposals made while our sync stream was in flight: they follow it in the history.
          for (const entry of zab.entries) follower.syncEntries.push(entry);
          return;
        }
        if (!this.appendInSequence(zab.entries, follower.epoch)) return;
        this.outbox.sendAck(from, follower.epoch, this.log.lastLoggedZxid());
        return;
      case 'commit':
        if (follower.phase === 'sync') return;
        if (zab.zxid > this.log.committedZxid) this.log.committedZxid = zab.zxid;
        this.applyCommitted();
        return;
      case 'inform':
        if (follower.phase === 'sync') {
          for (const entry of zab.entries) follower.syncEntries.push(entry);
          return;
        }
        if (!this.appendInSequence(zab.entries, follower.epoch)) return;
        {
          const last = zab.entries.at(-1);
          if (last && last.zxid > this.log.committedZxid) this.log.committedZxid = last.zxid;
        }
        this.applyCommitted();
        return;
      case 'upToDate':
        if (follower.phase !== 'synced') return;
        follower.phase = 'broadcast';
        if (zab.committedZxid > this.log.committedZxid) this.log.committedZxid = zab.committedZxid;
        this.applyCommitted();
        return;
      case 'ping':
        return;
      case 'barrier':
        if (follower.phase === 'broadcast' && !this.isObserver) {
          this.send(from, { type: 'barrierAck', epoch: follower.epoch, id: zab.id });
        }
        return;
      case 'barrierResult':
        this.resolveLocalBarrier(zab.id, zab.zxid);
        return;
      default:
        return;
    }
  }

  /** learnerAckChunk acknowledges one more message of the sync stream (flow control; one SYNCACK per Ready). */
  private learnerAckChunk(follower: FollowerState): void {
    follower.syncChunks++;
    this.outbox.sendSyncAck(follower.leader, follower.epoch, follower.syncChunks);
  }

  /** learnerInstallSync: NEWLEADER arrived; take the whole sync stream into the log, durably, then ack. */
  private learnerInstallSync(follower: FollowerState): void {
    if (follower.syncMode === 'SNAP') {
      // Drop our history above the snapshot first, so a crash mid-install never replays it over the snapshot.
      this.log.truncate(Math.min(follower.snapshotZxid, this.log.lastLoggedZxid()), this.machine.lastAppliedZxid, true);
      this.machine.restore(follower.snapshotZxid, follower.snapRecords);
      this.log.resetToSnapshot(follower.snapshotZxid);
      this.outbox.ready.snapshot = {
        header: { zxid: follower.snapshotZxid, timeMs: this.nowMs },
        records: follower.snapRecords,
      };
    } else if (follower.syncMode === 'TRUNC') {
      this.log.truncate(follower.truncZxid, this.machine.lastAppliedZxid, false);
    }
    this.log.appendNew(follower.syncEntries);
    follower.syncEntries = [];
    follower.snapRecords = [];
    follower.phase = 'synced';
    // currentEpoch only after everything synced is persisted: it rides in the same Ready, after the entries.
    this.currentEpoch = follower.epoch;
    this.outbox.ready.epochs = { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
    this.send(follower.leader, { type: 'ackNewLeader', epoch: follower.epoch, lastZxid: this.log.lastLoggedZxid() });
  }

  // ---------------------------------------------------------------------------------------------
  // Client requests.

  private submitWrite(sessionId: SessionId, xid: number, request: Request): void {
    if (this.role === 'leading') this.leaderAdmit(sessionId, xid, request);
    else this.forwardToLeader(sessionId, xid, request);
  }

  private startBarrier(sessionId: SessionId, item: PendingRequest): void {
    const localId = this.nextLocalBarrierId++;
    item.barrierId = localId;
    this.barrierWaiters.set(localId, { sessionId, xid: item.xid, startedTick: this.ticks });
    if (this.role === 'leading') this.leaderStartBarrier(null, localId);
    else this.sendToLeader({ type: 'barrierRequest', epoch: this.epochOfRole(), id: localId });
  }

  private resolveLocalBarrier(localId: number, zxid: Zxid | null): void {
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

  private touch(sessionId: SessionId): void {
    if (this.role === 'leading') this.leaderTouch(sessionId);
    else if (this.followerState) this.followerState.touched.add(sessionId);
  }

  private queueOf(sessionId: SessionId): PendingRequest[] {
    let queue = this.pending.get(sessionId);
    if (!queue) {
      queue = [];
      this.pending.set(sessionId, queue);
    }
    return queue;
  }

  /** flushSession answers the session's requests from the head of its queue while they are ready. */
  private flushSession(sessionId: SessionId): void {
    const queue = this.pending.get(sessionId);
    if (!queue) return;
    while (queue.length > 0) {
      const head = queue[0] as PendingRequest;
      if (head.kind === 'write') {
        if (!head.done) break;
        this.replyNow(sessionId, head.xid, head.error, head.result, head.zxid);
      } else if (head.kind === 'barrier') {
        if (head.done) {
          this.replyNow(sessionId, head.xid, head.error, head.result);
        } else {
          if (head.barrierZxid === NO_ZXID) break;
          if (this.machine.lastAppliedZxid < head.barrierZxid) {
            this.awaitingApply.add(sessionId);
            break;
          }
          if (head.readAfterBarrier) this.answerRead(sessionId, head);
          else this.replyNow(sessionId, head.xid, null, { op: 'sync', path: (head.request as { path: string }).path });
        }
      } else if (head.kind === 'refused') {
        this.replyNow(sessionId, head.xid, head.error, null);
      } else {
        this.answerRead(sessionId, head);
      }
      queue.shift();
    }
    if (queue.length === 0) this.pending.delete(sessionId);
  }

  private answerRead(sessionId: SessionId, item: PendingRequest): void {
    if (!this.machine.hasSession(sessionId)) {
      this.replyNow(sessionId, item.xid, 'SESSION_EXPIRED', null);
      return;
    }
    const outcome = this.machine.read(sessionId, item.request);
    for (const event of outcome.events) this.outbox.ready.toClients.push({ type: 'event', ...event });
    const reply: Reply = {
      sessionId,
      xid: item.xid,
      zxid: this.machine.lastAppliedZxid,
      error: outcome.error,
      result: outcome.result,
    };
    if (outcome.result !== null && replyBytes(reply) > this.limits.clientFrameBytesMax) {
      // Too big to send (a huge getChildren, a multiRead of big znodes): that request fails alone.
      this.replyNow(sessionId, item.xid, 'MARSHALLING_ERROR', null);
      return;
    }
    this.outbox.ready.toClients.push({ type: 'reply', reply });
  }

  private replyNow(
    sessionId: SessionId,
    xid: number,
    error: ErrorCode | null,
    result: Reply['result'],
    zxid: Zxid = this.machine.lastAppliedZxid,
  ): void {
    this.outbox.ready.toClients.push({ type: 'reply', reply: { sessionId, xid, zxid, error, result } });
  }

  /** failPending fails every request in flight with CONNECTION_LOSS (this server stops serving). */
  private failPending(): void {
    for (const [sessionId, queue] of this.pending) {
      for (const item of queue) {
        this.outbox.ready.toClients.push({
          type: 'reply',
          reply: {
            sessionId,
            xid: item.xid,
            zxid: this.machine.lastAppliedZxid,
            error: 'CONNECTION_LOSS',
            result: null,
          },
        });
      }
    }
    this.pending.clear();
    this.barrierWaiters.clear();
    this.awaitingApply.clear();
    for (const connectId of this.pendingConnects.keys()) {
      this.outbox.ready.toClients.push({ type: 'connectFailed', connectId, error: 'CONNECTION_LOSS' });
    }
    this.pendingConnects.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Log and apply.

  /** applyCommitted applies, in order, every entry that is both committed and durable here. */
  private applyCommitted(): void {
    const limit = Math.min(this.log.committedZxid, this.log.persistedZxid);
    const applied = this.machine.lastAppliedZxid;
    if (applied >= limit) return;
    let index = applied <= this.log.base ? 0 : this.log.findIndex(applied) + 1;
    assert(index >= 0, () => `applied ${formatZxid(applied)} not in history`);
    while (index < this.log.length) {
      const entry = this.log.at(index);
      if (entry.zxid > limit) break;
      if (entry.zxid > this.machine.lastAppliedZxid) this.applyEntry(entry);
      index++;
    }
    this.log.trim(() => this.historyPin());
  }

  private applyEntry(entry: LogEntry): void {
    const before = this.machine.lastAppliedZxid;
    assert(entry.zxid > before, () => `apply ${formatZxid(entry.zxid)} after ${formatZxid(before)}`);
    const outcome = this.machine.apply(entry);
    this.outbox.ready.applied.push(entry);
    for (const event of outcome.events) this.outbox.ready.toClients.push({ type: 'event', ...event });
    const txn = entry.txn;
    if (txn.type === 'createSession') {
      const connect = this.pendingConnects.get(entry.cxid);
      if (connect) {
        this.pendingConnects.delete(entry.cxid);
        this.outbox.ready.toClients.push({
          type: 'sessionCreated',
          connectId: entry.cxid,
          sessionId: txn.sessionId,
          timeoutMs: txn.timeoutMs,
        });
      }
      if (this.leaderState && !this.leaderState.sessionExpiry.has(txn.sessionId)) {
        this.trackSession(txn.sessionId, txn.timeoutMs);
      }
    }
    if (txn.type === 'closeSession') {
      this.outbox.ready.toClients.push({ type: 'sessionClosed', sessionId: txn.sessionId });
      if (this.leaderState) {
        this.leaderState.sessionExpiry.delete(txn.sessionId);
        this.leaderState.sessionTimeoutTicks.delete(txn.sessionId);
        this.leaderState.expiring.delete(txn.sessionId);
      }
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

  /** historyPin: the history may be trimmed up to the applied zxid, but not past what a leader's sync stream still has to send. */
  private historyPin(): Zxid {
    let pin = this.machine.lastAppliedZxid;
    if (this.leaderState) {
      for (const learner of this.leaderState.learners.values()) {
        if (learner.stream !== null && learner.stream.sentZxid < pin) pin = learner.stream.sentZxid;
      }
    }
    return pin;
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  /**
   * appendInSequence logs the entries of a PROPOSAL or INFORM that follow our history, skipping
   * duplicates. A gap means messages were lost: rather than log a history with a hole, go back to
   * LOOKING and resynchronize (returns false).
   */
  private appendInSequence(entries: readonly LogEntry[], epoch: number): boolean {
    for (const entry of entries) {
      if (entry.zxid <= this.log.lastLoggedZxid()) continue;
      if (!this.followsInSequence(entry.zxid, epoch)) {
        this.becomeLooking();
        return false;
      }
      this.log.append(entry);
    }
    return true;
  }

  /** followsInSequence: `zxid` is the next proposal of `epoch` after our last logged entry. */
  private followsInSequence(zxid: Zxid, epoch: number): boolean {
    const last = this.log.lastLoggedZxid();
    if (zxidEpoch(zxid) !== epoch) return false;
    if (zxidEpoch(last) === epoch) return zxid === last + 1;
    return zxidCounter(zxid) === 1;
  }

  private epochOfRole(): number {
    return this.leaderState?.epoch ?? this.followerState?.epoch ?? 0;
  }

  /** forwardToLeader sends a client request (or createSession) to the leader, tagged with this following's id. */
  private forwardToLeader(sessionId: SessionId, cxid: number, request: Request | CreateSessionRequest): void {
    const follower = this.followerState;
    if (follower) {
      this.send(follower.leader, {
        type: 'forward',
        epoch: follower.epoch,
        followId: follower.followId,
        sessionId,
        cxid,
        request,
      });
    }
  }

  private sendToLeader(message: ZabMessage): void {
    const follower = this.followerState;
    if (follower) this.send(follower.leader, message);
  }

  private send(to: number, message: PeerMessage): void {
    this.outbox.send(to, message);
  }

  private allMembers(): number[] {
    return [...this.voters, ...this.observers];
  }

  private quorumSize(): number {
    return quorumSize(this.voters.length);
  }
}

function pendingItem(xid: number, request: Request, kind: PendingRequest['kind']): PendingRequest {
  return {
    xid,
    request,
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

function errorTxn(code: ErrorCode): ErrorTxn {
  return { type: 'error', code };
}

function voteOf(n: Vote): Vote {
  return { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch };
}

/** totalOrder: FLE's vote order (peerEpoch, zxid, server id); true when `next` beats `current`. */
export function totalOrder(next: Vote, current: Vote): boolean {
  if (next.leader < 1) return false;
  if (next.peerEpoch !== current.peerEpoch) return next.peerEpoch > current.peerEpoch;
  if (next.zxid !== current.zxid) return next.zxid > current.zxid;
  return next.leader > current.leader;
}
