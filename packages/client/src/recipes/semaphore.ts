import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import type { Data } from '../types.js';
import { type ConnectionStateEvents, ConnectionStateTracker } from './connection-state.js';
import { type AcquireOptions, combineSignal, Lock } from './lock.js';
import { createWithParents, ensurePath, joinPath, nameOf } from './paths.js';
import {
  CleanupTracker,
  cleanupProtected,
  deleteProtected,
  type ProtectedNode,
  protectedCreate,
} from './protected-create.js';
import { waitForWatch } from './queue.js';

/** SemaphoreOptions: each lease's znode `data` and the `acl` of the znodes the semaphore creates. */
export interface SemaphoreOptions {
  data?: Data;
  acl?: readonly ACL[];
  /** containerParents creates `path`, `locks`, `leases` and missing ancestors as CONTAINER znodes (default true, as Curator). */
  containerParents?: boolean;
}

/**
 * Lease is one of a semaphore's leases, held from `acquire` until `release` or loss. Events as a
 * Lock's: `suspended` (`isHeld` false from then on), `reconnected` (a read after the reconnect
 * found the lease znode still there: `isHeld` true again), `lost` (the session ended, or the
 * znode was found gone).
 */
export class Lease {
  private readonly emitter = new Emitter<ConnectionStateEvents>();
  private readonly tracker: ConnectionStateTracker;
  private held = true;
  private suspended = false;
  private generation = 0;

  /** @internal made by {@link Semaphore.acquire}. */
  constructor(
    private readonly client: ZabClient,
    private readonly node: ProtectedNode,
  ) {
    this.tracker = new ConnectionStateTracker(client, {
      suspended: () => {
        this.generation++;
        this.suspended = true;
        this.emitter.emit('suspended');
      },
      reconnected: () => void this.verify(this.generation),
      lost: () => {
        this.stop();
        this.emitter.emit('lost');
      },
    });
    this.suspended = this.tracker.state !== 'connected';
  }

  /** path is the lease's znode. */
  get path(): string {
    return this.node.path;
  }

  /** isHeld is true until release or loss while the session is connected (false from the moment it is suspended until a verified reconnect). */
  get isHeld(): boolean {
    return this.held && !this.suspended && this.tracker.state === 'connected';
  }

  /** fencingToken is the czxid of the lease's znode (undefined once released or lost). */
  get fencingToken(): bigint | undefined {
    return this.held ? BigInt(this.node.stat.czxid) : undefined;
  }

  on<E extends keyof ConnectionStateEvents>(
    event: E,
    listener: (...args: ConnectionStateEvents[E]) => void,
  ): () => void {
    return this.emitter.on(event, listener);
  }

  /** release gives the lease back (deletes its znode; retried across connection loss); again does nothing. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.stop();
    await deleteProtected(this.client, this.node);
  }

  private stop(): void {
    this.held = false;
    this.tracker.close();
  }

  private async verify(generation: number): Promise<void> {
    let exists: boolean;
    try {
      await this.client.sync(this.node.path);
      exists = (await this.client.exists(this.node.path)) !== null;
    } catch {
      // CONNECTION_LOSS: the next reconnect verifies; SESSION_EXPIRED: lost.
      return;
    }
    if (generation !== this.generation || !this.held) return;
    if (exists) {
      this.suspended = false;
      this.emitter.emit('reconnected');
    } else {
      this.stop();
      this.emitter.emit('lost');
    }
  }
}

/**
 * Semaphore hands out at most `maxLeases` leases among all its clients (Curator's
 * InterProcessSemaphoreV2): under `path`, a mutex `locks` serializes the acquirers, and each lease
 * is a protected ephemeral sequential znode under `leases`. An acquirer takes the mutex, creates
 * its lease znode, and while there are more than `maxLeases` lease znodes waits (a child watch)
 * for one to go; then it releases the mutex. So waiters are served in order, and a lease whose
 * holder's session ends frees itself. All clients must use the same `maxLeases` (as Curator).
 *
 * An acquire aborted or timed out at any point rejects at once and leaves nothing behind: its
 * mutex znode and lease znode are deleted in the background ({@link whenCleanedUp}).
 */
export class Semaphore {
  private readonly cleanups = new CleanupTracker();
  private readonly locksPath: string;
  private readonly leasesPath: string;

  constructor(
    private readonly client: ZabClient,
    /** path is the semaphore's directory; it and its `locks` and `leases` children are created if missing. */
    readonly path: string,
    /** maxLeases is the number of leases that can be held at once (an integer ≥ 1). */
    readonly maxLeases: number,
    private readonly options: SemaphoreOptions = {},
  ) {
    if (!(Number.isInteger(maxLeases) && maxLeases >= 1))
      throw new RangeError(`Semaphore ${path}: maxLeases must be an integer >= 1: ${maxLeases}`);
    this.locksPath = joinPath(path, 'locks');
    this.leasesPath = joinPath(path, 'leases');
  }

  /** acquire waits for a lease. */
  async acquire(options: AcquireOptions = {}): Promise<Lease> {
    const signal = combineSignal(options);
    const { acl, data } = this.options;
    const container = this.options.containerParents ?? true;
    const mutex = new Lock(this.client, this.locksPath, {
      containerParents: container,
      ...(acl === undefined ? {} : { acl }),
    });
    try {
      await mutex.acquire(signal === undefined ? {} : { signal });
    } catch (error) {
      this.cleanups.track(mutex.whenCleanedUp());
      throw error;
    }
    let lease: Lease;
    try {
      const parentOptions = { signal, acl, container };
      await ensurePath(this.client, this.leasesPath, parentOptions);
      const created = await createWithParents(this.client, this.leasesPath, parentOptions, () =>
        protectedCreate(this.client, this.leasesPath, 'lease-', data, {
          mode: 'EPHEMERAL_SEQUENTIAL',
          acl,
          signal,
          cleanups: this.cleanups,
        }),
      );
      try {
        await this.waitForRoom(created, signal);
      } catch (error) {
        this.cleanups.track(cleanupProtected(this.client, this.leasesPath, created.prefix));
        throw error;
      }
      lease = new Lease(this.client, created);
    } catch (error) {
      // Give the mutex back in the background, so an abort rejects at once.
      this.cleanups.track(mutex.release());
      throw error;
    }
    await mutex.release();
    return lease;
  }

  /** leaseNodes lists the znodes of the leases held now (and of a waiter, until it has its lease). */
  async leaseNodes(): Promise<string[]> {
    try {
      return (await this.client.children(this.leasesPath)).map((name) => joinPath(this.leasesPath, name));
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) return [];
      throw error;
    }
  }

  /** whenCleanedUp resolves once the znodes of every abandoned acquire have been deleted. */
  whenCleanedUp(): Promise<void> {
    return this.cleanups.whenCleanedUp();
  }

  /** waitForRoom returns once at most maxLeases lease znodes (ours included) exist. */
  private async waitForRoom(node: ProtectedNode, signal: AbortSignal | undefined): Promise<void> {
    const name = nameOf(node.path);
    for (;;) {
      signal?.throwIfAborted();
      try {
        let count = 0;
        await waitForWatch(
          this.client,
          async (watch) => {
            const children = await this.client.children(this.leasesPath, { watch, signal });
            for (const child of children) {
              // A duplicate of our own create (a retry after connection loss) is not a lease.
              if (child !== name && child.startsWith(node.prefix)) {
                await this.client.delete(joinPath(this.leasesPath, child), { signal }).catch((error: unknown) => {
                  if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
                });
              } else count++;
            }
            if (!children.includes(name))
              throw new ZabError('NO_NODE', { message: 'our lease znode was deleted', path: node.path });
            return count;
          },
          signal,
          (leases) => leases <= this.maxLeases,
        );
        if (count <= this.maxLeases) return;
      } catch (error) {
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }
}
