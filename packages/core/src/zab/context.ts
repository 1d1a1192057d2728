import type { Limits } from '../limits.js';
import type { Random } from '../prng.js';
import type { ClusterConfig } from '../types.js';
import type { Zxid } from '../zxid.js';
import type { ClientRequests } from './client-requests.js';
import type { History } from './history.js';
import type { ReplicatedMachine } from './machine.js';
import type { Outbox } from './outbox.js';

/**
 * Phase is where a leader or learner is in Zab: discovery (agree on a new epoch), synchronization
 * (bring the learners' histories to the leader's) and broadcast (propose, acknowledge, commit).
 * PeerStatus.phase adds 'election' for a LOOKING member.
 */
export type Phase = 'discovery' | 'synchronization' | 'broadcast';

/**
 * UnsafeMembershipRule breaks the membership rule on purpose, for the simulator's test that its
 * checkers catch a wrong rule (never set it otherwise): `new-config-only` counts a logged
 * reconfig's configuration alone, as if it were in force once logged, instead of beside the last
 * committed one.
 */
export type UnsafeMembershipRule = 'new-config-only';

/** PeerSettings is a member's configuration with every default filled in (see PeerConfig). */
export interface PeerSettings {
  id: number;
  /** voters and observers: the static configuration (version 0), in force until the log holds a reconfig. */
  voters: readonly number[];
  observers: readonly number[];
  /** joinVersion: the configuration version this member was started at (PeerConfig.joinVersion); 0: none given. */
  joinVersion: Zxid;
  /** unsafeMembershipRule: tests only (see {@link UnsafeMembershipRule}); null in every real member. */
  unsafeMembershipRule: UnsafeMembershipRule | null;
  /** reconfigRefusal: the host's veto on membership changes (PeerConfig.reconfigRefusal); null: none. */
  reconfigRefusal: (() => string | null) | null;
  tickMs: number;
  electionTimeoutTicks: number;
  finalizeWaitTicks: number;
  initLimitTicks: number;
  syncLimitTicks: number;
  historyEntriesMax: number;
  diskDiffFactor: number;
  syncBatchEntriesMax: number;
  snapChunkRecordsMax: number;
  expiryCheckTicks: number;
  limits: Limits;
}

/** Clock is a member's logical time: ticks counted by tick(), and the host's wall clock, used only for znode times. */
export interface Clock {
  ticks: number;
  nowMs: number;
}

/** EpochMarks are Zab's two durable epochs: the last epoch accepted in discovery, and the epoch of the history held. */
export interface EpochMarks {
  acceptedEpoch: number;
  currentEpoch: number;
}

/**
 * PeerContext is what the parts of one member share (election.ts, leader.ts, learner.ts,
 * client-requests.ts): its settings, the replicated machine, the history, the Ready being filled,
 * the clients' queues, and the two transitions any part may cause — back to LOOKING, and applying
 * what became committed and durable. ZabPeer (peer.ts) builds it and owns the role.
 */
export interface PeerContext {
  readonly settings: PeerSettings;
  readonly random: Random;
  readonly machine: ReplicatedMachine;
  readonly log: History;
  readonly outbox: Outbox;
  readonly clients: ClientRequests;
  readonly clock: Clock;
  readonly epochs: EpochMarks;
  /**
   * configs are the configurations in force (membership.ts): one, or the last committed and the
   * pending one. Every quorum must hold a majority of the voters of each.
   */
  configs(): readonly ClusterConfig[];
  /** isVoter tells whether `id` votes in some configuration in force (this member's own id included). */
  isVoter(id: number): boolean;
  /** isMember tells whether `id` is in some configuration in force. */
  isMember(id: number): boolean;
  /** saveEpochs persists both epochs in the Ready being filled (before anything that relies on them is sent). */
  saveEpochs(): void;
  /** becomeLooking abandons the current role and starts an election. */
  becomeLooking(): void;
  /** applyCommitted applies, in order, every entry that is both committed and durable here. */
  applyCommitted(): void;
}
