import {
  type ACL,
  ACL_ENTRIES_MAX,
  type AuthId,
  type CheckTxn,
  type CloseSessionTxn,
  type ClusterMember,
  type CreateSessionTxn,
  type CreateTxn,
  type DeleteTxn,
  ERROR_CODE_NUMBERS,
  type ErrorCode,
  type ErrorTxn,
  type LogEntry,
  type MemberRole,
  type MultiTxn,
  type MultiTxnOp,
  OPEN_ACL_UNSAFE,
  type ReconfigTxn,
  SESSION_PASSWORD_BYTES,
  type SetACLTxn,
  type SetDataTxn,
  type SnapshotHeader,
  type SnapshotRecord,
  type Stat,
  type Txn,
} from '@zabkit/core';
import { CodecError } from './errors.js';
import { FRAME_BYTES_MAX_DEFAULT } from './frame.js';
import { packBody, unpackBody } from './msgpack.js';
import { OP_CODES } from './op-codes.js';
import {
  array,
  boolean,
  bytes,
  type FieldCodec,
  int32,
  int64,
  named,
  nonNegativeInt32,
  string,
  struct,
  type UnionCodec,
  union,
  type Variant,
  withDefault,
} from './schema.js';

/** errorCode is an ErrorCode written as its KeeperException number (ERROR_CODE_NUMBERS). */
export const errorCode: FieldCodec<ErrorCode> = named<ErrorCode>('error code', ERROR_CODE_NUMBERS);

/** path is a znode path; the codec checks only that it is a string (core decides INVALID_PATH). */
export const path: FieldCodec<string> = string;

/** stat is ZooKeeper's Stat, its fields in jute's order. */
export const stat: FieldCodec<Stat> = struct<Stat>('Stat', {
  czxid: int64,
  mzxid: int64,
  ctime: int64,
  mtime: int64,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: int64,
  dataLength: nonNegativeInt32,
  numChildren: nonNegativeInt32,
  pzxid: int64,
});

/** authId is ZooKeeper's Id: a scheme and an id in it. */
export const authId: FieldCodec<AuthId> = struct<AuthId>('Id', { scheme: string, id: string });

/** AUTH_IDS_MAX bounds the ids one forwarded request carries (a connection holds a few). */
export const AUTH_IDS_MAX = 64;

/** authIds are the ids a connection holds, as a forwarded request carries them. */
export const authIds: FieldCodec<AuthId[]> = array(authId, AUTH_IDS_MAX);

const aclEntry: FieldCodec<ACL> = struct<ACL>('ACL', { perms: int32, id: authId });

/** acl is an access list, at most ACL_ENTRIES_MAX entries (core checks what they say). */
export const acl: FieldCodec<ACL[]> = array(aclEntry, ACL_ENTRIES_MAX);

/**
 * aclOrOpen is an access list appended to a record that existed before ACLs (a create, a snapshot
 * node): missing, it decodes as OPEN_ACL_UNSAFE, which is what every znode had then.
 */
export const aclOrOpen: FieldCodec<ACL[]> = withDefault(acl, OPEN_ACL_UNSAFE as ACL[]);

const createTxn: Variant<Omit<CreateTxn, 'type'>> = {
  code: OP_CODES.create,
  fields: {
    path,
    data: bytes(),
    ephemeralOwner: int64,
    container: boolean,
    ttlMs: int64,
    parentCversion: int32,
    acl: aclOrOpen,
  },
};
const setAclTxn: Variant<Omit<SetACLTxn, 'type'>> = { code: OP_CODES.setACL, fields: { path, acl, version: int32 } };
const deleteTxn: Variant<Omit<DeleteTxn, 'type'>> = { code: OP_CODES.delete, fields: { path } };
const setDataTxn: Variant<Omit<SetDataTxn, 'type'>> = {
  code: OP_CODES.setData,
  fields: { path, data: bytes(), version: int32 },
};
const checkTxn: Variant<Omit<CheckTxn, 'type'>> = { code: OP_CODES.check, fields: { path, version: int32 } };
const errorTxn: Variant<Omit<ErrorTxn, 'type'>> = { code: OP_CODES.error, fields: { code: errorCode } };

/** multiTxnOp is one transaction inside a MultiTxn (no nested multi, no session transactions). */
export const multiTxnOp: FieldCodec<MultiTxnOp> = union<MultiTxnOp, 'type'>('multi transaction', 'type', {
  create: createTxn,
  delete: deleteTxn,
  setData: setDataTxn,
  check: checkTxn,
  error: errorTxn,
});

/**
 * sessionPassword is a session's password in a createSession transaction, a forwarded
 * createSession or a snapshot's session record: SESSION_PASSWORD_BYTES bytes, or none for a record
 * written before passwords were replicated (then it decodes as empty, and that session cannot be
 * resumed: core's zab/sessions.ts). Appended last, so records of either age decode.
 */
export const sessionPassword: FieldCodec<Uint8Array> = withDefault<Uint8Array>(
  {
    description: `${SESSION_PASSWORD_BYTES} bytes or none`,
    encode: (value) => {
      if (!(value instanceof Uint8Array) || (value.length !== 0 && value.length !== SESSION_PASSWORD_BYTES)) {
        throw new CodecError(`expected ${SESSION_PASSWORD_BYTES} bytes or none`);
      }
      return value;
    },
    decode: (value) => {
      if (!(value instanceof Uint8Array) || (value.length !== 0 && value.length !== SESSION_PASSWORD_BYTES)) {
        throw new CodecError(`expected ${SESSION_PASSWORD_BYTES} bytes or none`);
      }
      return Uint8Array.from(value);
    },
  },
  new Uint8Array(0),
);

const multiTxn: Variant<Omit<MultiTxn, 'type'>> = { code: OP_CODES.multi, fields: { txns: array(multiTxnOp) } };
const createSessionTxn: Variant<Omit<CreateSessionTxn, 'type'>> = {
  code: OP_CODES.createSession,
  fields: { sessionId: int64, timeoutMs: nonNegativeInt32, password: sessionPassword },
};
const closeSessionTxn: Variant<Omit<CloseSessionTxn, 'type'>> = {
  code: OP_CODES.closeSession,
  fields: { sessionId: int64, paths: array(path) },
};

/** memberRole: participant 0, observer 1. */
const memberRole: FieldCodec<MemberRole> = named<MemberRole>('member role', { participant: 0, observer: 1 });

/** MEMBERS_MAX bounds a configuration's member list. */
export const MEMBERS_MAX = 1_024;

/** clusterMember is one server of a configuration (core's ClusterMember): its address strings are the host's. */
export const clusterMember: FieldCodec<ClusterMember> = struct<ClusterMember>('ClusterMember', {
  id: nonNegativeInt32,
  role: memberRole,
  address: string,
  clientAddress: string,
  endpoints: string,
});

/** reconfigTxn is a membership change (ZooKeeper's op 16): the whole new member list; its zxid is the new version. */
const reconfigTxn: Variant<Omit<ReconfigTxn, 'type'>> = {
  code: OP_CODES.reconfig,
  fields: { members: array(clusterMember, MEMBERS_MAX) },
};

/** txn is a replicated transaction; its `type` is written as the ZooKeeper op code. */
export const txn: UnionCodec<Txn> = union<Txn, 'type'>('transaction', 'type', {
  create: createTxn,
  delete: deleteTxn,
  setData: setDataTxn,
  setACL: setAclTxn,
  multi: multiTxn,
  createSession: createSessionTxn,
  closeSession: closeSessionTxn,
  error: errorTxn,
  reconfig: reconfigTxn,
});

/** logEntry is a LogEntry (ZooKeeper's TxnHeader and its transaction), as DIFF and PROPOSAL carry it. */
export const logEntry: FieldCodec<LogEntry> = struct<LogEntry>('LogEntry', {
  zxid: int64,
  sessionId: int64,
  cxid: int32,
  timeMs: int64,
  txn,
});

/** snapshotRecord is one record of a snapshot (a znode or a session), as SNAP carries it. */
export const snapshotRecord: UnionCodec<SnapshotRecord> = union<SnapshotRecord, 'kind'>('snapshot record', 'kind', {
  node: {
    code: 1,
    fields: {
      path,
      data: bytes(),
      czxid: int64,
      mzxid: int64,
      pzxid: int64,
      ctime: int64,
      mtime: int64,
      version: int32,
      cversion: int32,
      aversion: int32,
      ephemeralOwner: int64,
      container: boolean,
      ttlMs: int64,
      acl: aclOrOpen,
    },
  },
  session: { code: 2, fields: { sessionId: int64, timeoutMs: nonNegativeInt32, password: sessionPassword } },
  // The membership at the snapshot's zxid (core's zab/membership.ts); snapshots before reconfig have none.
  config: { code: 3, fields: { version: int64, members: array(clusterMember, MEMBERS_MAX) } },
});

/** snapshotHeader is a SnapshotHeader. */
export const snapshotHeader: FieldCodec<SnapshotHeader> = struct<SnapshotHeader>('SnapshotHeader', {
  zxid: int64,
  timeMs: int64,
});

function encodeStandalone<T>(codec: FieldCodec<T>, value: T): Uint8Array {
  const body = packBody(codec.encode(value));
  if (body.length > FRAME_BYTES_MAX_DEFAULT) {
    throw new CodecError(`${body.length} bytes, over the limit of ${FRAME_BYTES_MAX_DEFAULT}`, codec.description);
  }
  return body;
}

/** encodeLogEntry writes one LogEntry as a standalone msgpack body (the same shape DIFF and PROPOSAL embed). */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  return encodeStandalone(logEntry, entry);
}

/** decodeLogEntry reads a body written by {@link encodeLogEntry}; throws CodecError naming the field. */
export function decodeLogEntry(body: Uint8Array): LogEntry {
  return logEntry.decode(unpackBody(body));
}

/** encodeSnapshotRecord writes one SnapshotRecord as a standalone msgpack body (the shape SNAP embeds). */
export function encodeSnapshotRecord(record: SnapshotRecord): Uint8Array {
  return encodeStandalone(snapshotRecord, record);
}

/** decodeSnapshotRecord reads a body written by {@link encodeSnapshotRecord}; throws CodecError naming the field. */
export function decodeSnapshotRecord(body: Uint8Array): SnapshotRecord {
  return snapshotRecord.decode(unpackBody(body));
}
