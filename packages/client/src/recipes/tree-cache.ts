import type { WatchStream, ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import type { CallOptions, Stat, WatchedEvent } from '../types.js';
import { joinPath } from './paths.js';

/** CachedNode is one znode as the cache holds it: its data and its Stat as of its last data change. */
export interface CachedNode {
  path: string;
  data: Uint8Array;
  stat: Stat;
}

/**
 * TreeCacheEvents: `added` (a znode appeared: created, or present at the first load), `updated`
 * (its data changed, or it was deleted and created again; with the previous node), `removed`
 * (with the last node cached; children before their parent), `initialized` once after the first
 * load's `added` events; `suspended` when the connection is lost (the mirror may fall behind),
 * `reconnected` when the session continues (a reload follows and emits what changed meanwhile),
 * `lost` when the session expired or the client closed (the cache stops: it keeps its last
 * contents and changes no more; a new client needs a new cache), and `error` for a read that
 * failed for another reason than the connection (the znode is left as it was).
 */
export interface TreeCacheEvents {
  added: [CachedNode];
  updated: [CachedNode, CachedNode];
  removed: [CachedNode];
  initialized: [];
  suspended: [];
  reconnected: [];
  lost: [{ reason: string }];
  error: [unknown];
}

/** TreeCacheOptions: `maxDepth` limits the mirror to the znodes at most that many levels below the root (0: the root alone). */
export interface TreeCacheOptions {
  maxDepth?: number;
}

/**
 * TreeCache is Curator's CuratorCache (TreeCache): a local mirror of the subtree under `path`
 * (the root included), kept current through one persistent recursive watch. `start` sets the
 * watch first, then loads the tree (so no change is missed), emits `added` for each znode and
 * `initialized`. Each event is then applied in zxid order, one at a time: a created or changed
 * znode is read again (unless the cache already holds a newer version: the event's zxid is not
 * above the cached mzxid), a deleted one is dropped with what is under it (unless the cached one
 * was created after the delete).
 *
 * After every reconnect the whole subtree is read again and compared with the mirror, and the
 * differences are emitted: events that happened while the client was away are not relied on.
 * The mirror converges to the server's tree once writes stop. It is not a snapshot at any one
 * zxid while they go on (as Curator's): a reader may see a child before its parent's update.
 * A session that expires stops the cache with `lost` (no new session is opened behind the
 * application's back: its ephemerals are gone too); build a new client and a new cache.
 */
export class TreeCache {
  private readonly emitter = new Emitter<TreeCacheEvents>();
  private readonly nodes = new Map<string, CachedNode>();
  private readonly maxDepth: number;
  private stream: WatchStream | undefined;
  private offs: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private initialized = false;

  constructor(
    private readonly client: ZabClient,
    /** path is the root of the mirrored subtree. */
    readonly path: string,
    options: TreeCacheOptions = {},
  ) {
    this.maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
    if (!(this.maxDepth >= 0)) throw new RangeError(`maxDepth must be >= 0: ${options.maxDepth}`);
  }

  on<E extends keyof TreeCacheEvents>(event: E, listener: (...args: TreeCacheEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** isInitialized is true once the first load is done. */
  get isInitialized(): boolean {
    return this.initialized;
  }

  /** get is the cached znode at `path`, if any. */
  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** children lists the cached children names of `path`, sorted. */
  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const key of this.nodes.keys()) {
      if (key.startsWith(prefix) && key !== '/' && !key.slice(prefix.length).includes('/'))
        names.push(key.slice(prefix.length));
    }
    return names.sort();
  }

  /** entries is every cached znode, sorted by path. */
  entries(): CachedNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** size is the number of cached znodes. */
  get size(): number {
    return this.nodes.size;
  }

  /**
   * start sets the watch, loads the subtree and resolves after `initialized`. It rejects (and the
   * cache stops) if the first load fails; later failures are `error` or `lost` events.
   */
  async start(options: CallOptions = {}): Promise<void> {
    if (this.stream !== undefined || this.stopped) throw new Error(`TreeCache ${this.path}: already started`);
    const stream = this.client.watch(this.path, { recursive: this.maxDepth > 0 });
    this.stream = stream;
    this.offs = [
      this.client.on('disconnected', () => this.emitter.emit('suspended')),
      this.client.on('reconnected', () => {
        if (this.stopped) return;
        this.emitter.emit('reconnected');
        if (this.initialized) this.enqueue(() => this.reload());
      }),
      this.client.on('expired', ({ reason }) => this.stop(reason)),
      this.client.on('closed', () => this.stop('the client is closed')),
    ];
    (async () => {
      try {
        for await (const event of stream) this.enqueue(() => this.apply(event));
      } catch (error) {
        if (!ZabError.isInstance(error, 'SESSION_EXPIRED')) this.emitter.emit('error', error);
      }
    })();
    try {
      await stream.ready;
      await this.reloadRetrying(options.signal);
    } catch (error) {
      this.close();
      throw error;
    }
    this.initialized = true;
    this.emitter.emit('initialized');
  }

  /** close removes the watch and stops the cache; it keeps its contents. */
  close(): void {
    this.stopped = true;
    for (const off of this.offs.splice(0)) off();
    this.stream?.close();
  }

  private stop(reason: string): void {
    if (this.stopped) return;
    this.close();
    this.emitter.emit('lost', { reason });
  }

  /** enqueue runs `job` after the jobs before it: events and reloads apply one at a time, in order. */
  private enqueue(job: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (error) {
        // CONNECTION_LOSS: the reconnect reloads everything; SESSION_EXPIRED: `lost` says it.
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS') && !ZabError.isInstance(error, 'SESSION_EXPIRED'))
          this.emitter.emit('error', error);
      }
    });
  }

  /** reloadRetrying runs the first load in the job order, again after each connection loss. */
  private async reloadRetrying(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      let failure: unknown;
      const done = this.chain.then(() =>
        this.reload(signal).catch((error: unknown) => {
          failure = error;
        }),
      );
      this.chain = done;
      await done;
      if (failure === undefined) return;
      if (!ZabError.isInstance(failure, 'CONNECTION_LOSS')) throw failure;
    }
  }

  private depthOf(path: string): number {
    if (path === this.path) return 0;
    const rest = this.path === '/' ? path.slice(1) : path.slice(this.path.length + 1);
    return rest.split('/').length;
  }

  private async apply(event: WatchedEvent): Promise<void> {
    const { type, path, zxid } = event;
    if (this.depthOf(path) > this.maxDepth) return;
    const cached = this.nodes.get(path);
    if (type === 'NODE_DELETED') {
      if (cached !== undefined && cached.stat.czxid < zxid) this.removeSubtree(path);
      return;
    }
    if (type !== 'NODE_CREATED' && type !== 'NODE_DATA_CHANGED') return;
    if (cached !== undefined && cached.stat.mzxid >= zxid) return;
    const node = await this.read(path, undefined);
    if (node === undefined) this.removeSubtree(path);
    else this.put(node);
  }

  /** reload reads the whole subtree and applies the differences to the mirror. */
  private async reload(signal?: AbortSignal): Promise<void> {
    const fresh = new Map<string, CachedNode>();
    let level = [this.path];
    for (let depth = 0; level.length > 0; depth++) {
      const next: string[] = [];
      await Promise.all(
        level.map(async (path) => {
          const node = await this.read(path, signal);
          if (node === undefined) return;
          fresh.set(path, node);
          if (depth >= this.maxDepth || node.stat.numChildren === 0) return;
          let names: string[];
          try {
            names = await this.client.children(path, { signal });
          } catch (error) {
            if (ZabError.isInstance(error, 'NO_NODE')) return;
            throw error;
          }
          for (const name of names) next.push(joinPath(path, name));
        }),
      );
      level = next;
    }
    const gone = [...this.nodes.keys()].filter((path) => !fresh.has(path));
    // Deepest first, so children are removed before their parent.
    gone.sort((a, b) => this.depthOf(b) - this.depthOf(a) || (a < b ? -1 : 1));
    for (const path of gone) {
      const node = this.nodes.get(path)!;
      this.nodes.delete(path);
      this.emitter.emit('removed', node);
    }
    const present = [...fresh.keys()].sort((a, b) => this.depthOf(a) - this.depthOf(b) || (a < b ? -1 : 1));
    for (const path of present) this.put(fresh.get(path)!);
  }

  private async read(path: string, signal: AbortSignal | undefined): Promise<CachedNode | undefined> {
    try {
      const { data, stat } = await this.client.get(path, { signal });
      return { path, data, stat };
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) return undefined;
      throw error;
    }
  }

  /** put stores a node read from the server, emitting `added` or `updated` when it is new or its data changed. */
  private put(node: CachedNode): void {
    const previous = this.nodes.get(node.path);
    if (previous !== undefined && previous.stat.mzxid > node.stat.mzxid && previous.stat.czxid >= node.stat.czxid)
      return;
    this.nodes.set(node.path, node);
    if (previous === undefined) this.emitter.emit('added', node);
    else if (previous.stat.mzxid !== node.stat.mzxid || previous.stat.czxid !== node.stat.czxid)
      this.emitter.emit('updated', node, previous);
  }

  private removeSubtree(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const doomed = [...this.nodes.keys()].filter((key) => key === path || key.startsWith(prefix));
    doomed.sort((a, b) => b.length - a.length);
    for (const key of doomed) {
      const node = this.nodes.get(key)!;
      this.nodes.delete(key);
      this.emitter.emit('removed', node);
    }
  }
}
