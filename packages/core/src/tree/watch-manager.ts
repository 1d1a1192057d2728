import type { SessionId, WatchEvent } from '../types.js';
import { WatchEventType, WatcherType } from '../types.js';
import type { Zxid } from '../zxid.js';
import { parentPath } from './path-utils.js';

/**
 * WatchKind: the four tables of ZooKeeper's watch managers. DATA holds one-shot watches set by
 * getData and exists (ZooKeeper keeps both in `dataWatches`), CHILD one-shot watches set by
 * getChildren, PERSISTENT and PERSISTENT_RECURSIVE the watches of addWatch.
 */
export const WatchKind = { DATA: 0, CHILD: 1, PERSISTENT: 2, PERSISTENT_RECURSIVE: 3 } as const;
export type WatchKind = (typeof WatchKind)[keyof typeof WatchKind];

/**
 * WatchTrigger is one event to deliver to each session in `sessionIds`. The set is never mutated
 * after it is handed out (one-shot sets leave the manager; persistent ones are copied on the next
 * write), so the host may keep it as long as it likes; a path watched by 10,000 sessions produces
 * one trigger and no copy of the 10,000 ids.
 */
export interface WatchTrigger {
  event: WatchEvent;
  sessionIds: ReadonlySet<SessionId>;
}

const KIND_COUNT = 4;

/**
 * WatchManager indexes watches by path → set of session ids (what triggering needs) and by
 * session → paths (what closing a session needs). Memory is proportional to the registered watches.
 */
export class WatchManager {
  private readonly tables: Map<string, Set<SessionId>>[] = [new Map(), new Map(), new Map(), new Map()];
  private readonly bySession = new Map<SessionId, Set<string>[]>();
  /** handedOut marks persistent sets given to a trigger: they are copied before the next change. */
  private readonly handedOut = new WeakSet<Set<SessionId>>();
  /**
   * watchesPerSessionMax bounds the registrations of one session on this server (all four kinds
   * together); {@link add} refuses past it. Unbounded by default; the tree machine sets it from
   * the member's limits.
   */
  watchesPerSessionMax = Number.POSITIVE_INFINITY;

  /** isEmpty is true when no watch is registered (the hot path of apply checks it first). */
  get isEmpty(): boolean {
    const [data, child, persistent, recursive] = this.tables;
    return data!.size === 0 && child!.size === 0 && persistent!.size === 0 && recursive!.size === 0;
  }

  /**
   * add registers a watch; adding one that exists changes nothing. Returns false, registering
   * nothing, when the session already holds watchesPerSessionMax watches (the caller answers
   * QUOTA_EXCEEDED).
   */
  add(kind: WatchKind, path: string, sessionId: SessionId): boolean {
    const table = this.tables[kind]!;
    let sessions = table.get(path);
    if (sessions?.has(sessionId)) return true;
    if (this.countOf(sessionId) >= this.watchesPerSessionMax) return false;
    if (sessions === undefined) {
      sessions = new Set();
      table.set(path, sessions);
    } else if (this.handedOut.has(sessions)) {
      sessions = new Set(sessions);
      table.set(path, sessions);
    }
    sessions.add(sessionId);
    let paths = this.bySession.get(sessionId);
    if (paths === undefined) {
      paths = [new Set(), new Set(), new Set(), new Set()];
      this.bySession.set(sessionId, paths);
    }
    paths[kind]!.add(path);
    return true;
  }

  /** countOf is how many watches a session holds on this server. */
  countOf(sessionId: SessionId): number {
    const paths = this.bySession.get(sessionId);
    if (paths === undefined) return 0;
    return paths[0]!.size + paths[1]!.size + paths[2]!.size + paths[3]!.size;
  }

  /** has tells whether the session has a watch of this kind on the path. */
  has(kind: WatchKind, path: string, sessionId: SessionId): boolean {
    return this.tables[kind]!.get(path)?.has(sessionId) ?? false;
  }

  /** remove removes one watch; returns whether it existed. */
  remove(kind: WatchKind, path: string, sessionId: SessionId): boolean {
    const table = this.tables[kind]!;
    let sessions = table.get(path);
    if (sessions === undefined || !sessions.has(sessionId)) return false;
    if (sessions.size === 1) {
      table.delete(path);
    } else {
      if (this.handedOut.has(sessions)) {
        sessions = new Set(sessions);
        table.set(path, sessions);
      }
      sessions.delete(sessionId);
    }
    const paths = this.bySession.get(sessionId)!;
    paths[kind]!.delete(path);
    if (paths.every((set) => set.size === 0)) this.bySession.delete(sessionId);
    return true;
  }

  /** dropSession removes every watch of a session (session closed, or its connection to this server gone). */
  dropSession(sessionId: SessionId): void {
    const paths = this.bySession.get(sessionId);
    if (paths === undefined) return;
    for (let kind = 0; kind < KIND_COUNT; kind++) {
      for (const path of [...paths[kind]!]) this.remove(kind as WatchKind, path, sessionId);
    }
    this.bySession.delete(sessionId);
  }

  /** watchCount is the number of (kind, path, session) registrations. */
  get watchCount(): number {
    let count = 0;
    for (const table of this.tables) for (const sessions of table.values()) count += sessions.size;
    return count;
  }

  /** pathsOf lists a session's watched paths of one kind (for tests and admin views). */
  pathsOf(sessionId: SessionId, kind: WatchKind): string[] {
    return [...(this.bySession.get(sessionId)?.[kind] ?? [])].sort();
  }

  /** triggerCreated fires NodeCreated on `path` and NodeChildrenChanged on its parent, in ZooKeeper's order. */
  triggerCreated(path: string, zxid: Zxid, out: WatchTrigger[]): void {
    if (this.isEmpty) return;
    this.fire(WatchEventType.NODE_CREATED, path, zxid, true, false, out);
    this.fire(WatchEventType.NODE_CHILDREN_CHANGED, parentPath(path), zxid, false, true, out);
  }

  /** triggerDeleted fires NodeDeleted on `path` (data and child watches) and NodeChildrenChanged on its parent. */
  triggerDeleted(path: string, zxid: Zxid, out: WatchTrigger[]): void {
    if (this.isEmpty) return;
    this.fire(WatchEventType.NODE_DELETED, path, zxid, true, true, out);
    this.fire(WatchEventType.NODE_CHILDREN_CHANGED, parentPath(path), zxid, false, true, out);
  }

  /** triggerDataChanged fires NodeDataChanged on `path`. */
  triggerDataChanged(path: string, zxid: Zxid, out: WatchTrigger[]): void {
    if (this.isEmpty) return;
    this.fire(WatchEventType.NODE_DATA_CHANGED, path, zxid, true, false, out);
  }

  /**
   * fire collects the sessions to notify of one event: the one-shot tables it consumes (data and/or
   * child), the persistent watches on the path, and (except for NodeChildrenChanged, as ZooKeeper)
   * the persistent-recursive watches on the path and its ancestors. A session is notified once.
   */
  private fire(
    type: WatchEventType,
    path: string,
    zxid: Zxid,
    consumeData: boolean,
    consumeChild: boolean,
    out: WatchTrigger[],
  ): void {
    const sources: Set<SessionId>[] = [];
    if (consumeData) this.consume(WatchKind.DATA, path, sources);
    if (consumeChild) this.consume(WatchKind.CHILD, path, sources);
    const persistent = this.tables[WatchKind.PERSISTENT]!.get(path);
    if (persistent !== undefined) {
      this.handedOut.add(persistent);
      sources.push(persistent);
    }
    const recursive = this.tables[WatchKind.PERSISTENT_RECURSIVE]!;
    if (type !== WatchEventType.NODE_CHILDREN_CHANGED && recursive.size > 0) {
      for (let at = path; ; at = parentPath(at)) {
        const sessions = recursive.get(at);
        if (sessions !== undefined) {
          this.handedOut.add(sessions);
          sources.push(sessions);
        }
        if (at === '/') break;
      }
    }
    if (sources.length === 0) return;
    let sessionIds: Set<SessionId>;
    if (sources.length === 1) {
      sessionIds = sources[0]!;
    } else {
      sessionIds = new Set();
      for (const source of sources) for (const id of source) sessionIds.add(id);
    }
    out.push({ event: { type, path, zxid }, sessionIds });
  }

  private consume(kind: WatchKind, path: string, sources: Set<SessionId>[]): void {
    const table = this.tables[kind]!;
    const sessions = table.get(path);
    if (sessions === undefined) return;
    table.delete(path);
    for (const sessionId of sessions) {
      const paths = this.bySession.get(sessionId)!;
      paths[kind]!.delete(path);
      if (paths[0]!.size === 0 && paths[1]!.size === 0 && paths[2]!.size === 0 && paths[3]!.size === 0) {
        this.bySession.delete(sessionId);
      }
    }
    sources.push(sessions);
  }
}

/**
 * watchKindsOf maps a removeWatches `watcherType` to the kinds it removes: CHILDREN and DATA the
 * one-shot ones (DATA includes exists watches), PERSISTENT and PERSISTENT_RECURSIVE those of
 * addWatch, ANY all four; none for an unknown type.
 */
export function watchKindsOf(watcherType: WatcherType): WatchKind[] {
  return watcherType === WatcherType.CHILDREN
    ? [WatchKind.CHILD]
    : watcherType === WatcherType.DATA
      ? [WatchKind.DATA]
      : watcherType === WatcherType.PERSISTENT
        ? [WatchKind.PERSISTENT]
        : watcherType === WatcherType.PERSISTENT_RECURSIVE
          ? [WatchKind.PERSISTENT_RECURSIVE]
          : watcherType === WatcherType.ANY
            ? [WatchKind.DATA, WatchKind.CHILD, WatchKind.PERSISTENT, WatchKind.PERSISTENT_RECURSIVE]
            : [];
}
