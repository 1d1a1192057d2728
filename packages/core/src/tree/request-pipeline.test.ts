import { describe, expect, it } from 'vitest';
import { CreateMode, type MultiResult } from '../types.js';
import { bytes, create, Leader, remove, setData, text } from './test/harness.js';

describe('RequestPipeline: create', () => {
  it('creates a persistent znode with Stat czxid = mzxid = pzxid = its zxid, versions 0 (ZooKeeper createNode)', () => {
    const leader = new Leader();
    const s = leader.session();
    const { error, result, entry } = leader.write(s, create('/a', 'x'));
    expect(error).toBeNull();
    expect(result).toMatchObject({ op: 'create', path: '/a' });
    const stat = leader.tree.stat('/a')!;
    expect(stat).toMatchObject({
      czxid: entry.zxid,
      mzxid: entry.zxid,
      pzxid: entry.zxid,
      ctime: leader.timeMs,
      mtime: leader.timeMs,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      dataLength: 1,
      numChildren: 0,
    });
    const root = leader.tree.stat('/')!;
    expect(root.cversion).toBe(1);
    expect(root.pzxid).toBe(entry.zxid);
    expect(root.numChildren).toBe(2); // /zookeeper and /a
  });

  it('NO_NODE when the parent does not exist (ZooKeeper: create needs its parent)', () => {
    const leader = new Leader();
    const s = leader.session();
    expect(leader.write(s, create('/a/b')).error).toBe('NO_NODE');
  });

  it('NODE_EXISTS for an existing path, also against a create only proposed (outstanding changes)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    expect(leader.write(s, create('/a')).error).toBe('NODE_EXISTS');
    const pending = leader.propose(s, create('/b'));
    expect(leader.propose(s, create('/b')).txn).toEqual({ type: 'error', code: 'NODE_EXISTS' });
    // a child of the pending /b is accepted: its parent exists once /b commits
    expect(leader.propose(s, create('/b/c')).txn.type).toBe('create');
    expect(leader.apply(pending).error).toBeNull();
    expect(leader.write(s, create('/')).error).toBe('NODE_EXISTS');
  });

  it('NO_CHILDREN_FOR_EPHEMERALS under an ephemeral (ZooKeeper: ephemerals may not have children)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/e', '', CreateMode.EPHEMERAL));
    expect(leader.write(s, create('/e/c')).error).toBe('NO_CHILDREN_FOR_EPHEMERALS');
    expect(leader.write(s, create('/e/c', '', CreateMode.PERSISTENT_SEQUENTIAL)).error).toBe(
      'NO_CHILDREN_FOR_EPHEMERALS',
    );
  });

  it('INVALID_PATH for paths PathUtils.validatePath refuses', () => {
    const leader = new Leader();
    const s = leader.session();
    for (const path of ['a', '/a/', '/a//b', '/a/./b', '/a/..', '/a\u0001', '', '/a\ud83d\ude00']) {
      expect(leader.write(s, create(path)).error, path).toBe('INVALID_PATH');
    }
    expect(leader.write(s, remove('/a/')).error).toBe('INVALID_PATH');
    expect(leader.write(s, setData('a', 'x')).error).toBe('INVALID_PATH');
  });

  it('sequential names append the parent cversion as %010d, counting from the parent (ZooKeeper sequence nodes)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/q'));
    leader.write(s, create('/q/x'));
    const first = leader.write(s, create('/q/lock-', '', CreateMode.EPHEMERAL_SEQUENTIAL));
    expect(first.result).toMatchObject({ path: '/q/lock-0000000001' });
    leader.write(s, remove('/q/x'));
    // deletes do not move cversion (ZooKeeper: only creates bump it; deletes move pzxid)
    const second = leader.write(s, create('/q/lock-', '', CreateMode.PERSISTENT_SEQUENTIAL));
    expect(second.result).toMatchObject({ path: '/q/lock-0000000002' });
    // a sequential path may end with '/', the number is then the whole name
    expect(leader.write(s, create('/q/', '', CreateMode.PERSISTENT_SEQUENTIAL)).result).toMatchObject({
      path: '/q/0000000003',
    });
    // two sequential creates proposed back to back get distinct numbers (outstanding cversion)
    const a = leader.propose(s, create('/q/n-', '', CreateMode.PERSISTENT_SEQUENTIAL));
    const b = leader.propose(s, create('/q/n-', '', CreateMode.PERSISTENT_SEQUENTIAL));
    expect(a.txn).toMatchObject({ path: '/q/n-0000000004', parentCversion: 5 });
    expect(b.txn).toMatchObject({ path: '/q/n-0000000005', parentCversion: 6 });
  });

  it('ephemerals are owned by the creating session and listed by getEphemerals', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/svc'));
    leader.write(s, create('/svc/a', '', CreateMode.EPHEMERAL));
    leader.write(s, create('/b', '', CreateMode.EPHEMERAL));
    expect(leader.tree.stat('/svc/a')!.ephemeralOwner).toBe(s);
    expect(leader.tree.getEphemerals(s, '/')).toEqual({ op: 'getEphemerals', paths: ['/b', '/svc/a'] });
    expect(leader.tree.getEphemerals(s, '/svc')).toEqual({ op: 'getEphemerals', paths: ['/svc/a'] });
  });

  it('BAD_ARGUMENTS for data over dataBytesMax (jute.maxbuffer), a TTL outside TTL modes, a bad mode', () => {
    const leader = new Leader({ dataBytesMax: 16 });
    const s = leader.session();
    expect(leader.write(s, create('/a', 'x'.repeat(17))).error).toBe('BAD_ARGUMENTS');
    expect(leader.write(s, create('/a', 'x'.repeat(16))).error).toBeNull();
    expect(leader.write(s, setData('/a', 'y'.repeat(17))).error).toBe('BAD_ARGUMENTS');
    expect(leader.write(s, create('/t', '', CreateMode.PERSISTENT, 1000)).error).toBe('BAD_ARGUMENTS');
    expect(leader.write(s, create('/t', '', CreateMode.PERSISTENT_WITH_TTL, 0)).error).toBe('BAD_ARGUMENTS');
    expect(leader.write(s, create('/t', '', CreateMode.PERSISTENT_WITH_TTL, 2 ** 40)).error).toBe('BAD_ARGUMENTS');
    expect(leader.write(s, create('/t', '', 9 as CreateMode)).error).toBe('BAD_ARGUMENTS');
    const big = new Leader();
    const s2 = big.session();
    expect(big.write(s2, create('/big', 'x'.repeat(1024 * 1024))).error).toBeNull();
    expect(big.write(s2, setData('/big', 'x'.repeat(1024 * 1024 + 1))).error).toBe('BAD_ARGUMENTS');
  });

  it('refuses writes in the reserved /zookeeper subtree with NO_AUTH and deleting / with BAD_ARGUMENTS', () => {
    const leader = new Leader();
    const s = leader.session();
    expect(leader.tree.stat('/zookeeper')).not.toBeNull();
    expect(leader.write(s, create('/zookeeper/x')).error).toBe('NO_AUTH');
    expect(leader.write(s, create('/zookeeper/', '', CreateMode.PERSISTENT_SEQUENTIAL)).error).toBe('NO_AUTH');
    expect(leader.write(s, create('/zookeeper')).error).toBe('NO_AUTH');
    expect(leader.write(s, remove('/zookeeper')).error).toBe('NO_AUTH');
    expect(leader.write(s, setData('/zookeeper', 'x')).error).toBe('NO_AUTH');
    expect(leader.write(s, remove('/')).error).toBe('BAD_ARGUMENTS');
    // a sibling that only shares the prefix is an ordinary znode
    expect(leader.write(s, create('/zookeeper2')).error).toBeNull();
    expect(leader.write(s, create('/zookeeper', '', CreateMode.PERSISTENT_SEQUENTIAL)).result).toMatchObject({
      path: '/zookeeper0000000001',
    });
  });

  it('TTL and container creates carry their kind in the txn', () => {
    const leader = new Leader();
    const s = leader.session();
    const ttl = leader.propose(s, create('/t', '', CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, 500));
    expect(ttl.txn).toMatchObject({ type: 'create', path: '/t0000000000', ttlMs: 500, container: false });
    leader.apply(ttl);
    const container = leader.write(s, create('/c', '', CreateMode.CONTAINER));
    expect(container.entry.txn).toMatchObject({ container: true, ttlMs: 0, ephemeralOwner: 0 });
  });
});

describe('RequestPipeline: delete, setData', () => {
  it('delete: NO_NODE, BAD_VERSION, NOT_EMPTY (ZooKeeper delete rules), -1 matches any version', () => {
    const leader = new Leader();
    const s = leader.session();
    expect(leader.write(s, remove('/a')).error).toBe('NO_NODE');
    leader.write(s, create('/a'));
    leader.write(s, create('/a/b'));
    expect(leader.write(s, remove('/a')).error).toBe('NOT_EMPTY');
    expect(leader.write(s, remove('/a/b', 3)).error).toBe('BAD_VERSION');
    expect(leader.write(s, remove('/a/b', 0)).error).toBeNull();
    expect(leader.write(s, remove('/a', -1)).error).toBeNull();
    expect(leader.tree.stat('/a')).toBeNull();
  });

  it('delete moves the parent pzxid, not its cversion', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    leader.write(s, create('/a/b'));
    const { entry } = leader.write(s, remove('/a/b'));
    expect(leader.tree.stat('/a')).toMatchObject({ cversion: 1, pzxid: entry.zxid, numChildren: 0 });
  });

  it('NOT_EMPTY against a child only proposed; delete allowed once a pending delete empties it', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    leader.propose(s, create('/a/b'));
    expect(leader.propose(s, remove('/a')).txn).toEqual({ type: 'error', code: 'NOT_EMPTY' });
    leader.propose(s, remove('/a/b'));
    expect(leader.propose(s, remove('/a')).txn).toEqual({ type: 'delete', path: '/a' });
  });

  it('setData: version + 1 in the txn, BAD_VERSION on mismatch, NO_NODE when missing', () => {
    const leader = new Leader();
    const s = leader.session();
    expect(leader.write(s, setData('/a', 'x')).error).toBe('NO_NODE');
    leader.write(s, create('/a'));
    const first = leader.write(s, setData('/a', 'one', 0));
    expect(first.entry.txn).toMatchObject({ type: 'setData', version: 1 });
    expect(first.result).toMatchObject({ op: 'setData', stat: { version: 1, mzxid: first.entry.zxid, dataLength: 3 } });
    expect(leader.write(s, setData('/a', 'two', 0)).error).toBe('BAD_VERSION');
    const pending = leader.propose(s, setData('/a', 'two', 1));
    expect(pending.txn).toMatchObject({ version: 2 });
    // the next check sees the outstanding version 2
    expect(leader.propose(s, setData('/a', 'three', 2)).txn).toMatchObject({ version: 3 });
    expect(text((leader.tree.getData('/a') as { data: Uint8Array }).data)).toBe('one');
  });

  it('outstanding changes are dropped once applied, so the tree answers again', () => {
    const leader = new Leader();
    const s = leader.session();
    const a = leader.propose(s, create('/a'));
    expect(leader.pipeline.outstandingCount).toBe(2); // / and /a
    leader.apply(a);
    expect(leader.pipeline.outstandingCount).toBe(0);
  });
});

describe('RequestPipeline: multi', () => {
  it('commits every op, with results in order and sequential names resolved in sequence', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    const { error, result } = leader.write(s, {
      op: 'multi',
      ops: [
        { op: 'check', path: '/a', version: 0 },
        create('/a/x-', '', CreateMode.PERSISTENT_SEQUENTIAL),
        create('/a/x-', '', CreateMode.PERSISTENT_SEQUENTIAL),
        setData('/a', 'v', 0),
        create('/b'),
        remove('/b'),
      ],
    });
    expect(error).toBeNull();
    expect((result as MultiResult).results.map((r) => r.op)).toEqual([
      'check',
      'create',
      'create',
      'setData',
      'create',
      'delete',
    ]);
    expect((result as MultiResult).results[2]).toMatchObject({ path: '/a/x-0000000001' });
    expect(leader.tree.getChildren('/a')).toMatchObject({ children: ['x-0000000000', 'x-0000000001'] });
    expect(leader.tree.stat('/b')).toBeNull();
  });

  it('is all or nothing: the failing op reports its code, the others RUNTIME_INCONSISTENCY (ZooKeeper multi)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    const { error, result, entry } = leader.write(s, {
      op: 'multi',
      ops: [create('/a/new'), setData('/a', 'x', 7), remove('/a')],
    });
    expect(error).toBe('BAD_VERSION');
    expect(result).toEqual({
      op: 'multi',
      results: [
        { op: 'error', code: 'RUNTIME_INCONSISTENCY' },
        { op: 'error', code: 'BAD_VERSION' },
        { op: 'error', code: 'RUNTIME_INCONSISTENCY' },
      ],
    });
    expect(entry.txn).toMatchObject({ type: 'multi' });
    expect(leader.tree.stat('/a/new')).toBeNull();
    // nothing of the failed multi stays outstanding
    expect(leader.pipeline.outstandingCount).toBe(0);
    expect(leader.write(s, create('/a/new')).error).toBeNull();
  });

  it('a failing check fails the multi; ops later in a multi see the earlier ones', () => {
    const leader = new Leader();
    const s = leader.session();
    const failed = leader.write(s, { op: 'multi', ops: [{ op: 'check', path: '/nope', version: -1 }] });
    expect(failed.error).toBe('NO_NODE');
    const ok = leader.write(s, {
      op: 'multi',
      ops: [create('/p'), create('/p/c'), { op: 'check', path: '/p/c', version: 0 }],
    });
    expect(ok.error).toBeNull();
    const notEmpty = leader.write(s, { op: 'multi', ops: [remove('/p/c'), remove('/p'), create('/p/c')] });
    expect(notEmpty.error).toBe('NO_NODE');
    expect(leader.tree.stat('/p/c')).not.toBeNull();
  });

  it('BAD_ARGUMENTS for a read op inside a multi, and for data over the limit in total', () => {
    const leader = new Leader({ dataBytesMax: 10 });
    const s = leader.session();
    const read = leader.write(s, {
      op: 'multi',
      ops: [create('/a'), { op: 'getData', path: '/a', watch: false } as never],
    });
    expect(read.error).toBe('BAD_ARGUMENTS');
    const total = leader.write(s, { op: 'multi', ops: [create('/a', '123456'), create('/b', '123456')] });
    expect(total.error).toBe('BAD_ARGUMENTS');
    expect((total.result as MultiResult).results[1]).toEqual({ op: 'error', code: 'BAD_ARGUMENTS' });
  });

  it('an empty multi succeeds with no results', () => {
    const leader = new Leader();
    const s = leader.session();
    expect(leader.write(s, { op: 'multi', ops: [] })).toMatchObject({
      error: null,
      result: { op: 'multi', results: [] },
    });
  });
});

describe('RequestPipeline: sessions', () => {
  it('UNKNOWN_SESSION for a session never created, SESSION_EXPIRED once it is closing (ZooKeeper checkSession)', () => {
    const leader = new Leader();
    expect(leader.write(12345, create('/a')).error).toBe('UNKNOWN_SESSION');
    const s = leader.session();
    const close = leader.propose(s, { op: 'closeSession' });
    expect(leader.propose(s, create('/a')).txn).toEqual({ type: 'error', code: 'SESSION_EXPIRED' });
    leader.apply(close);
    expect(leader.write(s, create('/a')).error).toBe('UNKNOWN_SESSION');
  });

  it('closeSession deletes the ephemerals in one txn, including ones still outstanding', () => {
    const leader = new Leader();
    const s = leader.session();
    const other = leader.session();
    leader.write(s, create('/e1', '', CreateMode.EPHEMERAL));
    leader.write(other, create('/mine', '', CreateMode.EPHEMERAL));
    const pendingCreate = leader.propose(s, create('/e2', '', CreateMode.EPHEMERAL));
    const close = leader.propose(s, { op: 'closeSession' });
    expect(close.txn).toEqual({ type: 'closeSession', sessionId: s, paths: ['/e1', '/e2'] });
    leader.apply(pendingCreate);
    const { result } = leader.apply(close);
    expect(result).toEqual({ op: 'closeSession' });
    expect(leader.tree.stat('/e1')).toBeNull();
    expect(leader.tree.stat('/e2')).toBeNull();
    expect(leader.tree.stat('/mine')).not.toBeNull();
    expect(leader.tree.hasSession(s)).toBe(false);
    expect(leader.tree.getEphemerals(s, '/')).toEqual({ op: 'getEphemerals', paths: [] });
  });

  it('prepare asserts that every prepared txn is noteProposed or discarded', () => {
    const leader = new Leader();
    const s = leader.session();
    const txn = leader.pipeline.prepare(s, 1, create('/a'), 0);
    expect(() => leader.pipeline.prepare(s, 2, create('/b'), 0)).toThrow(/neither noteProposed nor discardPrepared/);
    leader.pipeline.discardPrepared();
    expect(leader.pipeline.outstandingCount).toBe(0);
    expect(() => leader.pipeline.noteProposed(99, txn)).toThrow(/not the one prepared/);
    const closing = leader.pipeline.prepare(s, 3, { op: 'closeSession' }, 0);
    expect(closing.type).toBe('closeSession');
    leader.pipeline.discardPrepared();
    expect(leader.tracker.isLive(s)).toBe(true);
  });

  it('data handed to the tree is kept as is, and views into larger buffers are copied', () => {
    const leader = new Leader();
    const s = leader.session();
    const frame = bytes('xxhelloxx');
    leader.write(s, { op: 'create', path: '/v', data: frame.subarray(2, 7), mode: CreateMode.PERSISTENT, ttlMs: 0 });
    const stored = (leader.tree.getData('/v') as { data: Uint8Array }).data;
    expect(text(stored)).toBe('hello');
    expect(stored.buffer).not.toBe(frame.buffer);
  });
});
