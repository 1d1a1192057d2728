import { createPrng } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.js';

describe('EventQueue', () => {
  it('pops by time, then by insertion order (a naive sort is the oracle)', () => {
    const prng = createPrng(3);
    const queue = new EventQueue<number>();
    const items: { time: number; seq: number }[] = [];
    for (let i = 0; i < 2000; i++) {
      const time = prng.int(100);
      queue.push(time, i);
      items.push({ time, seq: i });
    }
    items.sort((a, b) => a.time - b.time || a.seq - b.seq);
    const popped: number[] = [];
    for (let item = queue.pop(); item; item = queue.pop()) popped.push(item.value);
    expect(popped).toEqual(items.map((item) => item.seq));
  });
});
