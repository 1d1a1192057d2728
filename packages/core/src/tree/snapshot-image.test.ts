import { describe, expect, it } from 'vitest';
import { type ACL, CreateMode, OPEN_ACL_UNSAFE, Perms, type SnapshotRecord } from '../types.js';
import { DataTree } from './data-tree.js';
import { encodePath } from './path-bytes.js';
import { SnapshotImage } from './snapshot-image.js';
import { bytes, create, Leader, setData } from './test/harness.js';

/** imageOf feeds records to a SnapshotImage as a snapshot decoder does: node data as a range of a larger buffer. */
function imageOf(records: readonly SnapshotRecord[], slotsHint = records.length): SnapshotImage {
  const image = new SnapshotImage(slotsHint);
  for (const record of records) {
    if (record.kind !== 'node') {
      image.record(record);
      continue;
    }
    const source = new Uint8Array(record.data.length + 3);
    source.set(record.data, 2);
    const { kind: _kind, data: _data, path, ...fields } = record;
    // The path too as a range of a larger buffer, UTF-8 (a decoder's reused path buffer).
    const { bytes: encoded, length } = encodePath(path);
    const pathSource = new Uint8Array(length + 5);
    pathSource.set(encoded.subarray(0, length), 4);
    image.node({
      ...fields,
      source,
      dataStart: 2,
      dataLength: record.data.length,
      pathSource,
      pathStart: 4,
      pathLength: length,
    });
  }
  return image;
}

const byKey = (a: SnapshotRecord, b: SnapshotRecord): number =>
  JSON.stringify(a, (_key, value) => (value instanceof Uint8Array ? [...value] : value)) <
  JSON.stringify(b, (_key, value) => (value instanceof Uint8Array ? [...value] : value))
    ? -1
    : 1;

function busyLeader(): { leader: Leader; session: number } {
  const leader = new Leader();
  const session = leader.session();
  const locked: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'u:x' } }];
  leader.write(session, create('/a', 'A'));
  leader.write(session, create('/a/b', 'B', CreateMode.EPHEMERAL));
  leader.write(session, create('/c', '', CreateMode.CONTAINER));
  leader.write(session, create('/t', 'ttl', CreateMode.PERSISTENT_WITH_TTL, 60_000));
  leader.write(session, { ...create('/locked', 'L'), acl: locked });
  leader.write(session, { ...create('/big', ''), data: new Uint8Array(20_000).fill(3) });
  leader.write(session, setData('/a', 'A2'));
  return { leader, session };
}

describe('SnapshotImage', () => {
  it('iterates the records it was fed, in their order, sessions and config where they came', () => {
    const { leader } = busyLeader();
    const records = [...leader.tree.snapshotRecords()];
    const config: SnapshotRecord = { kind: 'config', version: 7, members: [] };
    const mixed = [config, ...records.slice(0, 3), records.at(-1)!, ...records.slice(3, -1)];
    const image = imageOf(mixed);
    expect(image.length).toBe(mixed.length);
    expect([...image]).toEqual(mixed);
    expect([...image]).toEqual(mixed);
    expect(image.config()).toEqual(config);
  });

  it('a tree adopting an image equals one built from the records, and the image is the tree’s then', () => {
    const { leader, session } = busyLeader();
    const header = leader.tree.snapshotHeader(0);
    const records = [...leader.tree.snapshotRecords()];
    const image = imageOf(records);
    const adopted = DataTree.fromSnapshot(header, image, records.length + 10);
    const copied = DataTree.fromSnapshot(header, records);
    expect([...adopted.snapshotRecords()].sort(byKey)).toEqual([...copied.snapshotRecords()].sort(byKey));
    expect(adopted.nodeCount).toBe(copied.nodeCount);
    expect(adopted.lastProcessedZxid).toBe(leader.tree.lastProcessedZxid);
    expect(adopted.ephemeralsOf(session)).toEqual(['/a/b']);
    expect(adopted.expiredTtlNodes(leader.timeMs + 60_001)).toEqual(['/t']);
    expect(adopted.getChildren('/')).toMatchObject({ stat: { numChildren: copied.stat('/')!.numChildren } });
    expect(() => [...image]).toThrow(/adopted/);
    // The adopted tree keeps working: new znodes go into the same table.
    const next = leader.tree.lastProcessedZxid + 1;
    const result = adopted.applyTxn({
      zxid: next,
      sessionId: session,
      cxid: 1,
      timeMs: 5,
      txn: {
        type: 'create',
        path: '/a/new',
        data: bytes('n'),
        ephemeralOwner: 0,
        container: false,
        ttlMs: 0,
        parentCversion: copied.stat('/a')!.cversion + 1,
        acl: OPEN_ACL_UNSAFE,
      },
    });
    expect(result.error).toBeNull();
    expect(adopted.getChildren('/a')).toMatchObject({ children: expect.arrayContaining(['b', 'new']) });
  });

  it('a snapshot without /zookeeper gets a fresh one, as from records', () => {
    const records = [...new DataTree().snapshotRecords()].filter(
      (record) => record.kind !== 'node' || record.path !== '/zookeeper',
    );
    const adopted = DataTree.fromSnapshot({ zxid: 3, timeMs: 0 }, imageOf(records));
    expect(adopted.nodeCount).toBe(2);
    expect(adopted.getChildren('/')).toMatchObject({ children: ['zookeeper'] });
  });

  it('refuses what fromSnapshot refuses from records: a child before its parent, no root, a path twice', () => {
    const recs = [...new DataTree().snapshotRecords()];
    const root = recs[0]!;
    const node = recs[1] as SnapshotRecord & { kind: 'node' };
    const header = { zxid: 0, timeMs: 0 };
    expect(() => DataTree.fromSnapshot(header, imageOf([root, { ...node, path: '/x/y' }]))).toThrow(
      /before its parent/,
    );
    expect(() => DataTree.fromSnapshot(header, imageOf([{ ...node, path: '/zookeeper/q' }]))).toThrow(
      /before its parent/,
    );
    expect(() => DataTree.fromSnapshot(header, imageOf([]))).toThrow(/no root/);
    const twice: SnapshotRecord = { ...node, path: '/x' };
    expect(() => DataTree.fromSnapshot(header, imageOf([root, twice, twice]))).toThrow(/holds \/x twice/);
    expect(() => DataTree.fromSnapshot(header, imageOf([root, root]))).toThrow(/holds \/ twice/);
    expect(() => DataTree.fromSnapshot(header, imageOf([root, node, node]))).toThrow(/holds \/zookeeper twice/);
    expect(() => DataTree.fromSnapshot(header, imageOf([root, { ...node, path: 'bad' }]))).toThrow(/invalid path/);
  });

  it('is told apart by isInstance, not by shape', () => {
    expect(SnapshotImage.isInstance(new SnapshotImage())).toBe(true);
    expect(SnapshotImage.isInstance([])).toBe(false);
    expect(SnapshotImage.isInstance({ length: 0, config: () => null })).toBe(false);
  });
});
