import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { Data } from '../types.js';
import { ensurePath } from './paths.js';
import { protectedCreate } from './protected-create.js';
import { waitForTurn } from './queue.js';

/** AcquireOptions bound a wait for a lock or for leadership. */
export interface AcquireOptions {
  /** signal abandons the wait: the waiter's znode is deleted and the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** timeoutMs gives up after this long (rejects with a TimeoutError DOMException, as AbortSignal.timeout). */
  timeoutMs?: number;
}

/** combineSignal joins a signal and a timeout into one signal (undefined when there is neither). */
export function combineSignal(options: AcquireOptions): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (options.signal !== undefined) signals.push(options.signal);
  if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(options.timeoutMs));
  return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
}

/**
 * Lock is a distributed mutex over a znode directory (ZooKeeper's lock recipe, Curator's
 * InterProcessMutex without re-entrance): each waiter creates a protected ephemeral sequential
 * child and watches only its predecessor; the lowest child holds the lock. A holder keeps the lock
 * while its session lives: after `disconnected` it should pause work that needs the lock, and
 * after the client's `expired` event `isHeld` is false (the server deleted the znode).
 */
export class Lock {
  private node: string | undefined;
  private held = false;
  private offs: (() => void)[] = [];

  constructor(
    private readonly client: ZabClient,
    /** path is the lock's directory; it is created if missing. */
    readonly path: string,
    /** data is each waiter's znode data; acl is the ACL of the znodes the lock creates (its directory if missing, each waiter's), default OPEN_ACL_UNSAFE. */
    private readonly options: { data?: Data; acl?: readonly ACL[] } = {},
  ) {}

  /** isHeld is true between a successful acquire and release, while the session lives. */
  get isHeld(): boolean {
    return this.held;
  }

  /** nodePath is this holder's (or waiter's) znode. */
  get nodePath(): string | undefined {
    return this.node;
  }

  /** acquire waits until this client holds the lock. A Lock object is not re-entrant: acquire while held throws. */
  async acquire(options: AcquireOptions = {}): Promise<void> {
    if (this.node !== undefined) throw new Error(`Lock ${this.path}: acquire while already held or waiting`);
    const signal = combineSignal(options);
    const { acl } = this.options;
    await ensurePath(this.client, this.path, { signal, acl });
    const created = await protectedCreate(this.client, this.path, 'lock-', this.options.data, {
      mode: 'EPHEMERAL_SEQUENTIAL',
      acl,
      signal,
    });
    this.node = created.path;
    try {
      await waitForTurn(this.client, this.path, created.path, created.prefix, signal);
    } catch (error) {
      await this.deleteNode();
      throw error;
    }
    this.held = true;
    const lost = () => {
      this.held = false;
      this.node = undefined;
      this.unsubscribe();
    };
    this.offs = [this.client.on('expired', lost), this.client.on('closed', lost)];
  }

  /** release gives the lock up (deletes the znode; retried across connection loss). Releasing an unheld lock does nothing. */
  async release(): Promise<void> {
    this.held = false;
    this.unsubscribe();
    await this.deleteNode();
  }

  private unsubscribe(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private async deleteNode(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    if (node === undefined) return;
    for (;;) {
      try {
        await this.client.delete(node);
        return;
      } catch (error) {
        // NO_NODE: already gone; SESSION_EXPIRED: the server deleted it with the session.
        if (ZabError.isInstance(error, 'NO_NODE') || ZabError.isInstance(error, 'SESSION_EXPIRED')) return;
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }
}
