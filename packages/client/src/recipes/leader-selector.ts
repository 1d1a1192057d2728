import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import { type ConnectionStateEvents, type ConnectionStatePolicy, ConnectionStateTracker } from './connection-state.js';
import { Lock } from './lock.js';
import { CleanupTracker } from './protected-create.js';

/** LeadershipContext is what a leadership callback gets besides its signal. */
export interface LeadershipContext {
  /** fencingToken is this term's token (the czxid of the holder's znode): pass it to guarded resources. */
  fencingToken: bigint;
}

/**
 * Leadership is the work done while leading (Curator's `takeLeadership`): leadership is held until
 * it returns (or throws). `signal` aborts when leadership must end early: on suspension (standard
 * policy), on loss of the session, on `close()`; stop leader work then, and return.
 */
export type Leadership = (signal: AbortSignal, context: LeadershipContext) => Promise<void> | void;

/** LeaderSelectorOptions: the participant `id`, `autoRequeue`, the `acl`, and the connection-state policy. */
export interface LeaderSelectorOptions {
  /** id identifies this participant (its znode's data), default ''. */
  id?: string;
  /** autoRequeue queues again after each term, until close (default false: one term, then {@link LeaderSelector.requeue}). */
  autoRequeue?: boolean;
  acl?: readonly ACL[];
  /** connectionStatePolicy: `standard` (default) interrupts the term on `suspended`; `session` only on `lost`. */
  connectionStatePolicy?: ConnectionStatePolicy;
  /** containerParents creates the directory and its missing ancestors as CONTAINER znodes (default true, as Curator). */
  containerParents?: boolean;
}

/** LeaderSelectorEvents: the connection events, and `error` for a leadership callback that threw (not after its signal aborted). */
export interface LeaderSelectorEvents extends ConnectionStateEvents {
  error: [unknown];
}

/**
 * LeaderSelector runs a callback while this participant leads (Curator's LeaderSelector): the
 * participants queue on a Lock under `path`; the one holding it runs `leadership(signal, context)`
 * and gives leadership up when that returns. With `autoRequeue` it queues again at once.
 *
 * Connection states: with the `standard` policy a suspension aborts the callback's signal at once
 * (reason CONNECTION_LOSS) and `hasLeadership` is false; with `session` only `lost` does (reason
 * SESSION_EXPIRED). After `lost` the selector stops (a new one needs a new client).
 */
export class LeaderSelector {
  private readonly emitter = new Emitter<LeaderSelectorEvents>();
  private readonly cleanups = new CleanupTracker();
  private readonly policy: ConnectionStatePolicy;
  private readonly closing = new AbortController();
  private tracker: ConnectionStateTracker | undefined;
  private loop: Promise<void> | undefined;
  private term: { lock: Lock; controller: AbortController } | undefined;

  constructor(
    private readonly client: ZabClient,
    /** path is the selector's directory (its lock); it is created if missing. */
    readonly path: string,
    private readonly leadership: Leadership,
    private readonly options: LeaderSelectorOptions = {},
  ) {
    this.policy = options.connectionStatePolicy ?? 'standard';
  }

  /** hasLeadership is true while the callback runs and its signal has not aborted (and, under the standard policy, while connected). */
  get hasLeadership(): boolean {
    const term = this.term;
    if (term === undefined || term.controller.signal.aborted) return false;
    return this.policy === 'standard' ? term.lock.isHeld : this.tracker?.state !== 'lost';
  }

  /** fencingToken is the current term's token while this participant has leadership. */
  get fencingToken(): bigint | undefined {
    return this.hasLeadership ? this.term?.lock.fencingToken : undefined;
  }

  on<E extends keyof LeaderSelectorEvents>(event: E, listener: (...args: LeaderSelectorEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** start queues for leadership (once: call {@link requeue} for another term without autoRequeue). */
  start(): void {
    if (this.tracker !== undefined) throw new Error(`LeaderSelector ${this.path}: already started`);
    this.tracker = new ConnectionStateTracker(this.client, {
      suspended: () => {
        if (this.policy === 'standard')
          this.term?.controller.abort(
            new ZabError('CONNECTION_LOSS', { message: 'suspended: leadership interrupted', path: this.path }),
          );
        this.emitter.emit('suspended');
      },
      reconnected: () => this.emitter.emit('reconnected'),
      lost: () => {
        this.term?.controller.abort(new ZabError('SESSION_EXPIRED', { path: this.path }));
        this.emitter.emit('lost');
      },
    });
    this.requeue();
  }

  /** requeue queues for another term if this participant is neither leading nor queued; false if it already is, or is closed. */
  requeue(): boolean {
    if (this.tracker === undefined) throw new Error(`LeaderSelector ${this.path}: not started`);
    if (this.loop !== undefined || this.closing.signal.aborted || this.tracker.state === 'lost') return false;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
    });
    return true;
  }

  /**
   * close ends the selector: the callback's signal aborts, the wait for leadership ends, and it
   * resolves once this participant's znode is gone (after the callback returned).
   */
  async close(): Promise<void> {
    this.closing.abort(new Error('LeaderSelector closed'));
    this.term?.controller.abort(this.closing.signal.reason);
    await this.loop;
    this.tracker?.close();
    await this.cleanups.whenCleanedUp();
  }

  /** whenCleanedUp resolves once the znodes of abandoned waits have been deleted. */
  whenCleanedUp(): Promise<void> {
    return this.cleanups.whenCleanedUp();
  }

  private async run(): Promise<void> {
    const signal = this.closing.signal;
    do {
      const lock = new Lock(this.client, this.path, {
        data: this.options.id ?? '',
        containerParents: this.options.containerParents ?? true,
        ...(this.options.acl === undefined ? {} : { acl: this.options.acl }),
      });
      try {
        await lock.acquire({ signal });
      } catch (error) {
        this.cleanups.track(lock.whenCleanedUp());
        if (signal.aborted || ZabError.isInstance(error, 'SESSION_EXPIRED')) return;
        this.emitter.emit('error', error);
        return;
      }
      const controller = new AbortController();
      this.term = { lock, controller };
      const offs = [lock.on('lost', () => controller.abort(new ZabError('SESSION_EXPIRED', { path: this.path })))];
      // Suspended (or closed) between the acquire and now: the term is over before it starts.
      if (signal.aborted) controller.abort(signal.reason);
      else if (this.policy === 'standard' && !lock.isHeld)
        controller.abort(new ZabError('CONNECTION_LOSS', { message: 'suspended: leadership interrupted' }));
      try {
        if (!controller.signal.aborted) await this.leadership(controller.signal, { fencingToken: lock.fencingToken! });
      } catch (error) {
        if (!controller.signal.aborted) this.emitter.emit('error', error);
      } finally {
        for (const off of offs) off();
        controller.abort(new Error('leadership returned'));
        this.term = undefined;
        const released = lock.release();
        this.cleanups.track(released);
        await released.catch(() => {});
      }
      if (this.tracker?.state === 'lost') return;
    } while (this.options.autoRequeue === true && !signal.aborted);
  }
}
