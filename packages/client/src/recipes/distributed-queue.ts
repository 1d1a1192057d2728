import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { CallOptions, Data } from '../types.js';
import { type WaitOptions, waitSignal, waitUntil } from './barrier.js';
import { createWithParents, joinPath, sequenceOf } from './paths.js';
import { PROTECTED_PREFIX, protectedCreate } from './protected-create.js';

/** LOCKS is the child of a lock-safe queue's directory that holds the ephemeral locks of items being processed. */
const LOCKS = 'locks';
/** ITEM_NAME matches an item: protection prefix, `item-`, the priority (priority queues), the sequence. */
const ITEM_NAME = new RegExp(`^(${PROTECTED_PREFIX}[0-9a-f-]{36}-)item-(?:p([0-9a-f]{8})-)?(-?\\d{9,10})$`);
const PRIORITY_MIN = -(2 ** 31);
const PRIORITY_MAX = 2 ** 31 - 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** DistributedQueueOptions configure a queue; producers and consumers of one queue must agree on all but `acl`. */
export interface DistributedQueueOptions<T> {
  /** serialize turns an item into the znode's data (default: JSON as UTF-8). */
  serialize?: (item: T) => Data;
  /** deserialize turns a znode's data back into an item (default: JSON of the UTF-8 text). */
  deserialize?: (data: Uint8Array) => T;
  /**
   * lockSafe (Curator's lockPath mode): an item is removed only once its consumer has processed
   * it (`consume`), under an ephemeral lock `path/locks/<item>`; if the consumer's session ends
   * first, the lock goes with it and another consumer gets the item (at-least-once). Without it
   * (the default) `take` removes the item before returning it (at-most-once: a consumer that dies
   * after `take` loses the item). Every consumer of a queue must use the same mode.
   */
  lockSafe?: boolean;
  /** acl is the ACL of every znode the queue creates (default OPEN_ACL_UNSAFE). */
  acl?: readonly ACL[];
  /** containerParents creates the queue directory (and its lock directory) and missing parents as CONTAINER znodes (default true, as Curator). */
  containerParents?: boolean;
}

/** ConsumeContext is what a lock-safe handler gets: `signal` aborts when the call's signal does or the session is lost (the item's lock is gone). */
export interface ConsumeContext {
  signal: AbortSignal;
  /** path is the item's znode. */
  path: string;
}

interface QueuedItem {
  name: string;
  prefix: string;
  priority: string;
  sequence: number;
}

/**
 * QueueBase is what the FIFO and the priority queue share (ZooKeeper's queue recipe): each item is
 * a persistent sequential znode under `path`, created in protected mode (`_c_<uuid>-item-…`, so a
 * put whose reply is lost is not enqueued twice: see protectedCreate); a consumer lists the items,
 * orders them, and takes the first by deleting it. A delete succeeds for exactly one consumer, so
 * each item is delivered once. Waiting consumers watch the directory's children and look again
 * after every reconnect.
 *
 * A queue has no `suspended`/`lost` events: it holds nothing between calls. A suspension delays a
 * waiting `take` (it looks again after the reconnect); a lost session makes it reject with
 * SESSION_EXPIRED, and aborts a lock-safe handler's `signal` (its lock is gone).
 */
abstract class QueueBase<T> {
  private readonly serialize: (item: T) => Data;
  private readonly deserialize: (data: Uint8Array) => T;
  private readonly locksPath: string;

  constructor(
    protected readonly client: ZabClient,
    /** path is the queue's directory. */
    readonly path: string,
    protected readonly options: DistributedQueueOptions<T> = {},
  ) {
    this.serialize = options.serialize ?? ((item) => encoder.encode(JSON.stringify(item)));
    this.deserialize = options.deserialize ?? ((data) => JSON.parse(decoder.decode(data)) as T);
    this.locksPath = joinPath(path, LOCKS);
  }

  /** size is the number of items queued now (items being processed under a lock included). */
  async size(options: CallOptions = {}): Promise<number> {
    return (await this.list(options)).length;
  }

  /**
   * take waits for the first item and removes it. Lock-safe queues remove it under the item's
   * lock (so no item a `consume` handler is processing is taken). Rejects with the signal's
   * reason, a TimeoutError after `timeoutMs`, or SESSION_EXPIRED when the session ends.
   */
  async take(options: WaitOptions = {}): Promise<T> {
    const signal = waitSignal(options);
    let taken: { item: T } | undefined;
    await this.waitForItems(signal, async (items) => {
      for (const item of items) {
        taken = await this.tryTake(item, signal);
        if (taken !== undefined) return true;
      }
      return false;
    });
    return taken!.item;
  }

  /** poll takes the first item if there is one, without waiting. */
  async poll(options: CallOptions = {}): Promise<T | undefined> {
    for (const item of await this.list(options)) {
      const taken = await this.tryTake(item, options.signal);
      if (taken !== undefined) return taken.item;
    }
    return undefined;
  }

  /** items takes item after item (`for await (const item of queue.items({ signal }))`); ends only by break, abort or a lost session. */
  async *items(options: CallOptions = {}): AsyncGenerator<T> {
    for (;;) yield await this.take(options);
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this.items();
  }

  /**
   * consume (lock-safe queues only) waits for the first item nobody is processing, locks it, and
   * runs `handler` on it: when the handler resolves, the item and its lock are deleted together
   * and consume resolves with the handler's result; when it throws, only the lock is deleted (the
   * item stays for another consumer) and consume rethrows. If the session ends meanwhile the lock
   * is gone and the handler's `signal` aborts: another consumer may get the item.
   */
  async consume<R>(
    handler: (item: T, context: ConsumeContext) => Promise<R> | R,
    options: WaitOptions = {},
  ): Promise<R> {
    if (this.options.lockSafe !== true) throw new Error(`queue ${this.path}: consume needs the lockSafe option`);
    const signal = waitSignal(options);
    let locked: { item: T; name: string; lock: string } | undefined;
    await this.waitForItems(signal, async (items) => {
      for (const item of items) {
        locked = await this.tryLock(item, signal);
        if (locked !== undefined) return true;
      }
      return false;
    });
    const { item, name, lock } = locked!;
    const itemPath = joinPath(this.path, name);
    const handling = new AbortController();
    const onLost = () => handling.abort(new ZabError('SESSION_EXPIRED', { op: 'consume', path: itemPath }));
    const offs = [this.client.on('expired', onLost), this.client.on('closed', onLost)];
    const onAbort = () => handling.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let result: R;
    try {
      result = await handler(item, { signal: handling.signal, path: itemPath });
    } catch (error) {
      await this.deleteQuietly(lock);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const off of offs) off();
    }
    await retryLoss(async () => {
      try {
        await this.client.multi([
          { op: 'delete', path: itemPath },
          { op: 'delete', path: lock },
        ]);
      } catch (error) {
        // Committed before a lost reply: both are gone. Else our lock is gone with our session.
        if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
        if ((await this.client.exists(lock)) !== null || (await this.client.exists(itemPath)) !== null)
          throw new ZabError('SESSION_EXPIRED', { message: 'the item lock was lost', op: 'consume', path: itemPath });
      }
    });
    return result;
  }

  /** enqueue creates one item named `item-<infix>`; resolves with its path. */
  protected async enqueue(infix: string, item: T, options: CallOptions): Promise<string> {
    const { acl } = this.options;
    const dirOptions = { signal: options.signal, acl, container: this.options.containerParents ?? true };
    const data = this.serialize(item);
    // The directory is created only when the create finds it missing (Curator's creatingParentContainersIfNeeded).
    const created = await createWithParents(this.client, this.path, dirOptions, () =>
      protectedCreate(this.client, this.path, `item-${infix}`, data, {
        mode: 'PERSISTENT_SEQUENTIAL',
        acl,
        signal: options.signal,
      }),
    );
    return created.path;
  }

  /** list is the items queued now, first to take first (priority, then sequence); none when the directory is missing. */
  private async list(options: CallOptions, watch?: () => void): Promise<QueuedItem[]> {
    let names: string[];
    try {
      names = await this.client.children(this.path, {
        signal: options.signal,
        ...(watch === undefined ? {} : { watch }),
      });
    } catch (error) {
      if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
      // Watch for the directory's creation instead.
      if (watch !== undefined && (await this.client.exists(this.path, { signal: options.signal, watch })) !== null)
        watch();
      return [];
    }
    return order(names);
  }

  /** waitForItems lists the items (with a child watch) and hands them to `attempt` until it succeeds. */
  private async waitForItems(
    signal: AbortSignal | undefined,
    attempt: (items: QueuedItem[]) => Promise<boolean>,
  ): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      try {
        if (await waitUntil(this.client, this.path, signal, async (wake) => attempt(await this.list({ signal }, wake))))
          return;
      } catch (error) {
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }

  /** tryTake removes one item and returns it, or undefined when another consumer got it (or holds its lock) first. */
  private async tryTake(item: QueuedItem, signal: AbortSignal | undefined): Promise<{ item: T } | undefined> {
    const path = joinPath(this.path, item.name);
    let data: Uint8Array;
    try {
      data = (await this.client.get(path, { signal })).data;
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) return undefined;
      throw error;
    }
    try {
      if (this.options.lockSafe === true) {
        // Take only what nobody processes: our lock's create fails if theirs exists.
        const lock = joinPath(this.locksPath, item.name);
        await createWithParents(this.client, this.locksPath, this.dirOptions(signal), () =>
          this.client.multi(
            [
              { op: 'create', path: lock, mode: 'EPHEMERAL', ...this.aclOption() },
              { op: 'delete', path },
              { op: 'delete', path: lock },
            ],
            { signal },
          ),
        );
      } else await this.client.delete(path, { signal });
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE') || ZabError.isInstance(error, 'NODE_EXISTS')) return undefined;
      if (ZabError.isInstance(error, 'CONNECTION_LOSS')) {
        // The delete may have committed: if the item is still there, it is not ours yet.
        await this.client.sync(this.path, { signal });
        if ((await this.client.exists(path, { signal })) !== null) throw error;
        // Gone, by our delete or another consumer's: we cannot tell, so the caller looks again
        // rather than risk delivering it twice (at-most-once).
        return undefined;
      }
      throw error;
    }
    await this.deleteDuplicates(item);
    // After the delete: an item that does not deserialize is not left to block every consumer.
    return { item: this.deserialize(data) };
  }

  /** tryLock locks one item for `consume` and returns it, or undefined when another consumer holds it or it is gone. */
  private async tryLock(
    item: QueuedItem,
    signal: AbortSignal | undefined,
  ): Promise<{ item: T; name: string; lock: string } | undefined> {
    const lock = joinPath(this.locksPath, item.name);
    try {
      await createWithParents(this.client, this.locksPath, this.dirOptions(signal), () =>
        this.client.create(lock, undefined, { mode: 'EPHEMERAL', signal, ...this.aclOption() }),
      );
    } catch (error) {
      if (ZabError.isInstance(error, 'CONNECTION_LOSS') || ZabError.isInstance(error, 'NODE_EXISTS')) {
        // A lost reply may hide our own create: the lock is ours if our session owns it.
        const stat = await retryLoss(() => this.client.exists(lock));
        if (stat?.ephemeralOwner !== this.client.sessionId) return undefined;
        if (signal?.aborted) {
          await this.deleteQuietly(lock);
          signal.throwIfAborted();
        }
      } else throw error;
    }
    try {
      const { data } = await this.client.get(joinPath(this.path, item.name), { signal });
      return { item: this.deserialize(data), name: item.name, lock };
    } catch (error) {
      await this.deleteQuietly(lock);
      if (ZabError.isInstance(error, 'NO_NODE')) return undefined;
      throw error;
    }
  }

  /** deleteDuplicates removes other items with a taken item's protection prefix: copies of one put whose create was retried. */
  private async deleteDuplicates(item: QueuedItem): Promise<void> {
    const names = await this.client.children(this.path).catch(() => [] as string[]);
    for (const name of names) {
      if (name === item.name || !name.startsWith(item.prefix)) continue;
      await this.client.delete(joinPath(this.path, name)).catch(() => {});
    }
  }

  /** deleteQuietly deletes a lock, retrying across connection loss; gone already (or with the session) is fine. */
  private async deleteQuietly(path: string): Promise<void> {
    try {
      await retryLoss(() => this.client.delete(path));
    } catch (error) {
      if (!ZabError.isInstance(error, 'NO_NODE') && !ZabError.isInstance(error, 'SESSION_EXPIRED')) throw error;
    }
  }

  private dirOptions(signal: AbortSignal | undefined) {
    return { signal, acl: this.options.acl, container: this.options.containerParents ?? true };
  }

  private aclOption(): { acl?: readonly ACL[] } {
    return this.options.acl === undefined ? {} : { acl: this.options.acl };
  }
}

/**
 * DistributedQueue is a distributed FIFO queue (Curator's DistributedQueue; see QueueBase for the
 * guarantees): items come out in the order their puts committed.
 */
export class DistributedQueue<T = unknown> extends QueueBase<T> {
  /** put enqueues an item; resolves with its znode's path once committed. */
  put(item: T, options: CallOptions = {}): Promise<string> {
    return this.enqueue('', item, options);
  }
}

/**
 * DistributedPriorityQueue is Curator's DistributedPriorityQueue: the priority (an integer in
 * [-2^31, 2^31 - 1], lower first) is encoded in the item's name before its sequence, so consumers
 * order by priority, then by put order. A consumer that is already waiting takes what is first
 * when it looks: an item put with a lower priority after a consumer chose does not overtake.
 */
export class DistributedPriorityQueue<T = unknown> extends QueueBase<T> {
  /** put enqueues an item with `priority` (lower comes out first); resolves with its znode's path. */
  put(item: T, priority: number, options: CallOptions = {}): Promise<string> {
    if (!Number.isInteger(priority) || priority < PRIORITY_MIN || priority > PRIORITY_MAX)
      throw new RangeError(`priority must be a 32-bit integer: ${priority}`);
    return this.enqueue(`p${(priority - PRIORITY_MIN).toString(16).padStart(8, '0')}-`, item, options);
  }
}

/** order keeps the item names of a queue's children and sorts them by priority, then sequence. */
function order(names: readonly string[]): QueuedItem[] {
  const items: QueuedItem[] = [];
  for (const name of names) {
    const match = ITEM_NAME.exec(name);
    if (match === null) continue;
    // Without a priority an item counts as priority 0.
    items.push({ name, prefix: match[1]!, priority: match[2] ?? '80000000', sequence: sequenceOf(name)! });
  }
  return items.sort((a, b) =>
    a.priority !== b.priority ? (a.priority < b.priority ? -1 : 1) : a.sequence - b.sequence,
  );
}

/** retryLoss runs `work` again after each CONNECTION_LOSS (calls wait for the reconnect). */
async function retryLoss<R>(work: () => Promise<R>): Promise<R> {
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
  }
}
