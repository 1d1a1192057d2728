import {
  type ACL,
  type AuthId,
  type ErrorCode,
  formatZxid,
  isSystemPath,
  type LogEntry,
  type MultiOp,
  type MultiReadOpResult,
  type MultiTxnOp,
  OPEN_ACL_UNSAFE,
  parentPath,
  type Request,
  type Result,
  type SessionId,
  type Zxid,
} from '@zabkit/core';
import {
  ADMIN,
  aclAllows,
  aclText,
  authText,
  CREATE,
  DELETE,
  expandAcl,
  READ,
  redactedAclText,
  WRITE,
} from './acl-model.js';
import type { ClientOp } from './history.js';

/** ACL_WRITE_INVARIANT is the name the simulator reports a write that broke the ACLs under. */
export const ACL_WRITE_INVARIANT = 'acl-write-allowed';
/** ACL_READ_INVARIANT is the name the simulator reports a read that broke the ACLs under. */
export const ACL_READ_INVARIANT = 'acl-read-allowed';

/** AclRead is a read as its client saw it: what it asked, with which ids, and the answer at `zxid`. */
export interface AclRead {
  request: Request;
  auth: readonly AuthId[];
  zxid: Zxid;
  error: ErrorCode | null;
  result: Result | null;
}

/** AclWriteReply is a write's answer as its client saw it. */
export interface AclWriteReply {
  sessionId: SessionId;
  xid: number;
  request: Request;
  error: ErrorCode | null;
  zxid: Zxid;
}

type Op = MultiOp | Extract<Request, { op: 'setACL' }>;
/** TxnOp is one change of a committed transaction an ACL governs. */
type TxnOp = MultiTxnOp | Extract<LogEntry['txn'], { type: 'setACL' }>;

/** The perm each operation needs, and on which znode: the parent for create and delete, else the znode. */
const NEEDS: Record<Op['op'], { perm: number; name: string; onParent: boolean }> = {
  create: { perm: CREATE, name: 'CREATE', onParent: true },
  delete: { perm: DELETE, name: 'DELETE', onParent: true },
  setData: { perm: WRITE, name: 'WRITE', onParent: false },
  setACL: { perm: ADMIN, name: 'ADMIN', onParent: false },
  check: { perm: READ, name: 'READ', onParent: false },
};

/** Refusals that tell a caller something of a znode's state: answered only past its ACL check. */
const STATE_REFUSALS: ReadonlySet<ErrorCode> = new Set(['NODE_EXISTS', 'BAD_VERSION', 'NOT_EMPTY']);

/**
 * AclChecker holds the committed history to a model of the znodes' access lists (acl-model.ts,
 * ZooKeeper's rules) and checks two invariants.
 *
 * `acl-write-allowed`, on each committed transaction in zxid order: every create, delete,
 * setData, setACL and multi check that took effect was allowed by the access list its znode (or,
 * for create and delete, its parent) had at that point of the committed order, for the ids its
 * request carried; the list a create or setACL stored is the request's, expanded as ZooKeeper
 * expands it; a NO_AUTH refusal was right (the znode exists there and its list denies the perm),
 * an INVALID_ACL refusal too (the list is one ZooKeeper refuses); no NODE_EXISTS, BAD_VERSION or
 * NOT_EMPTY was told to a caller the list denied; and a client told NO_AUTH, INVALID_ACL or
 * success got the outcome of its committed transaction.
 *
 * `acl-read-allowed`, on each answered read: getData, getChildren, getACL and every op of a
 * multiRead answered NO_AUTH exactly when the list the znode had at the zxid the reply reports
 * denies the caller READ (getACL: READ and ADMIN), and getACL returns that list (or, as
 * ZooKeeper shows it to a caller without ADMIN, with the digests' hashes hidden).
 *
 * A transaction whose request the checker was not told of (the leader's own closeSession of an
 * expired session, createSession) is applied to the model unchecked.
 */
export class AclChecker {
  /** origins: session:cxid → the write request and the ids it carried. */
  private readonly origins = new Map<string, { request: Request; auth: readonly AuthId[] }>();
  /** current: each live znode's access list at the end of the committed history so far. */
  private readonly current = new Map<string, readonly ACL[]>([['/', OPEN_ACL_UNSAFE]]);
  /** versions: path → its access list from each zxid on (null: deleted), in zxid order. */
  private readonly versions = new Map<string, { zxid: Zxid; acl: readonly ACL[] | null }[]>([
    ['/', [{ zxid: 0, acl: OPEN_ACL_UNSAFE }]],
  ]);
  /** outcomes: session:cxid → its committed transaction's zxid and error (null: it took effect). */
  private readonly outcomes = new Map<string, { zxid: Zxid; code: ErrorCode | null }>();
  /** refusals: committed NO_AUTH refusals; invalid: INVALID_ACL refusals; aclChanges: setACLs that took effect. */
  refusals = 0;
  invalid = 0;
  aclChanges = 0;

  /** sent records a write request and the ids of the connection that sent it. */
  sent(sessionId: SessionId, cxid: number, request: Request, auth: readonly AuthId[]): void {
    if (['create', 'delete', 'setData', 'setACL', 'multi'].includes(request.op)) {
      this.origins.set(`${sessionId}:${cxid}`, { request, auth });
    }
  }

  /** observeCommitted checks and applies one committed entry; entries come in zxid order. Returns what is wrong, or null. */
  observeCommitted(entry: LogEntry): string | null {
    const key = `${entry.sessionId}:${entry.cxid}`;
    const origin = this.origins.get(key);
    const txn = entry.txn;
    const changes = new Map<string, readonly ACL[] | null>();
    const view = (path: string) => (changes.has(path) ? changes.get(path) : this.current.get(path)) ?? null;
    const what = `${formatZxid(entry.zxid)} (session ${entry.sessionId} xid ${entry.cxid}, ${origin ? authText(origin.auth) : 'origin unknown'})`;
    let wrong: string | null = null;
    let code: ErrorCode | null = null;
    if (txn.type === 'error') {
      code = txn.code;
      if (origin && origin.request.op !== 'multi') {
        wrong = this.checkRefusal(origin.request as Op, code, origin.auth, view);
      }
    } else if (txn.type === 'multi') {
      const failed = txn.txns.findIndex((op) => op.type === 'error' && op.code !== 'RUNTIME_INCONSISTENCY');
      const ops = origin?.request.op === 'multi' ? origin.request.ops : undefined;
      if (failed >= 0) {
        code = (txn.txns[failed] as { code: ErrorCode }).code;
        // The ops before the failing one were prepared on top of each other: replay their effects.
        if (origin && ops && ops.length === txn.txns.length) {
          let replayable = true;
          for (const op of ops.slice(0, failed)) {
            if (op.op === 'create' && op.mode !== 0 && op.mode !== 1) replayable = false;
            if (op.op === 'create') changes.set(op.path, expandAcl(op.acl ?? OPEN_ACL_UNSAFE, origin.auth));
            if (op.op === 'delete') changes.set(op.path, null);
          }
          if (replayable) wrong = this.checkRefusal(ops[failed] as Op, code, origin.auth, view);
          changes.clear();
        }
      } else {
        txn.txns.forEach((op, i) => {
          wrong ??= this.checkApplied(op, ops?.[i], origin?.auth, view);
          this.stage(op, changes);
        });
      }
    } else if (txn.type === 'closeSession') {
      for (const path of txn.paths) changes.set(path, null);
    } else if (txn.type !== 'createSession' && txn.type !== 'reconfig') {
      wrong = this.checkApplied(txn, origin?.request as Op | undefined, origin?.auth, view);
      this.stage(txn, changes);
    }
    if (wrong !== null) return `${what}: ${wrong}`;
    if (code === 'NO_AUTH') this.refusals++;
    if (code === 'INVALID_ACL') this.invalid++;
    if (txn.type === 'setACL') this.aclChanges++;
    if (origin) this.outcomes.set(key, { zxid: entry.zxid, code });
    for (const [path, acl] of changes) {
      if (acl === null) this.current.delete(path);
      else this.current.set(path, acl);
      let list = this.versions.get(path);
      if (!list) {
        list = [];
        this.versions.set(path, list);
      }
      list.push({ zxid: entry.zxid, acl });
    }
    return null;
  }

  /** checkRead holds an answered read to the access lists at the zxid it reports. Returns what is wrong, or null. */
  checkRead(read: AclRead): string | null {
    const { request } = read;
    if (request.op === 'getData' || request.op === 'getChildren' || request.op === 'getACL') {
      return this.checkOneRead(request.op, request.path, read.auth, read.zxid, read.error, read.result);
    }
    if (request.op !== 'multiRead' || read.error !== null || read.result?.op !== 'multiRead') return null;
    const results = read.result.results;
    for (let i = 0; i < request.ops.length; i++) {
      const op = request.ops[i] as (typeof request.ops)[number];
      const result = results[i] as MultiReadOpResult | undefined;
      if (!result) continue;
      const error = result.op === 'error' ? result.code : null;
      const wrong = this.checkOneRead(op.op, op.path, read.auth, read.zxid, error, error === null ? result : null);
      if (wrong !== null) return `multiRead op ${i}: ${wrong}`;
    }
    return null;
  }

  /**
   * checkWriteReply: a write told NO_AUTH, INVALID_ACL or success got the outcome of its committed
   * transaction, at its zxid. Returns what is wrong, or null.
   */
  checkWriteReply(reply: AclWriteReply): string | null {
    if (!['create', 'delete', 'setData', 'setACL', 'multi'].includes(reply.request.op)) return null;
    if (reply.error !== null && reply.error !== 'NO_AUTH' && reply.error !== 'INVALID_ACL') return null;
    const outcome = this.outcomes.get(`${reply.sessionId}:${reply.xid}`);
    const told = reply.error ?? 'success';
    if (!outcome) {
      return `session ${reply.sessionId} xid ${reply.xid} (${reply.request.op}) was told ${told} at ${formatZxid(reply.zxid)}, but nothing of it committed`;
    }
    if (outcome.zxid !== reply.zxid || outcome.code !== reply.error) {
      return `session ${reply.sessionId} xid ${reply.xid} (${reply.request.op}) was told ${told} at ${formatZxid(reply.zxid)}, its transaction ${formatZxid(outcome.zxid)} committed ${outcome.code ?? 'success'}`;
    }
    return null;
  }

  /** verify holds every answered client operation to the ACLs; returns the first broken invariant, or null. */
  verify(ops: readonly ClientOp[]): { invariant: string; detail: string } | null {
    for (const op of ops) {
      if (op.complete === null || op.ok === null) continue;
      const who = `client ${op.client} xid ${op.xid} (${authText(op.auth)})`;
      const write = this.checkWriteReply({ ...op, error: op.error });
      if (write !== null) return { invariant: ACL_WRITE_INVARIANT, detail: `${who}: ${write}` };
      const read = this.checkRead(op);
      if (read !== null) return { invariant: ACL_READ_INVARIANT, detail: `${who}: ${read}` };
    }
    return null;
  }

  /** aclAt is a znode's access list at `zxid`, or null when it did not exist there. */
  aclAt(path: string, zxid: Zxid): readonly ACL[] | null {
    const list = this.versions.get(path);
    if (!list) return null;
    let found: readonly ACL[] | null = null;
    for (const version of list) {
      if (version.zxid > zxid) break;
      found = version.acl;
    }
    return found;
  }

  private checkOneRead(
    op: 'getData' | 'getChildren' | 'getACL',
    path: string,
    auth: readonly AuthId[],
    zxid: Zxid,
    error: ErrorCode | null,
    result: Result | MultiReadOpResult | null,
  ): string | null {
    if (error !== null && error !== 'NO_AUTH') return null;
    const acl = this.aclAt(path, zxid);
    const perm = op === 'getACL' ? READ | ADMIN : READ;
    const name = op === 'getACL' ? 'READ or ADMIN' : 'READ';
    const at = `${op} ${path} at ${formatZxid(zxid)}`;
    if (error === 'NO_AUTH') {
      if (acl === null) return `${at} answered NO_AUTH, but it does not exist there (NO_NODE comes first)`;
      if (aclAllows(acl, perm, auth)) return `${at} answered NO_AUTH, though its list ${aclText(acl)} grants ${name}`;
      return null;
    }
    if (result === null || acl === null) return null;
    if (!aclAllows(acl, perm, auth)) return `${at} answered, though its list ${aclText(acl)} denies ${name}`;
    if (result.op === 'getACL') {
      const got = aclText(result.acl);
      if (got !== aclText(acl) && (aclAllows(acl, ADMIN, auth) || got !== redactedAclText(acl))) {
        return `${at} returned ${got}, the committed history says ${aclText(acl)}`;
      }
    }
    return null;
  }

  /** checkApplied: a change that took effect was allowed, and stored the list its request asked for. */
  private checkApplied(
    txn: TxnOp,
    request: Op | undefined,
    auth: readonly AuthId[] | undefined,
    view: (path: string) => readonly ACL[] | null,
  ): string | null {
    if ((txn.type === 'create' || txn.type === 'setACL') && txn.acl.some((entry) => entry.id.scheme === 'auth')) {
      return `${txn.type} of ${txn.path} stored ${aclText(txn.acl)}, with an unexpanded auth entry`;
    }
    if (auth === undefined || txn.type === 'error') return null;
    const needs = NEEDS[txn.type];
    const governing = needs.onParent ? parentPath(txn.path) : txn.path;
    const acl = view(governing);
    if (acl === null) return null;
    if (!aclAllows(acl, needs.perm, auth)) {
      return `${txn.type} of ${txn.path} took effect without ${needs.name} on ${governing} (list ${aclText(acl)})`;
    }
    if ((txn.type === 'create' || txn.type === 'setACL') && request?.op === txn.type) {
      const expected = expandAcl(request.acl ?? OPEN_ACL_UNSAFE, auth);
      if (expected === null) {
        return `${txn.type} of ${txn.path} took effect with ${aclText(request.acl ?? [])}, a list ZooKeeper refuses (INVALID_ACL)`;
      }
      if (aclText(expected) !== aclText(txn.acl)) {
        return `${txn.type} of ${txn.path} stored ${aclText(txn.acl)}, the request's list expands to ${aclText(expected)}`;
      }
    }
    return null;
  }

  /** checkRefusal: a NO_AUTH or INVALID_ACL refusal was right, and no state refusal went past a denying list. */
  private checkRefusal(
    request: Op,
    code: ErrorCode,
    auth: readonly AuthId[],
    view: (path: string) => readonly ACL[] | null,
  ): string | null {
    const needs = NEEDS[request.op];
    if (!needs) return null;
    const governing = needs.onParent ? parentPath(request.path) : request.path;
    const acl = view(governing);
    const what = `${request.op} of ${request.path} refused ${code}`;
    if (code === 'INVALID_ACL') {
      if (request.op !== 'create' && request.op !== 'setACL') return `${what}, but it sets no list`;
      const requested = request.acl ?? OPEN_ACL_UNSAFE;
      return expandAcl(requested, auth) === null ? null : `${what}, though ${aclText(requested)} is a valid list`;
    }
    if (code === 'NO_AUTH') {
      if (isSystemPath(request.path)) return null;
      if (acl === null) return `${what}, but ${governing} does not exist there (NO_NODE comes first)`;
      if (aclAllows(acl, needs.perm, auth))
        return `${what}, though ${governing}'s list ${aclText(acl)} grants ${needs.name}`;
      return null;
    }
    if (STATE_REFUSALS.has(code) && acl !== null && !aclAllows(acl, needs.perm, auth)) {
      return `${what} to a caller that ${governing}'s list ${aclText(acl)} denies ${needs.name} (NO_AUTH comes first)`;
    }
    return null;
  }

  /** stage records what a change that took effect does to the access lists. */
  private stage(txn: TxnOp, changes: Map<string, readonly ACL[] | null>): void {
    if (txn.type === 'create' || txn.type === 'setACL') changes.set(txn.path, txn.acl);
    else if (txn.type === 'delete') changes.set(txn.path, null);
  }
}
