/**
 * The peer protocol: FastLeaderElection notifications and the Zab messages of discovery,
 * synchronization and broadcast. Every Zab message carries the `epoch` of the leader it belongs to,
 * so a message left over from an earlier epoch on the same connection is recognised and dropped.
 * Entries travel as whole {@link LogEntry} values; acks and commits are cumulative (everything up to
 * `zxid`), which is valid because each connection is FIFO.
 */
import type { AuthId, LogEntry, Request, SessionId, SnapshotRecord } from '../types.js';
import type { Zxid } from '../zxid.js';

/** PeerState is a server's role in FastLeaderElection's notifications. */
export type PeerState = 'LOOKING' | 'FOLLOWING' | 'LEADING' | 'OBSERVING';

/** Notification is FLE's vote message (FastLeaderElection.Notification). */
export interface NotificationMessage {
  type: 'notification';
  /** leader is the proposed (or, when not LOOKING, the current) leader's server id. */
  leader: number;
  /** zxid is the proposed leader's last logged zxid. */
  zxid: Zxid;
  /** electionEpoch is the sender's logical clock (round of elections). */
  electionEpoch: number;
  /** peerEpoch is the proposed leader's currentEpoch. */
  peerEpoch: number;
  state: PeerState;
  /**
   * configVersion is the version of the last configuration the sender logged (README "Membership
   * changes"; ZooKeeper's notification carries its whole config). Absent or 0: the static one. A
   * member that missed changes learns from it that a leader is ahead of its configurations.
   */
  configVersion?: Zxid;
  /**
   * committedConfigVersion is the version of the last configuration the sender knows committed,
   * sent with configVersion. A member that logged that configuration and still holds it pending
   * learns from it that the change committed (ZooKeeper's notification carries its committed
   * config for the same reason): a leader that committed a change and then lost its quorum may be
   * the only one that knows, and may be no voter of the new configuration to say so by its vote.
   */
  committedConfigVersion?: Zxid;
}

/** FollowerInfoMessage opens discovery: a learner tells the leader its acceptedEpoch (FOLLOWERINFO / OBSERVERINFO). */
export interface FollowerInfoMessage {
  type: 'followerInfo';
  epoch: number;
  acceptedEpoch: number;
  observer: boolean;
  /**
   * followId names this following of the leader (a random 32-bit number drawn when the learner
   * starts following). Forwards carry it, so the leader takes a client request only from the
   * learner's current following, never a late copy from an earlier one.
   */
  followId: number;
}

/** LeaderInfoMessage proposes the new epoch (LEADERINFO, ZooKeeper's NEWEPOCH). `epoch` is the new epoch. */
export interface LeaderInfoMessage {
  type: 'leaderInfo';
  epoch: number;
}

/** AckEpochMessage: the learner persisted acceptedEpoch = epoch; it reports its history's end. */
export interface AckEpochMessage {
  type: 'ackEpoch';
  epoch: number;
  currentEpoch: number;
  lastZxid: Zxid;
}

/** SyncMode: how the leader brings a learner up to its history. */
export type SyncMode = 'DIFF' | 'TRUNC' | 'SNAP';

/**
 * SyncMessage starts synchronization. TRUNC: drop entries above `truncZxid`, then take the entries
 * that follow. SNAP: replace everything with the snapshot (records in `snapChunk` messages, taken at
 * `snapshotZxid`), then take the entries that follow. DIFF: take the entries that follow.
 */
export interface SyncMessage {
  type: 'sync';
  epoch: number;
  mode: SyncMode;
  truncZxid: Zxid;
  snapshotZxid: Zxid;
}

/** SnapChunkMessage carries part of a SNAP's records, in order. */
export interface SnapChunkMessage {
  type: 'snapChunk';
  epoch: number;
  records: SnapshotRecord[];
}

/**
 * SyncAckMessage: a learner received `chunks` messages of its sync stream (snapChunk and entries,
 * counted from the SYNC that opened it). Flow control only, it vouches for nothing durable: the
 * leader keeps at most a window of unacknowledged stream bytes in flight, so a stream of any size
 * never overruns the connection's send queue.
 */
export interface SyncAckMessage {
  type: 'syncAck';
  epoch: number;
  chunks: number;
}

/** EntriesMessage carries history entries during synchronization, in zxid order. */
export interface EntriesMessage {
  type: 'entries';
  epoch: number;
  entries: LogEntry[];
}

/**
 * NewLeaderMessage ends the sync stream: the learner persists all it was sent, only then sets
 * currentEpoch = epoch (persisted), then acks. `zxid` is the new epoch's first zxid (epoch, 0).
 */
export interface NewLeaderMessage {
  type: 'newLeader';
  epoch: number;
  zxid: Zxid;
}

/** AckNewLeaderMessage: the learner holds the leader's history durably and currentEpoch = epoch. */
export interface AckNewLeaderMessage {
  type: 'ackNewLeader';
  epoch: number;
  lastZxid: Zxid;
}

/** UpToDateMessage: the leader is established; everything up to `committedZxid` is committed. */
export interface UpToDateMessage {
  type: 'upToDate';
  epoch: number;
  committedZxid: Zxid;
}

/** ProposalMessage carries new transactions to followers (PROPOSAL), in zxid order. */
export interface ProposalMessage {
  type: 'proposal';
  epoch: number;
  entries: LogEntry[];
}

/** AckMessage: the follower has durably logged everything up to `zxid` (cumulative ACK). */
export interface AckMessage {
  type: 'ack';
  epoch: number;
  zxid: Zxid;
}

/** CommitMessage: everything up to `zxid` is committed (cumulative COMMIT). */
export interface CommitMessage {
  type: 'commit';
  epoch: number;
  zxid: Zxid;
}

/** InformMessage carries committed transactions to observers (INFORM). */
export interface InformMessage {
  type: 'inform';
  epoch: number;
  entries: LogEntry[];
}

/**
 * PingMessage keeps a leader and a learner in touch both ways. From a learner it carries the
 * sessions its clients touched since the last ping, so the leader's session tracker sees them.
 */
export interface PingMessage {
  type: 'ping';
  epoch: number;
  sessions: SessionId[];
}

/** CreateSessionRequest asks the leader for a new session (ZooKeeper's createSession op). */
export interface CreateSessionRequest {
  op: 'createSession';
  timeoutMs: number;
  /** password is the new session's secret, chosen by the member the client asked (zab/sessions.ts). */
  password: Uint8Array;
}

/**
 * ForwardMessage carries a client request from a learner to the leader (ZooKeeper's REQUEST).
 * For createSession, `sessionId` is 0 and `cxid` is the learner's connect id.
 */
export interface ForwardMessage {
  type: 'forward';
  epoch: number;
  /** followId is the sender's current FOLLOWERINFO followId; any other is a late copy and dropped. */
  followId: number;
  sessionId: SessionId;
  cxid: number;
  request: Request | CreateSessionRequest;
  /**
   * auth: the ids the client's connection holds on the learner (ip, x509, digest, super); the
   * leader checks the request's ACLs against them. The learner is an authenticated member: its
   * word on them is trusted, as ZooKeeper's leader trusts a forwarded request's authInfo.
   */
  auth: readonly AuthId[];
}

/** BarrierMessage asks voters to confirm the sender still leads `epoch` (the read barrier). */
export interface BarrierMessage {
  type: 'barrier';
  epoch: number;
  id: number;
}

/** BarrierAckMessage confirms: the sender still follows this leader in `epoch`. */
export interface BarrierAckMessage {
  type: 'barrierAck';
  epoch: number;
  id: number;
}

/** BarrierRequestMessage: a learner asks the leader for a read barrier (for sync and linearizable reads). */
export interface BarrierRequestMessage {
  type: 'barrierRequest';
  epoch: number;
  id: number;
}

/** BarrierResultMessage: leadership was confirmed by a quorum; reads after `zxid` is applied are fresh. */
export interface BarrierResultMessage {
  type: 'barrierResult';
  epoch: number;
  id: number;
  zxid: Zxid;
}

export type ZabMessage =
  | FollowerInfoMessage
  | LeaderInfoMessage
  | AckEpochMessage
  | SyncMessage
  | SnapChunkMessage
  | SyncAckMessage
  | EntriesMessage
  | NewLeaderMessage
  | AckNewLeaderMessage
  | UpToDateMessage
  | ProposalMessage
  | AckMessage
  | CommitMessage
  | InformMessage
  | PingMessage
  | ForwardMessage
  | BarrierMessage
  | BarrierAckMessage
  | BarrierRequestMessage
  | BarrierResultMessage;

/** PeerMessage is everything one server sends another: election notifications and Zab messages. */
export type PeerMessage = NotificationMessage | ZabMessage;

/** PEER_MESSAGE_TYPES lists every `type` of PeerMessage, for decoders and exhaustive tests. */
export const PEER_MESSAGE_TYPES = [
  'notification',
  'followerInfo',
  'leaderInfo',
  'ackEpoch',
  'sync',
  'snapChunk',
  'syncAck',
  'entries',
  'newLeader',
  'ackNewLeader',
  'upToDate',
  'proposal',
  'ack',
  'commit',
  'inform',
  'ping',
  'forward',
  'barrier',
  'barrierAck',
  'barrierRequest',
  'barrierResult',
] as const satisfies readonly PeerMessage['type'][];
