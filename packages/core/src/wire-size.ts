/**
 * Upper bounds of the encoded size of zabkit's wire values, in bytes. Core cannot encode (the codec
 * sits above it), yet it must keep every message it emits under the frame limits, so it measures
 * with these. Each function bounds the msgpack encoding of `@zabkit/codec` from above: every
 * integer counts as the widest msgpack integer (9 bytes), every array, string and bin header as
 * the widest (5 bytes), strings by their exact UTF-8 length. The codec's tests check the bound
 * holds for every shape it encodes; a bound that is too low would make a frame over the limit,
 * which the host then reports instead of sending (never a crash).
 */

import type {
  ACL,
  AuthId,
  ClusterMember,
  LogEntry,
  MultiOp,
  MultiTxnOp,
  Reply,
  Request,
  Result,
  SnapshotRecord,
  Txn,
} from './types.js';
import { OPEN_ACL_UNSAFE } from './types.js';
import type { PeerMessage } from './zab/messages.js';

/** INT_BYTES is the widest msgpack integer: a marker byte and 8 bytes. */
export const INT_BYTES = 9;
/** HEADER_BYTES is the widest msgpack array, str or bin header: a marker byte and a 32-bit length. */
export const HEADER_BYTES = 5;
/** STAT_BYTES bounds one encoded Stat (an array of 11 integers). */
export const STAT_BYTES = HEADER_BYTES + 11 * INT_BYTES;
/** ENVELOPE_BYTES bounds what a message adds around its content: its array header, type code and a few integer fields. */
export const ENVELOPE_BYTES = 64;

/** utf8Bytes is the exact UTF-8 length of a string (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair: 2 UTF-16 units, 4 UTF-8 bytes.
        bytes += 2;
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** stringBytes bounds one encoded string. */
export function stringBytes(text: string): number {
  return HEADER_BYTES + utf8Bytes(text);
}

/** binBytes bounds one encoded byte string. */
export function binBytes(data: Uint8Array): number {
  return HEADER_BYTES + data.length;
}

/** authIdBytes bounds one encoded AuthId (an array of scheme and id). */
function authIdBytes(id: AuthId): number {
  return HEADER_BYTES + stringBytes(id.scheme) + stringBytes(id.id);
}

/** aclBytes bounds one encoded access list (an array of [perms, [scheme, id]]). */
export function aclBytes(acl: readonly ACL[]): number {
  let bytes = HEADER_BYTES;
  for (const entry of acl) bytes += HEADER_BYTES + INT_BYTES + authIdBytes(entry.id);
  return bytes;
}

/** authIdsBytes bounds one encoded list of AuthIds. */
export function authIdsBytes(ids: readonly AuthId[]): number {
  let bytes = HEADER_BYTES;
  for (const id of ids) bytes += authIdBytes(id);
  return bytes;
}

function multiTxnOpBytes(op: MultiTxnOp): number {
  const head = HEADER_BYTES + INT_BYTES;
  switch (op.type) {
    case 'create':
      return head + stringBytes(op.path) + binBytes(op.data) + 4 * INT_BYTES + 1 + aclBytes(op.acl);
    case 'delete':
      return head + stringBytes(op.path);
    case 'setData':
      return head + stringBytes(op.path) + binBytes(op.data) + INT_BYTES;
    case 'check':
      return head + stringBytes(op.path) + INT_BYTES;
    case 'error':
      return head + INT_BYTES;
  }
}

/** txnBytes bounds one encoded transaction. */
export function txnBytes(txn: Txn): number {
  const head = HEADER_BYTES + INT_BYTES;
  switch (txn.type) {
    case 'multi': {
      let bytes = head + HEADER_BYTES;
      for (const op of txn.txns) bytes += multiTxnOpBytes(op);
      return bytes;
    }
    case 'createSession':
      return head + 2 * INT_BYTES + binBytes(txn.password);
    case 'setACL':
      return head + stringBytes(txn.path) + aclBytes(txn.acl) + INT_BYTES;
    case 'closeSession': {
      let bytes = head + INT_BYTES + HEADER_BYTES;
      for (const path of txn.paths) bytes += stringBytes(path);
      return bytes;
    }
    case 'reconfig':
      return head + membersBytes(txn.members);
    default:
      return multiTxnOpBytes(txn);
  }
}

/** membersBytes bounds an encoded member list (each: id, role, address, client address). */
function membersBytes(members: readonly ClusterMember[]): number {
  let bytes = HEADER_BYTES;
  for (const member of members) {
    bytes +=
      HEADER_BYTES +
      2 * INT_BYTES +
      stringBytes(member.address) +
      stringBytes(member.clientAddress) +
      stringBytes(member.endpoints);
  }
  return bytes;
}

/** logEntryBytes bounds one encoded LogEntry (its header fields and its transaction). */
export function logEntryBytes(entry: LogEntry): number {
  return HEADER_BYTES + 4 * INT_BYTES + txnBytes(entry.txn);
}

/** snapshotRecordBytes bounds one encoded SnapshotRecord. */
export function snapshotRecordBytes(record: SnapshotRecord): number {
  if (record.kind === 'session') return HEADER_BYTES + 3 * INT_BYTES + binBytes(record.password);
  if (record.kind === 'config') return HEADER_BYTES + 2 * INT_BYTES + membersBytes(record.members);
  return (
    HEADER_BYTES +
    INT_BYTES +
    stringBytes(record.path) +
    binBytes(record.data) +
    11 * INT_BYTES +
    1 +
    aclBytes(record.acl)
  );
}

function stringsBytes(texts: readonly string[]): number {
  let bytes = HEADER_BYTES;
  for (const text of texts) bytes += stringBytes(text);
  return bytes;
}

/** resultBytes bounds one encoded Result (null: the nil of a failed request). */
export function resultBytes(result: Result | null): number {
  if (result === null) return 1;
  const head = HEADER_BYTES + INT_BYTES;
  switch (result.op) {
    case 'create':
      return head + stringBytes(result.path) + STAT_BYTES;
    case 'setData':
    case 'setACL':
    case 'exists':
      return head + STAT_BYTES;
    case 'getACL':
      return head + aclBytes(result.acl) + STAT_BYTES;
    case 'getData':
      return head + binBytes(result.data) + STAT_BYTES;
    case 'getChildren':
      return head + stringsBytes(result.children) + STAT_BYTES;
    case 'getEphemerals':
      return head + stringsBytes(result.paths);
    case 'whoAmI':
      return head + authIdsBytes(result.ids);
    case 'sync':
      return head + stringBytes(result.path);
    case 'multi':
    case 'multiRead': {
      let bytes = head + HEADER_BYTES;
      for (const item of result.results) bytes += item.op === 'error' ? head + INT_BYTES : resultBytes(item);
      return bytes;
    }
    default:
      return head + INT_BYTES;
  }
}

/** replyBytes bounds one encoded client reply frame body. */
export function replyBytes(reply: Reply): number {
  return ENVELOPE_BYTES + resultBytes(reply.result);
}

function multiOpBytes(op: MultiOp): number {
  const head = HEADER_BYTES + INT_BYTES;
  switch (op.op) {
    case 'create':
      return head + stringBytes(op.path) + binBytes(op.data) + 2 * INT_BYTES + aclBytes(op.acl ?? OPEN_ACL_UNSAFE);
    case 'setData':
      return head + stringBytes(op.path) + binBytes(op.data) + INT_BYTES;
    default:
      return head + stringBytes(op.path) + INT_BYTES;
  }
}

/** requestBytes bounds one encoded client Request (without its frame envelope). */
export function requestBytes(request: Request): number {
  const head = HEADER_BYTES + INT_BYTES;
  switch (request.op) {
    case 'create':
    case 'setData':
    case 'delete':
    case 'check':
      return multiOpBytes(request);
    case 'multi': {
      let bytes = head + HEADER_BYTES;
      for (const op of request.ops) bytes += multiOpBytes(op);
      return bytes;
    }
    case 'multiRead': {
      let bytes = head + HEADER_BYTES;
      for (const op of request.ops) bytes += head + stringBytes(op.path) + 1;
      return bytes;
    }
    case 'setWatches':
      return (
        head +
        INT_BYTES +
        stringsBytes(request.dataWatches) +
        stringsBytes(request.existWatches) +
        stringsBytes(request.childWatches) +
        stringsBytes(request.persistentWatches) +
        stringsBytes(request.persistentRecursiveWatches)
      );
    case 'getEphemerals':
      return head + stringBytes(request.prefixPath);
    case 'setACL':
      return head + stringBytes(request.path) + aclBytes(request.acl) + INT_BYTES;
    case 'reconfig':
      return head + membersBytes(request.members) + INT_BYTES;
    case 'closeSession':
    case 'whoAmI':
      return head;
    default:
      return head + stringBytes(request.path) + INT_BYTES;
  }
}

/** peerMessageBytes bounds one encoded peer message frame body. */
export function peerMessageBytes(message: PeerMessage): number {
  switch (message.type) {
    case 'notification':
      // Its type, five integers, its state and the configuration version.
      return HEADER_BYTES + 8 * INT_BYTES;
    case 'proposal':
    case 'inform':
    case 'entries': {
      let bytes = ENVELOPE_BYTES + HEADER_BYTES;
      for (const entry of message.entries) bytes += logEntryBytes(entry);
      return bytes;
    }
    case 'snapChunk': {
      let bytes = ENVELOPE_BYTES + HEADER_BYTES;
      for (const record of message.records) bytes += snapshotRecordBytes(record);
      return bytes;
    }
    case 'ping':
      return ENVELOPE_BYTES + HEADER_BYTES + message.sessions.length * INT_BYTES;
    case 'forward':
      return (
        ENVELOPE_BYTES +
        authIdsBytes(message.auth) +
        (message.request.op === 'createSession'
          ? HEADER_BYTES + 2 * INT_BYTES + binBytes(message.request.password)
          : requestBytes(message.request))
      );
    default:
      return ENVELOPE_BYTES;
  }
}
