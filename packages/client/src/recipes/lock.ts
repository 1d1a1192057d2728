import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import type { Data } from '../types.js';
import { type ConnectionStateEvents, ConnectionStateTracker } from './connection-state.js';
import { createWithParents, ensurePath, joinPath, nameOf, sortBySequence } from './paths.js';
import {
  CleanupTracker,
  cleanupProtected,
  deleteProtected,
  type ProtectedNode,
  protectedCreate,
} from './protected-create.js';
import { type BlockerOf, predecessorOf, queueOf, waitForTurn } from './queue.js';
import { watchForRevocation } from './revocation.js';

/** AcquireOptions bound a wait for a lock or for leadership. */
export interface AcquireOptions {
  /** signal abandons the wait: the waiter's znode is deleted and the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** timeoutMs gives up after this long (rejects with a TimeoutError DOMException, as AbortSignal.timeout). */
  timeoutMs?: number;
}

/**
 * combineSignal joins a signal and a timeout into one signal (undefined when there is neither).
 * `timeoutMs` is any number ≥ 0, fractions included (rounded up to whole ms, so never early, as
 * AbortSignal.timeout takes only integers), Infinity for none; anything else is a RangeError.
 */
export function combineSignal(options: AcquireOptions): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (options.signal !== undefined) signals.push(options.signal);
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) {
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))
      throw new RangeError(`timeoutMs must be a number >= 0: ${String(timeoutMs)}`);
    signals.push(AbortSignal.timeout(Math.min(Math.ceil(timeoutMs), 2 ** 31 - 1)));
  }
  return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
}

/**
 * LockEvents: the connection events while the lock is held (`suspended`: `isHeld` is false from
 * now on; `reconnected`: a read after the reconnect found the znode still ours and first, so
 * `isHeld` is true again; `lost`: the lock is gone, because the session ended or the znode was
 * found deleted), and `revocationRequested` (a revocable lock's holder was asked to release).
 */
export interface LockEvents extends ConnectionStateEvents {
  revocationRequested: [];
}

/** LockOptions: each waiter's znode `data`, the `acl` of the znodes the lock creates, and `revocable`. */
export interface LockOptions {
  /** data is each waiter's znode data. */
  data?: Data;
  /** acl is the ACL of the znodes the lock creates (its directory if missing, each waiter's), default OPEN_ACL_UNSAFE. */
  acl?: readonly ACL[];
  /** revocable: while held, emit `revocationRequested` when another client calls `requestRevocation` on the holder's znode (Curator's Revocable). */
  revocable?: boolean;
  /**
   * containerParents creates the lock's directory and its missing ancestors as CONTAINER znodes
   * (default true, as Curator's creatingParentContainersIfNeeded): the leader deletes the directory
   * once the last waiter left, and the next acquire creates it again.
   */
  containerParents?: boolean;
}

/**
 * QueueLock is the machinery of the lock recipes (Lock, ReadWriteLock's two sides): a protected
 * ephemeral sequential child `name-<seq>` per waiter, a wait on the child `blockerOf` picks, the
 * connection-state rules, fencing, and cleanup of abandoned waits. @internal
 */
export class QueueLock {
  private readonly emitter = new Emitter<LockEvents>();
  private readonly cleanups = new CleanupTracker();
  /** node is the holder's znode, from a successful acquire until release or loss. */
  private node: ProtectedNode | undefined;
  /** waiting is the waiter's znode while acquire waits. */
  private waiting: ProtectedNode | undefined;
  private acquiring = false;
  private held = false;
  /** suspended: the connection was lost since the hold was last verified. */
  private suspended = false;
  /** generation counts suspensions, so a verification that raced one is ignored. */
  private generation = 0;
  private tracker: ConnectionStateTracker | undefined;
  private stopRevocationWatch: (() => void) | undefined;

  constructor(
    protected readonly client: ZabClient,
    /** path is the lock's directory; it is created if missing. */
    readonly path: string,
    private readonly name: string,
    private readonly blockerOf: BlockerOf,
    protected readonly options: LockOptions,
  ) {}

  /**
   * isHeld is true between a successful acquire and release while the session is connected: false
   * from the moment the connection is suspended (also when the client's clock shows that the
   * session may have expired during a pause, before any event), true again once a read after the
   * reconnect found this znode still first, false for good once the lock is lost.
   */
  get isHeld(): boolean {
    return this.held && !this.suspended && this.tracker?.state === 'connected';
  }

  /** nodePath is this holder's (or waiter's) znode. */
  get nodePath(): string | undefined {
    return (this.node ?? this.waiting)?.path;
  }

  /**
   * fencingToken is the holder's fencing token: the czxid of its znode (the zxid of its create),
   * from a successful acquire until release or loss, undefined otherwise. Every later holder's
   * token is higher (its znode was created later), so a resource that remembers the highest token
   * it accepted and refuses lower ones turns away a holder that lost the lock without knowing it.
   */
  get fencingToken(): bigint | undefined {
    return this.held && this.node !== undefined ? BigInt(this.node.stat.czxid) : undefined;
  }

  on<E extends keyof LockEvents>(event: E, listener: (...args: LockEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /**
   * whenCleanedUp resolves once the znodes of every abandoned acquire (aborted or timed out at any
   * point) have been deleted in the background; see `cleanupProtected`.
   */
  whenCleanedUp(): Promise<void> {
    return this.cleanups.whenCleanedUp();
  }

  /**
   * acquire waits until this client holds the lock. A lock object is not re-entrant: acquire while
   * held or acquiring throws. On abort or timeout it rejects at once with the signal's reason, and
   * the waiter's znode (also one whose create was in flight) is deleted in the background
   * ({@link whenCleanedUp}).
   */
  async acquire(options: AcquireOptions = {}): Promise<void> {
    if (this.node !== undefined || this.acquiring)
      throw new Error(`Lock ${this.path}: acquire while already held or waiting`);
    this.acquiring = true;
    const signal = combineSignal(options);
    const tracker = new ConnectionStateTracker(this.client, {
      suspended: () => this.onSuspended(),
      reconnected: () => this.onReconnected(),
      lost: () => this.onLost(),
    });
    this.tracker = tracker;
    try {
      const { acl, data } = this.options;
      const parentOptions = { signal, acl, container: this.options.containerParents ?? true };
      await ensurePath(this.client, this.path, parentOptions);
      const created = await createWithParents(this.client, this.path, parentOptions, () =>
        protectedCreate(this.client, this.path, this.name, data, {
          mode: 'EPHEMERAL_SEQUENTIAL',
          acl,
          signal,
          cleanups: this.cleanups,
        }),
      );
      this.waiting = created;
      try {
        await waitForTurn(this.client, this.path, created.path, created.prefix, signal, this.blockerOf);
      } catch (error) {
        this.cleanups.track(cleanupProtected(this.client, this.path, created.prefix));
        throw error;
      } finally {
        this.waiting = undefined;
      }
      this.node = created;
      this.held = true;
      // Suspended while the last read was answered: the reconnect verifies.
      this.suspended = tracker.state !== 'connected';
      if (this.options.revocable === true)
        this.stopRevocationWatch = watchForRevocation(this.client, created.path, () =>
          this.emitter.emit('revocationRequested'),
        );
    } catch (error) {
      tracker.close();
      this.tracker = undefined;
      throw error;
    } finally {
      this.acquiring = false;
    }
  }

  /**
   * release gives the lock up (deletes the znode; retried across connection loss). Releasing an
   * unheld lock does nothing (abort a pending acquire with its signal instead).
   */
  async release(): Promise<void> {
    if (this.acquiring) return;
    const node = this.node;
    this.stopHolding();
    if (node !== undefined) await deleteProtected(this.client, node);
  }

  private stopHolding(): void {
    this.held = false;
    this.suspended = false;
    this.node = undefined;
    this.stopRevocationWatch?.();
    this.stopRevocationWatch = undefined;
    this.tracker?.close();
    this.tracker = undefined;
  }

  private onSuspended(): void {
    this.generation++;
    this.suspended = true;
    if (this.held) this.emitter.emit('suspended');
  }

  private onReconnected(): void {
    if (this.held) void this.verify(this.generation);
    else this.suspended = false;
  }

  private onLost(): void {
    const wasHeld = this.held;
    this.stopHolding();
    if (wasHeld) this.emitter.emit('lost');
  }

  /** verify re-reads the directory after a reconnect: the hold resumes only if this znode is still there and has its turn. */
  private async verify(generation: number): Promise<void> {
    const node = this.node!;
    let children: string[];
    try {
      await this.client.sync(this.path);
      children = await this.client.children(this.path);
    } catch (error) {
      // The directory is gone, and our znode with it.
      if (ZabError.isInstance(error, 'NO_NODE')) children = [];
      // CONNECTION_LOSS: suspended again, and the next reconnect verifies; SESSION_EXPIRED: lost.
      // Anything else leaves the lock suspended (isHeld false) until it is released.
      else return;
    }
    if (generation !== this.generation || this.node !== node) return;
    const name = nameOf(node.path);
    const queue = queueOf(children, name, node.prefix);
    const index = queue.indexOf(name);
    if (index !== -1 && this.blockerOf(queue, index) === undefined) {
      this.suspended = false;
      this.emitter.emit('reconnected');
      return;
    }
    // Deleted by someone else, or no longer first: the lock is lost; do not leave a waiter behind.
    this.stopHolding();
    if (index !== -1) this.cleanups.track(deleteProtected(this.client, node));
    this.emitter.emit('lost');
  }
}

/**
 * Lock is a distributed mutex over a znode directory (ZooKeeper's lock recipe, Curator's
 * InterProcessMutex without re-entrance): each waiter creates a protected ephemeral sequential
 * child and watches only its predecessor; the lowest child holds the lock.
 *
 * Connection states (Curator's rules): on `suspended` (the client's `disconnected`, or its clock
 * showing a pause) `isHeld` becomes false at once and the lock emits `suspended`; on the reconnect
 * it re-reads the directory and, if its znode is still there and first, `isHeld` is true again
 * and it emits `reconnected`; when the session expires, the client closes or the znode was found
 * gone, it emits `lost` and `isHeld` stays false. Guard work outside the ensemble with
 * {@link QueueLock.fencingToken}.
 */
export class Lock extends QueueLock {
  constructor(client: ZabClient, path: string, options: LockOptions = {}) {
    super(client, path, 'lock-', predecessorOf, options);
  }

  /** holderNode is the znode path of the current holder (the lowest child), or undefined if none: the path `requestRevocation` takes. */
  async holderNode(): Promise<string | undefined> {
    let children: string[];
    try {
      children = await this.client.children(this.path);
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) return undefined;
      throw error;
    }
    const first = sortBySequence(children)[0];
    return first === undefined ? undefined : joinPath(this.path, first);
  }
}
