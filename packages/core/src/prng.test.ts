import { describe, expect, it } from 'vitest';
import { createPrng } from './prng.js';

describe('createPrng', () => {
  it('replays the same sequence for the same seed', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    for (let i = 0; i < 1000; i++) expect(a.next()).toBe(b.next());
  });

  it('gives different sequences for different seeds, in [0, 1)', () => {
    const a = createPrng(1);
    const b = createPrng(2);
    let same = 0;
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      if (x === b.next()) same++;
    }
    expect(same).toBeLessThan(5);
  });

  it('draws integers roughly uniformly below the bound', () => {
    const prng = createPrng(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[prng.int(10)]++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(600);
  });
});
