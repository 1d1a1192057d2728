import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import { type ConnectionStateEvents, type ConnectionStatePolicy, ConnectionStateTracker } from './connection-state.js';
import { type AcquireOptions, combineSignal } from './lock.js';
import { createWithParents, type EnsurePathOptions, ensurePath, joinPath, sortBySequence } from './paths.js';
import { CleanupTracker, deleteProtected, type ProtectedNode, protectedCreate } from './protected-create.js';
import { waitForTurn } from './queue.js';

/**
 * LeaderElectionEvents: `leader` when this participant becomes leader, `notLeader` when it stops
 * being one, `error` when the election loop fails, and the connection events `suspended`,
 * `reconnected` and `lost` (see ConnectionStateEvents).
 */
export interface LeaderElectionEvents extends ConnectionStateEvents {
  leader: [];
  notLeader: [];
  error: [unknown];
}

/** LeaderElectionOptions: the `acl` of the znodes the election creates, and what to do on suspension. */
export interface LeaderElectionOptions {
  /** acl is the ACL of the znodes the election creates (its directory if missing, each participant's), default OPEN_ACL_UNSAFE. */
  acl?: readonly ACL[];
  /**
   * connectionStatePolicy: `standard` (default) gives leadership up on `suspended` and takes it
   * back after the reconnect if its znode is still first; `session` keeps leading until `lost`.
   */
  connectionStatePolicy?: ConnectionStatePolicy;
  /** containerParents creates the directory and its missing ancestors as CONTAINER znodes (default true, as Curator). */
  containerParents?: boolean;
}

const decoder = new TextDecoder();

/**
 * LeaderElection elects one leader among the participants under a znode directory (Curator's
 * LeaderLatch): each participant creates a protected ephemeral sequential znode holding its `id`,
 * watches only its predecessor, and leads while its znode is the lowest. When the leader's session
 * ends (its process dies, it closes, it expires) its znode goes and the next participant leads.
 *
 * Connection states (Curator's rules): with the `standard` policy a leader that loses its
 * connection stops leading at once — `isLeader` is false and `notLeader` is emitted inside the
 * client's `disconnected` event, before its successor can be elected (the session outlives the
 * disconnection by the rest of its timeout) — and after the reconnect it leads again only if a
 * read shows its znode still first. With `session` it leads on until `lost`. On `lost` (expiry
 * or close) the participant stops for good: start a new one on a new client.
 */
export class LeaderElection {
  private readonly emitter = new Emitter<LeaderElectionEvents>();
  private readonly cleanups = new CleanupTracker();
  private readonly policy: ConnectionStatePolicy;
  private node: ProtectedNode | undefined;
  private leading = false;
  private running: AbortController | undefined;
  private starting: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private tracker: ConnectionStateTracker | undefined;
  /** generation counts suspensions, so a turn read before one is not trusted after it. */
  private generation = 0;
  /** interrupt ends the current term early (a suspension under the standard policy). */
  private interrupt: (() => void) | undefined;

  constructor(
    private readonly client: ZabClient,
    /** path is the election's directory; it is created if missing. */
    readonly path: string,
    /** id identifies this participant to the others (stored as the znode's data). */
    readonly id: string,
    private readonly options: LeaderElectionOptions = {},
  ) {
    this.policy = options.connectionStatePolicy ?? 'standard';
  }

  /**
   * isLeader is true while this participant leads. Under the standard policy it is false as soon
   * as the connection is suspended (also when the client's clock shows a pause, before any event).
   */
  get isLeader(): boolean {
    if (!this.leading) return false;
    const state = this.tracker?.state;
    return this.policy === 'session' ? state !== 'lost' : state === 'connected';
  }

  /**
   * fencingToken is the leader's fencing token while it leads (undefined otherwise): the czxid of
   * its znode. A later leader's token is higher; a participant that leads again after a
   * suspension with the same znode keeps its token (nobody led in between).
   */
  get fencingToken(): bigint | undefined {
    return this.isLeader && this.node !== undefined ? BigInt(this.node.stat.czxid) : undefined;
  }

  /** nodePath is this participant's znode, once it has one. */
  get nodePath(): string | undefined {
    return this.node?.path;
  }

  on<E extends keyof LeaderElectionEvents>(event: E, listener: (...args: LeaderElectionEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /**
   * start joins the election; resolves once this participant's znode exists (it may not lead
   * yet). A `stop()` meanwhile makes it reject with the stop's reason, and the znode (also one
   * whose create was in flight) is deleted before `stop()` resolves.
   */
  async start(): Promise<void> {
    if (this.running !== undefined) throw new Error(`LeaderElection ${this.path}: already started`);
    const running = new AbortController();
    this.running = running;
    this.tracker = new ConnectionStateTracker(this.client, {
      suspended: () => this.onSuspended(),
      reconnected: () => this.emitter.emit('reconnected'),
      lost: () => {
        this.setLeading(false);
        running.abort(new ZabError('SESSION_EXPIRED', { op: 'leaderElection', path: this.path }));
        this.emitter.emit('lost');
      },
    });
    this.starting = (async () => {
      await ensurePath(this.client, this.path, this.parentOptions(running.signal));
      const first = await this.join(running.signal);
      this.loop = this.run(first, running.signal).catch((error: unknown) => {
        if (!running.signal.aborted) this.emitter.emit('error', error);
      });
    })();
    await this.starting;
  }

  /** waitForLeadership resolves when this participant leads (at once if it does). */
  waitForLeadership(options: AcquireOptions = {}): Promise<void> {
    if (this.isLeader) return Promise.resolve();
    const signal = combineSignal(options);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        off();
        reject(signal!.reason);
      };
      const off = this.emitter.on('leader', () => {
        signal?.removeEventListener('abort', onAbort);
        off();
        resolve();
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** leader returns the id of the current leader (the lowest participant), or undefined if there is none. */
  async leader(): Promise<string | undefined> {
    return (await this.participants())[0];
  }

  /** participants returns every participant's id in election order (the leader first). */
  async participants(): Promise<string[]> {
    let children: string[];
    try {
      children = await this.client.children(this.path);
    } catch (error) {
      // A container directory is deleted once the last participant left.
      if (ZabError.isInstance(error, 'NO_NODE')) return [];
      throw error;
    }
    const names = sortBySequence(children);
    const ids: string[] = [];
    for (const name of names) {
      try {
        ids.push(decoder.decode((await this.client.get(joinPath(this.path, name))).data));
      } catch (error) {
        if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
      }
    }
    return ids;
  }

  /**
   * stop leaves the election: leadership ends at once, and it resolves once the znode is deleted
   * (so the next participant leads) — also when called during `start()`, and also the znode of a
   * create that was in flight. Deletion is retried across connection loss.
   */
  async stop(): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    this.setLeading(false);
    running.abort(new Error('LeaderElection stopped'));
    this.tracker?.close();
    await this.starting?.catch(() => {});
    await this.loop;
    this.setLeading(false);
    const node = this.node;
    this.node = undefined;
    if (node !== undefined) this.cleanups.track(deleteProtected(this.client, node));
    await this.cleanups.whenCleanedUp();
  }

  /** whenCleanedUp resolves once the znodes of abandoned joins have been deleted in the background. */
  whenCleanedUp(): Promise<void> {
    return this.cleanups.whenCleanedUp();
  }

  private onSuspended(): void {
    this.generation++;
    if (this.policy === 'standard') {
      this.setLeading(false);
      this.interrupt?.();
    }
    this.emitter.emit('suspended');
  }

  private parentOptions(signal: AbortSignal): EnsurePathOptions {
    return { signal, acl: this.options.acl, container: this.options.containerParents ?? true };
  }

  private async join(signal: AbortSignal): Promise<ProtectedNode> {
    const created = await createWithParents(this.client, this.path, this.parentOptions(signal), () =>
      protectedCreate(this.client, this.path, 'n-', this.id, {
        mode: 'EPHEMERAL_SEQUENTIAL',
        acl: this.options.acl,
        signal,
        cleanups: this.cleanups,
      }),
    );
    const previous = this.node;
    this.node = created;
    // A previous znode is gone (deleted by someone else): make sure of it.
    if (previous !== undefined) this.cleanups.track(deleteProtected(this.client, previous));
    return created;
  }

  private async run(first: ProtectedNode, signal: AbortSignal): Promise<void> {
    let node = first;
    for (;;) {
      if (signal.aborted) return;
      try {
        const generation = this.generation;
        await waitForTurn(this.client, this.path, node.path, node.prefix, signal);
        // A suspension since the turn was read: read it again on the new connection.
        if (this.policy === 'standard' && (generation !== this.generation || this.tracker?.state !== 'connected')) {
          await this.client.waitForState('CONNECTED', { signal });
          continue;
        }
        this.setLeading(true);
        const ended = await this.whileLeading(node.path, signal);
        if (ended === 'suspended') continue;
        this.setLeading(false);
      } catch (error) {
        if (signal.aborted) return;
        if (ZabError.isInstance(error, 'CONNECTION_LOSS')) continue;
        if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
        this.setLeading(false);
      }
      // Our znode was deleted by someone else while the session lives: queue again.
      if (signal.aborted) return;
      node = await this.join(signal);
    }
  }

  /**
   * whileLeading resolves 'deleted' when `path` is gone, 'suspended' when a suspension interrupts
   * the term (standard policy); rejects with the signal's reason.
   */
  private async whileLeading(path: string, signal: AbortSignal): Promise<'deleted' | 'suspended'> {
    const interrupted = new Promise<'suspended'>((resolve) => {
      this.interrupt = () => resolve('suspended');
    });
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => {});
    try {
      for (;;) {
        let changed!: () => void;
        const woken = new Promise<'changed'>((resolve) => {
          changed = () => resolve('changed');
        });
        // Any event (deleted, or a data change) is a reason to look again.
        const stat = await Promise.race([this.client.exists(path, { signal, watch: () => changed() }), interrupted]);
        if (stat === 'suspended') return stat;
        if (stat === null) return 'deleted';
        const why = await Promise.race([woken, interrupted, aborted]);
        if (why === 'suspended') return why;
      }
    } finally {
      this.interrupt = undefined;
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.emitter.emit(leading ? 'leader' : 'notLeader');
  }
}
