import type { Limits, PeerStatus } from '@zabkit/core';

/** SimTimeouts are the protocol timeouts every simulated member runs with, in ticks of tickMs. */
export interface SimTimeouts {
  tickMs: number;
  electionTimeoutTicks: number;
  finalizeWaitTicks: number;
  initLimitTicks: number;
  syncLimitTicks: number;
}

/**
 * SIM_TIMEOUTS: the simulator's timeouts. initLimit is long beside the rest (ten election
 * timeouts, as the server's 50 ticks are beside its 5): a recovery that waits one out overruns the
 * liveness bound, which is how a learner stalled on a leader that gave up its term is caught.
 */
export const SIM_TIMEOUTS: Readonly<SimTimeouts> = {
  tickMs: 50,
  electionTimeoutTicks: 6,
  finalizeWaitTicks: 2,
  initLimitTicks: 60,
  syncLimitTicks: 8,
};

/** NetworkTiming: the latencies of one seed that a recovery waits on. */
export interface NetworkTiming {
  /** delayMsMax: the longest one-way message latency. */
  delayMsMax: number;
  /** fsyncMsMax: the longest persist. */
  fsyncMsMax: number;
  /** breakNoticeMsMax: how long an end takes to learn that its connection broke. */
  breakNoticeMsMax: number;
}

/**
 * livenessBoundMs is how long after the last fault heals (every partition over, every member up,
 * no process paused, every broken connection noticed) there must be an established leader with a
 * quorum of voters serving under it. It adds, in order, what a recovery may have to wait for once
 * nothing is wrong any more:
 *
 *  1. a connection break still being noticed: breakNoticeMsMax;
 *  2. a leader that lost its quorum during the fault stepping down: syncLimit;
 *  3. an election: the votes go round twice (a LOOKING member re-sends after electionTimeout when
 *     it heard nothing better), and a quorum that agrees waits finalizeWait plus up to as much
 *     jitter, twice (a better vote arriving during the wait restarts it);
 *  4. discovery and synchronization: FOLLOWERINFO, LEADERINFO, ACKEPOCH, SYNC, NEWLEADER, ACK and
 *     UPTODATE with the persists between them (six round trips and four fsyncs), plus one round
 *     trip per sync window of the largest sync stream (`syncBytesMax`: every byte ever committed
 *     bounds any SNAP or DIFF), and a tick of slack at each of the 4 steps that wait for one.
 *
 * It never includes initLimit: nothing that is healthy waits it out. A learner that does (its
 * leader abandoned the term without telling it, ZooKeeper's and zabkit's issue 12 stall) recovers
 * only after initLimitTicks, which is above this bound for every seed whose one-way latency is
 * under about 100 ms (the sim draws at most 80 ms), so it is reported as a liveness violation.
 */
export function livenessBoundMs(
  timeouts: SimTimeouts,
  network: NetworkTiming,
  limits: Pick<Limits, 'syncWindowBytes'>,
  syncBytesMax: number,
): number {
  const tick = timeouts.tickMs;
  const roundTrip = 2 * network.delayMsMax;
  const noticed = network.breakNoticeMsMax;
  const stepDown = timeouts.syncLimitTicks * tick;
  const election = 2 * timeouts.electionTimeoutTicks * tick + 2 * (2 * timeouts.finalizeWaitTicks + 1) * tick;
  const windows = Math.ceil(syncBytesMax / limits.syncWindowBytes);
  const establish = (6 + windows) * roundTrip + 4 * network.fsyncMsMax + 4 * tick;
  return noticed + stepDown + election + establish;
}

/** LivenessHost is what the watch needs of the simulation. */
export interface LivenessHost {
  readonly memberIds: readonly number[];
  now(): number;
  /** faultToken changes whenever a fault strikes; a watch armed before it is void. */
  faultToken(): number;
  /** quiet: no fault in force (no partition, every member up, none paused, every break noticed). */
  quiet(): boolean;
  /** status of a member, null while it is down. */
  status(id: number): PeerStatus | null;
  /** leaderServing: an established leader with a quorum of voters serving under it. */
  leaderServing(): boolean;
  /** boundMs: this seed's livenessBoundMs as of now. */
  boundMs(): number;
  orphanBoundMs(): number;
  /** poll calls check(token) after delayMs. */
  poll(delayMs: number, token: number): void;
  log(line: string): void;
  violation(invariant: string, detail: string): never;
  /** describe: every member's state, for a report. */
  describe(): string;
}

/** MemberTrack: since when a member has been in its role, phase and leader, and when it gave up leading. */
interface MemberTrack {
  phaseKey: string;
  phaseSince: number;
  decidedKey: string;
  decidedSince: number;
  /** steppedDownAt: when this incarnation last stopped leading (null if it never led). */
  steppedDownAt: number | null;
}

const POLL_MS = 10;

/**
 * LivenessWatch holds a run to the liveness bound after every heal. When the simulation reports
 * that a fault may have ended (noteHeal) and nothing is in force any more, it arms: from then an
 * established leader with a quorum serving must come within the heal's bound (livenessBoundMs,
 * plus what remains of an initLimit wait begun before the heal), and meanwhile no learner may keep
 * following a member that gave up on it after the heal for longer than orphanBoundMs. A fault
 * striking meanwhile voids the watch; the next heal arms it again.
 */
export class LivenessWatch {
  private readonly members = new Map<number, MemberTrack>();
  private armed: { token: number; healedAt: number; boundMs: number; done: boolean } | null = null;
  /** heals: heals after which a leader served within the bound. */
  heals = 0;
  /** recoveryMsMax: the longest such a recovery took; recoveryRatioMax: the largest share of its bound. */
  recoveryMsMax = 0;
  recoveryRatioMax = 0;

  constructor(
    private readonly host: LivenessHost,
    private readonly timeouts: SimTimeouts,
  ) {}

  /** healedAt: when the last armed watch's heal came, or null if none has. */
  get healedAt(): number | null {
    return this.armed?.healedAt ?? null;
  }

  /** started: a member (re)starts; the new incarnation has not led, followed or waited yet. */
  started(id: number): void {
    this.members.set(id, { phaseKey: '', phaseSince: 0, decidedKey: '', decidedSince: 0, steppedDownAt: null });
  }

  /** observe records a member's status after each event it handled. */
  observe(id: number, status: PeerStatus): void {
    const now = this.host.now();
    let track = this.members.get(id);
    if (!track) {
      this.started(id);
      track = this.members.get(id) as MemberTrack;
    }
    const phaseKey = `${status.role}/${status.phase}/${status.leader}`;
    if (track.phaseKey.startsWith('leading/') && status.role !== 'leading') track.steppedDownAt = now;
    const decidedKey = `${status.role}/${status.leader}`;
    if (decidedKey !== track.decidedKey) {
      track.decidedKey = decidedKey;
      track.decidedSince = now;
    }
    if (phaseKey !== track.phaseKey) {
      track.phaseKey = phaseKey;
      track.phaseSince = now;
    }
  }

  /** noteHeal: a fault may have ended; arm the watch if nothing is in force any more. */
  noteHeal(): void {
    const host = this.host;
    if (!host.quiet()) return;
    const token = host.faultToken();
    if (this.armed?.token === token) return;
    this.armed = { token, healedAt: host.now(), boundMs: this.healBoundMs(), done: false };
    host.poll(0, token);
  }

  /**
   * check polls an armed watch until a leader serves with a quorum, or reports a liveness
   * violation when the heal's bound passes first. Meanwhile no learner may wait on a member that
   * gave up on it: issue 12's stall (a new leader stepped down without telling its followers, who
   * waited out initLimit) is caught there, even when an allowance for older waits makes the heal's
   * bound longer than initLimit.
   */
  check(token: number): void {
    const host = this.host;
    const armed = this.armed;
    if (!armed || armed.done || armed.token !== token || token !== host.faultToken()) return;
    const elapsed = host.now() - armed.healedAt;
    if (host.leaderServing()) {
      armed.done = true;
      this.heals++;
      this.recoveryMsMax = Math.max(this.recoveryMsMax, elapsed);
      this.recoveryRatioMax = Math.max(this.recoveryRatioMax, elapsed / armed.boundMs);
      if (elapsed > 0) host.log(`liveness: a leader serves ${elapsed} ms after the heal at ${armed.healedAt} ms`);
      return;
    }
    this.checkOrphans(armed.healedAt);
    if (elapsed > armed.boundMs) {
      host.violation(
        'liveness',
        `no established leader with a quorum serving ${elapsed} ms after the heal at ${armed.healedAt} ms (bound ${armed.boundMs} ms; ${host.describe()})`,
      );
    }
    host.poll(POLL_MS, token);
  }

  /**
   * healBoundMs is the bound of a heal happening now: livenessBoundMs, plus what remains of an
   * initLimit wait some member began before the heal (a leader elected during the fault on the
   * vote of a member that then crashed waits for followers that cannot come; so does ZooKeeper).
   * A wait that begins after the heal gets no allowance.
   */
  private healBoundMs(): number {
    const { initLimitTicks, tickMs } = this.timeouts;
    const initLimitMs = initLimitTicks * tickMs;
    const now = this.host.now();
    let remainingMs = 0;
    for (const id of this.host.memberIds) {
      const phase = this.host.status(id)?.phase;
      if (phase === 'discovery') {
        const since = this.members.get(id)?.phaseSince ?? now;
        remainingMs = Math.max(remainingMs, since + initLimitMs + tickMs - now);
      } else if (phase === 'synchronization') {
        // Bounded by initLimit without progress, not from its start: up to a whole initLimit more.
        remainingMs = Math.max(remainingMs, initLimitMs + tickMs);
      }
    }
    return this.host.boundMs() + remainingMs;
  }

  /**
   * checkOrphans: a learner must let go of a member that gave up on leading it. After the heal no
   * message is lost, so when a member it follows stops leading (alive: it sends LOOKING
   * notifications) or decides to follow someone else (it sends a FOLLOWING notification), the
   * learner hears of it and must look again within orphanBoundMs instead of waiting out initLimit.
   * What happened before the heal (a notification a fault may have lost, a member that crashed) is
   * left to the heal's bound.
   */
  private checkOrphans(healedAt: number): void {
    const host = this.host;
    for (const id of host.memberIds) {
      const status = host.status(id);
      if (!status || (status.role !== 'following' && status.role !== 'observing') || status.leader === null) continue;
      const leaderStatus = host.status(status.leader);
      const leader = this.members.get(status.leader);
      const follower = this.members.get(id);
      if (!leaderStatus || !leader || !follower || leaderStatus.role === 'leading') continue;
      // When it gave up on us: stopped leading, or decided for another leader.
      const abandonedAt = leaderStatus.role === 'looking' ? leader.steppedDownAt : leader.decidedSince;
      if (abandonedAt === null || abandonedAt < healedAt || follower.decidedSince > abandonedAt) continue;
      const waited = host.now() - abandonedAt;
      if (waited > host.orphanBoundMs()) {
        const what = leaderStatus.role === 'looking' ? 'stopped leading' : `decided to follow ${leaderStatus.leader}`;
        host.violation(
          'liveness',
          `${id} still follows ${status.leader} ${waited} ms after ${status.leader} ${what} (bound ${host.orphanBoundMs()} ms): it waits out initLimit for a leader that gave up on it`,
        );
      }
    }
  }
}
