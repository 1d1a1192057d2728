import type { ZabClient } from '../client.js';
import type { CallOptions } from '../types.js';
import { type CachedNode, TreeCache, type TreeCacheEvents } from './tree-cache.js';

/**
 * NodeCacheEvents: as {@link TreeCacheEvents}, for one znode: `added` when it is created (or
 * exists at the first load), `updated` when its data changes or it is deleted and created again,
 * `removed` when it is deleted; `initialized`, `suspended`, `reconnected`, `lost`, `error`.
 */
export type NodeCacheEvents = TreeCacheEvents;

/**
 * NodeCache is Curator's NodeCache: a local mirror of one znode (`current` is its data and Stat,
 * undefined while it does not exist), kept current through a persistent watch on the path and
 * read again after every reconnect, with the differences emitted. It is a TreeCache of depth 0,
 * with the same rules: events applied in zxid order, `lost` when the session ends (the cache
 * stops and keeps its last value).
 */
export class NodeCache {
  private readonly tree: TreeCache;

  constructor(
    client: ZabClient,
    /** path is the mirrored znode. */
    readonly path: string,
  ) {
    this.tree = new TreeCache(client, path, { maxDepth: 0 });
  }

  on<E extends keyof NodeCacheEvents>(event: E, listener: (...args: NodeCacheEvents[E]) => void): () => void {
    return this.tree.on(event, listener);
  }

  /** current is the znode as last read, or undefined while it does not exist. */
  get current(): CachedNode | undefined {
    return this.tree.get(this.path);
  }

  /** isInitialized is true once the first read is done. */
  get isInitialized(): boolean {
    return this.tree.isInitialized;
  }

  /** start sets the watch, reads the znode and resolves after `initialized` with what it read. */
  async start(options: CallOptions = {}): Promise<CachedNode | undefined> {
    await this.tree.start(options);
    return this.current;
  }

  /** close removes the watch; `current` keeps the last value. */
  close(): void {
    this.tree.close();
  }
}
