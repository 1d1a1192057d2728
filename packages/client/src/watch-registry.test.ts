import { WatchEventType } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatchRegistry } from './watch-registry.js';

const event = (type: number, path: string) => ({ type: type as 1, path, zxid: 7 });

describe('WatchRegistry', () => {
  it('fires one-shot watches once and persistent ones every time', () => {
    const registry = new WatchRegistry();
    const seen: string[] = [];
    const once = () => seen.push('once');
    const always = () => seen.push('always');
    registry.add('data', '/a', once);
    registry.add('persistent', '/a', always);
    for (const listener of registry.materialize(event(WatchEventType.NODE_DATA_CHANGED, '/a')))
      listener(event(3, '/a'));
    for (const listener of registry.materialize(event(WatchEventType.NODE_DATA_CHANGED, '/a')))
      listener(event(3, '/a'));
    expect(seen).toEqual(['once', 'always', 'always']);
    expect(registry.has('data', '/a')).toBe(false);
  });

  it('routes each event type to the tables ZooKeeper routes it to', () => {
    const registry = new WatchRegistry();
    const hits = (type: number, path: string) => registry.materialize(event(type, path)).size;
    const listener = () => {};
    registry.add('exist', '/x', listener);
    expect(hits(WatchEventType.NODE_CHILDREN_CHANGED, '/x')).toBe(0);
    expect(hits(WatchEventType.NODE_CREATED, '/x')).toBe(1);
    registry.add('child', '/x', listener);
    expect(hits(WatchEventType.NODE_DATA_CHANGED, '/x')).toBe(0);
    expect(hits(WatchEventType.NODE_DELETED, '/x')).toBe(1);
    expect(registry.size).toBe(0);
  });

  it('recursive watches cover the subtree but never children-changed', () => {
    const registry = new WatchRegistry();
    const listener = () => {};
    registry.add('persistentRecursive', '/a', listener);
    expect(registry.materialize(event(WatchEventType.NODE_CREATED, '/a/b/c')).size).toBe(1);
    expect(registry.materialize(event(WatchEventType.NODE_CREATED, '/ab')).size).toBe(0);
    expect(registry.materialize(event(WatchEventType.NODE_CHILDREN_CHANGED, '/a')).size).toBe(0);
    registry.add('persistentRecursive', '/', listener);
    expect(registry.materialize(event(WatchEventType.NODE_DELETED, '/q')).size).toBe(1);
  });

  it('remove reports when the last listener of a kind on a path is gone', () => {
    const registry = new WatchRegistry();
    const a = () => {};
    const b = () => {};
    registry.add('persistent', '/p', a);
    registry.add('persistent', '/p', b);
    expect(registry.remove('persistent', '/p', a)).toBe(false);
    expect(registry.remove('persistent', '/p', a)).toBe(false);
    expect(registry.remove('persistent', '/p', b)).toBe(true);
  });

  it('setWatches batches stay under the byte limit and carry every watch once', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('data', 'exist', 'child', 'persistent', 'persistentRecursive'),
            fc.stringMatching(/^\/[a-z]{1,40}$/),
          ),
          {
            maxLength: 200,
          },
        ),
        fc.integer({ min: 16, max: 400 }),
        (entries, limit) => {
          const registry = new WatchRegistry();
          const expected = new Set<string>();
          for (const [kind, path] of entries) {
            registry.add(kind as 'data', path, () => {});
            expected.add(`${kind}:${path}`);
          }
          const batches = registry.setWatchesBatches(42, limit);
          const got: string[] = [];
          for (const batch of batches) {
            expect(batch.relativeZxid).toBe(42);
            const lists = {
              data: batch.dataWatches,
              exist: batch.existWatches,
              child: batch.childWatches,
              persistent: batch.persistentWatches,
              persistentRecursive: batch.persistentRecursiveWatches,
            };
            let bytes = 0;
            let count = 0;
            for (const [kind, paths] of Object.entries(lists)) {
              for (const path of paths) {
                got.push(`${kind}:${path}`);
                bytes += Buffer.byteLength(path) + 8;
                count++;
              }
            }
            expect(count).toBeGreaterThan(0);
            if (count > 1) expect(bytes).toBeLessThanOrEqual(limit);
          }
          expect(got.sort()).toEqual([...expected].sort());
        },
      ),
    );
  });
});
