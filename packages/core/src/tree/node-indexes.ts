import type { SessionId } from '../types.js';
import { CVERSION, F_ROW, MTIME, type NodeTable, NUM_CHILDREN, ROW } from './node-table.js';
import { isPathWithin } from './path-utils.js';

/**
 * NodeIndexes are the tree's secondary indexes over special znodes: each session's ephemerals
 * (deleted by its closeSession), the containers and the TTL znodes (which the leader deletes with
 * transactions it issues when they are empty or expired, as ZooKeeper's ContainerManager).
 */
export class NodeIndexes {
  private readonly ephemerals = new Map<SessionId, Set<string>>();
  private readonly containers = new Set<string>();
  private readonly ttlNodes = new Set<string>();

  /** add indexes a znode just created (or restored from a snapshot). */
  add(path: string, ephemeralOwner: SessionId, container: boolean, ttlMs: number): void {
    if (ephemeralOwner !== 0) {
      let paths = this.ephemerals.get(ephemeralOwner);
      if (paths === undefined) {
        paths = new Set();
        this.ephemerals.set(ephemeralOwner, paths);
      }
      paths.add(path);
    }
    if (container) this.containers.add(path);
    if (ttlMs > 0) this.ttlNodes.add(path);
  }

  /** remove drops a znode being deleted from every index it is in. */
  remove(path: string, ephemeralOwner: SessionId, container: boolean, ttlMs: number): void {
    if (ephemeralOwner !== 0) {
      const paths = this.ephemerals.get(ephemeralOwner);
      if (paths !== undefined) {
        paths.delete(path);
        if (paths.size === 0) this.ephemerals.delete(ephemeralOwner);
      }
    }
    if (container) this.containers.delete(path);
    if (ttlMs > 0) this.ttlNodes.delete(path);
  }

  /** dropSession forgets a closed session's ephemerals (the znodes themselves are deleted by the tree). */
  dropSession(sessionId: SessionId): void {
    this.ephemerals.delete(sessionId);
  }

  /** ephemeralsOf lists a session's ephemerals at or below `prefixPath` (all of them by default), sorted. */
  ephemeralsOf(sessionId: SessionId, prefixPath = '/'): string[] {
    const paths = [...(this.ephemerals.get(sessionId) ?? [])];
    return (prefixPath === '/' ? paths : paths.filter((path) => isPathWithin(path, prefixPath))).sort();
  }

  /** emptyContainers lists containers that had children (cversion > 0) and have none now, sorted (ZooKeeper's ContainerManager). */
  emptyContainers(nodes: NodeTable): string[] {
    const out: string[] = [];
    for (const path of this.containers) {
      const slot = nodes.slotOf(path);
      if (nodes.i[slot * ROW + NUM_CHILDREN] === 0 && nodes.i[slot * ROW + CVERSION]! > 0) out.push(path);
    }
    return out.sort();
  }

  /** expiredTtlNodes lists childless TTL znodes not modified for longer than their TTL (nowMs - mtime > ttlMs), sorted. */
  expiredTtlNodes(nodes: NodeTable, nowMs: number): string[] {
    const out: string[] = [];
    for (const path of this.ttlNodes) {
      const slot = nodes.slotOf(path);
      if (nodes.i[slot * ROW + NUM_CHILDREN] === 0 && nowMs - nodes.f[slot * F_ROW + MTIME]! > nodes.ttlOf(slot)) {
        out.push(path);
      }
    }
    return out.sort();
  }
}
