export type { AclRead, AclWriteReply } from './acl-checker.js';
export { ACL_READ_INVARIANT, ACL_WRITE_INVARIANT, AclChecker } from './acl-checker.js';
export { aclAllows, expandAcl, SUPER } from './acl-model.js';
export { digestOf } from './digest.js';
export type { EpisodeStats } from './episodes.js';
export { EventQueue } from './event-queue.js';
export type { ClientOp } from './history.js';
export { HistoryChecker } from './history.js';
export type { NetworkTiming, SimTimeouts } from './liveness.js';
export { livenessBoundMs, SIM_TIMEOUTS } from './liveness.js';
export type { DurableView } from './member-storage.js';
export type { OutsiderView } from './outsider.js';
export { OUTSIDER_CXID_MIN, OUTSIDER_DATA, OUTSIDER_PATH, Outsider } from './outsider.js';
export { checkEntryNotFromOutsider, checkTreeNotFromOutsider, OUTSIDER_INVARIANT } from './outsider-checker.js';
export type { CommittedEntry, PrefixViolation } from './prefix.js';
export { checkPrefixHistories } from './prefix.js';
export { COMMIT_QUORUM_INVARIANT, checkCommitQuorum } from './quorum-checker.js';
export type { SeedRunOptions } from './run-seeds.js';
export { runSeeds, simulationFor } from './run-seeds.js';
export { SendQueues } from './send-queues.js';
export {
  SIM_DATA_BYTES_MAX,
  SIM_REQUEST_BYTES_INFLIGHT_MAX,
  simLimits,
  simPeerSendQueueBytesMax,
} from './sim-limits.js';
export type { FaultMix, SimOptions, SimResult } from './simulation.js';
export { Simulation, SimViolation } from './simulation.js';
export type { ClientRequest, WorkloadMix } from './workload.js';
export { ACL_DIR, ACL_KEYS, ACL_MENU, digestId, INVALID_ACLS, Workload } from './workload.js';
