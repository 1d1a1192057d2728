// Request frames (client → server after the connect): RequestHeader {int xid; int type} and the
// request record its type names (zookeeper.jute `module org.apache.zookeeper.proto`).
import type {
  CheckRequest,
  CreateMode,
  CreateRequest,
  DeleteRequest,
  GetChildrenRequest,
  GetDataRequest,
  MultiOp,
  MultiReadOp,
  Request,
  SetDataRequest,
  WatcherType,
} from '@zabkit/core';
import { JuteError } from './errors.js';
import { OP, opName } from './op-codes.js';
import { type JuteLimits, JuteReader } from './reader.js';
import {
  readAclVector,
  readRecord,
  readStringVector,
  writeAclVector,
  writeRecord,
  writeStringVector,
} from './records.js';
import { JuteWriter } from './writer.js';

/**
 * JuteRequest is what one request frame asks, after its header. Ops that core serves become
 * `{ kind: 'core', request }`; the rest are the connection's own business.
 *
 * - create, create2, createContainer, createTTL: core `create`; `mode` is the request's flags as
 *   sent (ZooKeeper's CreateMode values; anything outside 0–6 is core's BAD_ARGUMENTS to give),
 *   `ttlMs` the TTL of createTTL and 0 otherwise, `acl` the ACL vector as sent (possibly empty).
 * - delete; deleteContainer (a bare path buffer) as delete with version -1; exists; getData;
 *   setData; getACL; setACL; getChildren and getChildren2 (both core `getChildren`: the op code in
 *   the frame says which reply to send); sync; check; getEphemerals (a null, blank or `/` prefix is
 *   `/`, all of the session's ephemerals, as ZooKeeper); addWatch; removeWatches.
 * - multi (create/create2/createTTL/createContainer/delete/setData/check ops) and multiRead
 *   (getData/getChildren ops); the frame's `multiOps` has the op code of each.
 * - setWatches (no persistent lists: empty) and setWatches2: core `setWatches`.
 * - closeSession (op -11, no body): core `closeSession`.
 */
export type JuteRequest =
  | { kind: 'core'; request: Request }
  | { kind: 'ping' }
  /** AuthPacket {int type; ustring scheme; buffer auth}: `type` is always 0 and not kept. */
  | { kind: 'auth'; scheme: string; credentials: Uint8Array }
  | { kind: 'getAllChildrenNumber'; path: string }
  | { kind: 'checkWatches'; path: string; watcherType: number }
  | { kind: 'whoAmI' }
  /** ReconfigRequest: a null ustring reads as ''. */
  | { kind: 'reconfig'; joiningServers: string; leavingServers: string; newMembers: string; curConfigId: number }
  /** GetSASLRequest {buffer token}. */
  | { kind: 'sasl'; token: Uint8Array };

/** JuteRequestFrame is a decoded request frame body: header (xid, op code) and what it asks. */
export interface JuteRequestFrame {
  xid: number;
  op: number;
  request: JuteRequest;
  /**
   * multiOps: for a multi or multiRead (and only then), the op code each op was sent with, its
   * MultiHeader type. A multi answers a `create` op with a CreateResponse (path only) and
   * create2/createTTL/createContainer ops with a Create2Response (path and stat), as ZooKeeper
   * does, and a client reads the one it asked for: core's MultiOp does not say which.
   */
  multiOps?: number[];
}

/** REQUEST_HEADER_BYTES: RequestHeader {int xid; int type}. */
export const REQUEST_HEADER_BYTES = 8;

/**
 * peekHeader reads only a request body's RequestHeader, so that a server can answer a frame that
 * {@link decodeRequest} refused for its op code with UNIMPLEMENTED under the right xid. Throws
 * JuteError when the body is shorter than the header.
 */
export function peekHeader(body: Uint8Array): { xid: number; op: number } {
  const reader = new JuteReader(body);
  return { xid: reader.int('xid'), op: reader.int('op') };
}

/** isKnownRequestOp tells whether {@link decodeRequest} knows how to read op code `op`. */
export function isKnownRequestOp(op: number): boolean {
  return REQUEST_OPS.has(op);
}

const REQUEST_OPS: ReadonlySet<number> = new Set([
  OP.create,
  OP.delete,
  OP.exists,
  OP.getData,
  OP.setData,
  OP.getACL,
  OP.setACL,
  OP.getChildren,
  OP.sync,
  OP.ping,
  OP.getChildren2,
  OP.check,
  OP.multi,
  OP.create2,
  OP.reconfig,
  OP.checkWatches,
  OP.removeWatches,
  OP.createContainer,
  OP.deleteContainer,
  OP.createTTL,
  OP.multiRead,
  OP.auth,
  OP.setWatches,
  OP.sasl,
  OP.getEphemerals,
  OP.getAllChildrenNumber,
  OP.setWatches2,
  OP.addWatch,
  OP.whoAmI,
  OP.closeSession,
]);

/**
 * decodeRequest reads one request frame body (after the length). It throws only JuteError: for a
 * body shorter than its record, bytes after it, a length or count that is negative, past the end or
 * over `limits`, a long outside the safe integers, invalid UTF-8, a boolean other than 0/1, an op
 * that cannot be inside a multi, or an op code it does not know (field `op`: answer UNIMPLEMENTED,
 * see {@link peekHeader}).
 */
export function decodeRequest(body: Uint8Array, limits?: JuteLimits): JuteRequestFrame {
  const reader = new JuteReader(body, limits);
  const xid = reader.int('xid');
  const op = reader.int('op');
  if (!REQUEST_OPS.has(op)) throw new JuteError(`unknown op code ${op}`, 'op');
  const multiOps: number[] = [];
  const request = readRecord(reader, 'request', (r) => readRequest(r, op, multiOps));
  reader.end();
  return op === OP.multi || op === OP.multiRead ? { xid, op, request, multiOps } : { xid, op, request };
}

function core(request: Request): JuteRequest {
  return { kind: 'core', request };
}

/** readRequest reads the record op code `op` names; a multi's op codes go into `multiOps`. */
function readRequest(reader: JuteReader, op: number, multiOps: number[]): JuteRequest {
  switch (op) {
    case OP.create:
    case OP.create2:
    case OP.createContainer:
      return core(readCreate(reader, false));
    case OP.createTTL:
      return core(readCreate(reader, true));
    case OP.delete:
      return core(readDelete(reader));
    case OP.deleteContainer:
      // DeleteContainerRequest is a bare buffer holding the path's UTF-8: the same bytes as a ustring.
      return core({ op: 'delete', path: reader.ustring('path'), version: -1 });
    case OP.exists:
      return core({ op: 'exists', path: reader.ustring('path'), watch: reader.boolean('watch') });
    case OP.getData:
      return core(readGetData(reader));
    case OP.setData:
      return core(readSetData(reader));
    case OP.getACL:
      return core({ op: 'getACL', path: reader.ustring('path') });
    case OP.setACL:
      return core({
        op: 'setACL',
        path: reader.ustring('path'),
        acl: readAclVector(reader, 'acl'),
        version: reader.int('version'),
      });
    case OP.getChildren:
    case OP.getChildren2:
      return core(readGetChildren(reader));
    case OP.sync:
      return core({ op: 'sync', path: reader.ustring('path') });
    case OP.check:
      return core(readCheck(reader));
    case OP.multi:
      return core({ op: 'multi', ops: readMulti(reader, multiOps, readMultiOp) });
    case OP.multiRead:
      return core({ op: 'multiRead', ops: readMulti(reader, multiOps, readMultiReadOp) });
    case OP.getEphemerals: {
      const prefixPath = reader.ustring('prefixPath');
      const trimmed = prefixPath.trim();
      return core({ op: 'getEphemerals', prefixPath: trimmed === '' || trimmed === '/' ? '/' : prefixPath });
    }
    case OP.addWatch:
      return core({ op: 'addWatch', path: reader.ustring('path'), mode: reader.int('mode') as 0 | 1 });
    case OP.removeWatches:
      return core({
        op: 'removeWatches',
        path: reader.ustring('path'),
        watcherType: reader.int('watcherType') as WatcherType,
      });
    case OP.setWatches:
    case OP.setWatches2: {
      const relativeZxid = reader.long('relativeZxid');
      const dataWatches = readStringVector(reader, 'dataWatches');
      const existWatches = readStringVector(reader, 'existWatches');
      const childWatches = readStringVector(reader, 'childWatches');
      const v2 = op === OP.setWatches2;
      const persistentWatches = v2 ? readStringVector(reader, 'persistentWatches') : [];
      const persistentRecursiveWatches = v2 ? readStringVector(reader, 'persistentRecursiveWatches') : [];
      return core({
        op: 'setWatches',
        relativeZxid,
        dataWatches,
        existWatches,
        childWatches,
        persistentWatches,
        persistentRecursiveWatches,
      });
    }
    case OP.closeSession:
      return core({ op: 'closeSession' });
    case OP.ping:
      return { kind: 'ping' };
    case OP.whoAmI:
      return { kind: 'whoAmI' };
    case OP.auth: {
      reader.int('type');
      return { kind: 'auth', scheme: reader.ustring('scheme'), credentials: reader.buffer('credentials') };
    }
    case OP.getAllChildrenNumber:
      return { kind: 'getAllChildrenNumber', path: reader.ustring('path') };
    case OP.checkWatches:
      return { kind: 'checkWatches', path: reader.ustring('path'), watcherType: reader.int('watcherType') };
    case OP.reconfig:
      return {
        kind: 'reconfig',
        joiningServers: reader.ustring('joiningServers'),
        leavingServers: reader.ustring('leavingServers'),
        newMembers: reader.ustring('newMembers'),
        curConfigId: reader.long('curConfigId'),
      };
    case OP.sasl:
      return { kind: 'sasl', token: reader.buffer('token') };
    default:
      // decodeRequest checked the op code against REQUEST_OPS: reaching here is a bug.
      throw new Error(`readRequest: op ${op} is in REQUEST_OPS but has no reader`);
  }
}

function readCreate(reader: JuteReader, ttl: boolean): CreateRequest {
  const path = reader.ustring('path');
  const data = reader.buffer('data');
  const acl = readAclVector(reader, 'acl');
  // The flags as sent: core answers BAD_ARGUMENTS for anything that is not a CreateMode.
  const mode = reader.int('mode') as CreateMode;
  const ttlMs = ttl ? reader.long('ttlMs') : 0;
  return { op: 'create', path, data, mode, ttlMs, acl };
}

function readDelete(reader: JuteReader): DeleteRequest {
  return { op: 'delete', path: reader.ustring('path'), version: reader.int('version') };
}

function readSetData(reader: JuteReader): SetDataRequest {
  return { op: 'setData', path: reader.ustring('path'), data: reader.buffer('data'), version: reader.int('version') };
}

function readCheck(reader: JuteReader): CheckRequest {
  return { op: 'check', path: reader.ustring('path'), version: reader.int('version') };
}

function readGetData(reader: JuteReader): GetDataRequest {
  return { op: 'getData', path: reader.ustring('path'), watch: reader.boolean('watch') };
}

function readGetChildren(reader: JuteReader): GetChildrenRequest {
  return { op: 'getChildren', path: reader.ustring('path'), watch: reader.boolean('watch') };
}

function readMultiOp(reader: JuteReader, type: number): MultiOp {
  switch (type) {
    case OP.create:
    case OP.create2:
    case OP.createContainer:
      return readCreate(reader, false);
    case OP.createTTL:
      return readCreate(reader, true);
    case OP.delete:
      return readDelete(reader);
    case OP.setData:
      return readSetData(reader);
    case OP.check:
      return readCheck(reader);
    default:
      throw new JuteError(`${opName(type)} cannot be part of a multi`, 'type');
  }
}

function readMultiReadOp(reader: JuteReader, type: number): MultiReadOp {
  switch (type) {
    case OP.getData:
      return readGetData(reader);
    case OP.getChildren:
      return readGetChildren(reader);
    default:
      throw new JuteError(`${opName(type)} cannot be part of a multiRead`, 'type');
  }
}

/** MULTI_HEADER_BYTES: MultiHeader {int type; boolean done; int err}. */
export const MULTI_HEADER_BYTES = 9;

/**
 * readMulti reads MultiOperationRecord: a MultiHeader before each op and a last one with done set
 * (ZooKeeper writes {-1, true, -1}; like ZooKeeper, only `done` is looked at). Every op takes at
 * least a header's 9 bytes, so the loop is bounded by the body, and by the vector limit.
 */
function readMulti<T>(reader: JuteReader, opCodes: number[], readOp: (reader: JuteReader, type: number) => T): T[] {
  const ops: T[] = [];
  for (let i = 0; ; i++) {
    const field = `ops[${i}]`;
    const type = readRecord(reader, field, (r) => {
      const type = r.int('type');
      const done = r.boolean('done');
      r.int('err');
      return done ? null : type;
    });
    if (type === null) return ops;
    reader.checkCount(i + 1, 'ops');
    ops.push(readRecord(reader, field, (r) => readOp(r, type)));
    opCodes.push(type);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding: the inverse of decodeRequest, for tests, fuzz seeds and small clients.

/**
 * encodeRequest writes a request frame (length, RequestHeader, record): the inverse of
 * {@link decodeRequest}. `frame.op` picks the record, so it must agree with the request (a core
 * `create` under create, create2, createContainer or createTTL; `getChildren` under getChildren or
 * getChildren2; `setWatches` under setWatches only when its persistent lists are empty; `delete`
 * under deleteContainer only with version -1). Multi ops are sent with `frame.multiOps` when given,
 * else as a Java client would (createTTL for the TTL modes, createContainer for CONTAINER, create
 * otherwise). Throws JuteError naming the field for anything it cannot write.
 */
export function encodeRequest(frame: JuteRequestFrame): Uint8Array {
  if (frame === null || typeof frame !== 'object') throw new JuteError('not a record', '');
  const writer = new JuteWriter();
  writer.int(frame.xid, 'xid');
  writer.int(frame.op, 'op');
  if (!REQUEST_OPS.has(frame.op)) throw new JuteError(`unknown op code ${frame.op}`, 'op');
  if (frame.multiOps !== undefined && frame.op !== OP.multi && frame.op !== OP.multiRead) {
    throw new JuteError('only a multi or multiRead has op codes of its ops', 'multiOps');
  }
  writeRecord(writer, frame.request, 'request', (w, request) => writeRequest(w, frame.op, request, frame.multiOps));
  return writer.frame();
}

function mismatch(op: number, request: JuteRequest): JuteError {
  const what = request.kind === 'core' ? `core ${String(request.request?.op)}` : String(request.kind);
  return new JuteError(`${opName(op)} (op ${op}) cannot carry ${what}`, '');
}

function coreRequest<K extends Request['op']>(
  op: number,
  request: JuteRequest,
  ...ops: K[]
): Extract<Request, { op: K }> {
  if (request.kind !== 'core' || request.request === null || typeof request.request !== 'object') {
    throw mismatch(op, request);
  }
  const inner = request.request;
  if (!(ops as string[]).includes(inner.op)) throw mismatch(op, request);
  return inner as Extract<Request, { op: K }>;
}

function writeRequest(
  writer: JuteWriter,
  op: number,
  request: JuteRequest,
  multiOps: readonly number[] | undefined,
): void {
  switch (op) {
    case OP.create:
    case OP.create2:
    case OP.createContainer:
      writeCreate(writer, coreRequest(op, request, 'create'), false);
      return;
    case OP.createTTL:
      writeCreate(writer, coreRequest(op, request, 'create'), true);
      return;
    case OP.delete:
      writeDelete(writer, coreRequest(op, request, 'delete'));
      return;
    case OP.deleteContainer: {
      const del = coreRequest(op, request, 'delete');
      if (del.version !== -1) throw new JuteError('deleteContainer carries no version: it must be -1', 'version');
      writer.ustring(del.path, 'path');
      return;
    }
    case OP.exists: {
      const exists = coreRequest(op, request, 'exists');
      writer.ustring(exists.path, 'path');
      writer.boolean(exists.watch, 'watch');
      return;
    }
    case OP.getData:
      writeGetData(writer, coreRequest(op, request, 'getData'));
      return;
    case OP.setData:
      writeSetData(writer, coreRequest(op, request, 'setData'));
      return;
    case OP.getACL:
      writer.ustring(coreRequest(op, request, 'getACL').path, 'path');
      return;
    case OP.setACL: {
      const setACL = coreRequest(op, request, 'setACL');
      writer.ustring(setACL.path, 'path');
      writeAclVector(writer, setACL.acl, 'acl');
      writer.int(setACL.version, 'version');
      return;
    }
    case OP.getChildren:
    case OP.getChildren2:
      writeGetChildren(writer, coreRequest(op, request, 'getChildren'));
      return;
    case OP.sync:
      writer.ustring(coreRequest(op, request, 'sync').path, 'path');
      return;
    case OP.check:
      writeCheck(writer, coreRequest(op, request, 'check'));
      return;
    case OP.multi: {
      const multi = coreRequest(op, request, 'multi');
      writeMulti(writer, multi.ops, multiOps, defaultMultiOpCode, writeMultiOp);
      return;
    }
    case OP.multiRead: {
      const multiRead = coreRequest(op, request, 'multiRead');
      writeMulti(writer, multiRead.ops, multiOps, defaultMultiReadOpCode, writeMultiReadOp);
      return;
    }
    case OP.getEphemerals:
      writer.ustring(coreRequest(op, request, 'getEphemerals').prefixPath, 'prefixPath');
      return;
    case OP.addWatch: {
      const addWatch = coreRequest(op, request, 'addWatch');
      writer.ustring(addWatch.path, 'path');
      writer.int(addWatch.mode, 'mode');
      return;
    }
    case OP.removeWatches: {
      const removeWatches = coreRequest(op, request, 'removeWatches');
      writer.ustring(removeWatches.path, 'path');
      writer.int(removeWatches.watcherType, 'watcherType');
      return;
    }
    case OP.setWatches:
    case OP.setWatches2: {
      const setWatches = coreRequest(op, request, 'setWatches');
      writer.long(setWatches.relativeZxid, 'relativeZxid');
      writeStringVector(writer, setWatches.dataWatches, 'dataWatches');
      writeStringVector(writer, setWatches.existWatches, 'existWatches');
      writeStringVector(writer, setWatches.childWatches, 'childWatches');
      if (op === OP.setWatches2) {
        writeStringVector(writer, setWatches.persistentWatches, 'persistentWatches');
        writeStringVector(writer, setWatches.persistentRecursiveWatches, 'persistentRecursiveWatches');
        return;
      }
      if (setWatches.persistentWatches.length > 0 || setWatches.persistentRecursiveWatches.length > 0) {
        throw new JuteError('setWatches (op 101) has no persistent watch lists: send setWatches2', 'persistentWatches');
      }
      return;
    }
    case OP.closeSession:
      coreRequest(op, request, 'closeSession');
      return;
    case OP.ping:
    case OP.whoAmI:
      if (request.kind !== (op === OP.ping ? 'ping' : 'whoAmI')) throw mismatch(op, request);
      return;
    case OP.auth:
      if (request.kind !== 'auth') throw mismatch(op, request);
      writer.int(0, 'type');
      writer.ustring(request.scheme, 'scheme');
      writer.buffer(request.credentials, 'credentials');
      return;
    case OP.getAllChildrenNumber:
      if (request.kind !== 'getAllChildrenNumber') throw mismatch(op, request);
      writer.ustring(request.path, 'path');
      return;
    case OP.checkWatches:
      if (request.kind !== 'checkWatches') throw mismatch(op, request);
      writer.ustring(request.path, 'path');
      writer.int(request.watcherType, 'watcherType');
      return;
    case OP.reconfig:
      if (request.kind !== 'reconfig') throw mismatch(op, request);
      writer.ustring(request.joiningServers, 'joiningServers');
      writer.ustring(request.leavingServers, 'leavingServers');
      writer.ustring(request.newMembers, 'newMembers');
      writer.long(request.curConfigId, 'curConfigId');
      return;
    case OP.sasl:
      if (request.kind !== 'sasl') throw mismatch(op, request);
      writer.buffer(request.token, 'token');
      return;
    default:
      // encodeRequest checked the op code against REQUEST_OPS: reaching here is a bug.
      throw new Error(`writeRequest: op ${op} is in REQUEST_OPS but has no writer`);
  }
}

function writeCreate(writer: JuteWriter, create: CreateRequest, ttl: boolean): void {
  writer.ustring(create.path, 'path');
  writer.buffer(create.data, 'data');
  writeAclVector(writer, create.acl ?? [], 'acl');
  writer.int(create.mode, 'mode');
  if (ttl) writer.long(create.ttlMs, 'ttlMs');
  else if (create.ttlMs !== 0) throw new JuteError('only createTTL carries a TTL', 'ttlMs');
}

function writeDelete(writer: JuteWriter, request: DeleteRequest): void {
  writer.ustring(request.path, 'path');
  writer.int(request.version, 'version');
}

function writeSetData(writer: JuteWriter, request: SetDataRequest): void {
  writer.ustring(request.path, 'path');
  writer.buffer(request.data, 'data');
  writer.int(request.version, 'version');
}

function writeCheck(writer: JuteWriter, request: CheckRequest): void {
  writer.ustring(request.path, 'path');
  writer.int(request.version, 'version');
}

function writeGetData(writer: JuteWriter, request: GetDataRequest): void {
  writer.ustring(request.path, 'path');
  writer.boolean(request.watch, 'watch');
}

function writeGetChildren(writer: JuteWriter, request: GetChildrenRequest): void {
  writer.ustring(request.path, 'path');
  writer.boolean(request.watch, 'watch');
}

function defaultMultiOpCode(op: MultiOp): number {
  switch (op.op) {
    case 'create':
      // As the Java client's Op.create: TTL modes need createTTL's ttl field, CONTAINER its own op.
      return op.mode === 5 || op.mode === 6 ? OP.createTTL : op.mode === 4 ? OP.createContainer : OP.create;
    case 'delete':
      return OP.delete;
    case 'setData':
      return OP.setData;
    case 'check':
      return OP.check;
    default:
      throw new JuteError(`${String((op as { op?: unknown }).op)} cannot be part of a multi`, 'op');
  }
}

function writeMultiOp(writer: JuteWriter, type: number, op: MultiOp): void {
  switch (type) {
    case OP.create:
    case OP.create2:
    case OP.createContainer:
    case OP.createTTL:
      if (op.op !== 'create') break;
      writeCreate(writer, op, type === OP.createTTL);
      return;
    case OP.delete:
      if (op.op !== 'delete') break;
      writeDelete(writer, op);
      return;
    case OP.setData:
      if (op.op !== 'setData') break;
      writeSetData(writer, op);
      return;
    case OP.check:
      if (op.op !== 'check') break;
      writeCheck(writer, op);
      return;
  }
  throw new JuteError(`${opName(type)} cannot carry ${String(op.op)} in a multi`, 'type');
}

function defaultMultiReadOpCode(op: MultiReadOp): number {
  if (op.op === 'getData') return OP.getData;
  if (op.op === 'getChildren') return OP.getChildren;
  throw new JuteError(`${String((op as { op?: unknown }).op)} cannot be part of a multiRead`, 'op');
}

function writeMultiReadOp(writer: JuteWriter, type: number, op: MultiReadOp): void {
  if (type === OP.getData && op.op === 'getData') {
    writeGetData(writer, op);
    return;
  }
  if (type === OP.getChildren && op.op === 'getChildren') {
    writeGetChildren(writer, op);
    return;
  }
  throw new JuteError(`${opName(type)} cannot carry ${String(op.op)} in a multiRead`, 'type');
}

function writeMulti<T>(
  writer: JuteWriter,
  ops: readonly T[],
  opCodes: readonly number[] | undefined,
  defaultOpCode: (op: T) => number,
  writeOp: (writer: JuteWriter, type: number, op: T) => void,
): void {
  if (!Array.isArray(ops)) throw new JuteError('not an array', 'ops');
  if (opCodes !== undefined && opCodes.length !== ops.length) {
    throw new JuteError(`${opCodes.length} op codes for ${ops.length} ops`, 'multiOps');
  }
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as T;
    writeRecord(writer, op, `ops[${i}]`, (w, value) => {
      const type = opCodes?.[i] ?? defaultOpCode(value);
      w.int(type, 'type');
      w.boolean(false, 'done');
      w.int(-1, 'err');
      writeOp(w, type, value);
    });
  }
  writer.int(OP.error, 'type');
  writer.boolean(true, 'done');
  writer.int(-1, 'err');
}
