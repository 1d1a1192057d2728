import { requestLimitError } from '../limits.js';
import { NO_AUTH_IDS, SUPER_SCHEME } from '../tree/acl.js';
import type {
  AuthId,
  ClusterMember,
  ErrorCode,
  ErrorTxn,
  LogEntry,
  ReconfigRequest,
  Request,
  SessionId,
  Txn,
} from '../types.js';
import { logEntryBytes } from '../wire-size.js';
import { formatZxid, makeZxid, type Zxid, zxidCounter, zxidEpoch } from '../zxid.js';
import type { PeerContext, Phase } from './context.js';
import { assert, NO_ZXID } from './invariant.js';
import { checkMembers, isJointQuorum, jointQuorumAckedZxid, type ReconfigChange, ReconfigError } from './membership.js';
import type { CreateSessionRequest, PeerMessage, ZabMessage } from './messages.js';
import type { LogRead } from './outbox.js';
import { SessionExpiry } from './sessions.js';
import { planSync, SyncStream, syncStartHeld } from './sync-stream.js';

/**
 * LearnerHandle is the leader's record of one learner (ZooKeeper's LearnerHandler): where it is in
 * discovery, synchronization and broadcast, what it acknowledged, and its sync stream.
 */
interface LearnerHandle {
  id: number;
  observer: boolean;
  /**
   * phase: discovery from its FOLLOWERINFO, synchronization from its ACKEPOCH (SYNC and the stream
   * sent), broadcast once UPTODATE is sent to it.
   */
  phase: Phase;
  /** newLeaderAcked: it acknowledged NEWLEADER (it durably holds the synced history); it acks proposals from here on. */
  newLeaderAcked: boolean;
  /** ackedZxid is the last zxid this learner durably logged in this epoch (voters only count once synced). */
  ackedZxid: Zxid;
  lastHeardTick: number;
  /** currentEpoch and lastZxid: its history as its ACKEPOCH described it. */
  currentEpoch: number;
  lastZxid: Zxid;
  /** stream is the synchronization being streamed to it; proposals wait for NEWLEADER, which ends it. */
  stream: SyncStream | null;
  /** followId: from its FOLLOWERINFO; forwards carrying another are late copies of an earlier following. */
  followId: number;
}

/** Barrier is a read barrier the leader confirms with a quorum (ZooKeeper's sync, and linearizable reads). */
interface Barrier {
  acks: Set<number>;
  zxid: Zxid;
  /** origin: the learner that asked and its barrier id, or null for this server's own waiter. */
  origin: { id: number; barrierId: number } | null;
  localId: number;
  startedTick: number;
}

/** WaitingRequest is a client request the leader holds while its proposals in flight are over budget. */
interface WaitingRequest {
  sessionId: SessionId;
  cxid: number;
  request: Request | CreateSessionRequest;
  auth: readonly AuthId[];
}

/**
 * Leader is the leading role (ZooKeeper's Leader with its LearnerHandlers).
 *  - Discovery: a quorum of voters' FOLLOWERINFO (this leader included) fixes the new epoch above
 *    all their acceptedEpochs; LEADERINFO proposes it; a quorum of ACKEPOCH, none of them ahead of
 *    this leader's history, establishes it (currentEpoch).
 *  - Synchronization: each learner gets SYNC (DIFF, TRUNC or SNAP; sync-stream.ts) and the stream,
 *    then NEWLEADER; a quorum of ACK of NEWLEADER starts broadcast, and the whole history is then
 *    committed. Learners that acked get UPTODATE.
 *  - Broadcast: client writes become PROPOSALs; a proposal is committed once a quorum of voters
 *    (this leader included, counting only what it persisted) acknowledged it (quorum.ts), then
 *    COMMIT goes to followers and INFORM (the entry) to observers. A write is acknowledged to its
 *    client when the member it was sent to applies it (client-requests.ts).
 * Every quorum is counted over the configurations in force (membership.ts `isJointQuorum`): one, or,
 * while a reconfig is pending, the last committed and the new one, both needing a majority.
 * {@link Leader.proposeReconfig} starts a change; when it commits, learners take their new roles
 * ({@link Leader.reconcileLearners}) and a leader that no longer votes steps down.
 */
export class Leader {
  epoch = 0;
  phase: Phase = 'discovery';
  private readonly learners = new Map<number, LearnerHandle>();
  /** infoVoters: voters whose FOLLOWERINFO (or self) was counted towards the new epoch. */
  private readonly infoVoters: Map<number, number>;
  private readonly ackEpochVoters: Set<number>;
  private readonly newLeaderAcks: Set<number>;
  /** nextCounter is the counter of the next zxid this leader proposes. */
  private nextCounter = 1;
  /** streamsStarted numbers the sync streams, so a disk read answered late finds the stream that asked. */
  private streamsStarted = 0;
  private readonly startedTick: number;
  /** lastProgressTick: the last tick a learner moved its synchronization on (synchronization times out without progress). */
  private lastProgressTick: number;
  /** proposedBytes: bytes of this epoch's entries proposed and not yet committed. */
  private proposedBytes = 0;
  /** waiting: client requests held while proposedBytes is at proposalBytesInflightMax, in arrival order. */
  private readonly waiting: WaitingRequest[] = [];
  private readonly barriers = new Map<number, Barrier>();
  private nextBarrierId = 1;
  /** sessions: session deadlines, kept from establishment on (sessions.ts). */
  readonly sessions: SessionExpiry;

  constructor(private readonly context: PeerContext) {
    const { id, tickMs, expiryCheckTicks } = context.settings;
    const ticks = context.clock.ticks;
    this.infoVoters = new Map([[id, context.epochs.acceptedEpoch]]);
    this.ackEpochVoters = new Set([id]);
    this.newLeaderAcks = new Set([id]);
    this.startedTick = ticks;
    this.lastProgressTick = ticks;
    this.sessions = new SessionExpiry(tickMs, expiryCheckTicks, ticks);
  }

  /** start begins discovery (alone, a one-voter ensemble goes straight to broadcast). */
  start(): void {
    this.maybeChooseEpoch();
  }

  /** established: a quorum acknowledged NEWLEADER; this leader serves. */
  get established(): boolean {
    return this.phase === 'broadcast';
  }

  /** outstanding is the number of this epoch's proposals not yet committed. */
  outstanding(): number {
    const log = this.context.log;
    return log.lastLoggedZxid() - Math.max(log.committedZxid, makeZxid(this.epoch, 0));
  }

  /**
   * historyPin lowers `pin` to the last entry a sync stream sent from memory: the history is kept
   * above it. A stream already behind the history's base reads from disk and pins nothing.
   */
  historyPin(pin: Zxid): Zxid {
    const base = this.context.log.base;
    let lowest = pin;
    for (const learner of this.learners.values()) {
      const sent = learner.stream?.sentZxid;
      if (sent !== undefined && sent >= base && sent < lowest) lowest = sent;
    }
    return lowest;
  }

  /**
   * logRead takes the host's answer to a stream's LogRead. A failed or wrong read means the disk
   * log no longer holds what was trimmed: the leader stops offering DIFF from disk below its
   * current base (those learners get a SNAP) and drops this learner, which resyncs.
   */
  logRead(read: LogRead, entries: readonly LogEntry[] | null): void {
    const learner = this.learners.get(read.learnerId);
    const stream = learner?.stream;
    if (!learner || !stream || read.epoch !== this.epoch || stream.id !== read.streamId) return;
    if (stream.readDone(read, entries)) {
      this.pumpStream(learner);
      return;
    }
    const log = this.context.log;
    log.trimmed.reset(log.base);
    this.forgetLearner(learner.id);
    this.context.outbox.ready.disconnect.push(learner.id);
  }

  /** forgetLearner drops the record of a learner (its connection broke, or it stalled); it must sync again. */
  forgetLearner(peerId: number): void {
    if (this.learners.delete(peerId)) {
      this.ackEpochVoters.delete(peerId);
      if (this.phase !== 'broadcast') this.newLeaderAcks.delete(peerId);
      if (this.phase === 'discovery') this.infoVoters.delete(peerId);
      for (const [id, barrier] of this.barriers) {
        if (barrier.origin?.id === peerId) this.barriers.delete(id);
      }
    }
  }

  tick(): void {
    const { initLimitTicks, syncLimitTicks } = this.context.settings;
    const ticks = this.context.clock.ticks;
    if (this.phase !== 'broadcast') {
      // Discovery is bounded from the start; synchronization only while nobody makes progress, so a
      // big SNAP to a quorum takes as long as it needs (ZooKeeper's initLimit is a per-read timeout there too).
      const since = this.phase === 'synchronization' ? this.lastProgressTick : this.startedTick;
      if (ticks - since > initLimitTicks) {
        this.context.becomeLooking();
        return;
      }
      // Learners that finished their sync wait for UPTODATE: keep them from timing out meanwhile.
      for (const learner of this.learners.values()) {
        if (learner.phase === 'synchronization' && learner.newLeaderAcked) {
          this.send(learner.id, { type: 'ping', epoch: this.epoch, sessions: [] });
        }
      }
      return;
    }
    // A learner whose synchronization stalled for initLimit is dropped (it rejoins and resyncs):
    // its stream would otherwise pin the history in memory.
    for (const learner of [...this.learners.values()]) {
      const stalling =
        learner.phase === 'discovery' || (learner.phase === 'synchronization' && !learner.newLeaderAcked);
      if (stalling && ticks - learner.lastHeardTick > initLimitTicks) {
        this.forgetLearner(learner.id);
        // Tell it by dropping the connection: it looks again (and resyncs) as soon as it runs.
        this.context.outbox.ready.disconnect.push(learner.id);
      }
    }
    // Step down when no quorum of voters was heard from within syncLimit (Leader.lead's tick loop).
    const heard = new Set([this.context.settings.id]);
    for (const learner of this.learners.values()) {
      if (!learner.observer && learner.phase === 'broadcast' && ticks - learner.lastHeardTick <= syncLimitTicks) {
        heard.add(learner.id);
      }
    }
    if (!this.hasQuorum(heard)) {
      this.context.becomeLooking();
      return;
    }
    for (const learner of this.learners.values()) {
      if (learner.phase === 'broadcast') this.send(learner.id, { type: 'ping', epoch: this.epoch, sessions: [] });
    }
    for (const [id, barrier] of this.barriers) {
      if (ticks - barrier.startedTick > syncLimitTicks) this.finishBarrier(id, barrier, false);
    }
    this.sessions.check(ticks, this.context.clock.nowMs, this.context.machine, (sessionId, request) =>
      this.handleRequest(sessionId, 0, request, NO_AUTH_IDS),
    );
  }

  step(from: number, message: ZabMessage): void {
    const learner = this.learners.get(from);
    const ticks = this.context.clock.ticks;
    // Only messages of this epoch show the learner still follows us.
    if (learner && message.epoch === this.epoch) learner.lastHeardTick = ticks;
    switch (message.type) {
      case 'followerInfo': {
        // The leader's configurations decide the learner's role, not what the learner believes
        // (its own log may not hold the latest change yet).
        const observer = !this.context.isVoter(from);
        this.learners.set(from, {
          id: from,
          observer,
          phase: 'discovery',
          newLeaderAcked: false,
          ackedZxid: NO_ZXID,
          lastHeardTick: ticks,
          currentEpoch: 0,
          lastZxid: 0,
          stream: null,
          followId: message.followId,
        });
        this.ackEpochVoters.delete(from);
        this.newLeaderAcks.delete(from);
        if (this.phase === 'discovery' && !this.epochChosen()) {
          this.infoVoters.set(from, message.acceptedEpoch);
          this.maybeChooseEpoch();
        } else if (!observer && message.acceptedEpoch > this.epoch) {
          // This voter promised a later epoch (to a leader that never established it) and would
          // refuse ours: it could not rejoin until the next leader change, leaving the ensemble one
          // failure from an outage. Bring that change now: the election's discovery picks an epoch
          // above its promise (found by the simulator, seed 276 on the real storage). We take up
          // the promise ourselves (a promise only restricts, so it is always safe to make): our
          // FOLLOWERINFO or our own discovery then puts the next epoch above it even when the next
          // leader's quorum is chosen before that voter is heard, instead of climbing one election
          // at a time up to an epoch equal to its promise.
          if (message.acceptedEpoch > this.context.epochs.acceptedEpoch) {
            this.context.epochs.acceptedEpoch = message.acceptedEpoch;
            this.context.saveEpochs();
          }
          this.context.becomeLooking();
        } else {
          this.send(from, { type: 'leaderInfo', epoch: this.epoch });
        }
        return;
      }
      case 'ackEpoch': {
        if (!learner || message.epoch !== this.epoch || learner.phase !== 'discovery') return;
        learner.phase = 'synchronization';
        learner.currentEpoch = message.currentEpoch;
        learner.lastZxid = message.lastZxid;
        this.lastProgressTick = ticks;
        if (this.phase === 'discovery') {
          if (!this.epochChosen()) return;
          this.ackEpochVoters.add(from);
          this.maybeStartSync();
        } else {
          if (this.isAheadOfUs(message.currentEpoch, message.lastZxid)) {
            // A learner ahead of an established leader cannot be synced; it will find the real history in an election.
            return;
          }
          this.sendSync(learner);
        }
        return;
      }
      case 'ackNewLeader': {
        if (!learner || message.epoch !== this.epoch || learner.phase !== 'synchronization') return;
        if (learner.newLeaderAcked || learner.stream !== null) return;
        learner.newLeaderAcked = true;
        this.lastProgressTick = ticks;
        learner.ackedZxid = message.lastZxid;
        this.newLeaderAcks.add(from);
        if (this.phase === 'synchronization') {
          this.maybeEstablish();
        } else if (this.phase === 'broadcast') {
          this.send(from, { type: 'upToDate', epoch: this.epoch, committedZxid: this.context.log.committedZxid });
          learner.phase = 'broadcast';
          this.maybeCommit();
        }
        return;
      }
      case 'syncAck': {
        const stream = learner?.stream;
        if (!learner || !stream || message.epoch !== this.epoch) return;
        if (!stream.acknowledge(message.chunks)) return;
        this.lastProgressTick = ticks;
        this.pumpStream(learner);
        return;
      }
      case 'ack': {
        if (!learner || message.epoch !== this.epoch || learner.observer) return;
        if (!learner.newLeaderAcked) return;
        if (message.zxid > learner.ackedZxid) learner.ackedZxid = message.zxid;
        this.maybeCommit();
        return;
      }
      case 'ping': {
        if (!learner || message.epoch !== this.epoch) return;
        for (const sessionId of message.sessions) this.touch(sessionId);
        return;
      }
      case 'forward': {
        if (!learner || message.epoch !== this.epoch || this.phase !== 'broadcast') return;
        if (!learner.newLeaderAcked) return;
        // Only from the learner's current following: a copy from an earlier one (a connection
        // that broke with it in flight) would apply the request twice. Client xids are not
        // compared: they wrap, and a session resumed by a new client process starts again at 1.
        if (message.followId !== learner.followId) return;
        this.admit(message.sessionId, message.cxid, message.request, message.auth);
        return;
      }
      case 'barrierRequest': {
        if (!learner || message.epoch !== this.epoch || this.phase !== 'broadcast') return;
        this.startBarrier({ id: from, barrierId: message.id }, 0);
        return;
      }
      case 'barrierAck': {
        if (!learner || message.epoch !== this.epoch || learner.observer) return;
        const barrier = this.barriers.get(message.id);
        if (!barrier) return;
        barrier.acks.add(from);
        if (this.hasQuorum(barrier.acks)) this.finishBarrier(message.id, barrier, true);
        return;
      }
      default:
        return;
    }
  }

  /** touch renews a session's deadline (a request or ping of it). */
  touch(sessionId: SessionId): void {
    this.sessions.touch(sessionId, this.context.clock.ticks);
  }

  /**
   * admit takes a client request (local, or forwarded by a learner) into the pipeline, or holds it
   * while the proposals in flight are at proposalBytesInflightMax: a burst of big writes then
   * waits here, in order, instead of piling into every follower's send queue. Requests the leader
   * issues itself (expiry) are never held.
   */
  admit(
    sessionId: SessionId,
    cxid: number,
    request: Request | CreateSessionRequest,
    auth: readonly AuthId[] = NO_AUTH_IDS,
  ): void {
    if (this.waiting.length > 0 || this.proposedBytes >= this.context.settings.limits.proposalBytesInflightMax) {
      this.waiting.push({ sessionId, cxid, request, auth });
      return;
    }
    this.handleRequest(sessionId, cxid, request, auth);
  }

  /**
   * maybeCommit commits what a quorum of voters acknowledged (this leader counts with what it
   * persisted), tells followers (COMMIT) and observers (INFORM), and applies it.
   */
  maybeCommit(): void {
    if (this.phase !== 'broadcast') return;
    const log = this.context.log;
    const acked = new Map<number, Zxid>([[this.context.settings.id, log.persistedZxid]]);
    for (const learner of this.learners.values()) {
      if (!learner.observer && learner.newLeaderAcked) acked.set(learner.id, learner.ackedZxid);
    }
    const configsBefore = this.context.configs();
    const candidate = jointQuorumAckedZxid(acked, configsBefore);
    if (candidate === null) return;
    // Only entries of this epoch are committed by counting acks; older ones were committed at establishment.
    if (candidate <= log.committedZxid || zxidEpoch(candidate) !== this.epoch) return;
    const from = log.committedZxid;
    log.committedZxid = candidate;
    const start = log.indexAfter(from);
    const end = log.findIndex(candidate) + 1;
    const sizes: number[] = [];
    for (let i = start; i < end; i++) {
      const entry = log.at(i);
      const size = logEntryBytes(entry);
      sizes.push(size);
      if (zxidEpoch(entry.zxid) === this.epoch) this.proposedBytes -= size;
    }
    for (const learner of this.learners.values()) {
      if (learner.phase === 'discovery' || learner.stream !== null) continue;
      if (learner.observer) {
        for (let i = start; i < end; i++) {
          this.context.outbox.sendEntry(learner.id, 'inform', this.epoch, log.at(i), sizes[i - start] as number);
        }
      } else if (learner.newLeaderAcked) {
        this.context.outbox.sendCommit(learner.id, this.epoch, candidate);
      }
    }
    this.context.applyCommitted();
    if (configsBefore.length > 1 && !this.context.log.pendingReconfig()) {
      // The change committed: the new configuration alone is in force from here on.
      if (!this.context.isVoter(this.context.settings.id)) {
        // Removed, or made an observer: the COMMITs above still go out with this Ready, so the
        // voters of the new configuration hold it committed and elect a leader among themselves.
        this.context.becomeLooking();
        return;
      }
      this.reconcileLearners();
      this.maybeCommit();
      if (this.phase !== 'broadcast') return;
    }
    if (this.waiting.length > 0) this.admitWaiting();
  }

  /** checkReconfig returns the new member list `change` asks for, or throws the ReconfigError that refuses it. */
  private checkReconfig(change: ReconfigChange): ClusterMember[] {
    const log = this.context.log;
    if (this.phase !== 'broadcast') throw new ReconfigError('NOT_LEADER', 'this leader is not established yet');
    const refusal = this.context.settings.reconfigRefusal?.() ?? null;
    if (refusal !== null) throw new ReconfigError('RECONFIG_DISABLED', refusal);
    if (log.pendingReconfig()) {
      throw new ReconfigError(
        'RECONFIG_IN_PROGRESS',
        `version ${log.lastSeenConfig().version.toString(16)} is not committed yet`,
      );
    }
    const current = log.lastSeenConfig();
    if (change.fromVersion !== -1 && change.fromVersion !== current.version) {
      throw new ReconfigError(
        'BAD_VERSION',
        `the configuration in force is version ${current.version.toString(16)}, not ${change.fromVersion.toString(16)}`,
      );
    }
    const members = change.members.map((member) => ({ ...member }));
    const wrong = checkMembers(members);
    if (wrong !== null) throw new ReconfigError('BAD_ARGUMENTS', wrong);
    const proposed = { version: 0, members };
    const ticks = this.context.clock.ticks;
    const { id, syncLimitTicks } = this.context.settings;
    const synced = new Set<number>([id]);
    for (const learner of this.learners.values()) {
      if (learner.phase === 'broadcast' && ticks - learner.lastHeardTick <= syncLimitTicks) synced.add(learner.id);
    }
    if (!isJointQuorum(synced, [proposed])) {
      throw new ReconfigError(
        'NEW_CONFIG_NO_QUORUM',
        `a quorum of the new voters must be synced with the leader; synced now: ${[...synced].sort((a, b) => a - b).join(', ')}`,
      );
    }
    return members;
  }

  /**
   * proposeReconfig proposes a new member list (ZooKeeper's reconfig), or throws ReconfigError:
   * this leader must be established, no other change uncommitted, `fromVersion` the version in
   * force (or -1), the list well formed with a voter, and a quorum of its voters connected and
   * synced with this leader now (a new voter catches up as an observer first). Returns the zxid of
   * the reconfig, which is the new configuration's version once committed.
   */
  proposeReconfig(change: ReconfigChange): Zxid {
    const members = this.checkReconfig(change);
    const zxid = makeZxid(this.epoch, this.nextCounter);
    this.propose({ zxid, sessionId: 0, cxid: 0, timeMs: this.context.clock.nowMs, txn: { type: 'reconfig', members } });
    this.reconcileLearners();
    return zxid;
  }

  /**
   * reconcileLearners gives each learner the role the configurations in force give it: a learner in
   * none of them is dropped (its connection too); a voter of one of them is a follower (PROPOSAL,
   * COMMIT, its ACKs count), the others observers (INFORM). An observer turned follower is sent the
   * uncommitted tail of the log as a PROPOSAL (INFORM brought it up to the commit point), so it can
   * acknowledge the change that promotes it.
   */
  private reconcileLearners(): void {
    const log = this.context.log;
    for (const learner of [...this.learners.values()]) {
      if (!this.context.isMember(learner.id)) {
        this.forgetLearner(learner.id);
        this.context.outbox.ready.disconnect.push(learner.id);
        continue;
      }
      const observer = !this.context.isVoter(learner.id);
      if (observer === learner.observer) continue;
      learner.observer = observer;
      if (observer || learner.phase === 'discovery' || learner.stream !== null) continue;
      for (let i = log.indexAfter(log.committedZxid); i < log.length; i++) {
        const entry = log.at(i);
        this.context.outbox.sendEntry(learner.id, 'proposal', this.epoch, entry, logEntryBytes(entry));
      }
    }
  }

  /** startBarrier asks the voters to confirm this leader still leads; answered to `origin` (a learner) or locally. */
  startBarrier(origin: Barrier['origin'], localId: number): void {
    const id = this.nextBarrierId++;
    const barrier: Barrier = {
      acks: new Set([this.context.settings.id]),
      zxid: this.context.log.committedZxid,
      origin,
      localId,
      startedTick: this.context.clock.ticks,
    };
    this.barriers.set(id, barrier);
    if (this.hasQuorum(barrier.acks)) {
      this.finishBarrier(id, barrier, true);
      return;
    }
    for (const learner of this.learners.values()) {
      if (!learner.observer && learner.phase === 'broadcast') {
        this.send(learner.id, { type: 'barrier', epoch: this.epoch, id });
      }
    }
  }

  /** epochChosen: discovery heard a quorum of FOLLOWERINFO and proposed its epoch (LEADERINFO); it waits for ACKEPOCH. */
  private epochChosen(): boolean {
    return this.epoch !== 0;
  }

  private maybeChooseEpoch(): void {
    if (this.phase !== 'discovery' || this.epochChosen() || !this.hasQuorum(new Set(this.infoVoters.keys()))) return;
    // New epoch: above every acceptedEpoch of a quorum (Zab discovery), and above our own.
    let epoch = this.context.epochs.acceptedEpoch;
    for (const accepted of this.infoVoters.values()) epoch = Math.max(epoch, accepted);
    this.epoch = epoch + 1;
    // Persist acceptedEpoch before anyone hears of the epoch.
    this.context.epochs.acceptedEpoch = this.epoch;
    this.context.saveEpochs();
    for (const learner of this.learners.values()) {
      this.send(learner.id, { type: 'leaderInfo', epoch: this.epoch });
    }
    this.maybeStartSync();
  }

  private maybeStartSync(): void {
    if (this.phase !== 'discovery' || !this.epochChosen() || !this.hasQuorum(this.ackEpochVoters)) return;
    // Zab: the epoch is established by a quorum none of whose members is ahead of the leader. A
    // learner ahead of us (typically the old leader, back with proposals nobody else logged: they
    // were never committed) does not count, as in ZooKeeper's waitForEpochAck; it is synced with
    // the others (TRUNC), and we wait for a quorum of the rest instead of giving up the term.
    const counted = new Set<number>();
    for (const id of this.ackEpochVoters) {
      const learner = this.learners.get(id);
      if (
        id === this.context.settings.id ||
        (learner !== undefined && !this.isAheadOfUs(learner.currentEpoch, learner.lastZxid))
      ) {
        counted.add(id);
      }
    }
    if (!this.hasQuorum(counted)) return;
    this.phase = 'synchronization';
    this.lastProgressTick = this.context.clock.ticks;
    this.context.epochs.currentEpoch = this.epoch;
    this.context.saveEpochs();
    for (const learner of this.learners.values()) {
      if (learner.phase === 'synchronization' && !learner.newLeaderAcked) this.sendSync(learner);
    }
    this.maybeEstablish();
  }

  /** isAheadOfUs: a history ending at (currentEpoch, lastZxid) is more recent than ours. */
  private isAheadOfUs(currentEpoch: number, lastZxid: Zxid): boolean {
    const ours = this.context.epochs.currentEpoch;
    return currentEpoch > ours || (currentEpoch === ours && lastZxid > this.context.log.lastLoggedZxid());
  }

  private sendSync(learner: LearnerHandle): void {
    const log = this.context.log;
    const { machine, settings } = this.context;
    const plan = planSync(log, machine.lastAppliedZxid, learner.lastZxid, {
      factor: settings.diskDiffFactor,
      znodes: machine.stats().znodes,
      bytesMax: settings.limits.historyBytesMax,
    });
    this.send(learner.id, {
      type: 'sync',
      epoch: this.epoch,
      mode: plan.mode,
      truncZxid: plan.mode === 'TRUNC' ? plan.truncZxid : 0,
      snapshotZxid: plan.mode === 'SNAP' ? plan.from : 0,
    });
    assert(syncStartHeld(log, plan.from), () => `sync start ${formatZxid(plan.from)} not in history`);
    learner.phase = 'synchronization';
    // From here on the learner is in the forwarding set: after NEWLEADER ends the stream it gets
    // every new proposal; until then the stream carries them, read from the log.
    learner.ackedZxid = NO_ZXID;
    learner.stream = new SyncStream(this.context, learner.id, this.epoch, ++this.streamsStarted, plan);
    this.pumpStream(learner);
  }

  private pumpStream(learner: LearnerHandle): void {
    if (learner.stream?.pump()) learner.stream = null;
  }

  private maybeEstablish(): void {
    if (this.phase !== 'synchronization' || !this.hasQuorum(this.newLeaderAcks)) return;
    this.phase = 'broadcast';
    const log = this.context.log;
    // Everything in the new leader's history is committed once a quorum holds it (Zab's initial history).
    const pendingBefore = log.pendingReconfig();
    log.committedZxid = log.lastLoggedZxid();
    for (const learner of this.learners.values()) {
      if (learner.phase === 'synchronization' && learner.newLeaderAcked) {
        this.send(learner.id, { type: 'upToDate', epoch: this.epoch, committedZxid: log.committedZxid });
        learner.phase = 'broadcast';
      }
    }
    // Session expiry restarts from now on a new leader, as ZooKeeper's SessionTracker does.
    const ticks = this.context.clock.ticks;
    for (const { sessionId, timeoutMs } of this.context.machine.sessions()) {
      this.sessions.track(sessionId, timeoutMs, ticks);
    }
    this.context.applyCommitted();
    if (pendingBefore) {
      // A change in our history is committed with it: the new configuration alone is in force.
      if (!this.context.isVoter(this.context.settings.id)) {
        this.context.becomeLooking();
        return;
      }
      this.reconcileLearners();
    }
  }

  /** handleRequest turns a request into a proposal (ZooKeeper's PrepRequestProcessor + ProposalRequestProcessor). */
  private handleRequest(
    sessionId: SessionId,
    cxid: number,
    request: Request | CreateSessionRequest,
    auth: readonly AuthId[],
  ): Zxid {
    if (this.phase !== 'broadcast') return NO_ZXID;
    const { machine, clock } = this.context;
    const zxid = makeZxid(this.epoch, this.nextCounter);
    if (request.op === 'createSession') {
      const timeoutMs = machine.negotiateTimeoutMs(request.timeoutMs);
      // Session ids are unique across leaders: the zxid that creates a session is unique (sessions.ts).
      const newSessionId = zxid;
      this.propose({
        zxid,
        sessionId: newSessionId,
        cxid,
        timeMs: clock.nowMs,
        txn: { type: 'createSession', sessionId: newSessionId, timeoutMs, password: request.password },
      });
      this.sessions.track(newSessionId, timeoutMs, clock.ticks);
      return zxid;
    }
    if (sessionId !== 0) this.touch(sessionId);
    if (request.op === 'reconfig') {
      // A client's reconfig (ZooKeeper's op 16): the super user only, the same checks as
      // proposeReconfig; a refusal is an error transaction answered in its turn like any other.
      const txn = this.reconfigRequestTxn(request, auth);
      this.propose({ zxid, sessionId, cxid, timeMs: clock.nowMs, txn });
      if (txn.type === 'reconfig') this.reconcileLearners();
      return zxid;
    }
    // A learner checked the path limit before forwarding; a learner configured otherwise did not.
    const refused = requestLimitError(request, this.context.settings.limits);
    const txn = refused === null ? machine.prepare(sessionId, request, clock.nowMs, auth) : errorTxn(refused);
    this.propose({ zxid, sessionId, cxid, timeMs: clock.nowMs, txn });
    return zxid;
  }

  /** reconfigRequestTxn is the transaction a client's reconfig becomes: the change, or the error that refuses it. */
  private reconfigRequestTxn(request: ReconfigRequest, auth: readonly AuthId[]): Txn {
    if (!auth.some((id) => id.scheme === SUPER_SCHEME)) return { type: 'error', code: 'NO_AUTH' };
    try {
      return { type: 'reconfig', members: this.checkReconfig(request) };
    } catch (error) {
      if (!(error instanceof ReconfigError)) throw error;
      return { type: 'error', code: error.code };
    }
  }

  /** admitWaiting proposes held requests while the budget allows. */
  private admitWaiting(): void {
    const budget = this.context.settings.limits.proposalBytesInflightMax;
    let taken = 0;
    while (taken < this.waiting.length && this.proposedBytes < budget) {
      const next = this.waiting[taken++] as WaitingRequest;
      this.handleRequest(next.sessionId, next.cxid, next.request, next.auth);
    }
    if (taken > 0) this.waiting.splice(0, taken);
  }

  private propose(entry: LogEntry): void {
    assert(zxidEpoch(entry.zxid) === this.epoch && zxidCounter(entry.zxid) === this.nextCounter, 'zxid sequence');
    this.nextCounter++;
    this.context.machine.noteProposed(entry);
    const bytes = this.context.log.append(entry);
    this.proposedBytes += bytes;
    for (const learner of this.learners.values()) {
      if (learner.observer || learner.stream !== null) continue;
      if (learner.phase !== 'discovery') {
        this.context.outbox.sendEntry(learner.id, 'proposal', this.epoch, entry, bytes);
      }
    }
  }

  private finishBarrier(id: number, barrier: Barrier, ok: boolean): void {
    this.barriers.delete(id);
    if (barrier.origin) {
      if (ok) {
        this.send(barrier.origin.id, {
          type: 'barrierResult',
          epoch: this.epoch,
          id: barrier.origin.barrierId,
          zxid: barrier.zxid,
        });
      }
      // A failed barrier is not answered: the learner's request fails when it loses the leader.
      return;
    }
    this.context.clients.resolveBarrier(barrier.localId, ok ? barrier.zxid : null);
  }

  private send(to: number, message: PeerMessage): void {
    this.context.outbox.send(to, message);
  }

  /** hasQuorum: `ids` hold a majority of the voters of every configuration in force (membership.ts). */
  private hasQuorum(ids: ReadonlySet<number>): boolean {
    return isJointQuorum(ids, this.context.configs());
  }
}

function errorTxn(code: ErrorCode): ErrorTxn {
  return { type: 'error', code };
}
