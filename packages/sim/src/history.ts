import {
  type AuthId,
  type ErrorCode,
  formatZxid,
  type GetChildrenRequest,
  type GetDataRequest,
  type LogEntry,
  type MultiReadOpResult,
  type MultiReadResult,
  type MultiTxnOp,
  type Request,
  type Result,
  type Zxid,
} from '@zabkit/core';

/** ClientOp is one client request as the client saw it: when it was sent, when and how it was answered. */
export interface ClientOp {
  client: number;
  sessionId: number;
  xid: number;
  request: Request;
  linearizable: boolean;
  /** auth: the ids the client's connection held when it sent the request. */
  auth: readonly AuthId[];
  invoke: number;
  /** complete is null while in flight; ok is null when the outcome is unknown (CONNECTION_LOSS, expiry). */
  complete: number | null;
  ok: boolean | null;
  error: ErrorCode | null;
  result: Result | null;
  zxid: Zxid;
  /** seenAtInvoke is the last zxid the client had seen when it sent the request. */
  seenAtInvoke: Zxid;
}

const WRITE_OPS = new Set(['create', 'delete', 'setData', 'setACL', 'multi']);
const UNKNOWN: readonly (ErrorCode | null)[] = ['CONNECTION_LOSS', 'SESSION_EXPIRED', null];

/**
 * HistoryChecker records every client operation and the committed history, then checks what
 * clients were told: writes are linearizable (real-time order agrees with zxid order), every read
 * returns the committed state at the zxid it reports, linearizable reads are at least as fresh as
 * every write completed before they started, no reply is older than what the session had seen,
 * and each session's writes take effect in the order it sent them.
 */
export class HistoryChecker {
  private readonly ops: ClientOp[] = [];
  private readonly byKey = new Map<string, ClientOp>();
  /** keyHistory: path → committed versions in zxid order (data null = deleted). */
  private readonly keyHistory = new Map<string, { zxid: Zxid; data: Uint8Array | null }[]>();
  /** ownTxn: session:cxid → the zxid of the transaction that request became. */
  private readonly ownTxn = new Map<string, Zxid>();

  get count(): number {
    return this.ops.length;
  }

  /** operations: every recorded operation, in the order sent. */
  operations(): readonly ClientOp[] {
    return this.ops;
  }

  record(op: ClientOp): void {
    this.ops.push(op);
    this.byKey.set(`${op.client}:${op.xid}`, op);
  }

  find(client: number, xid: number): ClientOp | undefined {
    return this.byKey.get(`${client}:${xid}`);
  }

  complete(
    op: ClientOp,
    time: number,
    ok: boolean | null,
    error: ErrorCode | null,
    result: Result | null,
    zxid: Zxid,
  ): void {
    if (op.complete !== null) return;
    op.complete = time;
    op.ok = UNKNOWN.includes(error) && ok !== true ? null : ok;
    op.error = error;
    op.result = result;
    op.zxid = zxid;
  }

  /** observeCommitted is called once per committed entry, in zxid order. */
  observeCommitted(entry: LogEntry): void {
    this.ownTxn.set(`${entry.sessionId}:${entry.cxid}`, entry.zxid);
    const txns: MultiTxnOp[] = entry.txn.type === 'multi' ? entry.txn.txns : [entry.txn as MultiTxnOp];
    for (const txn of txns) {
      if (txn.type === 'create') this.push(txn.path, entry.zxid, txn.data);
      else if (txn.type === 'setData') this.push(txn.path, entry.zxid, txn.data);
      else if (txn.type === 'delete') this.push(txn.path, entry.zxid, null);
    }
    if (entry.txn.type === 'closeSession') for (const path of entry.txn.paths) this.push(path, entry.zxid, null);
  }

  /** verify returns the first broken client-visible guarantee, or null. */
  verify(_view?: unknown): { invariant: string; detail: string } | null {
    const answered = this.ops.filter((op) => op.complete !== null && op.ok !== null);
    // No reply older than what the session had already seen (also across reconnects).
    for (const op of answered) {
      if (op.zxid < op.seenAtInvoke) {
        return {
          invariant: 'monotonic-reads',
          detail: `client ${op.client} xid ${op.xid} answered at ${formatZxid(op.zxid)} after seeing ${formatZxid(op.seenAtInvoke)}`,
        };
      }
    }
    // Writes: real-time order implies zxid order. A write refused before it reached the pipeline
    // (a path over pathBytesMax: the member answers it in the session's order, at the zxid it had
    // applied) has no transaction of its own and no place in that order.
    const writes = answered.filter(
      (op) =>
        WRITE_OPS.has(op.request.op) && (op.ok === true || this.ownTxn.get(`${op.sessionId}:${op.xid}`) === op.zxid),
    );
    const byComplete = [...writes].sort((a, b) => (a.complete as number) - (b.complete as number));
    const prefixMax: Zxid[] = [];
    let max = -1;
    for (const op of byComplete) {
      max = Math.max(max, op.zxid);
      prefixMax.push(max);
    }
    const maxCompletedBefore = (time: number): Zxid => {
      let low = 0;
      let high = byComplete.length - 1;
      let found = -1;
      while (low <= high) {
        const middle = (low + high) >> 1;
        if ((byComplete[middle] as ClientOp).complete! < time) {
          found = middle;
          low = middle + 1;
        } else high = middle - 1;
      }
      return found === -1 ? -1 : (prefixMax[found] as Zxid);
    };
    for (const op of writes) {
      const before = maxCompletedBefore(op.invoke);
      if (before >= op.zxid) {
        return {
          invariant: 'linearizable-writes',
          detail: `client ${op.client} xid ${op.xid} (${op.request.op}) got ${formatZxid(op.zxid)}, but a write completed before it started had ${formatZxid(before)}`,
        };
      }
    }
    // Each session's writes take effect in the order it sent them.
    const lastWrite = new Map<string, ClientOp>();
    for (const op of [...writes].sort((a, b) => a.xid - b.xid)) {
      const key = `${op.client}:${op.sessionId}`;
      const previous = lastWrite.get(key);
      if (previous && previous.zxid >= op.zxid) {
        return {
          invariant: 'session-fifo',
          detail: `client ${op.client}: xid ${previous.xid} at ${formatZxid(previous.zxid)} and later xid ${op.xid} at ${formatZxid(op.zxid)}`,
        };
      }
      lastWrite.set(key, op);
    }
    // Reads return the committed state at the zxid they report; linearizable ones are fresh.
    for (const op of answered) {
      if (op.request.op === 'multiRead' || op.request.op === 'getChildren') {
        const broken = this.verifyRead(op);
        if (broken) return broken;
        continue;
      }
      if (op.request.op !== 'getData') continue;
      // Only an answer is a read: NOT_LEADER and other errors say nothing about the data.
      if (op.error !== null && op.error !== 'NO_NODE') continue;
      if (op.linearizable) {
        const before = maxCompletedBefore(op.invoke);
        if (op.zxid < before) {
          return {
            invariant: 'linearizable-reads',
            detail: `client ${op.client} xid ${op.xid} read at ${formatZxid(op.zxid)}, older than a write completed before it (${formatZxid(before)})`,
          };
        }
      }
      const expected = this.valueAt(op.request.path, op.zxid);
      const got = op.error === 'NO_NODE' ? null : op.result?.op === 'getData' ? op.result.data : undefined;
      if (got === undefined) continue;
      if (!sameBytes(expected?.data ?? null, got)) {
        return {
          invariant: 'read-matches-history',
          detail: `client ${op.client} xid ${op.xid} read ${op.request.path} at ${formatZxid(op.zxid)} as ${show(got)}, committed history says ${show(expected?.data ?? null)}`,
        };
      }
      if (got !== null && op.result?.op === 'getData' && expected && op.result.stat.mzxid !== expected.zxid) {
        return {
          invariant: 'read-matches-history',
          detail: `client ${op.client} xid ${op.xid}: mzxid ${formatZxid(op.result.stat.mzxid)}, expected ${formatZxid(expected.zxid)}`,
        };
      }
    }
    return null;
  }

  /**
   * verifyRead checks a getChildren or multiRead answer against the committed history at its zxid:
   * every getData in it returns the value committed there, every getChildren the children alive there.
   */
  private verifyRead(op: ClientOp): { invariant: string; detail: string } | null {
    if (op.error !== null || op.result === null) return null;
    const pairs: { request: ReadOp; result: Result | MultiReadOpResult }[] = [];
    if (op.request.op === 'getChildren') pairs.push({ request: op.request, result: op.result });
    else if (op.request.op === 'multiRead' && op.result.op === 'multiRead') {
      op.request.ops.forEach((request, i) => {
        const result = (op.result as MultiReadResult).results[i];
        if (result) pairs.push({ request, result });
      });
    }
    for (const { request, result } of pairs) {
      const expected = this.valueAt(request.path, op.zxid);
      if (result.op === 'error') {
        if (result.code === 'NO_NODE' && expected?.data) {
          return {
            invariant: 'read-matches-history',
            detail: `client ${op.client} xid ${op.xid}: ${request.op} ${request.path} at ${formatZxid(op.zxid)} said NO_NODE, committed history has it`,
          };
        }
        continue;
      }
      if (result.op === 'getData' && !sameBytes(expected?.data ?? null, result.data)) {
        return {
          invariant: 'read-matches-history',
          detail: `client ${op.client} xid ${op.xid}: multiRead of ${request.path} at ${formatZxid(op.zxid)} returned ${show(result.data)}, committed history says ${show(expected?.data ?? null)}`,
        };
      }
      if (result.op === 'getChildren') {
        const got = [...result.children].sort().join(',');
        const want = this.childrenAt(request.path, op.zxid).join(',');
        if (got !== want) {
          return {
            invariant: 'read-matches-history',
            detail: `client ${op.client} xid ${op.xid}: children of ${request.path} at ${formatZxid(op.zxid)} are ${result.children.length} names, committed history says ${want === '' ? 0 : want.split(',').length} (first difference near ${JSON.stringify(firstDifference(got, want))})`,
          };
        }
      }
    }
    return null;
  }

  /** childrenAt lists the names of the children of `parent` alive at `zxid`, sorted. */
  private childrenAt(parent: string, zxid: Zxid): string[] {
    const prefix = parent === '/' ? '/' : `${parent}/`;
    const names: string[] = [];
    for (const path of this.keyHistory.keys()) {
      if (!path.startsWith(prefix) || path.indexOf('/', prefix.length) !== -1) continue;
      if (this.valueAt(path, zxid)?.data) names.push(path.slice(prefix.length));
    }
    return names.sort();
  }

  private push(path: string, zxid: Zxid, data: Uint8Array | null): void {
    let versions = this.keyHistory.get(path);
    if (!versions) {
      versions = [];
      this.keyHistory.set(path, versions);
    }
    versions.push({ zxid, data });
  }

  private valueAt(path: string, zxid: Zxid): { zxid: Zxid; data: Uint8Array | null } | null {
    const versions = this.keyHistory.get(path);
    if (!versions) return null;
    let found: { zxid: Zxid; data: Uint8Array | null } | null = null;
    for (const version of versions) {
      if (version.zxid > zxid) break;
      found = version;
    }
    return found;
  }
}

type ReadOp = GetDataRequest | GetChildrenRequest;

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(Math.max(0, i - 8), i + 16);
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function show(data: Uint8Array | null): string {
  return data === null ? '(none)' : JSON.stringify(new TextDecoder().decode(data));
}
