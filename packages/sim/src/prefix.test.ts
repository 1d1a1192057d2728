import { describe, expect, it } from 'vitest';
import { checkPrefixHistories } from './prefix.js';

const e = (zxid: number, digest: string) => ({ zxid, digest });

describe('checkPrefixHistories', () => {
  it('accepts histories where one is a prefix of the other', () => {
    const histories = new Map([
      [1, [e(1, 'a'), e(2, 'b'), e(3, 'c')]],
      [2, [e(1, 'a'), e(2, 'b')]],
      [3, []],
    ]);
    expect(checkPrefixHistories(histories)).toBeNull();
  });
  it('names the first index where two members disagree', () => {
    const histories = new Map([
      [1, [e(1, 'a'), e(2, 'b')]],
      [2, [e(1, 'a'), e(2, 'x')]],
    ]);
    expect(checkPrefixHistories(histories)).toMatchObject({ a: 1, b: 2, index: 1 });
  });
});
