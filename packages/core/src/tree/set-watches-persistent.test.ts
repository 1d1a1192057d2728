import { describe, expect, it } from 'vitest';
import { WatchEventType } from '../types.js';
import { create, Leader, remove, setData } from './test/harness.js';

// zabkit's extension of SetWatches: persistent watches re-registered after a reconnect also get
// what they missed since relativeZxid (ZooKeeper replays only one-shot watches).

function setup() {
  const leader = new Leader();
  const session = leader.session();
  leader.write(session, create('/a'));
  const b = leader.write(session, create('/a/b', 'one'));
  return { leader, session, relativeZxid: b.entry.zxid };
}

describe('setWatches replays what persistent watches missed', () => {
  it('a recursive watch gets the creations and data changes of its subtree since relativeZxid, in zxid order', () => {
    const { leader, session, relativeZxid } = setup();
    const changed = leader.write(session, setData('/a/b', 'two')).entry.zxid;
    const created = leader.write(session, create('/a/b/c')).entry.zxid;
    leader.write(session, create('/elsewhere'));
    const out = leader.tree.setWatches(session, {
      op: 'setWatches',
      relativeZxid,
      dataWatches: [],
      existWatches: [],
      childWatches: [],
      persistentWatches: [],
      persistentRecursiveWatches: ['/a'],
    });
    expect(out.map((t) => t.event)).toEqual([
      { type: WatchEventType.NODE_DATA_CHANGED, path: '/a/b', zxid: changed },
      { type: WatchEventType.NODE_CREATED, path: '/a/b/c', zxid: created },
    ]);
    // And it stays registered: the next change fires through it.
    const next = leader.write(session, setData('/a/b/c', 'x'));
    expect(next.watches.map((t) => t.event.path)).toEqual(['/a/b/c']);
  });

  it('a plain persistent watch gets its own node changes and a child change, nothing below', () => {
    const { leader, session, relativeZxid } = setup();
    const child = leader.write(session, create('/a/c')).entry.zxid;
    leader.write(session, setData('/a/b', 'deeper'));
    const out = leader.tree.setWatches(session, {
      op: 'setWatches',
      relativeZxid,
      dataWatches: [],
      existWatches: [],
      childWatches: [],
      persistentWatches: ['/a'],
      persistentRecursiveWatches: [],
    });
    expect(out.map((t) => t.event)).toEqual([{ type: WatchEventType.NODE_CHILDREN_CHANGED, path: '/a', zxid: child }]);
  });

  it('deletions are not replayed (no tombstones), and an unchanged path gets nothing', () => {
    const { leader, session, relativeZxid } = setup();
    leader.write(session, remove('/a/b'));
    const request = {
      op: 'setWatches' as const,
      relativeZxid,
      dataWatches: [],
      existWatches: [],
      childWatches: [],
      persistentRecursiveWatches: [],
    };
    // /a/b is gone and /never never existed: the tree cannot tell which was deleted, so neither fires.
    expect(leader.tree.setWatches(session, { ...request, persistentWatches: ['/a/b', '/never'] })).toEqual([]);
    const later = leader.write(session, create('/z')).entry.zxid;
    expect(leader.tree.setWatches(session, { ...request, relativeZxid: later, persistentWatches: ['/a'] })).toEqual([]);
  });
});
