import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.js';

describe('EventQueue', () => {
  it('delivers pushed items in order, to a waiting consumer too, then ends', async () => {
    const queue = new EventQueue<number>(10, () => new Error('overflow'));
    queue.push(1);
    const pending = [queue.next(), undefined];
    expect(await pending[0]).toEqual({ value: 1, done: false });
    const waiting = queue.next();
    queue.push(2);
    expect(await waiting).toEqual({ value: 2, done: false });
    queue.push(3);
    queue.end();
    queue.push(4);
    expect(await queue.next()).toEqual({ value: 3, done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });
  it('fails past its bound and throws the error after the buffered items', async () => {
    const queue = new EventQueue<number>(2, () => new Error('overflow'));
    queue.push(1);
    queue.push(2);
    queue.push(3);
    expect(queue.isFinished).toBe(true);
    expect((await queue.next()).value).toBe(1);
    expect((await queue.next()).value).toBe(2);
    await expect(queue.next()).rejects.toThrow('overflow');
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });
  it('rejects a waiting consumer on fail', async () => {
    const queue = new EventQueue<number>(2, () => new Error('overflow'));
    const waiting = queue.next();
    queue.fail(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
  });
});
