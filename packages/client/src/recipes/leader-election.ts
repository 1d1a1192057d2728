import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import { type AcquireOptions, combineSignal } from './lock.js';
import { ensurePath, joinPath, sortBySequence } from './paths.js';
import { protectedCreate } from './protected-create.js';
import { waitForTurn } from './queue.js';

/** LeaderElectionEvents: `leader` when this participant becomes leader, `notLeader` when it stops being one, `error` when the election loop fails. */
export interface LeaderElectionEvents {
  leader: [];
  notLeader: [];
  error: [unknown];
}

const decoder = new TextDecoder();

/**
 * LeaderElection elects one leader among the participants under a znode directory (Curator's
 * LeaderLatch): each participant creates a protected ephemeral sequential znode holding its `id`,
 * watches only its predecessor, and leads while its znode is the lowest. When the leader's session
 * ends (its process dies, it closes, it expires) its znode goes and the next participant leads. A
 * participant whose own session expires stops leading (`notLeader`) and stays stopped: start a new
 * one on a new client.
 */
export class LeaderElection {
  private readonly emitter = new Emitter<LeaderElectionEvents>();
  private node: string | undefined;
  private leading = false;
  private running: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private offs: (() => void)[] = [];

  constructor(
    private readonly client: ZabClient,
    /** path is the election's directory; it is created if missing. */
    readonly path: string,
    /** id identifies this participant to the others (stored as the znode's data). */
    readonly id: string,
    /** acl is the ACL of the znodes the election creates (its directory if missing, each participant's), default OPEN_ACL_UNSAFE. */
    private readonly options: { acl?: readonly ACL[] } = {},
  ) {}

  /** isLeader is true while this participant leads. */
  get isLeader(): boolean {
    return this.leading;
  }

  on<E extends keyof LeaderElectionEvents>(event: E, listener: (...args: LeaderElectionEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** start joins the election; resolves once this participant's znode exists (it may not lead yet). */
  async start(): Promise<void> {
    if (this.running !== undefined) throw new Error(`LeaderElection ${this.path}: already started`);
    const running = new AbortController();
    this.running = running;
    const stop = () => {
      this.setLeading(false);
      running.abort(new ZabError('SESSION_EXPIRED', { op: 'leaderElection', path: this.path }));
    };
    this.offs = [this.client.on('expired', stop), this.client.on('closed', stop)];
    await ensurePath(this.client, this.path, { signal: running.signal, acl: this.options.acl });
    const first = await this.join(running.signal);
    this.loop = this.run(first, running.signal).catch((error: unknown) => {
      if (!running.signal.aborted) this.emitter.emit('error', error);
    });
  }

  /** waitForLeadership resolves when this participant leads (at once if it does). */
  waitForLeadership(options: AcquireOptions = {}): Promise<void> {
    if (this.leading) return Promise.resolve();
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
    const names = sortBySequence(await this.client.children(this.path));
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

  /** stop leaves the election: the znode is deleted, so the next participant leads. */
  async stop(): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    running.abort(new Error('LeaderElection stopped'));
    for (const off of this.offs.splice(0)) off();
    await this.loop;
    this.setLeading(false);
    const node = this.node;
    this.node = undefined;
    while (node !== undefined) {
      try {
        await this.client.delete(node);
        break;
      } catch (error) {
        if (ZabError.isInstance(error, 'NO_NODE') || ZabError.isInstance(error, 'SESSION_EXPIRED')) break;
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }

  private async join(signal: AbortSignal): Promise<{ path: string; prefix: string }> {
    const created = await protectedCreate(this.client, this.path, 'n-', this.id, {
      mode: 'EPHEMERAL_SEQUENTIAL',
      acl: this.options.acl,
      signal,
    });
    this.node = created.path;
    return created;
  }

  private async run(first: { path: string; prefix: string }, signal: AbortSignal): Promise<void> {
    let node = first;
    while (!signal.aborted) {
      try {
        await waitForTurn(this.client, this.path, node.path, node.prefix, signal);
        this.setLeading(true);
        await this.whileExists(node.path, signal);
        this.setLeading(false);
      } catch (error) {
        if (signal.aborted) return;
        if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
      }
      // Our znode was deleted by someone else while the session lives: queue again.
      if (signal.aborted) return;
      node = await this.join(signal);
    }
  }

  /** whileExists resolves when `path` is deleted; rejects with the signal's reason. */
  private async whileExists(path: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      let deleted!: () => void;
      const gone = new Promise<void>((resolve) => {
        deleted = resolve;
      });
      const stat = await this.client.exists(path, {
        signal,
        // Any event (deleted, or a data change) is a reason to look again.
        watch: () => deleted(),
      });
      if (stat === null) return;
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      aborted.catch(() => {});
      await Promise.race([gone, aborted]);
      if ((await this.client.exists(path, { signal })) === null) return;
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.emitter.emit(leading ? 'leader' : 'notLeader');
  }
}
