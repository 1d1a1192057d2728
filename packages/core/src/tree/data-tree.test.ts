import { describe, expect, it } from 'vitest';
import {
  type CreateTxn,
  type LogEntry,
  OPEN_ACL_UNSAFE,
  type SnapshotRecord,
  type Txn,
  WatchEventType,
} from '../types.js';
import { makeZxid } from '../zxid.js';
import { DataTree } from './data-tree.js';
import { bytes, create, Leader, remove, setData, testPassword, text } from './test/harness.js';

const createTxn = (path: string, parentCversion: number, extra: Partial<CreateTxn> = {}): CreateTxn => ({
  type: 'create',
  path,
  data: bytes(path),
  ephemeralOwner: 0,
  container: false,
  ttlMs: 0,
  parentCversion,
  acl: OPEN_ACL_UNSAFE,
  ...extra,
});

function entries(txns: Txn[], epoch = 1, timeMs = 1000): LogEntry[] {
  return txns.map((txn, i) => ({ zxid: makeZxid(epoch, i + 1), sessionId: 0, cxid: 0, timeMs: timeMs + i, txn }));
}

function records(tree: DataTree): SnapshotRecord[] {
  return [...tree.snapshotRecords()];
}

describe('DataTree: a fresh tree', () => {
  it('holds / and /zookeeper with a zeroed Stat, as ZooKeeper', () => {
    const tree = new DataTree();
    expect(tree.nodeCount).toBe(2);
    expect(tree.lastProcessedZxid).toBe(0);
    expect(tree.getChildren('/')).toMatchObject({ children: ['zookeeper'], stat: { czxid: 0, numChildren: 1 } });
    expect(tree.getData('/zookeeper')).toMatchObject({ data: new Uint8Array(0), stat: { version: 0 } });
  });
});

describe('DataTree.applyTxn', () => {
  it('asserts strictly increasing zxids', () => {
    const tree = new DataTree();
    const [first] = entries([createTxn('/a', 1)]);
    tree.applyTxn(first!);
    expect(() => tree.applyTxn(first!)).toThrow(/out of order/);
  });

  it('create of an existing path is a no-op that still raises the parent cversion and pzxid (ZooKeeper NODEEXISTS fix-up)', () => {
    const tree = new DataTree();
    const log = entries([createTxn('/a', 1), createTxn('/a', 5)]);
    tree.applyTxn(log[0]!);
    const replay = tree.applyTxn(log[1]!);
    expect(replay.error).toBe('NODE_EXISTS');
    expect(tree.stat('/')).toMatchObject({ cversion: 5, pzxid: log[1]!.zxid });
    expect(tree.stat('/a')!.czxid).toBe(log[0]!.zxid);
  });

  it('a create with a parentCversion not above the current one leaves cversion and pzxid alone', () => {
    const tree = new DataTree();
    const log = entries([createTxn('/a', 3), createTxn('/b', 2)]);
    tree.applyTxn(log[0]!);
    tree.applyTxn(log[1]!);
    expect(tree.stat('/')).toMatchObject({ cversion: 3, pzxid: log[0]!.zxid, numChildren: 3 });
  });

  it('delete or setData of a missing path is a no-op reporting NO_NODE', () => {
    const tree = new DataTree();
    const log = entries([
      { type: 'delete', path: '/x' },
      { type: 'setData', path: '/x', data: bytes('v'), version: 1 },
    ]);
    expect(tree.applyTxn(log[0]!).error).toBe('NO_NODE');
    expect(tree.applyTxn(log[1]!).error).toBe('NO_NODE');
    expect(tree.nodeCount).toBe(2);
    expect(tree.lastProcessedZxid).toBe(log[1]!.zxid);
  });

  it('setData takes the version from the txn, so replaying it converges', () => {
    const tree = new DataTree();
    const log = entries([
      createTxn('/a', 1),
      { type: 'setData', path: '/a', data: bytes('v1'), version: 1 },
      { type: 'setData', path: '/a', data: bytes('v2'), version: 2 },
      { type: 'setData', path: '/a', data: bytes('v1'), version: 1 },
      { type: 'setData', path: '/a', data: bytes('v2'), version: 2 },
    ]);
    for (const entry of log) tree.applyTxn(entry);
    expect(tree.stat('/a')).toMatchObject({ version: 2, mzxid: log[4]!.zxid, mtime: log[4]!.timeMs });
  });

  it('a replayed delete removes children created later (their creates follow in the log)', () => {
    const tree = new DataTree();
    const log = entries([createTxn('/p', 1), createTxn('/p/c', 1), { type: 'delete', path: '/p' }]);
    for (const entry of log) tree.applyTxn(entry);
    expect(tree.stat('/p')).toBeNull();
    expect(tree.nodeCount).toBe(2);
  });

  it('error txns change nothing but lastProcessedZxid and report their code', () => {
    const tree = new DataTree();
    const [entry] = entries([{ type: 'error', code: 'BAD_VERSION' }]);
    expect(tree.applyTxn(entry!)).toEqual({ error: 'BAD_VERSION', result: null, watches: [] });
    expect(tree.lastProcessedZxid).toBe(entry!.zxid);
  });

  it('createSession and closeSession maintain the replicated session table', () => {
    const tree = new DataTree();
    const log = entries([
      { type: 'createSession', sessionId: 77, timeoutMs: 3000, password: testPassword(77) },
      createTxn('/e', 1, { ephemeralOwner: 77 }),
      { type: 'closeSession', sessionId: 77, paths: ['/e'] },
    ]);
    tree.applyTxn(log[0]!);
    expect(tree.sessions()).toEqual([[77, 3000]]);
    tree.applyTxn(log[1]!);
    expect(tree.ephemeralsOf(77)).toEqual(['/e']);
    tree.applyTxn(log[2]!);
    expect(tree.hasSession(77)).toBe(false);
    expect(tree.stat('/e')).toBeNull();
  });
});

describe('DataTree reads', () => {
  it('getData, exists, getChildren (sorted names), check, multiRead; NO_NODE and INVALID_PATH', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a', 'A'));
    leader.write(s, create('/a/z'));
    leader.write(s, create('/a/b'));
    const tree = leader.tree;
    const got = tree.getData('/a');
    expect(got.op === 'getData' && text(got.data)).toBe('A');
    expect(tree.getData('/nope')).toEqual({ op: 'error', code: 'NO_NODE' });
    expect(tree.getData('nope')).toEqual({ op: 'error', code: 'INVALID_PATH' });
    expect(tree.exists('/nope')).toEqual({ op: 'exists', stat: null });
    expect(tree.exists('/a')).toMatchObject({ stat: { numChildren: 2, dataLength: 1 } });
    expect(tree.getChildren('/a')).toMatchObject({ children: ['b', 'z'] });
    expect(tree.getChildren('/nope')).toEqual({ op: 'error', code: 'NO_NODE' });
    expect(tree.check('/a', 0)).toEqual({ op: 'check' });
    expect(tree.check('/a', 1)).toEqual({ op: 'error', code: 'BAD_VERSION' });
    const multi = tree.multiRead(
      [
        { op: 'getData', path: '/a', watch: false },
        { op: 'getChildren', path: '/nope', watch: false },
        { op: 'getChildren', path: '/a', watch: false },
      ],
      s,
    );
    expect(multi.results.map((r) => r.op)).toEqual(['getData', 'error', 'getChildren']);
  });

  it('processLocal answers reads with error codes in the Reply shape', () => {
    const leader = new Leader();
    const s = leader.session();
    expect(leader.tree.processLocal(s, { op: 'getData', path: '/x', watch: false })).toEqual({
      error: 'NO_NODE',
      result: null,
      watches: [],
    });
    expect(leader.tree.processLocal(s, { op: 'exists', path: '/zookeeper', watch: false }).result).toMatchObject({
      op: 'exists',
    });
  });
});

describe('DataTree: containers and TTL znodes', () => {
  it('a container that had children and lost the last one is listed; one never used is not (ZooKeeper ContainerManager)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/c', '', 4));
    leader.write(s, create('/unused', '', 4));
    expect(leader.tree.emptyContainers()).toEqual([]);
    leader.write(s, create('/c/x'));
    expect(leader.tree.emptyContainers()).toEqual([]);
    leader.write(s, remove('/c/x'));
    expect(leader.tree.emptyContainers()).toEqual(['/c']);
    const txn = leader.pipeline.prepareExpiredNodeDelete('/c', leader.timeMs);
    expect(txn).toEqual({ type: 'delete', path: '/c' });
    leader.apply(leader.record(0, 0, txn!));
    expect(leader.tree.stat('/c')).toBeNull();
    expect(leader.tree.expiredNodes(leader.timeMs)).toEqual([]);
  });

  it('a childless TTL znode not modified for longer than its TTL is listed; setData renews it', () => {
    const leader = new Leader();
    const s = leader.session();
    const t0 = leader.timeMs;
    leader.write(s, create('/t', '', 5, 1000));
    expect(leader.tree.expiredTtlNodes(t0 + 1000)).toEqual([]);
    expect(leader.tree.expiredTtlNodes(t0 + 1001)).toEqual(['/t']);
    leader.timeMs = t0 + 900;
    leader.write(s, setData('/t', 'again'));
    expect(leader.tree.expiredNodes(t0 + 1001)).toEqual([]);
    leader.write(s, create('/t/child'));
    expect(leader.tree.expiredNodes(t0 + 5000)).toEqual([]);
    // the pipeline re-checks against outstanding changes: a pending child keeps it
    leader.write(s, remove('/t/child'));
    leader.propose(s, create('/t/late'));
    expect(leader.pipeline.prepareExpiredNodeDelete('/t', t0 + 5000)).toBeNull();
  });
});

describe('DataTree snapshots', () => {
  it('yields parents before children, then sessions, and rebuilds an equal tree', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a', 'A'));
    leader.write(s, create('/a/b', 'B', 1));
    leader.write(s, create('/c', '', 4));
    leader.write(s, create('/t', '', 5, 60_000));
    leader.write(s, setData('/a', 'A2'));
    const recs = records(leader.tree);
    const paths = recs.flatMap((r) => (r.kind === 'node' ? [r.path] : []));
    expect(paths[0]).toBe('/');
    for (const path of paths.slice(1)) {
      const parent = path.slice(0, path.lastIndexOf('/')) || '/';
      expect(paths.indexOf(parent)).toBeLessThan(paths.indexOf(path));
    }
    expect(recs.at(-1)).toEqual({ kind: 'session', sessionId: s, timeoutMs: 2000, password: testPassword(s) });
    const copy = DataTree.fromSnapshot(leader.tree.snapshotHeader(0), recs);
    expect(copy.lastProcessedZxid).toBe(leader.tree.lastProcessedZxid);
    expect(records(copy).sort(byKey)).toEqual(recs.sort(byKey));
    expect(copy.ephemeralsOf(s)).toEqual(['/a/b']);
    expect(copy.emptyContainers()).toEqual([]);
    expect(copy.expiredTtlNodes(leader.timeMs + 60_001)).toEqual(['/t']);
  });

  it('refuses a record before its parent and a snapshot without root', () => {
    const tree = new DataTree();
    const recs = records(tree);
    const child: SnapshotRecord = { ...(recs[1] as SnapshotRecord & { kind: 'node' }), path: '/x/y' };
    expect(() => DataTree.fromSnapshot({ zxid: 0, timeMs: 0 }, [recs[0]!, child])).toThrow(/before its parent/);
    expect(() => DataTree.fromSnapshot({ zxid: 0, timeMs: 0 }, [])).toThrow(/no root/);
    const twice: SnapshotRecord = { ...(recs[1] as SnapshotRecord & { kind: 'node' }), path: '/x' };
    expect(() => DataTree.fromSnapshot({ zxid: 0, timeMs: 0 }, [recs[0]!, twice, twice])).toThrow(/holds \/x twice/);
    expect(() => DataTree.fromSnapshot({ zxid: 0, timeMs: 0 }, [recs[0]!, recs[0]!])).toThrow(/holds \/ twice/);
  });

  it('a fuzzy snapshot (records read while txns apply) plus replay converges to the live tree', () => {
    const leader = new Leader();
    const s = leader.session();
    for (let i = 0; i < 5; i++) leader.write(s, create(`/n${i}`, `${i}`));
    const header = leader.tree.snapshotHeader(0);
    const from = leader.log.length;
    const iterator = leader.tree.snapshotRecords();
    const fuzzy: SnapshotRecord[] = [];
    const mutations = [
      () => leader.write(s, create('/n0/child', 'c')),
      () => leader.write(s, remove('/n1')),
      () => leader.write(s, create('/n1', 'again')),
      () => leader.write(s, setData('/n2', 'x')),
      () => leader.write(s, create('/n9', '', 2)),
      () => leader.write(s, remove('/n0/child')),
    ];
    for (let step = 0; ; step++) {
      const next = iterator.next();
      if (next.done) break;
      fuzzy.push(next.value);
      mutations[step]?.();
    }
    const restored = DataTree.fromSnapshot(header, fuzzy);
    for (const entry of leader.log.slice(from - 0)) if (entry.zxid > header.zxid) restored.applyTxn(entry);
    expect(records(restored).sort(byKey)).toEqual(records(leader.tree).sort(byKey));
  });
});

describe('DataTree watches', () => {
  it('one-shot data watch: NodeDataChanged once, then gone (ZooKeeper one-shot semantics)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    leader.tree.getData('/a', s);
    const first = leader.write(s, setData('/a', '1'));
    expect(first.watches).toEqual([
      {
        event: { type: WatchEventType.NODE_DATA_CHANGED, path: '/a', zxid: first.entry.zxid },
        sessionIds: new Set([s]),
      },
    ]);
    expect(leader.write(s, setData('/a', '2')).watches).toEqual([]);
  });

  it('exists watch on a missing path fires NodeCreated; child watch fires NodeChildrenChanged on the parent', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.tree.exists('/a', s);
    leader.tree.getChildren('/', s);
    const created = leader.write(s, create('/a'));
    expect(created.watches.map((w) => [w.event.type, w.event.path])).toEqual([
      [WatchEventType.NODE_CREATED, '/a'],
      [WatchEventType.NODE_CHILDREN_CHANGED, '/'],
    ]);
  });

  it('delete fires NodeDeleted to data and child watches of the path, NodeChildrenChanged to the parent', () => {
    const leader = new Leader();
    const s = leader.session();
    const t = leader.session();
    leader.write(s, create('/p'));
    leader.write(s, create('/p/c'));
    leader.tree.getData('/p/c', s);
    leader.tree.getChildren('/p/c', t);
    leader.tree.getChildren('/p', t);
    const deleted = leader.write(s, remove('/p/c'));
    expect(deleted.watches.map((w) => [w.event.type, w.event.path, [...w.sessionIds]])).toEqual([
      [WatchEventType.NODE_DELETED, '/p/c', [s, t]],
      [WatchEventType.NODE_CHILDREN_CHANGED, '/p', [t]],
    ]);
    expect(leader.tree.watchManager.watchCount).toBe(0);
  });

  it('getData on a missing node leaves no watch (ZooKeeper: NoNode sets no data watch)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.tree.getData('/a', s);
    leader.tree.getChildren('/a', s);
    expect(leader.tree.watchManager.watchCount).toBe(0);
  });

  it('persistent watch: fires for data, children, delete, create of its path, and stays', () => {
    const leader = new Leader();
    const s = leader.session();
    expect(leader.tree.addWatch(s, '/a', 0)).toEqual({ op: 'addWatch' });
    const types = [
      leader.write(s, create('/a')),
      leader.write(s, setData('/a', 'x')),
      leader.write(s, create('/a/c')),
      leader.write(s, setData('/a/c', 'x')),
      leader.write(s, remove('/a/c')),
      leader.write(s, remove('/a')),
    ].map((r) => r.watches.map((w) => w.event.type));
    expect(types).toEqual([
      [WatchEventType.NODE_CREATED],
      [WatchEventType.NODE_DATA_CHANGED],
      [WatchEventType.NODE_CHILDREN_CHANGED],
      [],
      [WatchEventType.NODE_CHILDREN_CHANGED],
      [WatchEventType.NODE_DELETED],
    ]);
  });

  it('persistent-recursive watch: the whole subtree, never NodeChildrenChanged (ZooKeeper addWatch)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.tree.addWatch(s, '/a', 1);
    leader.write(s, create('/a'));
    const deep = [
      leader.write(s, create('/a/b')),
      leader.write(s, create('/a/b/c')),
      leader.write(s, setData('/a/b/c', 'v')),
    ];
    expect(deep.map((r) => r.watches.map((w) => [w.event.type, w.event.path]))).toEqual([
      [[WatchEventType.NODE_CREATED, '/a/b']],
      [[WatchEventType.NODE_CREATED, '/a/b/c']],
      [[WatchEventType.NODE_DATA_CHANGED, '/a/b/c']],
    ]);
    expect(leader.write(s, create('/ab')).watches).toEqual([]);
  });

  it('a session watching one path several ways gets one event', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    leader.tree.getData('/a', s);
    leader.tree.addWatch(s, '/a', 0);
    leader.tree.addWatch(s, '/', 1);
    const { watches } = leader.write(s, setData('/a', 'x'));
    expect(watches).toHaveLength(1);
    expect([...watches[0]!.sessionIds]).toEqual([s]);
  });

  it('10,000 sessions on one path: one trigger sharing one set, no per-session copy', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/hot'));
    for (let id = 1; id <= 10_000; id++) leader.tree.addWatch(id, '/hot', 0);
    const a = leader.write(s, setData('/hot', '1')).watches;
    const b = leader.write(s, setData('/hot', '2')).watches;
    expect(a).toHaveLength(1);
    expect(a[0]!.sessionIds.size).toBe(10_000);
    expect(b[0]!.sessionIds).toBe(a[0]!.sessionIds);
    // a change to the watch set after a trigger copies it: the handed-out set stays as delivered
    leader.tree.removeWatches(1, '/hot', 4);
    expect(a[0]!.sessionIds.size).toBe(10_000);
    expect(leader.write(s, setData('/hot', '3')).watches[0]!.sessionIds.size).toBe(9_999);
  });

  it('removeWatches by type; NO_WATCHER when none (ZooKeeper removeWatches)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/a'));
    leader.tree.getData('/a', s);
    leader.tree.getChildren('/a', s);
    leader.tree.addWatch(s, '/a', 1);
    expect(leader.tree.removeWatches(s, '/a', 1)).toEqual({ op: 'removeWatches' });
    expect(leader.tree.removeWatches(s, '/a', 1)).toEqual({ op: 'error', code: 'NO_WATCHER' });
    expect(leader.tree.removeWatches(s, '/a', 4)).toEqual({ op: 'error', code: 'NO_WATCHER' });
    expect(leader.tree.removeWatches(s, '/a', 3)).toEqual({ op: 'removeWatches' });
    expect(leader.tree.watchManager.watchCount).toBe(0);
    expect(leader.tree.removeWatches(s, 'bad', 3)).toEqual({ op: 'error', code: 'INVALID_PATH' });
  });

  it('closeSession: ephemerals deleted in one txn fire other sessions watches; the closed session loses its own', () => {
    const leader = new Leader();
    const owner = leader.session();
    const observer = leader.session();
    leader.write(owner, create('/svc'));
    leader.write(owner, create('/svc/a', '', 1));
    leader.write(owner, create('/svc/b', '', 1));
    leader.tree.getChildren('/svc', observer);
    leader.tree.getData('/svc/a', owner);
    const { watches } = leader.close(owner);
    expect(watches.map((w) => [w.event.type, w.event.path, [...w.sessionIds]])).toEqual([
      [WatchEventType.NODE_CHILDREN_CHANGED, '/svc', [observer]],
    ]);
    expect(leader.tree.watchManager.pathsOf(owner, 0)).toEqual([]);
  });

  it('setWatches fires what changed after relativeZxid and re-registers the rest (ZooKeeper SetWatches)', () => {
    const leader = new Leader();
    const s = leader.session();
    leader.write(s, create('/same'));
    leader.write(s, create('/changed'));
    leader.write(s, create('/gone'));
    leader.write(s, create('/kids'));
    const seen = leader.tree.lastProcessedZxid;
    leader.write(s, setData('/changed', 'x'));
    leader.write(s, remove('/gone'));
    leader.write(s, create('/kids/k'));
    leader.write(s, create('/born'));
    const outcome = leader.tree.processLocal(s, {
      op: 'setWatches',
      relativeZxid: seen,
      dataWatches: ['/same', '/changed', '/gone'],
      existWatches: ['/born', '/unborn'],
      childWatches: ['/kids', '/same'],
      persistentWatches: ['/p'],
      persistentRecursiveWatches: ['/r'],
    });
    expect(outcome.result).toEqual({ op: 'setWatches' });
    expect(outcome.watches.map((w) => [w.event.type, w.event.path])).toEqual([
      [WatchEventType.NODE_DATA_CHANGED, '/changed'],
      [WatchEventType.NODE_DELETED, '/gone'],
      [WatchEventType.NODE_CREATED, '/born'],
      [WatchEventType.NODE_CHILDREN_CHANGED, '/kids'],
    ]);
    const wm = leader.tree.watchManager;
    expect(wm.pathsOf(s, 0)).toEqual(['/same', '/unborn']);
    expect(wm.pathsOf(s, 1)).toEqual(['/same']);
    expect(wm.pathsOf(s, 2)).toEqual(['/p']);
    expect(wm.pathsOf(s, 3)).toEqual(['/r']);
  });
});

function byKey(a: SnapshotRecord, b: SnapshotRecord): number {
  const key = (r: SnapshotRecord) =>
    r.kind === 'node' ? `n${r.path}` : r.kind === 'session' ? `s${r.sessionId}` : `c${r.version}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}
