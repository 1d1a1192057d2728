import type {
  AuthId,
  CreateRequest,
  DeleteRequest,
  LogEntry,
  SessionId,
  SetDataRequest,
  Txn,
  WriteRequest,
} from '../../types.js';
import { CreateMode } from '../../types.js';
import { negotiateSessionTimeoutMs, sessionTimeoutBounds } from '../../zab/sessions.js';
import { makeZxid } from '../../zxid.js';
import { type ApplyResult, DataTree } from '../data-tree.js';
import { RequestPipeline, type RequestPipelineOptions } from '../request-pipeline.js';
import { SessionTracker } from '../session-tracker.js';

/** testPassword is a session password for tests: 16 bytes that depend on the id only, so a model can know it. */
export function testPassword(sessionId: SessionId): Uint8Array {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setFloat64(0, sessionId);
  bytes.fill(0xa5, 8);
  return bytes;
}

export const encoder = new TextEncoder();
export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/**
 * Leader wires a DataTree, a SessionTracker and a RequestPipeline the way Zab's leader does:
 * prepare → assign zxid → noteProposed → (commit) → applyTxn → noteApplied.
 */
export class Leader {
  readonly tree = new DataTree();
  readonly tracker: SessionTracker;
  readonly pipeline: RequestPipeline;
  readonly log: LogEntry[] = [];
  counter = 0;
  timeMs = 1_700_000_000_000;

  constructor(
    options: RequestPipelineOptions = {},
    readonly epoch = 1,
  ) {
    this.tracker = new SessionTracker();
    this.pipeline = new RequestPipeline(this.tree, this.tracker, options);
  }

  /** propose prepares and proposes a txn without applying it (it stays outstanding). */
  propose(sessionId: SessionId, request: WriteRequest, cxid = 0, auth: readonly AuthId[] = []): LogEntry {
    const txn = this.pipeline.prepare(sessionId, cxid, request, this.timeMs, auth);
    return this.record(sessionId, cxid, txn);
  }

  record(sessionId: SessionId, cxid: number, txn: Txn): LogEntry {
    const entry: LogEntry = { zxid: makeZxid(this.epoch, ++this.counter), sessionId, cxid, timeMs: this.timeMs, txn };
    this.pipeline.noteProposed(entry.zxid, txn);
    this.log.push(entry);
    return entry;
  }

  apply(entry: LogEntry): ApplyResult {
    const result = this.tree.applyTxn(entry);
    this.pipeline.noteApplied(entry.zxid);
    if (entry.txn.type === 'closeSession') this.tracker.removeSession(entry.txn.sessionId);
    return result;
  }

  /** write proposes and applies at once. */
  write(sessionId: SessionId, request: WriteRequest, auth: readonly AuthId[] = []): ApplyResult & { entry: LogEntry } {
    const entry = this.propose(sessionId, request, 0, auth);
    return { ...this.apply(entry), entry };
  }

  session(timeoutMs = 4000): SessionId {
    // As ZabPeer's leader does (zab/sessions.ts): the id is the zxid of the createSession, and the
    // timeout is negotiated into [2, 20] ticks of 100 ms.
    const negotiated = negotiateSessionTimeoutMs(timeoutMs, sessionTimeoutBounds(100));
    const sessionId = makeZxid(this.epoch, this.counter + 1);
    const txn = this.pipeline.prepareCreateSession(sessionId, negotiated, testPassword(sessionId));
    this.apply(this.record(0, 0, txn));
    return txn.sessionId;
  }

  close(sessionId: SessionId): ApplyResult {
    return this.apply(this.record(0, 0, this.pipeline.prepareCloseSession(sessionId)));
  }
}

export function create(path: string, data = '', mode: CreateMode = CreateMode.PERSISTENT, ttlMs = 0): CreateRequest {
  return { op: 'create', path, data: bytes(data), mode, ttlMs };
}
export function setData(path: string, data: string, version = -1): SetDataRequest {
  return { op: 'setData', path, data: bytes(data), version };
}
export function remove(path: string, version = -1): DeleteRequest {
  return { op: 'delete', path, version };
}
