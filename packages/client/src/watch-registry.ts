import { type SetWatchesRequest, type WatchEvent, WatchEventType, type Zxid } from '@zabkit/core';

/** WatchedEventType names the znode events a watch delivers (ZooKeeper's Watcher.Event.EventType). */
export type WatchedEventType = 'NODE_CREATED' | 'NODE_DELETED' | 'NODE_DATA_CHANGED' | 'NODE_CHILDREN_CHANGED';

/** WatchedEvent is one watch notification: what happened, to which path (without the chroot), at which zxid. */
export interface WatchedEvent {
  type: WatchedEventType;
  path: string;
  /** zxid is the transaction that fired the event (for a re-registered watch: the server's zxid when it noticed). */
  zxid: Zxid;
}

/** WatchListener receives the events of one watch. */
export type WatchListener = (event: WatchEvent) => void;

/**
 * WatchKind: the client's five watch tables, as ZooKeeper's ZKWatchManager: one-shot DATA (getData,
 * exists on an existing znode), EXIST (exists on a missing znode), CHILD (getChildren), and the
 * PERSISTENT and PERSISTENT_RECURSIVE watches of addWatch.
 */
export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

/** SET_WATCHES_BATCH_BYTES_MAX bounds the path bytes of one setWatches request (ZooKeeper's 128 KiB, ZOOKEEPER-706). */
export const SET_WATCHES_BATCH_BYTES_MAX = 128 * 1024;

const EVENT_TYPE_NAMES: Record<number, WatchedEventType> = {
  [WatchEventType.NODE_CREATED]: 'NODE_CREATED',
  [WatchEventType.NODE_DELETED]: 'NODE_DELETED',
  [WatchEventType.NODE_DATA_CHANGED]: 'NODE_DATA_CHANGED',
  [WatchEventType.NODE_CHILDREN_CHANGED]: 'NODE_CHILDREN_CHANGED',
};

/** watchedEventType names a wire event type; undefined for the *_WATCH_REMOVED types, which servers never send. */
export function watchedEventType(type: number): WatchedEventType | undefined {
  return EVENT_TYPE_NAMES[type];
}

/**
 * WatchRegistry holds the client side of every watch, keyed by server path (chroot included), so
 * that one event from the server (a server notifies a session once per event) reaches every
 * listener it concerns, one-shot listeners are dropped once fired, and a reconnect can re-register
 * exactly what is still set (setWatches).
 */
export class WatchRegistry {
  private readonly tables: Record<WatchKind, Map<string, Set<WatchListener>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  /** add registers a listener; adding the same listener twice on one path and kind keeps one (as ZooKeeper). */
  add(kind: WatchKind, path: string, listener: WatchListener): void {
    const table = this.tables[kind];
    let listeners = table.get(path);
    if (listeners === undefined) {
      listeners = new Set();
      table.set(path, listeners);
    }
    listeners.add(listener);
  }

  /** remove drops one listener; returns true when it was the last of its kind on the path (the server's watch can go). */
  remove(kind: WatchKind, path: string, listener: WatchListener): boolean {
    const table = this.tables[kind];
    const listeners = table.get(path);
    if (listeners === undefined || !listeners.delete(listener)) return false;
    if (listeners.size > 0) return false;
    table.delete(path);
    return true;
  }

  /** has tells whether any listener of the kind is set on the path. */
  has(kind: WatchKind, path: string): boolean {
    return this.tables[kind].has(path);
  }

  /** size is the number of (kind, path) registrations, what setWatches would send. */
  get size(): number {
    let total = 0;
    for (const table of Object.values(this.tables)) total += table.size;
    return total;
  }

  /**
   * materialize returns the listeners an event reaches and drops the one-shot ones among them, as
   * ZooKeeper's ZKWatchManager.materialize: created and data-changed reach data and exist watches,
   * deleted reaches data, exist and child watches, children-changed reaches child watches; persistent
   * watches on the path get every type; recursive watches on the path or an ancestor get every type
   * except children-changed.
   */
  materialize(event: WatchEvent): Set<WatchListener> {
    const out = new Set<WatchListener>();
    const { path, type } = event;
    const take = (kind: WatchKind) => {
      const listeners = this.tables[kind].get(path);
      if (listeners === undefined) return;
      for (const listener of listeners) out.add(listener);
      this.tables[kind].delete(path);
    };
    if (type === WatchEventType.NODE_CREATED || type === WatchEventType.NODE_DATA_CHANGED) {
      take('data');
      take('exist');
    } else if (type === WatchEventType.NODE_DELETED) {
      take('data');
      take('exist');
      take('child');
    } else if (type === WatchEventType.NODE_CHILDREN_CHANGED) {
      take('child');
    }
    for (const listener of this.tables.persistent.get(path) ?? []) out.add(listener);
    if (type !== WatchEventType.NODE_CHILDREN_CHANGED && this.tables.persistentRecursive.size > 0) {
      let current = path;
      for (;;) {
        for (const listener of this.tables.persistentRecursive.get(current) ?? []) out.add(listener);
        if (current === '/') break;
        const slash = current.lastIndexOf('/');
        current = slash === 0 ? '/' : current.slice(0, slash);
      }
    }
    return out;
  }

  /**
   * setWatchesBatches lists every registered watch as setWatches requests of at most
   * `batchBytesMax` bytes of paths each (a path longer than the limit gets a request of its own).
   */
  setWatchesBatches(relativeZxid: Zxid, batchBytesMax = SET_WATCHES_BATCH_BYTES_MAX): SetWatchesRequest[] {
    const batches: SetWatchesRequest[] = [];
    const fresh = (): SetWatchesRequest => ({
      op: 'setWatches',
      relativeZxid,
      dataWatches: [],
      existWatches: [],
      childWatches: [],
      persistentWatches: [],
      persistentRecursiveWatches: [],
    });
    let batch = fresh();
    let bytes = 0;
    const fields: [WatchKind, keyof Omit<SetWatchesRequest, 'op' | 'relativeZxid'>][] = [
      ['data', 'dataWatches'],
      ['exist', 'existWatches'],
      ['child', 'childWatches'],
      ['persistent', 'persistentWatches'],
      ['persistentRecursive', 'persistentRecursiveWatches'],
    ];
    for (const [kind, field] of fields) {
      for (const path of this.tables[kind].keys()) {
        const size = Buffer.byteLength(path) + 8;
        if (bytes > 0 && bytes + size > batchBytesMax) {
          batches.push(batch);
          batch = fresh();
          bytes = 0;
        }
        batch[field].push(path);
        bytes += size;
      }
    }
    if (bytes > 0) batches.push(batch);
    return batches;
  }

  /** clear drops every watch (the session ended). */
  clear(): void {
    for (const table of Object.values(this.tables)) table.clear();
  }
}
