// Reply frames (server → client): ReplyHeader {int xid; long zxid; int err} and the response
// record of the op that asked; watch notifications are replies with xid -1 and a WatcherEvent.
import type { ACL, Stat } from '@zabkit/core';
import { JuteError } from './errors.js';
import { KEEPER_STATE, OP, opName, XID } from './op-codes.js';
import { type JuteLimits, JuteReader } from './reader.js';
import {
  CLIENT_INFO_BYTES_MIN,
  readAclVector,
  readRecord,
  readStat,
  readStringVector,
  writeAclVector,
  writeRecord,
  writeStat,
  writeStringVector,
} from './records.js';
import { JuteWriter } from './writer.js';

/** What a reply carries after the ReplyHeader, by the op code that asked (ZooKeeper's response records). */
export type JuteResponse =
  /** CreateResponse (op create). */
  | { op: 'create'; path: string }
  /** Create2Response (ops create2, createContainer, createTTL). */
  | { op: 'create2'; path: string; stat: Stat }
  /** ExistsResponse, SetDataResponse, SetACLResponse. */
  | { op: 'stat'; stat: Stat }
  /** GetDataResponse (ops getData and reconfig, which answers with the new config and its Stat). */
  | { op: 'getData'; data: Uint8Array; stat: Stat }
  | { op: 'getACL'; acl: ACL[]; stat: Stat }
  | { op: 'getChildren'; children: string[] }
  | { op: 'getChildren2'; children: string[]; stat: Stat }
  | { op: 'sync'; path: string }
  | { op: 'getEphemerals'; paths: string[] }
  | { op: 'getAllChildrenNumber'; count: number }
  | { op: 'whoAmI'; clientInfo: { authScheme: string; user: string }[] }
  /**
   * MultiResponse: per op a MultiHeader {type, done false, err} and its result record (error results
   * are type -1 with ErrorResponse {int err}), ended by {-1, true, -1}. A multi that failed is
   * answered with err 0 in the ReplyHeader and an error result per op, as ZooKeeper does.
   */
  | { op: 'multi'; results: JuteMultiResult[] }
  /** multiRead: the same framing, getData/getChildren results, errors as type -1. */
  | { op: 'multiRead'; results: JuteMultiResult[] }
  /**
   * addWatch: ZooKeeper answers it with ErrorResponse {int err = 0}, a 4-byte body, and the Java
   * client reads one (an empty body there is an EOFException and a lost connection).
   */
  | { op: 'addWatch' }
  /** SetSASLResponse {buffer token} (op sasl). */
  | { op: 'sasl'; token: Uint8Array }
  /** no body (delete, deleteContainer, setWatches, setWatches2, removeWatches, checkWatches, closeSession, check, auth, ping). */
  | { op: 'empty' };

export type JuteMultiResult =
  | { op: 'create'; path: string }
  | { op: 'create2'; path: string; stat: Stat }
  | { op: 'delete' }
  | { op: 'setData'; stat: Stat }
  | { op: 'check' }
  | { op: 'getData'; data: Uint8Array; stat: Stat }
  | { op: 'getChildren'; children: string[] }
  | { op: 'error'; err: number };

/** JuteReply is a decoded reply: its header and, when it has one, its response. */
export interface JuteReply {
  xid: number;
  zxid: number;
  err: number;
  /** null when err is not 0 (a client reads no body then), except a multi or multiRead body that is there. */
  response: JuteResponse | null;
}

/** REPLY_HEADER_BYTES: ReplyHeader {int xid; long zxid; int err}. */
export const REPLY_HEADER_BYTES = 16;

function alwaysHasBody(response: JuteResponse): boolean {
  return response.op === 'multi' || response.op === 'multiRead';
}

/**
 * encodeReply writes a reply frame: ReplyHeader {xid, zxid, err} and the response record. When
 * `err` is not 0 no body is written, as ZooKeeper, except for multi and multiRead, which always
 * carry theirs. Throws JuteError naming the field for a value that is not of its jute type.
 */
export function encodeReply(xid: number, zxid: number, err: number, response: JuteResponse): Uint8Array {
  const writer = new JuteWriter(bodyBytesHint(response));
  writer.int(xid, 'xid');
  writer.long(zxid, 'zxid');
  writer.int(err, 'err');
  if (response === null || typeof response !== 'object') throw new JuteError('not a record', 'response');
  if (err === 0 || alwaysHasBody(response)) writeRecord(writer, response, 'response', writeResponse);
  return writer.frame();
}

// A first guess at the frame size, so a large getData reply is allocated once instead of doubling.
function bodyBytesHint(response: JuteResponse): number {
  if (response !== null && typeof response === 'object' && response.op === 'getData') {
    return 128 + (response.data?.length ?? 0);
  }
  return 256;
}

function writeResponse(writer: JuteWriter, response: JuteResponse): void {
  switch (response.op) {
    case 'create':
    case 'sync':
      writer.ustring(response.path, 'path');
      return;
    case 'create2':
      writer.ustring(response.path, 'path');
      writeRecord(writer, response.stat, 'stat', writeStat);
      return;
    case 'stat':
      writeRecord(writer, response.stat, 'stat', writeStat);
      return;
    case 'getData':
      writer.buffer(response.data, 'data');
      writeRecord(writer, response.stat, 'stat', writeStat);
      return;
    case 'getACL':
      writeAclVector(writer, response.acl, 'acl');
      writeRecord(writer, response.stat, 'stat', writeStat);
      return;
    case 'getChildren':
      writeStringVector(writer, response.children, 'children');
      return;
    case 'getChildren2':
      writeStringVector(writer, response.children, 'children');
      writeRecord(writer, response.stat, 'stat', writeStat);
      return;
    case 'getEphemerals':
      writeStringVector(writer, response.paths, 'paths');
      return;
    case 'getAllChildrenNumber':
      writer.int(response.count, 'count');
      return;
    case 'whoAmI':
      writer.vector(response.clientInfo, 'clientInfo', (w, info) =>
        writeRecord(w, info, '', (w2, record) => {
          w2.ustring(record.authScheme, 'authScheme');
          w2.ustring(record.user, 'user');
        }),
      );
      return;
    case 'multi':
    case 'multiRead':
      writeMultiResults(writer, response.results);
      return;
    case 'addWatch':
      writer.int(0, 'err');
      return;
    case 'sasl':
      writer.buffer(response.token, 'token');
      return;
    case 'empty':
      return;
    default:
      throw new JuteError(`unknown response ${String((response as { op?: unknown }).op)}`, 'op');
  }
}

function writeMultiResults(writer: JuteWriter, results: readonly JuteMultiResult[]): void {
  if (!Array.isArray(results)) throw new JuteError('not an array', 'results');
  for (let i = 0; i < results.length; i++) {
    writeRecord(writer, results[i] as JuteMultiResult, `results[${i}]`, writeMultiResult);
  }
  writer.int(OP.error, 'type');
  writer.boolean(true, 'done');
  writer.int(-1, 'err');
}

function writeMultiResult(writer: JuteWriter, result: JuteMultiResult): void {
  const header = (type: number, err: number) => {
    writer.int(type, 'type');
    writer.boolean(false, 'done');
    writer.int(err, 'err');
  };
  switch (result.op) {
    case 'create':
      header(OP.create, 0);
      writer.ustring(result.path, 'path');
      return;
    case 'create2':
      header(OP.create2, 0);
      writer.ustring(result.path, 'path');
      writeRecord(writer, result.stat, 'stat', writeStat);
      return;
    case 'delete':
      header(OP.delete, 0);
      return;
    case 'setData':
      header(OP.setData, 0);
      writeRecord(writer, result.stat, 'stat', writeStat);
      return;
    case 'check':
      header(OP.check, 0);
      return;
    case 'getData':
      header(OP.getData, 0);
      writer.buffer(result.data, 'data');
      writeRecord(writer, result.stat, 'stat', writeStat);
      return;
    case 'getChildren':
      header(OP.getChildren, 0);
      writeStringVector(writer, result.children, 'children');
      return;
    case 'error':
      // ZooKeeper writes the code twice: in the MultiHeader and in the ErrorResponse after it.
      header(OP.error, result.err);
      writer.int(result.err, 'err');
      return;
    default:
      throw new JuteError(`unknown result ${String((result as { op?: unknown }).op)}`, 'op');
  }
}

/**
 * decodeReply reads a reply body given the op code of the request it answers: the inverse of
 * {@link encodeReply}. When `err` is not 0 the body is not read (response null), as a ZooKeeper
 * client does, except a multi or multiRead body when there is one. Throws JuteError, also for an
 * op code that has no reply (field `op`).
 */
export function decodeReply(body: Uint8Array, op: number, limits?: JuteLimits): JuteReply {
  const reader = new JuteReader(body, limits);
  const xid = reader.int('xid');
  const zxid = reader.long('zxid');
  const err = reader.int('err');
  const read = RESPONSE_READERS.get(op);
  if (read === undefined) throw new JuteError(`no reply is defined for ${opName(op)}`, 'op');
  // With an error, a client reads no body; a multi's may still be there (the error results).
  const multi = op === OP.multi || op === OP.multiRead;
  if (err !== 0 && !(multi && reader.remaining > 0)) return { xid, zxid, err, response: null };
  const response = readRecord(reader, 'response', read);
  reader.end();
  return { xid, zxid, err, response };
}

const readEmpty = (): JuteResponse => ({ op: 'empty' });
const readCreate2 = (r: JuteReader): JuteResponse => ({
  op: 'create2',
  path: r.ustring('path'),
  stat: readRecord(r, 'stat', readStat),
});
const readStatResponse = (r: JuteReader): JuteResponse => ({ op: 'stat', stat: readRecord(r, 'stat', readStat) });
const readGetData = (r: JuteReader): JuteResponse => ({
  op: 'getData',
  data: r.buffer('data'),
  stat: readRecord(r, 'stat', readStat),
});

const RESPONSE_READERS: ReadonlyMap<number, (reader: JuteReader) => JuteResponse> = new Map<
  number,
  (reader: JuteReader) => JuteResponse
>([
  [OP.create, (r) => ({ op: 'create', path: r.ustring('path') })],
  [OP.create2, readCreate2],
  [OP.createContainer, readCreate2],
  [OP.createTTL, readCreate2],
  [OP.exists, readStatResponse],
  [OP.setData, readStatResponse],
  [OP.setACL, readStatResponse],
  [OP.getData, readGetData],
  [OP.reconfig, readGetData],
  [OP.getACL, (r) => ({ op: 'getACL', acl: readAclVector(r, 'acl'), stat: readRecord(r, 'stat', readStat) })],
  [OP.getChildren, (r) => ({ op: 'getChildren', children: readStringVector(r, 'children') })],
  [
    OP.getChildren2,
    (r) => ({ op: 'getChildren2', children: readStringVector(r, 'children'), stat: readRecord(r, 'stat', readStat) }),
  ],
  [OP.sync, (r) => ({ op: 'sync', path: r.ustring('path') })],
  [OP.getEphemerals, (r) => ({ op: 'getEphemerals', paths: readStringVector(r, 'paths') })],
  [OP.getAllChildrenNumber, (r) => ({ op: 'getAllChildrenNumber', count: r.int('count') })],
  [
    OP.whoAmI,
    (r) => ({
      op: 'whoAmI',
      clientInfo: r.vector('clientInfo', CLIENT_INFO_BYTES_MIN, (e) => ({
        authScheme: e.ustring('authScheme'),
        user: e.ustring('user'),
      })),
    }),
  ],
  [OP.multi, (r) => ({ op: 'multi', results: readMultiResults(r) })],
  [OP.multiRead, (r) => ({ op: 'multiRead', results: readMultiResults(r) })],
  [
    OP.addWatch,
    (r) => {
      r.int('err');
      return { op: 'addWatch' };
    },
  ],
  [OP.sasl, (r) => ({ op: 'sasl', token: r.buffer('token') })],
  [OP.delete, readEmpty],
  [OP.deleteContainer, readEmpty],
  [OP.check, readEmpty],
  [OP.setWatches, readEmpty],
  [OP.setWatches2, readEmpty],
  [OP.removeWatches, readEmpty],
  [OP.checkWatches, readEmpty],
  [OP.closeSession, readEmpty],
  [OP.auth, readEmpty],
  [OP.ping, readEmpty],
]);

function readMultiResults(reader: JuteReader): JuteMultiResult[] {
  const results: JuteMultiResult[] = [];
  for (let i = 0; ; i++) {
    const field = `results[${i}]`;
    const type = readRecord(reader, field, (r) => {
      const type = r.int('type');
      const done = r.boolean('done');
      r.int('err');
      return done ? null : type;
    });
    if (type === null) return results;
    reader.checkCount(i + 1, 'results');
    results.push(readRecord(reader, field, (r) => readMultiResult(r, type)));
  }
}

function readMultiResult(reader: JuteReader, type: number): JuteMultiResult {
  switch (type) {
    case OP.create:
      return { op: 'create', path: reader.ustring('path') };
    case OP.create2:
      return { op: 'create2', path: reader.ustring('path'), stat: readRecord(reader, 'stat', readStat) };
    case OP.delete:
      return { op: 'delete' };
    case OP.setData:
      return { op: 'setData', stat: readRecord(reader, 'stat', readStat) };
    case OP.check:
      return { op: 'check' };
    case OP.getData:
      return { op: 'getData', data: reader.buffer('data'), stat: readRecord(reader, 'stat', readStat) };
    case OP.getChildren:
      return { op: 'getChildren', children: readStringVector(reader, 'children') };
    case OP.error:
      return { op: 'error', err: reader.int('err') };
    default:
      throw new JuteError(`${opName(type)} is not a multi result`, 'type');
  }
}

// ---------------------------------------------------------------------------------------------
// Watch notifications.

/** JuteNotification is a decoded notification: WatcherEvent {int type; int state; ustring path} and the header's zxid. */
export interface JuteNotification {
  type: number;
  state: number;
  path: string;
  /** zxid is the ReplyHeader's: -1 from ZooKeeper before 3.9 (and by default here), the event's zxid after. */
  zxid: number;
}

/**
 * encodeNotification writes a watch notification frame: ReplyHeader {xid -1, zxid, err 0} and
 * WatcherEvent {type, state, path}. `state` defaults to 3 (SyncConnected). The header's zxid is -1
 * unless the event carries one (ZooKeeper 3.9 and later send the event's zxid; older clients
 * ignore it), so core's WatchEvent can be passed as it is or with its zxid left out.
 */
export function encodeNotification(
  event: { type: number; path: string; zxid?: number },
  state: number = KEEPER_STATE.SyncConnected,
): Uint8Array {
  if (event === null || typeof event !== 'object') throw new JuteError('not a record', 'event');
  const writer = new JuteWriter(64 + (event.path?.length ?? 0) * 3);
  writer.int(XID.notification, 'xid');
  writer.long(event.zxid ?? -1, 'zxid');
  writer.int(0, 'err');
  writer.int(event.type, 'type');
  writer.int(state, 'state');
  writer.ustring(event.path, 'path');
  return writer.frame();
}

/** decodeNotification reads a notification body; a header whose xid is not -1 is a JuteError (field `xid`). */
export function decodeNotification(body: Uint8Array, limits?: JuteLimits): JuteNotification {
  const reader = new JuteReader(body, limits);
  const xid = reader.int('xid');
  if (xid !== XID.notification) throw new JuteError(`xid ${xid} is not a notification's (-1)`, 'xid');
  const zxid = reader.long('zxid');
  reader.int('err');
  const type = reader.int('type');
  const state = reader.int('state');
  const path = reader.ustring('path');
  reader.end();
  return { type, state, path, zxid };
}
