import { describe, expect, it } from 'vitest';
import { createPrng } from '../prng.js';
import { encodePath } from './path-bytes.js';
import { PathIndex } from './path-index.js';
import { ValueStore } from './value-store.js';

/** indexOver is a PathIndex over path bytes kept in a ValueStore, as the node table keeps them. */
function indexOver(slots: number) {
  const stored = new ValueStore(slots);
  const index = new PathIndex(stored, slots);
  return {
    index,
    get: (path: string) => {
      const { bytes, length } = encodePath(path);
      return index.get(bytes, 0, length);
    },
    add: (path: string, slot: number) => {
      const { bytes, length } = encodePath(path);
      if (!index.add(slot, bytes, 0, length)) return false;
      stored.setBytes(slot, bytes, 0, length);
      return true;
    },
    remove: (slot: number) => {
      index.remove(slot);
      stored.clear(slot);
    },
  };
}

describe('PathIndex', () => {
  it('finds every path a Map finds, through adds, removes (backward shift) and growth', () => {
    const prng = createPrng(11);
    const slots = 3000;
    const { index, get, add, remove } = indexOver(slots);
    const model = new Map<string, number>();
    const free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
    // Few distinct names, so runs of the table collide and removals shift entries back; some
    // non-ASCII, so their UTF-8 bytes are what is hashed and compared.
    const name = () => (prng.int(4) === 0 ? `/é/${prng.int(5000)}` : `/p/${prng.int(5000)}`);
    for (let step = 0; step < 60_000; step++) {
      const path = name();
      const known = model.get(path);
      if (known === undefined && free.length > 0 && prng.int(3) !== 0) {
        const slot = free.pop()!;
        expect(add(path, slot)).toBe(true);
        model.set(path, slot);
      } else if (known !== undefined) {
        if (prng.int(2) === 0) {
          expect(add(path, known)).toBe(false);
          continue;
        }
        remove(known);
        model.delete(path);
        free.push(known);
      }
      if (step % 5000 === 0) {
        for (let i = 0; i < 5000; i++) expect(get(`/p/${i}`)).toBe(model.get(`/p/${i}`) ?? -1);
        for (let i = 0; i < 5000; i++) expect(get(`/é/${i}`)).toBe(model.get(`/é/${i}`) ?? -1);
      }
    }
    expect(index.size).toBe(model.size);
    for (let i = 0; i < 5000; i++) expect(get(`/p/${i}`)).toBe(model.get(`/p/${i}`) ?? -1);
  });

  it('holds a reserved count without growing, and refuses to remove a path it does not hold', () => {
    const { index, get, add, remove } = indexOver(100);
    index.reserve(100);
    for (let slot = 0; slot < 100; slot++) add(`/n${slot}`, slot);
    for (let slot = 0; slot < 100; slot++) expect(get(`/n${slot}`)).toBe(slot);
    expect(get('/n100')).toBe(-1);
    remove(5);
    expect(get('/n5')).toBe(-1);
    expect(() => index.remove(5)).toThrow(/not indexed/);
    for (let slot = 0; slot < 100; slot++) if (slot !== 5) expect(get(`/n${slot}`)).toBe(slot);
  });
});
