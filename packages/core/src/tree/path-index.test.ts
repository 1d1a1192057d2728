import { describe, expect, it } from 'vitest';
import { createPrng } from '../prng.js';
import { PathIndex } from './path-index.js';

describe('PathIndex', () => {
  it('finds every path a Map finds, through adds, removes (backward shift) and growth', () => {
    const prng = createPrng(11);
    const slots = 3000;
    const paths: (string | undefined)[] = [];
    const index = new PathIndex(paths, slots);
    const model = new Map<string, number>();
    const free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
    // Few distinct names, so runs of the table collide and removals shift entries back.
    const name = () => `/p/${prng.int(5000)}`;
    for (let step = 0; step < 60_000; step++) {
      const path = name();
      const known = model.get(path);
      if (known === undefined && free.length > 0 && prng.int(3) !== 0) {
        const slot = free.pop()!;
        paths[slot] = path;
        expect(index.add(path, slot)).toBe(true);
        model.set(path, slot);
      } else if (known !== undefined) {
        if (prng.int(2) === 0) {
          expect(index.add(path, known)).toBe(false);
          continue;
        }
        index.remove(path, known);
        paths[known] = undefined;
        model.delete(path);
        free.push(known);
      }
      if (step % 5000 === 0) {
        for (let i = 0; i < 5000; i++) expect(index.get(`/p/${i}`)).toBe(model.get(`/p/${i}`) ?? -1);
      }
    }
    expect(index.size).toBe(model.size);
    for (let i = 0; i < 5000; i++) expect(index.get(`/p/${i}`)).toBe(model.get(`/p/${i}`) ?? -1);
  });

  it('holds a reserved count without growing, and refuses to remove a path it does not hold', () => {
    const paths: (string | undefined)[] = [];
    const index = new PathIndex(paths, 100);
    index.reserve(100);
    for (let slot = 0; slot < 100; slot++) {
      paths[slot] = `/n${slot}`;
      index.add(`/n${slot}`, slot);
    }
    for (let slot = 0; slot < 100; slot++) expect(index.get(`/n${slot}`)).toBe(slot);
    expect(index.get('/n100')).toBe(-1);
    index.remove('/n5', 5);
    expect(index.get('/n5')).toBe(-1);
    expect(() => index.remove('/n5', 5)).toThrow(/not indexed/);
    for (let slot = 0; slot < 100; slot++) if (slot !== 5) expect(index.get(`/n${slot}`)).toBe(slot);
  });
});
