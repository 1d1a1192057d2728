import { describe, expect, it } from 'vitest';
import { PartialFrameBudget } from './partial-frame-budget.js';

describe('PartialFrameBudget', () => {
  it('reserves up to its bound and no further, taking nothing on a refusal', () => {
    const budget = new PartialFrameBudget(1_000);
    expect(budget.tryReserve(600)).toBe(true);
    expect(budget.tryReserve(400)).toBe(true);
    expect(budget.bytes).toBe(1_000);
    expect(budget.tryReserve(1)).toBe(false);
    expect(budget.bytes).toBe(1_000);
    budget.release(600);
    expect(budget.tryReserve(601)).toBe(false);
    expect(budget.tryReserve(600)).toBe(true);
    budget.release(1_000);
    expect(budget.bytes).toBe(0);
  });

  it('asserts on a release of more than was reserved, and on a bound that is not a byte count', () => {
    const budget = new PartialFrameBudget(10);
    budget.tryReserve(5);
    expect(() => budget.release(6)).toThrow(/released 1 bytes more than were reserved/);
    expect(() => new PartialFrameBudget(-1)).toThrow(RangeError);
    expect(() => new PartialFrameBudget(1.5)).toThrow(RangeError);
  });
});
