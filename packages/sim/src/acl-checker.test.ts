import {
  type ACL,
  type AuthId,
  CREATOR_ALL_ACL,
  type LogEntry,
  makeZxid,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  type Txn,
} from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { AclChecker } from './acl-checker.js';
import { ALL, READ } from './acl-model.js';
import { ALICE, BOB } from './workload.js';

// The ACL checker must fail when the ACLs are broken, not only pass when they hold: each case feeds
// it a committed history or an answer a correct ensemble would never produce.

const text = (value: string) => new TextEncoder().encode(value);
const ALICE_ONLY: ACL[] = [{ perms: ALL, id: ALICE }];

let counter = 0;
function commit(checker: AclChecker, sessionId: number, cxid: number, txn: Txn): string | null {
  const entry: LogEntry = { zxid: makeZxid(1, ++counter), sessionId, cxid, timeMs: 0, txn };
  return checker.observeCommitted(entry);
}

/** aclNode has alice create /n with `acl` through the checker, as a correct ensemble would. */
function aclNode(acl: readonly ACL[]): AclChecker {
  const checker = new AclChecker();
  checker.sent(1, 1, { op: 'create', path: '/n', data: text('x'), mode: 0, ttlMs: 0, acl }, [ALICE]);
  const stored = acl === CREATOR_ALL_ACL ? ALICE_ONLY : acl;
  const txn: Txn = {
    type: 'create',
    path: '/n',
    data: text('x'),
    ephemeralOwner: 0,
    container: false,
    ttlMs: 0,
    parentCversion: 1,
    acl: stored,
  };
  expect(commit(checker, 1, 1, txn)).toBeNull();
  return checker;
}

function setData(checker: AclChecker, auth: readonly AuthId[], txn: Txn): string | null {
  const cxid = 100 + counter;
  checker.sent(2, cxid, { op: 'setData', path: '/n', data: text('y'), version: -1 }, auth);
  return commit(checker, 2, cxid, txn);
}

describe('AclChecker', () => {
  it('passes a history that keeps the ACLs, and counts its refusals', () => {
    const checker = aclNode(CREATOR_ALL_ACL);
    expect(setData(checker, [ALICE], { type: 'setData', path: '/n', data: text('y'), version: 1 })).toBeNull();
    expect(setData(checker, [BOB], { type: 'error', code: 'NO_AUTH' })).toBeNull();
    expect(
      setData(checker, [{ scheme: 'super', id: 'operator' }], {
        type: 'setData',
        path: '/n',
        data: text('z'),
        version: 2,
      }),
    ).toBeNull();
    expect(checker.refusals).toBe(1);
  });

  it('catches a write that took effect without the perm for the ids its request carried', () => {
    const checker = aclNode(CREATOR_ALL_ACL);
    expect(setData(checker, [BOB], { type: 'setData', path: '/n', data: text('y'), version: 1 })).toMatch(
      /setData of \/n took effect without WRITE on \/n/,
    );
  });

  it('catches a create under a parent that denies CREATE, judged by the list in force at its zxid', () => {
    const checker = aclNode(READ_ACL_UNSAFE);
    checker.sent(3, 1, { op: 'create', path: '/n/c', data: text('c'), mode: 0, ttlMs: 0 }, [ALICE]);
    const create: Txn = {
      type: 'create',
      path: '/n/c',
      data: text('c'),
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      parentCversion: 1,
      acl: OPEN_ACL_UNSAFE,
    };
    expect(commit(checker, 3, 1, create)).toMatch(/without CREATE on \/n/);
  });

  it('catches a wrong NO_AUTH, a wrong INVALID_ACL and a BAD_VERSION told past a denying list', () => {
    expect(setData(aclNode(CREATOR_ALL_ACL), [ALICE], { type: 'error', code: 'NO_AUTH' })).toMatch(/grants WRITE/);
    const checker = aclNode(OPEN_ACL_UNSAFE);
    checker.sent(4, 1, { op: 'setACL', path: '/n', acl: READ_ACL_UNSAFE, version: -1 }, []);
    expect(commit(checker, 4, 1, { type: 'error', code: 'INVALID_ACL' })).toMatch(/is a valid list/);
    expect(setData(aclNode(READ_ACL_UNSAFE), [BOB], { type: 'error', code: 'BAD_VERSION' })).toMatch(
      /NO_AUTH comes first/,
    );
  });

  it("catches a stored list that is not the request's, expanded", () => {
    const checker = new AclChecker();
    checker.sent(5, 1, { op: 'create', path: '/m', data: text('m'), mode: 0, ttlMs: 0, acl: CREATOR_ALL_ACL }, [
      ALICE,
      BOB,
    ]);
    const txn: Txn = {
      type: 'create',
      path: '/m',
      data: text('m'),
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      parentCversion: 1,
      acl: ALICE_ONLY,
    };
    expect(commit(checker, 5, 1, txn)).toMatch(/the request's list expands to/);
  });

  it('judges a failed multi op on top of the ops before it', () => {
    const checker = new AclChecker();
    // Anonymous: create /p open, then create /p/c under it: a NO_AUTH there would be wrong.
    checker.sent(
      6,
      1,
      {
        op: 'multi',
        ops: [
          { op: 'create', path: '/p', data: text('p'), mode: 0, ttlMs: 0 },
          { op: 'create', path: '/p/c', data: text('c'), mode: 0, ttlMs: 0 },
        ],
      },
      [],
    );
    const failed: Txn = {
      type: 'multi',
      txns: [
        { type: 'error', code: 'RUNTIME_INCONSISTENCY' },
        { type: 'error', code: 'NO_AUTH' },
      ],
    };
    expect(commit(checker, 6, 1, failed)).toMatch(/create of \/p\/c refused NO_AUTH, though \/p's list/);
  });

  it('catches reads answered against the list of the version read, and a getACL that returns another list', () => {
    const checker = aclNode([
      { perms: READ, id: ALICE },
      { perms: ALL, id: BOB },
    ]);
    const zxid = makeZxid(1, counter);
    const data = { op: 'getData' as const, data: text('x'), stat: {} as never };
    const read = (auth: readonly AuthId[], error: 'NO_AUTH' | null, result: unknown = data) =>
      checker.checkRead({
        request: { op: 'getData', path: '/n', watch: false },
        auth,
        zxid,
        error,
        result: error === null ? (result as never) : null,
      });
    expect(read([ALICE], null)).toBeNull();
    expect(read([], 'NO_AUTH')).toBeNull();
    expect(read([], null)).toMatch(/denies READ/);
    expect(read([ALICE], 'NO_AUTH')).toMatch(/grants READ/);
    // Before /n existed, NO_NODE comes first.
    expect(
      checker.checkRead({
        request: { op: 'getData', path: '/n', watch: false },
        auth: [],
        zxid: 0,
        error: 'NO_AUTH',
        result: null,
      }),
    ).toMatch(/does not exist there/);
    const getAcl = (auth: readonly AuthId[], acl: ACL[]) =>
      checker.checkRead({
        request: { op: 'getACL', path: '/n' },
        auth,
        zxid,
        error: null,
        result: { op: 'getACL', acl, stat: {} as never },
      });
    expect(
      getAcl(
        [ALICE],
        [
          { perms: READ, id: ALICE },
          { perms: ALL, id: BOB },
        ],
      ),
    ).toBeNull();
    // ZooKeeper hides the digests' hashes from a caller without ADMIN: accepted too.
    const hidden = (id: AuthId) => ({ scheme: 'digest', id: `${id.id.split(':')[0]}:x` });
    expect(
      getAcl(
        [ALICE],
        [
          { perms: READ, id: hidden(ALICE) },
          { perms: ALL, id: hidden(BOB) },
        ],
      ),
    ).toBeNull();
    expect(getAcl([ALICE], OPEN_ACL_UNSAFE as ACL[])).toMatch(/returned/);
  });

  it('catches a client told NO_AUTH or success that its committed transaction contradicts', () => {
    const checker = aclNode(CREATOR_ALL_ACL);
    const request = { op: 'setData' as const, path: '/n', data: text('y'), version: -1 };
    checker.sent(7, 1, request, [ALICE]);
    expect(commit(checker, 7, 1, { type: 'setData', path: '/n', data: text('y'), version: 1 })).toBeNull();
    const zxid = makeZxid(1, counter);
    expect(checker.checkWriteReply({ sessionId: 7, xid: 1, request, error: null, zxid })).toBeNull();
    expect(checker.checkWriteReply({ sessionId: 7, xid: 1, request, error: 'NO_AUTH', zxid })).toMatch(
      /committed success/,
    );
    expect(checker.checkWriteReply({ sessionId: 7, xid: 2, request, error: 'NO_AUTH', zxid })).toMatch(
      /nothing of it committed/,
    );
  });
});
