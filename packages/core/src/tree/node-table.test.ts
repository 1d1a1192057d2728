import { describe, expect, it } from 'vitest';
import { CVERSION, EMPTY_DATA, F_ROW, NodeTable, NUM_CHILDREN, PZXID, ROW } from './node-table.js';

const fields = { data: EMPTY_DATA, zxid: 5, timeMs: 9, ephemeralOwner: 0, container: false, ttlMs: 0, aclRef: 0 };

describe('NodeTable', () => {
  it('keeps children as a linked list through inserts, removes, slot reuse and growth', () => {
    const table = new NodeTable(8);
    const root = table.insert('/', -1, fields);
    const slots = Array.from({ length: 100 }, (_, i) => table.insert(`/n${i}`, root, fields));
    expect(table.i[root * ROW + NUM_CHILDREN]).toBe(100);
    for (const slot of slots.filter((_, i) => i % 2 === 0)) table.remove(slot);
    expect(table.size).toBe(51);
    const names = table.childSlots(root).map((slot) => table.pathOf(slot));
    expect(names.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `/n${2 * i + 1}`).sort());
    const reused = table.insert('/again', root, fields);
    expect(slots).toContain(reused);
    expect(table.f[reused * F_ROW + PZXID]).toBe(5);
    expect(table.i[reused * ROW + CVERSION]).toBe(0);
    expect(table.slotOf('/n0')).toBe(-1);
    expect(table.slotOf('/again')).toBe(reused);
  });

  it('keeps paths as bytes: names, a slot that no longer holds a path, and non-ASCII paths', () => {
    const table = new NodeTable(8);
    const root = table.insert('/', -1, fields);
    const a = table.insert('/a', root, fields);
    const accented = table.insert('/a/é€\u{1F600}', a, fields);
    expect(table.pathOf(accented)).toBe('/a/é€\u{1F600}');
    expect(table.nameOf(accented)).toBe('é€\u{1F600}');
    expect(table.nameOf(root)).toBe('');
    expect(table.slotOf('/a/é€\u{1F600}')).toBe(accented);
    expect(table.holdsPath(accented, '/a/é€\u{1F600}')).toBe(true);
    expect(table.holdsPath(accented, '/a/e')).toBe(false);
    expect(table.holdsPath(a, '/b')).toBe(false);
    table.remove(accented);
    expect(table.holdsPath(accented, '/a/é€\u{1F600}')).toBe(false);
    // The slot is reused for another znode: it holds that one's path, not the old one's.
    const reused = table.insert('/a/x', a, fields);
    expect(reused).toBe(accented);
    expect(table.holdsPath(reused, '/a/x')).toBe(true);
    expect(table.slotOf('/a/é€\u{1F600}')).toBe(-1);
    expect(table.holdsPath(10_000, '/a')).toBe(false);
    // Regression: '/é' is the bytes 2F C3 A9, which '/Ã©' matches character for byte.
    const e = table.insert('/é', root, fields);
    expect(table.holdsPath(e, '/Ã©')).toBe(false);
    expect(table.holdsPath(e, '/é')).toBe(true);
  });

  it('refuses to insert an existing path or remove a znode with children', () => {
    const table = new NodeTable();
    const root = table.insert('/', -1, fields);
    table.insert('/a', root, fields);
    expect(() => table.insert('/a', root, fields)).toThrow(/exists/);
    expect(() => table.remove(root)).toThrow(/has children/);
  });
});
