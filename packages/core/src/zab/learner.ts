import { NO_AUTH_IDS } from '../tree/acl.js';
import type { AuthId, LogEntry, Request, SessionId, SnapshotRecord } from '../types.js';
import { type Zxid, zxidCounter, zxidEpoch } from '../zxid.js';
import type { PeerContext, Phase } from './context.js';
import { restoreMachine } from './membership.js';
import type { CreateSessionRequest, SyncMode, ZabMessage } from './messages.js';

/** SyncReceived is what a learner collected of its leader's synchronization, installed at NEWLEADER. */
interface SyncReceived {
  /** mode: from SYNC; null until SYNC arrives. */
  mode: SyncMode | null;
  truncZxid: Zxid;
  snapshotZxid: Zxid;
  records: SnapshotRecord[];
  entries: LogEntry[];
  /** chunks: stream messages received since SYNC, acknowledged for the leader's flow control. */
  chunks: number;
}

/**
 * Learner is the following or observing role (ZooKeeper's Learner: Follower and Observer; an
 * observer is a learner whose acknowledgements never count and which gets INFORM instead of
 * PROPOSAL and COMMIT).
 *  - Discovery: FOLLOWERINFO to the leader (again every other tick until it answers); LEADERINFO
 *    with the new epoch is accepted (acceptedEpoch, persisted) and answered with ACKEPOCH.
 *  - Synchronization (how a follower catches up): SYNC says DIFF, TRUNC or SNAP; the stream's
 *    snapChunk and entries messages (and proposals made meanwhile) are collected, each
 *    acknowledged with SYNCACK; at NEWLEADER it all goes into the history in one Ready (TRUNC's
 *    truncation, or SNAP's snapshot, first), currentEpoch with it, and ACK of NEWLEADER leaves with
 *    that Ready, after the persist. UPTODATE starts broadcast.
 *  - Broadcast: PROPOSALs are logged and acknowledged (ACK, cumulative, after the persist);
 *    COMMIT (or INFORM) advances the committed mark; client writes are forwarded to the leader.
 * A gap in the proposals, a silent leader (syncLimit; initLimit before broadcast), or a leader
 * that is not ours any more sends it back to LOOKING.
 */
export class Learner {
  epoch = 0;
  phase: Phase = 'discovery';
  /** received: the synchronization being collected; null outside synchronization and once NEWLEADER is installed. */
  private received: SyncReceived | null = null;
  private readonly startedTick: number;
  private lastHeardTick: number;
  /** followId is drawn for this following and sent in FOLLOWERINFO and every forward. */
  private readonly followId: number;
  /** touched: sessions with activity since the last PING, which carries them to the leader (sessions.ts). */
  private readonly touched = new Set<SessionId>();

  constructor(
    private readonly context: PeerContext,
    readonly leaderId: number,
  ) {
    this.startedTick = context.clock.ticks;
    this.lastHeardTick = context.clock.ticks;
    this.followId = Math.floor(context.random.next() * 0x1_0000_0000);
  }

  /** start sends FOLLOWERINFO to the leader. */
  start(): void {
    this.sendFollowerInfo();
  }

  /** established: UPTODATE arrived; this learner serves. */
  get established(): boolean {
    return this.phase === 'broadcast';
  }

  tick(): void {
    const { initLimitTicks, syncLimitTicks } = this.context.settings;
    const ticks = this.context.clock.ticks;
    if (this.phase !== 'broadcast') {
      // Discovery is bounded from the start; synchronization while the leader is silent (a long SNAP
      // keeps sending, and the leader pings a synced learner while it waits for a quorum).
      const since = this.phase === 'discovery' ? this.startedTick : this.lastHeardTick;
      if (ticks - since > initLimitTicks) {
        this.context.becomeLooking();
        return;
      }
      if (this.phase === 'discovery' && (ticks - this.startedTick) % 2 === 0) {
        // The leader may not have been ready for us yet (still LOOKING): ask again.
        this.sendFollowerInfo();
      }
      return;
    }
    if (ticks - this.lastHeardTick > syncLimitTicks) {
      this.context.becomeLooking();
      return;
    }
    this.context.outbox.send(this.leaderId, { type: 'ping', epoch: this.epoch, sessions: [...this.touched] });
    this.touched.clear();
    // A barrier the leader could not confirm is never answered: fail it after twice the sync limit.
    this.context.clients.failStaleBarriers(ticks, 2 * syncLimitTicks);
  }

  step(from: number, message: ZabMessage): void {
    if (from !== this.leaderId) return;
    const { context } = this;
    if (message.type === 'leaderInfo') {
      if (this.phase !== 'discovery') return;
      this.lastHeardTick = context.clock.ticks;
      if (message.epoch < context.epochs.acceptedEpoch) {
        // The leader proposes an epoch older than one we accepted: it cannot lead us.
        context.becomeLooking();
        return;
      }
      this.epoch = message.epoch;
      this.phase = 'synchronization';
      this.received = { mode: null, truncZxid: 0, snapshotZxid: 0, records: [], entries: [], chunks: 0 };
      if (message.epoch > context.epochs.acceptedEpoch) {
        context.epochs.acceptedEpoch = message.epoch;
        context.saveEpochs();
      }
      // Sent with the Ready that persists acceptedEpoch: never before it is durable.
      context.outbox.send(from, {
        type: 'ackEpoch',
        epoch: message.epoch,
        currentEpoch: context.epochs.currentEpoch,
        lastZxid: context.log.lastLoggedZxid(),
      });
      return;
    }
    if (message.epoch !== this.epoch || this.phase === 'discovery') return;
    this.lastHeardTick = context.clock.ticks;
    const received = this.received;
    switch (message.type) {
      case 'sync':
        if (received === null || received.mode !== null) return;
        received.mode = message.mode;
        received.truncZxid = message.truncZxid;
        received.snapshotZxid = message.snapshotZxid;
        return;
      case 'snapChunk':
        if (received === null || received.mode !== 'SNAP') return;
        for (const record of message.records) received.records.push(record);
        this.ackChunk(received);
        return;
      case 'entries':
        if (received === null || received.mode === null) return;
        for (const entry of message.entries) received.entries.push(entry);
        this.ackChunk(received);
        return;
      case 'newLeader':
        if (received === null || received.mode === null) return;
        this.installSync(received);
        return;
      case 'proposal':
        if (received !== null) {
          // Proposals made while our sync stream was in flight: they follow it in the history.
          for (const entry of message.entries) received.entries.push(entry);
          return;
        }
        if (!this.appendInSequence(message.entries)) return;
        context.outbox.sendAck(from, this.epoch, context.log.lastLoggedZxid());
        return;
      case 'commit':
        if (received !== null) return;
        if (message.zxid > context.log.committedZxid) context.log.committedZxid = message.zxid;
        context.applyCommitted();
        return;
      case 'inform':
        if (received !== null) {
          for (const entry of message.entries) received.entries.push(entry);
          return;
        }
        if (!this.appendInSequence(message.entries)) return;
        {
          const last = message.entries.at(-1);
          if (last && last.zxid > context.log.committedZxid) context.log.committedZxid = last.zxid;
        }
        context.applyCommitted();
        return;
      case 'upToDate':
        if (this.phase !== 'synchronization' || received !== null) return;
        this.phase = 'broadcast';
        if (message.committedZxid > context.log.committedZxid) context.log.committedZxid = message.committedZxid;
        context.applyCommitted();
        return;
      case 'ping':
        return;
      case 'barrier':
        // The leader asks only the learners that vote in its configurations, and counts only them.
        if (this.phase === 'broadcast') {
          context.outbox.send(from, { type: 'barrierAck', epoch: this.epoch, id: message.id });
        }
        return;
      case 'barrierResult':
        context.clients.resolveBarrier(message.id, message.zxid);
        return;
      default:
        return;
    }
  }

  /** touch notes a session's activity, for the next PING. */
  touch(sessionId: SessionId): void {
    this.touched.add(sessionId);
  }

  /**
   * forward sends a client request (or createSession) to the leader, tagged with this following's
   * id, with the ids the client's connection holds here (the leader checks ACLs against them).
   */
  forward(
    sessionId: SessionId,
    cxid: number,
    request: Request | CreateSessionRequest,
    auth: readonly AuthId[] = NO_AUTH_IDS,
  ): void {
    this.context.outbox.send(this.leaderId, {
      type: 'forward',
      epoch: this.epoch,
      followId: this.followId,
      sessionId,
      cxid,
      request,
      auth,
    });
  }

  /** requestBarrier asks the leader to confirm its leadership for the local barrier `localId`. */
  requestBarrier(localId: number): void {
    this.context.outbox.send(this.leaderId, { type: 'barrierRequest', epoch: this.epoch, id: localId });
  }

  private sendFollowerInfo(): void {
    this.context.outbox.send(this.leaderId, {
      type: 'followerInfo',
      epoch: 0,
      acceptedEpoch: this.context.epochs.acceptedEpoch,
      observer: !this.context.isVoter(this.context.settings.id),
      followId: this.followId,
    });
  }

  /** ackChunk acknowledges one more message of the sync stream (flow control; one SYNCACK per Ready). */
  private ackChunk(received: SyncReceived): void {
    received.chunks++;
    this.context.outbox.sendSyncAck(this.leaderId, this.epoch, received.chunks);
  }

  /** installSync: NEWLEADER arrived; take the whole sync stream into the log, durably, then ack. */
  private installSync(received: SyncReceived): void {
    const { log, machine, outbox, epochs } = this.context;
    if (received.mode === 'SNAP') {
      // Drop our history above the snapshot first, so a crash mid-install never replays it over the snapshot.
      log.truncate(Math.min(received.snapshotZxid, log.lastLoggedZxid()), machine.lastAppliedZxid, true);
      const config = restoreMachine(machine, received.snapshotZxid, received.records, log.baseConfig);
      log.resetToSnapshot(received.snapshotZxid, config);
      outbox.ready.snapshot = {
        header: { zxid: received.snapshotZxid, timeMs: this.context.clock.nowMs },
        records: received.records,
      };
    } else if (received.mode === 'TRUNC') {
      log.truncate(received.truncZxid, machine.lastAppliedZxid, false);
    }
    log.appendNew(received.entries);
    // Waiting for UPTODATE now: proposals are logged and acknowledged from here on.
    this.received = null;
    // currentEpoch only after everything synced is persisted: it rides in the same Ready, after the entries.
    epochs.currentEpoch = this.epoch;
    this.context.saveEpochs();
    outbox.send(this.leaderId, { type: 'ackNewLeader', epoch: this.epoch, lastZxid: log.lastLoggedZxid() });
  }

  /**
   * appendInSequence logs the entries of a PROPOSAL or INFORM that follow our history, skipping
   * duplicates. A gap means messages were lost: rather than log a history with a hole, go back to
   * LOOKING and resynchronize (returns false).
   */
  private appendInSequence(entries: readonly LogEntry[]): boolean {
    const log = this.context.log;
    for (const entry of entries) {
      if (entry.zxid <= log.lastLoggedZxid()) continue;
      if (!this.followsInSequence(entry.zxid)) {
        this.context.becomeLooking();
        return false;
      }
      log.append(entry);
    }
    return true;
  }

  /** followsInSequence: `zxid` is the next proposal of this epoch after our last logged entry. */
  private followsInSequence(zxid: Zxid): boolean {
    const last = this.context.log.lastLoggedZxid();
    if (zxidEpoch(zxid) !== this.epoch) return false;
    if (zxidEpoch(last) === this.epoch) return zxid === last + 1;
    return zxidCounter(zxid) === 1;
  }
}
