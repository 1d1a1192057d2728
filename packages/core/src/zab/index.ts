export type { UnsafeMembershipRule } from './context.js';
export { splitEarlyMessages } from './early-messages.js';
export type { ApplyOutcome, ReadOutcome, ReplicatedMachine } from './machine.js';
export type { ReconfigChange, ReconfigErrorCode } from './membership.js';
export {
  checkMembers,
  configText,
  isJointQuorum,
  isMemberIn,
  isVoterIn,
  jointQuorumAckedZxid,
  membersJson,
  membersOf,
  observersOf,
  ReconfigError,
  staticConfig,
  votersOf,
} from './membership.js';
export type {
  AckEpochMessage,
  AckMessage,
  AckNewLeaderMessage,
  BarrierAckMessage,
  BarrierMessage,
  BarrierRequestMessage,
  BarrierResultMessage,
  CommitMessage,
  CreateSessionRequest,
  EntriesMessage,
  FollowerInfoMessage,
  ForwardMessage,
  InformMessage,
  LeaderInfoMessage,
  NewLeaderMessage,
  NotificationMessage,
  PeerMessage,
  PeerState,
  PingMessage,
  ProposalMessage,
  SnapChunkMessage,
  SyncAckMessage,
  SyncMessage,
  SyncMode,
  UpToDateMessage,
  ZabMessage,
} from './messages.js';
export { PEER_MESSAGE_TYPES } from './messages.js';
export type {
  ClientOutput,
  EarlyClientOutputs,
  LogRead,
  Outbound,
  PeerConfig,
  PeerStatus,
  Ready,
  Role,
} from './peer.js';
export { totalOrder, ZabInvariantError, ZabPeer } from './peer.js';
export { isQuorum, quorumAckedZxid, quorumSize } from './quorum.js';
export type { ReadyDriverOptions, ReadyIo } from './ready-driver.js';
export { ReadyDriver } from './ready-driver.js';
export { SESSION_PASSWORD_BYTES, samePassword, seededPassword } from './sessions.js';
export type { TreeMachineOptions } from './tree-machine.js';
export { createTreeMachine } from './tree-machine.js';
