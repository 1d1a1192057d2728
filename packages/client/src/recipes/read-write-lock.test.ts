import { describe, expect, it } from 'vitest';
import type { FakeMember } from '../testing/fake-ensemble.js';
import { sleep, waitFor } from '../testing/wait.js';
import { ReadWriteLock } from './read-write-lock.js';
import {
  abortAfter,
  abortAtEveryPoint,
  childrenOf,
  ensemble,
  only,
  open,
  seededDelays,
  useRecipeKit,
} from './recipe-test-kit.js';

useRecipeKit();

describe('ReadWriteLock', () => {
  it('readers share, a writer excludes readers and writers, and every acquire is served', async () => {
    const fake = await ensemble(2);
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(() => open(fake.connectString)));
    let readers = 0;
    let writers = 0;
    let maxReaders = 0;
    let violations = 0;
    let done = 0;
    await Promise.all(
      clients.map(async (client, i) => {
        const lock = new ReadWriteLock(client, '/rw');
        const side = i % 3 === 0 ? lock.writeLock : lock.readLock;
        for (let round = 0; round < 3; round++) {
          await side.acquire({ timeoutMs: 10_000 });
          if (side === lock.writeLock) {
            writers++;
            if (writers > 1 || readers > 0) violations++;
          } else {
            readers++;
            if (writers > 0) violations++;
            maxReaders = Math.max(maxReaders, readers);
          }
          expect(side.isHeld).toBe(true);
          await sleep(3);
          if (side === lock.writeLock) writers--;
          else readers--;
          done++;
          await side.release();
        }
      }),
    );
    expect(violations).toBe(0);
    expect(done).toBe(18);
    // Four readers over three rounds: at some point at least two read at once.
    expect(maxReaders).toBeGreaterThan(1);
    expect(await childrenOf(clients[0]!, '/rw')).toEqual([]);
  });

  it('a reader queued behind a writer waits for it; readers before a writer hold it off', async () => {
    const fake = await ensemble(1);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => open(fake.connectString)));
    const reader1 = new ReadWriteLock(a!, '/rw-order').readLock;
    await reader1.acquire();
    const writer = new ReadWriteLock(b!, '/rw-order').writeLock;
    const writing = writer.acquire({ timeoutMs: 5_000 });
    await waitFor(async () => (await childrenOf(a!, '/rw-order')).length === 2, 'the writer to queue');
    const reader2 = new ReadWriteLock(c!, '/rw-order').readLock;
    const reading = reader2.acquire({ timeoutMs: 5_000 });
    await sleep(50);
    // The second reader is behind the writer: it must not share with the first reader.
    expect(writer.isHeld).toBe(false);
    expect(reader2.isHeld).toBe(false);
    await reader1.release();
    await writing;
    expect(reader2.isHeld).toBe(false);
    const writerToken = writer.fencingToken!;
    await writer.release();
    await reading;
    expect(reader2.fencingToken! > writerToken).toBe(true);
    await reader2.release();
  });

  it('a writer whose session expires lets the readers behind it in', async () => {
    const fake = await ensemble(1);
    const writerClient = await open(fake.connectString);
    const readerClient = await open(fake.connectString);
    const writer = new ReadWriteLock(writerClient, '/rw-expiry').writeLock;
    await writer.acquire();
    const lost = new Promise<void>((resolve) => writer.on('lost', resolve));
    const reader = new ReadWriteLock(readerClient, '/rw-expiry').readLock;
    const reading = reader.acquire({ timeoutMs: 5_000 });
    await waitFor(async () => (await childrenOf(readerClient, '/rw-expiry')).length === 2, 'the reader to queue');
    fake.expire(writerClient.sessionId);
    await reading;
    await lost;
    expect(writer.isHeld).toBe(false);
    expect(reader.isHeld).toBe(true);
    await reader.release();
  });

  it('reads and writes aborted at every request, and after seeded delays, leave no znode', async () => {
    const fake = await ensemble(2);
    const [near, far] = fake.members as [FakeMember, FakeMember];
    const client = await open(only(near));
    const observer = await open(only(far));
    await observer.create('/rw-abort');
    const holder = new ReadWriteLock(observer, '/rw-abort').writeLock;
    await holder.acquire();
    const holderName = holder.nodePath!.slice('/rw-abort/'.length);
    for (const side of ['readLock', 'writeLock'] as const) {
      let createsInFlight = 0;
      await abortAtEveryPoint(
        fake,
        near,
        async (signal) => {
          const lock = new ReadWriteLock(client, '/rw-abort');
          try {
            await lock[side].acquire({ signal });
          } finally {
            await lock.whenCleanedUp();
          }
        },
        async (k, _outcome, ops) => {
          expect(await childrenOf(observer, '/rw-abort'), `${side} point ${k}`).toEqual([holderName]);
          if (ops.at(-1) === 'multi') createsInFlight++;
        },
      );
      expect(createsInFlight).toBe(1);
    }
    const delay = seededDelays(7, 10);
    for (let i = 0; i < 40; i++) {
      const lock = new ReadWriteLock(client, '/rw-abort');
      const controller = new AbortController();
      abortAfter(controller, delay());
      await expect(
        (i % 2 === 0 ? lock.readLock : lock.writeLock).acquire({ signal: controller.signal }),
      ).rejects.toThrow(/aborted/);
      await lock.whenCleanedUp();
    }
    expect(await childrenOf(observer, '/rw-abort'), 'seed 7').toEqual([holderName]);
    await holder.release();
  }, 30_000);
});
