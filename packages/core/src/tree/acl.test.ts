import { describe, expect, it } from 'vitest';
import {
  type ACL,
  type AuthId,
  CREATOR_ALL_ACL,
  CreateMode,
  type ErrorCode,
  OPEN_ACL_UNSAFE,
  Perms,
  READ_ACL_UNSAFE,
  type Request,
  type WriteRequest,
} from '../types.js';
import { checkAcl, fixupAcl, ipMatches, parseAddress } from './acl.js';
import { AclCache, OPEN_ACL_REF } from './acl-cache.js';
import { DataTree } from './data-tree.js';
import { bytes, create, Leader, remove, setData } from './test/harness.js';

// Valid digest ids (user:base64(sha1(user:password))): alice:secret and bob:secret.
const ALICE = 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=';
const BOB = 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=';
const X509 = 'CN=alice,O=Zabkit Tests';

const digest = (id: string): AuthId => ({ scheme: 'digest', id });
const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });

describe('checkAcl (ZooKeeper checkACL)', () => {
  it('an empty list allows everything; world:anyone matches everyone; super passes every check', () => {
    expect(checkAcl([], Perms.ADMIN, [])).toBe(true);
    expect(checkAcl(READ_ACL_UNSAFE, Perms.READ, [])).toBe(true);
    expect(checkAcl(READ_ACL_UNSAFE, Perms.WRITE, [])).toBe(false);
    expect(checkAcl([acl(Perms.READ, 'digest', ALICE)], Perms.WRITE, [{ scheme: 'super', id: '' }])).toBe(true);
  });

  it('matches ids of the same scheme exactly, and ip ids by address or CIDR block', () => {
    const list = [
      acl(Perms.READ, 'digest', ALICE),
      acl(Perms.WRITE, 'ip', '10.1.0.0/16'),
      acl(Perms.ADMIN, 'x509', X509),
    ];
    expect(checkAcl(list, Perms.READ, [digest(ALICE)])).toBe(true);
    expect(checkAcl(list, Perms.READ, [digest(BOB)])).toBe(false);
    expect(checkAcl(list, Perms.READ, [{ scheme: 'x509', id: ALICE }])).toBe(false);
    expect(checkAcl(list, Perms.WRITE, [{ scheme: 'ip', id: '10.1.200.3' }])).toBe(true);
    expect(checkAcl(list, Perms.WRITE, [{ scheme: 'ip', id: '10.2.0.1' }])).toBe(false);
    expect(checkAcl(list, Perms.ADMIN, [{ scheme: 'x509', id: X509 }])).toBe(true);
    // Any one of the asked bits is enough (getACL asks READ | ADMIN).
    expect(checkAcl(list, Perms.READ | Perms.ADMIN, [{ scheme: 'x509', id: X509 }])).toBe(true);
  });

  it('ip: IPv4, IPv6, IPv4-mapped IPv6 and prefixes', () => {
    expect(ipMatches('192.168.1.7', '192.168.1.7')).toBe(true);
    expect(ipMatches('192.168.1.7', '192.168.1.0/24')).toBe(true);
    expect(ipMatches('192.168.2.7', '192.168.1.0/24')).toBe(false);
    expect(ipMatches('192.168.1.7', '0.0.0.0/0')).toBe(true);
    expect(ipMatches('10.0.0.129', '10.0.0.128/25')).toBe(true);
    expect(ipMatches('10.0.0.127', '10.0.0.128/25')).toBe(false);
    expect(ipMatches('::ffff:127.0.0.1', '127.0.0.0/8')).toBe(true);
    expect(ipMatches('2001:db8::1', '2001:db8::/32')).toBe(true);
    expect(ipMatches('2001:db9::1', '2001:db8::/32')).toBe(false);
    expect(ipMatches('::1', '::1')).toBe(true);
    expect(ipMatches('::1', '127.0.0.1')).toBe(false);
    expect(ipMatches('fe80::1%eth0', 'fe80::/10')).toBe(true);
    expect(parseAddress('1.2.3')).toBeNull();
    expect(parseAddress('1.2.3.256')).toBeNull();
    expect(parseAddress('1::2::3')).toBeNull();
    expect(parseAddress('1:2:3:4:5:6:7:8:9')).toBeNull();
  });
});

describe('fixupAcl (ZooKeeper fixupACL)', () => {
  it('expands auth to the authenticated ids (digest, x509; not ip), and refuses it without any', () => {
    const held: AuthId[] = [{ scheme: 'ip', id: '10.0.0.1' }, digest(ALICE), { scheme: 'x509', id: X509 }];
    expect(fixupAcl(CREATOR_ALL_ACL, held)).toEqual([acl(Perms.ALL, 'digest', ALICE), acl(Perms.ALL, 'x509', X509)]);
    expect(fixupAcl(CREATOR_ALL_ACL, [{ scheme: 'ip', id: '10.0.0.1' }])).toBeNull();
    expect(fixupAcl(CREATOR_ALL_ACL, [])).toBeNull();
  });

  it('refuses empty lists, unknown schemes, malformed ids and perms out of range', () => {
    expect(fixupAcl([], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'world', 'someone')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'sasl', 'alice')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'super', '')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'digest', 'alice:not-a-digest')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'digest', ':aYXlLOpEooaV1cRAvUL1fp9Qt7E=')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'ip', '10.0.0.0/33')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'ip', 'example.com')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'x509', '')], [])).toBeNull();
    expect(fixupAcl([acl(32, 'world', 'anyone')], [])).toBeNull();
    expect(fixupAcl([acl(-1, 'world', 'anyone')], [])).toBeNull();
    expect(fixupAcl([acl(Perms.ALL, 'digest', ALICE), acl(Perms.READ, 'ip', '::1')], [])).toHaveLength(2);
  });

  it('keeps a repeated entry once, as ZooKeeper removeDuplicates', () => {
    const list = [acl(Perms.READ, 'digest', ALICE), acl(Perms.ALL, 'auth', ''), acl(Perms.READ, 'digest', ALICE)];
    expect(fixupAcl(list, [digest(ALICE)])).toEqual([
      acl(Perms.READ, 'digest', ALICE),
      acl(Perms.ALL, 'digest', ALICE),
    ]);
  });

  it('hands back the shared OPEN_ACL_UNSAFE for an open list', () => {
    expect(fixupAcl([acl(Perms.ALL, 'world', 'anyone')], [])).toBe(OPEN_ACL_UNSAFE);
  });
});

describe('AclCache (ZooKeeper ReferenceCountedACLCache)', () => {
  it('holds each distinct list once, counts its users and drops it with the last one', () => {
    const cache = new AclCache();
    expect(cache.acquire([acl(Perms.ALL, 'world', 'anyone')])).toBe(OPEN_ACL_REF);
    const a = cache.acquire([acl(Perms.READ, 'digest', ALICE)]);
    const b = cache.acquire([acl(Perms.READ, 'digest', ALICE)]);
    expect(a).toBe(b);
    expect(cache.size).toBe(2);
    expect(cache.get(a)).toEqual([acl(Perms.READ, 'digest', ALICE)]);
    expect(Object.isFrozen(cache.get(a))).toBe(true);
    cache.release(a);
    expect(cache.size).toBe(2);
    cache.release(b);
    expect(cache.size).toBe(1);
    // The freed reference is reused.
    expect(cache.acquire([acl(Perms.WRITE, 'digest', BOB)])).toBe(a);
    cache.release(OPEN_ACL_REF);
    expect(cache.get(OPEN_ACL_REF)).toBe(OPEN_ACL_UNSAFE);
  });
});

/** The outcome of one operation as a client at `auth` would see it. */
type Op = (leader: Leader, session: number, auth: readonly AuthId[]) => ErrorCode | null;

const write =
  (request: WriteRequest): Op =>
  (leader, session, auth) =>
    leader.write(session, request, auth).error;
const read =
  (request: Request): Op =>
  (leader, session, auth) =>
    leader.tree.processLocal(session, request as never, auth).error;

/**
 * OPS: every ACL-checked operation on the znode /t (or its child /t/c), with the perm ZooKeeper
 * requires and where it is checked: writes where prepared (the leader), reads where served.
 */
const OPS: { name: string; perm: number; op: Op }[] = [
  { name: 'getData', perm: Perms.READ, op: read({ op: 'getData', path: '/t', watch: false }) },
  { name: 'getChildren', perm: Perms.READ, op: read({ op: 'getChildren', path: '/t', watch: true }) },
  {
    name: 'multiRead',
    perm: Perms.READ,
    // Each op of a multiRead answers on its own: the error is the op's.
    op: (leader, session, auth) => {
      const request: Request = { op: 'multiRead', ops: [{ op: 'getData', path: '/t', watch: false }] };
      const outcome = leader.tree.processLocal(session, request as never, auth);
      const first = outcome.result?.op === 'multiRead' ? outcome.result.results[0] : undefined;
      return first?.op === 'error' ? first.code : outcome.error;
    },
  },
  { name: 'check', perm: Perms.READ, op: read({ op: 'check', path: '/t', version: -1 }) },
  { name: 'addWatch', perm: Perms.READ, op: read({ op: 'addWatch', path: '/t', mode: 0 }) },
  { name: 'setData', perm: Perms.WRITE, op: write(setData('/t', 'x')) },
  { name: 'create child', perm: Perms.CREATE, op: write(create('/t/new')) },
  { name: 'delete child', perm: Perms.DELETE, op: write(remove('/t/c')) },
  { name: 'setACL', perm: Perms.ADMIN, op: write({ op: 'setACL', path: '/t', acl: OPEN_ACL_UNSAFE, version: -1 }) },
  {
    name: 'multi check',
    perm: Perms.READ,
    op: write({ op: 'multi', ops: [{ op: 'check', path: '/t', version: -1 }] }),
  },
  { name: 'multi setData', perm: Perms.WRITE, op: write({ op: 'multi', ops: [setData('/t', 'y')] }) },
];

/** SCHEMES: for each scheme, an ACL id and the connection ids that match it and that do not. */
const SCHEMES: { scheme: string; id: string; holder: AuthId[]; stranger: AuthId[] }[] = [
  { scheme: 'digest', id: ALICE, holder: [digest(ALICE)], stranger: [digest(BOB)] },
  {
    scheme: 'ip',
    id: '10.20.0.0/16',
    holder: [{ scheme: 'ip', id: '10.20.3.4' }],
    stranger: [{ scheme: 'ip', id: '10.21.3.4' }],
  },
  { scheme: 'x509', id: X509, holder: [{ scheme: 'x509', id: X509 }], stranger: [{ scheme: 'x509', id: 'CN=bob' }] },
];

const matrixLeader = (list: readonly ACL[]): { leader: Leader; session: number } => {
  const leader = new Leader();
  const session = leader.session();
  // /t/c exists (delete child), /t carries the list under test.
  expect(leader.write(session, create('/t')).error).toBeNull();
  expect(leader.write(session, create('/t/c')).error).toBeNull();
  expect(leader.write(session, { op: 'setACL', path: '/t', acl: list, version: -1 }).error).toBeNull();
  return { leader, session };
};

describe('the ACL matrix: each op × each perm × each scheme, where it is checked', () => {
  for (const { scheme, id, holder, stranger } of SCHEMES) {
    for (const granted of [Perms.READ, Perms.WRITE, Perms.CREATE, Perms.DELETE, Perms.ADMIN]) {
      it(`${scheme} granting ${granted}: the holder may exactly the ops needing it; a stranger, nobody and world none`, () => {
        for (const { name, perm, op } of OPS) {
          const allowedCode = (auth: readonly AuthId[]) => {
            const { leader, session } = matrixLeader([acl(granted, scheme, id)]);
            return op(leader, session, auth);
          };
          const expected = perm === granted ? null : 'NO_AUTH';
          expect([name, allowedCode(holder)]).toEqual([name, expected]);
          expect([name, allowedCode(stranger)]).toEqual([name, 'NO_AUTH']);
          expect([name, allowedCode([])]).toEqual([name, 'NO_AUTH']);
          // The super user passes every check.
          expect([name, allowedCode([...stranger, { scheme: 'super', id: '' }])]).toEqual([name, null]);
        }
      });
    }
  }

  it('world: READ_ACL_UNSAFE lets anyone read and no one else do anything', () => {
    for (const { name, perm, op } of OPS) {
      const { leader, session } = matrixLeader(READ_ACL_UNSAFE);
      expect([name, op(leader, session, [])]).toEqual([name, perm === Perms.READ ? null : 'NO_AUTH']);
    }
  });

  it('exists and getEphemerals are not checked (as ZooKeeper); NO_NODE comes before NO_AUTH', () => {
    const { leader, session } = matrixLeader([acl(Perms.READ, 'digest', ALICE)]);
    expect(leader.tree.processLocal(session, { op: 'exists', path: '/t', watch: true }).error).toBeNull();
    expect(leader.tree.processLocal(session, { op: 'getEphemerals', prefixPath: '/t' }).error).toBeNull();
    expect(leader.tree.processLocal(session, { op: 'getData', path: '/t/none', watch: false }).error).toBe('NO_NODE');
    expect(leader.write(session, setData('/t/none', 'x')).error).toBe('NO_NODE');
  });
});

describe('create and setACL with ACLs', () => {
  it('CREATOR_ALL_ACL stores the creator ids; getACL answers the stored list and Stat', () => {
    const leader = new Leader();
    const session = leader.session();
    const auth = [{ scheme: 'ip', id: '127.0.0.1' }, digest(ALICE)];
    expect(leader.write(session, { ...create('/p'), acl: CREATOR_ALL_ACL }, auth).error).toBeNull();
    const answer = leader.tree.processLocal(session, { op: 'getACL', path: '/p' }, auth);
    expect(answer.result).toMatchObject({
      op: 'getACL',
      acl: [acl(Perms.ALL, 'digest', ALICE)],
      stat: { aversion: 0 },
    });
    expect(leader.tree.processLocal(session, { op: 'getACL', path: '/p' }, [digest(BOB)]).error).toBe('NO_AUTH');
    // READ without ADMIN sees digest ids without their hash (ZooKeeper 3.6+).
    leader.write(session, {
      ...create('/r'),
      acl: [acl(Perms.READ, 'world', 'anyone'), acl(Perms.ALL, 'digest', ALICE)],
    });
    expect(leader.tree.processLocal(session, { op: 'getACL', path: '/r' }, [digest(BOB)]).result).toMatchObject({
      acl: [acl(Perms.READ, 'world', 'anyone'), acl(Perms.ALL, 'digest', 'alice:x')],
    });
    expect(leader.tree.processLocal(session, { op: 'getACL', path: '/r' }, [digest(ALICE)]).result).toMatchObject({
      acl: [acl(Perms.READ, 'world', 'anyone'), acl(Perms.ALL, 'digest', ALICE)],
    });
    expect(leader.write(session, { ...create('/q'), acl: CREATOR_ALL_ACL }, [{ scheme: 'ip', id: '::1' }]).error).toBe(
      'INVALID_ACL',
    );
    expect(leader.write(session, { ...create('/q'), acl: [] }).error).toBe('INVALID_ACL');
  });

  it('setACL checks and raises aversion; a proposed, unapplied setACL is seen by the next prepare', () => {
    const leader = new Leader();
    const session = leader.session();
    leader.write(session, create('/v'));
    const locked = [acl(Perms.ALL, 'digest', ALICE)];
    expect(leader.write(session, { op: 'setACL', path: '/v', acl: locked, version: 5 }).error).toBe('BAD_VERSION');
    const done = leader.write(session, { op: 'setACL', path: '/v', acl: locked, version: 0 });
    expect(done.result).toMatchObject({ op: 'setACL', stat: { aversion: 1 } });
    // Outstanding: the second setACL is prepared before the first is applied.
    const first = leader.propose(session, { op: 'setACL', path: '/v', acl: OPEN_ACL_UNSAFE, version: 1 }, 0, [
      digest(ALICE),
    ]);
    const denied = leader.propose(session, setData('/v', 'x'), 0, [digest(BOB)]);
    expect(first.txn.type).toBe('setACL');
    // The pending list is open: bob may write.
    expect(denied.txn.type).toBe('setData');
    leader.apply(first);
    leader.apply(denied);
    expect(leader.tree.stat('/v')?.aversion).toBe(2);
  });

  it('multi checks every op: one op without the right fails the whole multi', () => {
    const leader = new Leader();
    const session = leader.session();
    leader.write(session, create('/m'));
    leader.write(session, { ...create('/m/locked'), acl: READ_ACL_UNSAFE });
    const outcome = leader.write(session, {
      op: 'multi',
      ops: [setData('/m', 'ok'), setData('/m/locked', 'no')],
    });
    expect(outcome.error).toBe('NO_AUTH');
    expect(outcome.result).toEqual({
      op: 'multi',
      results: [
        { op: 'error', code: 'RUNTIME_INCONSISTENCY' },
        { op: 'error', code: 'NO_AUTH' },
      ],
    });
    expect(leader.tree.getData('/m')).toMatchObject({ data: bytes('') });
  });

  it('the leader deletes an expired container whatever its parent ACL says', () => {
    const leader = new Leader();
    const session = leader.session();
    leader.write(session, { ...create('/locked'), acl: [acl(Perms.CREATE | Perms.READ, 'world', 'anyone')] });
    leader.write(session, { ...create('/locked/box', '', CreateMode.CONTAINER), acl: READ_ACL_UNSAFE });
    const root: AuthId[] = [{ scheme: 'super', id: '' }];
    expect(leader.write(session, create('/locked/box/x')).error).toBe('NO_AUTH');
    expect(leader.write(session, create('/locked/box/x'), root).error).toBeNull();
    expect(leader.write(session, remove('/locked/box/x')).error).toBe('NO_AUTH');
    expect(leader.write(session, remove('/locked/box/x'), root).error).toBeNull();
    leader.timeMs += 1;
    const txn = leader.pipeline.prepareExpiredNodeDelete('/locked/box', leader.timeMs);
    expect(txn).toEqual({ type: 'delete', path: '/locked/box' });
    leader.pipeline.discardPrepared();
  });
});

describe('ACLs in the tree: de-duplicated, replicated through snapshots', () => {
  it('znodes sharing a list share one cached copy; deleting them frees it', () => {
    const leader = new Leader();
    const session = leader.session();
    const locked = [acl(Perms.READ, 'digest', ALICE), acl(Perms.ALL, 'digest', BOB)];
    for (let i = 0; i < 50; i++) leader.write(session, { ...create(`/n${i}`), acl: locked.map((e) => ({ ...e })) });
    expect(leader.tree.distinctAcls).toBe(2);
    for (let i = 0; i < 50; i++) leader.write(session, remove(`/n${i}`), [digest(BOB)]);
    expect(leader.tree.distinctAcls).toBe(1);
  });

  it('a snapshot carries each znode ACL; a tree rebuilt from it checks the same', () => {
    const leader = new Leader();
    const session = leader.session();
    leader.write(session, { ...create('/a'), acl: [acl(Perms.READ, 'digest', ALICE)] });
    leader.write(session, { ...create('/b'), acl: [acl(Perms.READ, 'ip', '10.0.0.0/8')] });
    leader.write(session, create('/c'));
    const records = [...leader.tree.snapshotRecords()];
    const rebuilt = DataTree.fromSnapshot(leader.tree.snapshotHeader(0), records);
    expect([...rebuilt.snapshotRecords()]).toEqual(records);
    expect(rebuilt.getData('/a', undefined, [digest(ALICE)]).op).toBe('getData');
    expect(rebuilt.getData('/a', undefined, [digest(BOB)])).toEqual({ op: 'error', code: 'NO_AUTH' });
    expect(rebuilt.getData('/b', undefined, [{ scheme: 'ip', id: '10.9.9.9' }]).op).toBe('getData');
    expect(rebuilt.getData('/c').op).toBe('getData');
    expect(rebuilt.distinctAcls).toBe(3);
  });

  it('a replayed setACL over a fuzzy snapshot converges (the same list, the same aversion)', () => {
    const leader = new Leader();
    const session = leader.session();
    leader.write(session, create('/r'));
    const header = leader.tree.snapshotHeader(0);
    const records = [...leader.tree.snapshotRecords()];
    const entry = leader.write(session, { op: 'setACL', path: '/r', acl: READ_ACL_UNSAFE, version: -1 }).entry;
    const replica = DataTree.fromSnapshot(header, records);
    replica.applyTxn(entry);
    expect([...replica.snapshotRecords()]).toEqual([...leader.tree.snapshotRecords()]);
  });
});
