import { describe, expect, it } from 'vitest';
import { SendQueues } from './send-queues.js';

describe('SendQueues', () => {
  it('admits bytes up to the bound per directed connection, then refuses (SEND_QUEUE_FULL)', () => {
    const queues = new SendQueues(100);
    expect(queues.admit(1, 2, 0, 60)).toBe(true);
    expect(queues.admit(1, 2, 0, 40)).toBe(true);
    expect(queues.admit(1, 2, 0, 1)).toBe(false);
    // The other direction and other connections have queues of their own.
    expect(queues.admit(2, 1, 0, 100)).toBe(true);
    expect(queues.admit(1, 3, 0, 100)).toBe(true);
    expect(queues.queuedBytes(1, 2, 0)).toBe(100);
    expect(queues.peakBytes).toBe(100);
  });

  it('frees what the receiver took in', () => {
    const queues = new SendQueues(100);
    queues.admit(1, 2, 0, 80);
    queues.release(1, 2, 0, 50);
    expect(queues.queuedBytes(1, 2, 0)).toBe(30);
    expect(queues.admit(1, 2, 0, 70)).toBe(true);
    queues.release(1, 2, 0, 100);
    expect(queues.queuedBytes(1, 2, 0)).toBe(0);
  });

  it('drops the queues of a broken connection; its late messages free nothing of the next one', () => {
    const queues = new SendQueues(100);
    queues.admit(1, 2, 0, 90);
    queues.admit(2, 1, 0, 90);
    queues.drop(1, 2, 0);
    expect(queues.queuedBytes(1, 2, 0)).toBe(0);
    expect(queues.queuedBytes(2, 1, 0)).toBe(0);
    expect(queues.admit(1, 2, 1, 90)).toBe(true);
    queues.release(1, 2, 0, 90);
    expect(queues.queuedBytes(1, 2, 1)).toBe(90);
  });
});
