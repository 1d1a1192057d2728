import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import { createWithParents, ensurePath, parentOf } from './paths.js';
import { waitForWatch } from './queue.js';

/** WaitOptions bound a wait: `signal` abandons it, `timeoutMs` gives up after that long (a TimeoutError DOMException, as AbortSignal.timeout). */
export interface WaitOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** waitSignal joins a wait's signal and timeout into one signal (undefined when there is neither). */
export function waitSignal(options: WaitOptions): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (options.signal !== undefined) signals.push(options.signal);
  if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(Math.max(0, Math.ceil(options.timeoutMs))));
  return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
}

/** DistributedBarrierOptions: the ACL of the znodes the barrier creates, and whether its parents are containers. */
export interface DistributedBarrierOptions {
  /** acl is the ACL of the barrier znode and of the parents created for it (default OPEN_ACL_UNSAFE). */
  acl?: readonly ACL[];
  /** containerParents creates missing parents as CONTAINER znodes (default true, as Curator). */
  containerParents?: boolean;
}

/**
 * DistributedBarrier is Curator's DistributedBarrier: a barrier is up while its znode exists.
 * `set` creates the znode (persistent, so the barrier outlives the client that set it), `remove`
 * deletes it, and `waitOnBarrier` blocks until it is gone, through an exists watch that survives
 * reconnects. The barrier keeps no state between calls, so it has no `suspended`/`lost` events:
 * a suspension only delays `waitOnBarrier` (it re-checks after the reconnect), and a lost session
 * makes it reject with SESSION_EXPIRED.
 */
export class DistributedBarrier {
  constructor(
    private readonly client: ZabClient,
    /** path is the barrier's znode. */
    readonly path: string,
    private readonly options: DistributedBarrierOptions = {},
  ) {}

  /** set raises the barrier (creates its znode; already up is fine; retried across connection loss). */
  async set(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { acl } = this.options;
    const parent = parentOf(this.path);
    const parentOptions = { signal: options.signal, acl, container: this.options.containerParents ?? true };
    await ensurePath(this.client, parent, parentOptions);
    for (;;) {
      try {
        await createWithParents(this.client, parent, parentOptions, () =>
          this.client.create(this.path, undefined, { signal: options.signal, ...(acl === undefined ? {} : { acl }) }),
        );
        return;
      } catch (error) {
        // NODE_EXISTS: up already (maybe by our own create whose reply was lost).
        if (ZabError.isInstance(error, 'NODE_EXISTS')) return;
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }

  /** remove lowers the barrier (deletes its znode; already down is fine; retried across connection loss), releasing every waiter. */
  async remove(options: { signal?: AbortSignal } = {}): Promise<void> {
    for (;;) {
      try {
        await this.client.delete(this.path, options);
        return;
      } catch (error) {
        if (ZabError.isInstance(error, 'NO_NODE')) return;
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }

  /** isSet tells whether the barrier is up now. */
  async isSet(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return (await this.client.exists(this.path, options)) !== null;
  }

  /**
   * waitOnBarrier resolves once the barrier is down (at once if it is). It rejects with the
   * signal's reason, a TimeoutError after `timeoutMs`, or SESSION_EXPIRED when the session ends.
   */
  async waitOnBarrier(options: WaitOptions = {}): Promise<void> {
    await waitForDeleted(this.client, this.path, waitSignal(options));
  }
}

/**
 * waitUntil runs `check(wake)`, which reads what it needs with one-shot watches that call `wake`:
 * if it returns true, waitUntil resolves true at once; otherwise it waits until `wake` is called
 * (or the client reconnects, after which the caller looks again) and resolves false. It rejects
 * with the signal's reason, or SESSION_EXPIRED when the session expires or the client closes.
 * Callers loop: `while (!(await waitUntil(...)));`.
 */
export async function waitUntil(
  client: ZabClient,
  path: string,
  signal: AbortSignal | undefined,
  check: (wake: () => void) => Promise<boolean>,
): Promise<boolean> {
  let passed = false;
  await waitForWatch(
    client,
    async (wake) => {
      passed = await check(wake);
      return passed;
    },
    signal,
    (ok) => ok,
    { op: 'wait', path },
  );
  return passed;
}

/** waitForDeleted resolves once `path` does not exist, retrying across connection loss; rejects as {@link waitUntil}. */
export async function waitForDeleted(client: ZabClient, path: string, signal: AbortSignal | undefined): Promise<void> {
  for (;;) {
    signal?.throwIfAborted();
    try {
      if (
        await waitUntil(
          client,
          path,
          signal,
          async (wake) => (await client.exists(path, { watch: wake, signal })) === null,
        )
      )
        return;
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
  }
}
