import type { Limits, Random, Ready, ReplicatedMachine, UnsafeMembershipRule } from '@zabkit/core';
import { simLimits } from './sim-limits.js';
import type { WorkloadMix } from './workload.js';

/** FaultMix: how often each fault strikes; every seed draws its own (swarm testing). */
export interface FaultMix {
  /** delayMsMax: message latency is uniform in [1, delayMsMax]. */
  delayMsMax: number;
  /** breakPerSecond: connection breaks per second across the ensemble. */
  breakPerSecond: number;
  /** partitionPerSecond: partitions (symmetric, one-way or isolating one member) started per second. */
  partitionPerSecond: number;
  /** crashPerSecond: process crashes (kill -9, unsynced writes lost or torn) per second. */
  crashPerSecond: number;
  /** pausePerSecond: process pauses (GC, SIGSTOP) per second. */
  pausePerSecond: number;
  /** staleDeliveryRate: share of broken connections whose in-flight messages still arrive after the break. */
  staleDeliveryRate: number;
  /** fsyncMsMax: how long a persist takes, uniform in [0, fsyncMsMax]. */
  fsyncMsMax: number;
  /** leaderPartitionPerSecond: episodes that cut the leader off for about an election's time, then heal (episodes.ts). */
  leaderPartitionPerSecond: number;
  /** longDownPerSecond: episodes that keep a follower or observer down while a bulk load commits past the history kept for DIFF. */
  longDownPerSecond: number;
  /** wipeRate: share of long-down members that come back with an empty disk (a SNAP of the whole tree). */
  wipeRate: number;
  /**
   * outsiderPerSecond: messages per second from the outsider, a host in no member's configuration
   * that forges votes, learner and leader messages and client writes (outsider.ts); 0: none.
   */
  outsiderPerSecond: number;
}

/** SimOptions configures one simulated run. */
export interface SimOptions {
  seed: number;
  nodes: number;
  observers?: number;
  clients?: number;
  /** safetyMs: how long faults strike. */
  safetyMs?: number;
  /** livenessMs: after healing, the bound within which a leader must be established and pending writes done. */
  livenessMs?: number;
  /** faults: a fixed mix instead of one drawn from the seed. */
  faults?: Partial<FaultMix>;
  /** workload: a fixed client workload instead of one drawn from the seed. */
  workload?: Partial<WorkloadMix>;
  /**
   * limits: the byte limits of every member and its machine, and of the simulated network (default
   * {@link simLimits}: the server's defaults scaled to 64 KiB of data).
   */
  limits?: Limits;
  /** makeMachine builds the replicated state for a (re)started server; give it `limits` (the members' own). */
  makeMachine: (limits: Limits) => ReplicatedMachine;
  /**
   * livenessWatch: check the liveness bound after every heal, not only the last (default true;
   * see liveness.ts).
   */
  livenessWatch?: boolean;
  /**
   * membership: membership changes during the safety phase (issue 16; `pnpm sim --membership`): the
   * seed asks the leader, at `reconfigPerSecond` drawn from its own stream, to add a spare as an
   * observer, promote, demote or remove a member (the leader included) or swap several at once
   * (membership.ts). Off by default, so seeds without it run exactly as before.
   */
  membership?: boolean;
  /** spares: servers started outside every configuration, which a change may add (default 2 with membership). */
  spares?: number;
  /** unsafeMembershipRule: hand every member a deliberately wrong rule (the test that the checkers catch it). */
  unsafeMembershipRule?: UnsafeMembershipRule;
  /**
   * commitQuorumCheck: false turns `commit-on-member-quorum` off, so a test can show that a wrong
   * rule also breaks what users see (committed prefixes, acknowledged writes), not only the rule's own check.
   */
  commitQuorumCheck?: boolean;
  /** traceSize: how many recent events a violation report shows. */
  traceSize?: number;
  /** historyEntriesMax: applied entries each member keeps in memory for DIFF (small values force a DIFF from disk or a SNAP). */
  historyEntriesMax?: number;
  /** diskDiffFactor: every member's PeerConfig.diskDiffFactor; default by seed, one of 0, 0.33 and 1000 (host.ts). */
  diskDiffFactor?: number;
  /**
   * beforePersist lets a scenario crash a server at an exact point: called when a Ready is handed to
   * the storage; returning a number k lets k of the persist's fsyncs complete, then crashes the
   * server at the next one (what was written and not yet synced is lost or torn), or, if the persist
   * needs no more, once it is durable but before anything it vouches for is sent.
   */
  beforePersist?: (serverId: number, ready: Ready) => number | undefined;
}

/** Violation is a broken invariant with the seed that reproduces it. */
export class SimViolation extends Error {
  override readonly name = 'SimViolation';
  constructor(
    readonly seed: number,
    readonly invariant: string,
    readonly detail: string,
    readonly trace: string[],
  ) {
    super(`seed ${seed}: ${invariant}: ${detail}`);
  }
}

/** SimResult summarises a run that broke no invariant. */
export interface SimResult {
  seed: number;
  faults: FaultMix;
  workload: WorkloadMix;
  committed: number;
  /** committedBytes: the encoded size of every committed entry. */
  committedBytes: number;
  operations: number;
  elections: number;
  crashes: number;
  /** heals: heals after which the liveness bound was checked (and met). */
  heals: number;
  /** recoveryMsMax: the longest a checked heal took to have a leader serving; recoveryRatioMax: the largest share of its bound one took. */
  recoveryMsMax: number;
  recoveryRatioMax: number;
  /** livenessBoundMs: the bound (without allowances for waits begun before a heal) at the end of the run. */
  livenessBoundMs: number;
  /** peerFrameBytesMax: the largest peer message sent; sendQueueBytesPeak: the fullest connection. */
  peerFrameBytesMax: number;
  sendQueueBytesPeak: number;
  /** sendQueueBreaks: connections broken because their send queue was full. */
  sendQueueBreaks: number;
  /** marshallingErrors: requests refused because their reply or transaction would be over the limits. */
  marshallingErrors: number;
  /** leaderFollowsNotices: times a learner heard the member it follows say it follows another server. */
  leaderFollowsNotices: number;
  /** syncs: the SYNCs leaders sent, by mode; diskReads: LogReads answered with entries (a DIFF from disk). */
  syncs: { DIFF: number; TRUNC: number; SNAP: number; diskReads: number };
  leaderPartitions: number;
  longDowns: number;
  /** aclRefusals: committed writes refused NO_AUTH; invalidAcls: refused INVALID_ACL; aclChanges: setACLs that took effect. */
  aclRefusals: number;
  invalidAcls: number;
  aclChanges: number;
  /** outsiderMessages: messages the outsider forged (each reached a member unless it was down). */
  outsiderMessages: number;
  wipes: number;
  /** stalls: long-down episodes whose member was paused instead of killed. */
  stalls: number;
  /** reconfigs: membership changes proposed, refused (by code) and committed (membership runs only). */
  reconfigs: { proposed: number; refused: Record<string, number>; committed: number };
  timeMs: number;
}

/**
 * drawFaultMix draws a seed's fault mix (swarm testing, as TigerBeetle's VOPR: each seed its own
 * mix, sometimes calm, sometimes brutal), then applies `overrides`. The outsider's rate comes
 * from `outsiderDraw` (the outsider's own stream), so `draw` draws what it drew before it.
 */
export function drawFaultMix(
  draw: Random & { int(bound: number): number },
  overrides: Partial<FaultMix> = {},
  outsiderDraw: Random & { int(bound: number): number } = draw,
): FaultMix {
  const pick = (values: number[]) => values[draw.int(values.length)] as number;
  return {
    delayMsMax: pick([1, 5, 20, 80]),
    breakPerSecond: pick([0, 0, 0.2, 1, 3]),
    partitionPerSecond: pick([0, 0, 0.1, 0.3, 1]),
    crashPerSecond: pick([0, 0.05, 0.2, 0.5, 1]),
    pausePerSecond: pick([0, 0, 0.1, 0.5]),
    staleDeliveryRate: pick([0, 0, 0.3]),
    fsyncMsMax: pick([0, 2, 10, 40]),
    leaderPartitionPerSecond: pick([0, 0, 0.2, 0.5]),
    longDownPerSecond: pick([0, 0, 0.05, 0.2]),
    wipeRate: pick([0, 0.5]),
    outsiderPerSecond: [0.5, 2, 10, 40][outsiderDraw.int(4)] as number,
    ...overrides,
  };
}
