import type { ZabClient } from '../client.js';
import { type LockOptions, QueueLock } from './lock.js';
import type { BlockerOf } from './queue.js';

const READ_NAME = 'read-';
const WRITE_NAME = 'write-';

/** isWrite tells a writer's child (`…write-<seq>`) from a reader's. */
function isWrite(child: string): boolean {
  return child.slice(0, -10).endsWith(WRITE_NAME);
}

/** readerBlocker: a reader waits for the last writer queued before it; with none before it, it reads. */
const readerBlocker: BlockerOf = (queue, index) => {
  for (let i = index - 1; i >= 0; i--) if (isWrite(queue[i]!)) return queue[i];
  return undefined;
};

/** writerBlocker: a writer waits for the child just before it, reader or writer (the mutex rule). */
const writerBlocker: BlockerOf = (queue, index) => (index === 0 ? undefined : queue[index - 1]);

/**
 * ReadWriteLock is a shared/exclusive lock over one znode directory (ZooKeeper's "Shared Locks"
 * recipe, Curator's InterProcessReadWriteLock without re-entrance or downgrade): readers create
 * `…read-<seq>` children, writers `…write-<seq>`, all protected ephemeral sequential children of
 * the one directory, so they share one sequence. A reader holds once no writer is queued before
 * it (it watches only the last such writer); a writer holds once it is first (it watches only the
 * child before it). Readers share; a writer excludes everyone; waiters are served in order, so a
 * stream of readers cannot starve a queued writer.
 *
 * `readLock` and `writeLock` are two independent lock objects (each acquires and releases as a
 * Lock does, with the same `suspended`/`reconnected`/`lost` events, `isHeld` rules, fencing token
 * and cleanup of abandoned acquires). Fencing: a writer's token is higher than that of every
 * holder, reader or writer, that held before it; a reader's is higher than every writer's before
 * it (concurrent readers' tokens are unordered).
 */
export class ReadWriteLock {
  readonly readLock: QueueLock;
  readonly writeLock: QueueLock;

  constructor(
    client: ZabClient,
    /** path is the lock's directory; it is created if missing. */
    readonly path: string,
    options: LockOptions = {},
  ) {
    this.readLock = new QueueLock(client, path, READ_NAME, readerBlocker, options);
    this.writeLock = new QueueLock(client, path, WRITE_NAME, writerBlocker, options);
  }

  /** whenCleanedUp resolves once both sides' abandoned acquires have been cleaned up. */
  async whenCleanedUp(): Promise<void> {
    await Promise.all([this.readLock.whenCleanedUp(), this.writeLock.whenCleanedUp()]);
  }
}
