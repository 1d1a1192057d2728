import type { Limits } from '@zabkit/core';

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
