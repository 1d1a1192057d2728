import type { CreateSessionRequest, PeerMessage, PeerState, Request, SyncMode } from '@zabkit/core';
import { FRAME_BYTES_MAX_DEFAULT } from './frame.js';
import { decodeMessageBody, encodeMessageFrame } from './message.js';
import { OP_CODES } from './op-codes.js';
import { type ProtocolVersions, protocolVersion, schemasByRange } from './protocol-version.js';
import { authIds, logEntry, sessionPassword, snapshotRecord } from './records.js';
import { requestVariants } from './requests.js';
import {
  array,
  boolean,
  bytes,
  int32,
  int64,
  named,
  nonNegativeInt32,
  optional,
  string,
  uint32,
  union,
  withDefault,
} from './schema.js';

/**
 * PEER_PROTOCOL_VERSIONS are the peer protocol versions this codec speaks. A release speaks its
 * own version and the previous one (README "Versions"), never below the oldest whose messages
 * this codec still has: version 3 is that oldest. Version 2 added the auth mode, nonce and proof
 * (the shared-secret challenge). Version 3: access lists in create and setACL transactions and
 * snapshot records, the ids a forwarded request carries. A version-2 member would decode them and
 * drop the lists (its replica, and any leader it became, would serve every znode open), and this
 * codec no longer writes version 2's messages, so `min` is 3, not 2: a version-2 member is
 * refused at the handshake. Version 4: membership changes — the reconfig transaction (op 16) in
 * proposals, DIFF and SNAP, the configuration record of snapshots, and the configuration version a
 * notification may carry. A version-3 member cannot read them, so a version-4 member speaks 3 to it
 * (the same messages, none of them sent before a change exists) and the server refuses a membership
 * change while a member it is connected to runs at version 3 (RECONFIG_DISABLED): upgrade every
 * member first.
 */
export const PEER_PROTOCOL_VERSIONS: ProtocolVersions = Object.freeze({ min: 3, max: 4 });

/** PEER_PROTOCOL_VERSION is this codec's own (newest) peer protocol version: PEER_PROTOCOL_VERSIONS.max. */
export const PEER_PROTOCOL_VERSION = PEER_PROTOCOL_VERSIONS.max;

/**
 * PeerAuthMode is how the two ends of a peer connection prove who they are: `none` (a plain
 * ensemble on a trusted network) or `hmac-sha256` (each proves knowledge of the shared secret).
 * Both ends must use the same mode; a mismatch is refused with AUTH_MISMATCH.
 */
export type PeerAuthMode = 'none' | 'hmac-sha256';

/** PEER_AUTH_MODE_NUMBERS: the wire numbers of PeerAuthMode. */
export const PEER_AUTH_MODE_NUMBERS: Readonly<Record<PeerAuthMode, number>> = { none: 0, 'hmac-sha256': 1 };

/**
 * PeerHandshake is the first frame each way on a peer connection: who is speaking, in which
 * version, how it authenticates. With `hmac-sha256`, `nonce` is 32 fresh random bytes; the
 * dialer's `proof` is empty (it proves itself later in a PeerHandshakeProof) and the acceptor's is
 * its HMAC over the transcript. With `none`, nonce and proof are empty.
 */
export interface PeerHandshake {
  type: 'handshake';
  protocolVersion: number;
  serverId: number;
  auth: PeerAuthMode;
  nonce: Uint8Array;
  proof: Uint8Array;
}

/** PeerHandshakeProof is the dialer's third frame under `hmac-sha256`: its HMAC over the transcript. */
export interface PeerHandshakeProof {
  type: 'handshakeProof';
  proof: Uint8Array;
}

/** PeerHandshakeRefusedReason says why a server would not take a peer connection. */
export type PeerHandshakeRefusedReason =
  | 'PROTOCOL_VERSION'
  | 'BAD_HANDSHAKE'
  | 'UNKNOWN_SERVER'
  | 'SAME_SERVER_ID'
  /** one end requires the shared secret and the other does not use one */
  | 'AUTH_MISMATCH'
  /** the other end's proof did not verify: another secret, or a replayed or forged handshake */
  | 'AUTH_FAILED';

/** PEER_HANDSHAKE_REFUSED_REASON_NUMBERS: the wire numbers of PeerHandshakeRefusedReason. */
export const PEER_HANDSHAKE_REFUSED_REASON_NUMBERS: Readonly<Record<PeerHandshakeRefusedReason, number>> = {
  PROTOCOL_VERSION: 1,
  BAD_HANDSHAKE: 2,
  UNKNOWN_SERVER: 3,
  SAME_SERVER_ID: 4,
  AUTH_MISMATCH: 5,
  AUTH_FAILED: 6,
};

/**
 * PeerHandshakeRefused answers a handshake the server will not take, then it closes. Frozen across
 * versions like ConnectRefused: it does not check `protocolVersion`.
 */
export interface PeerHandshakeRefused {
  type: 'handshakeRefused';
  protocolVersion: number;
  reason: PeerHandshakeRefusedReason;
  message: string;
}

/** PeerHandshakeMessage: the frames of the handshake. */
export type PeerHandshakeMessage = PeerHandshake | PeerHandshakeRefused | PeerHandshakeProof;

/**
 * PEER_STATE_NUMBERS: FLE states as ZooKeeper's QuorumPeer.ServerState ordinals.
 */
export const PEER_STATE_NUMBERS: Readonly<Record<PeerState, number>> = {
  LOOKING: 0,
  FOLLOWING: 1,
  LEADING: 2,
  OBSERVING: 3,
};

/** SYNC_MODE_NUMBERS: DIFF, TRUNC and SNAP as ZooKeeper's Leader packet types. */
export const SYNC_MODE_NUMBERS: Readonly<Record<SyncMode, number>> = { DIFF: 13, TRUNC: 14, SNAP: 15 };

/** serverId is a server's id (ZooKeeper's `long` myid), a non-negative safe integer. */
const serverId = int64;
/** epoch is a Zab epoch: the high 32 bits of a zxid. */
const epoch = uint32;
const zxid = int64;

/** forwardedRequest is a request a learner forwards: any client request, or createSession. */
export const forwardedRequest = union<Request | CreateSessionRequest, 'op'>('forwarded request', 'op', {
  ...requestVariants,
  createSession: { code: OP_CODES.createSession, fields: { timeoutMs: nonNegativeInt32, password: sessionPassword } },
});

/**
 * peerMessage is the schema of every PeerMessage. Types are written as small numbers: ZooKeeper's
 * Leader packet numbers where Zab has one (REQUEST 1, PROPOSAL 2, ACK 3, COMMIT 4, PING 5, INFORM 8,
 * NEWLEADER 10, FOLLOWERINFO 11, UPTODATE 12, DIFF/TRUNC/SNAP 13, LEADERINFO 17, ACKEPOCH 18), the
 * 20s and 30s for zabkit's own, 100 for FLE notifications and 200 for the handshake.
 */
export const peerMessage = union<PeerMessage, 'type'>('peer message type', 'type', {
  notification: {
    code: 100,
    fields: {
      leader: serverId,
      zxid,
      electionEpoch: int64,
      peerEpoch: epoch,
      state: named<PeerState>('peer state', PEER_STATE_NUMBERS),
      // Appended for membership changes (issue 16), sent only once a change was logged: a static
      // ensemble's notifications are what they were, and older members ignore the extra element.
      configVersion: optional(zxid),
      // Appended with it (a later zabkit of peer protocol 4): older members ignore it too.
      committedConfigVersion: optional(zxid),
    },
  },
  forward: {
    code: 1,
    fields: {
      epoch,
      followId: uint32,
      sessionId: int64,
      cxid: int32,
      request: forwardedRequest,
      // Appended: a forward from a member before ACLs carries no ids (then only `world` ACLs pass).
      auth: withDefault(authIds, []),
    },
  },
  proposal: { code: 2, fields: { epoch, entries: array(logEntry) } },
  ack: { code: 3, fields: { epoch, zxid } },
  commit: { code: 4, fields: { epoch, zxid } },
  ping: { code: 5, fields: { epoch, sessions: array(int64) } },
  inform: { code: 8, fields: { epoch, entries: array(logEntry) } },
  newLeader: { code: 10, fields: { epoch, zxid } },
  followerInfo: { code: 11, fields: { epoch, acceptedEpoch: epoch, observer: boolean, followId: uint32 } },
  upToDate: { code: 12, fields: { epoch, committedZxid: zxid } },
  sync: {
    code: 13,
    fields: {
      epoch,
      mode: named<SyncMode>('sync mode', SYNC_MODE_NUMBERS),
      truncZxid: zxid,
      snapshotZxid: zxid,
    },
  },
  snapChunk: { code: 15, fields: { epoch, records: array(snapshotRecord) } },
  leaderInfo: { code: 17, fields: { epoch } },
  ackEpoch: { code: 18, fields: { epoch, currentEpoch: epoch, lastZxid: zxid } },
  entries: { code: 20, fields: { epoch, entries: array(logEntry) } },
  ackNewLeader: { code: 21, fields: { epoch, lastZxid: zxid } },
  syncAck: { code: 22, fields: { epoch, chunks: nonNegativeInt32 } },
  barrier: { code: 30, fields: { epoch, id: int64 } },
  barrierAck: { code: 31, fields: { epoch, id: int64 } },
  barrierRequest: { code: 32, fields: { epoch, id: int64 } },
  barrierResult: { code: 33, fields: { epoch, id: int64, zxid } },
});

/**
 * peerHandshakeSchema is the schema of the handshake frames (types 200 to 202, in the same number
 * space) for an end that speaks `versions`: a handshake of another version is a CodecError on
 * `protocolVersion`, checked before any other field. The refusal does not check the version and
 * its shape is frozen across versions, so an end of any version can read why it was refused.
 */
const peerHandshakeSchema = schemasByRange((versions: ProtocolVersions) =>
  union<PeerHandshakeMessage, 'type'>('peer handshake type', 'type', {
    handshake: {
      code: 200,
      fields: {
        protocolVersion: protocolVersion(versions, 'peer'),
        serverId,
        auth: named<PeerAuthMode>('peer auth mode', PEER_AUTH_MODE_NUMBERS),
        nonce: bytes(),
        proof: bytes(),
      },
    },
    handshakeProof: { code: 202, fields: { proof: bytes() } },
    handshakeRefused: {
      code: 201,
      fields: {
        protocolVersion: uint32,
        reason: named<PeerHandshakeRefusedReason>('handshake refused reason', PEER_HANDSHAKE_REFUSED_REASON_NUMBERS),
        message: string,
      },
    },
  }),
);

/** peerHandshake is the schema of the handshake frames for PEER_PROTOCOL_VERSIONS. */
export const peerHandshake = peerHandshakeSchema(PEER_PROTOCOL_VERSIONS);

/** encodePeerMessage returns the frame of a PeerMessage. */
export function encodePeerMessage(message: PeerMessage, frameBytesMax = FRAME_BYTES_MAX_DEFAULT): Uint8Array {
  return encodeMessageFrame(peerMessage, message, frameBytesMax);
}

/** decodePeerMessage reads one frame body from a peer; throws CodecError naming the field. */
export function decodePeerMessage(body: Uint8Array): PeerMessage {
  return decodeMessageBody(peerMessage, body);
}

/** encodePeerHandshake returns the frame of a handshake message. */
export function encodePeerHandshake(message: PeerHandshakeMessage): Uint8Array {
  return encodeMessageFrame(peerHandshake, message);
}

/**
 * decodePeerHandshake reads the first frame of a peer connection (or the dialer's proof) as an end
 * that speaks `versions` (default PEER_PROTOCOL_VERSIONS); a handshake of a version outside them is
 * a CodecError on `protocolVersion` that names the range.
 */
export function decodePeerHandshake(
  body: Uint8Array,
  versions: ProtocolVersions = PEER_PROTOCOL_VERSIONS,
): PeerHandshakeMessage {
  return decodeMessageBody(peerHandshakeSchema(versions), body);
}
