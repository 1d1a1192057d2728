import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { startDeadline } from './deadline.js';

/** stall blocks this process's event loop for `ms`, as a member busy building a large reply does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startDeadline', () => {
  it('expires after its time when not cleared, and never when cleared', async () => {
    const expired: string[] = [];
    const started = performance.now();
    startDeadline(60, () => expired.push(`a after ${Math.round(performance.now() - started)} ms`));
    const cleared = startDeadline(60, () => expired.push('b'));
    cleared.clear();
    await sleep(200);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatch(/^a after \d+ ms$/);
    expect(Number(/(\d+) ms/.exec(expired[0] as string)?.[1])).toBeGreaterThanOrEqual(59);
  });

  it('does not count a stall of this process against the other end', async () => {
    // A plain 100 ms timer would expire right after the 400 ms stall, before the other end's
    // answer (cleared 50 ms later) could be read; the deadline starts over after a stall.
    let expired = false;
    const deadline = startDeadline(100, () => {
      expired = true;
    });
    stall(400);
    setTimeout(() => deadline.clear(), 50);
    await sleep(300);
    expect(expired).toBe(false);
  });

  it('reads what arrived during the stall before it decides', async () => {
    // The timer fires only a little late (within the grace): the decision waits for the poll phase,
    // where a message that arrived meanwhile is handled (here: an I/O callback that clears it).
    let expired = false;
    const deadline = startDeadline(
      50,
      () => {
        expired = true;
      },
      10_000,
    );
    const { port1, port2 } = new MessageChannel();
    port2.on('message', () => deadline.clear());
    port1.postMessage('answer');
    stall(120);
    await sleep(100);
    port1.close();
    port2.close();
    expect(expired).toBe(false);
  });

  it('still expires in the end when the process keeps stalling', async () => {
    let expired = false;
    startDeadline(20, () => {
      expired = true;
    });
    for (let i = 0; i < 8 && !expired; i++) {
      stall(300);
      await sleep(30);
    }
    await sleep(100);
    expect(expired).toBe(true);
  });
});
