import type { SessionId, SnapshotNodeRecord, SnapshotRecord, Stat } from '../types.js';
import type { AclCache } from './acl-cache.js';
import {
  AVERSION,
  CTIME,
  CVERSION,
  CZXID,
  F_ROW,
  MTIME,
  MZXID,
  type NodeTable,
  NUM_CHILDREN,
  OWNER,
  PZXID,
  ROW,
  VERSION,
} from './node-table.js';
import { SYSTEM_PATH } from './path-utils.js';

/**
 * The conversions between a znode's row in the {@link NodeTable} and the records the rest of the
 * system sees: its Stat (replies) and its snapshot record (snapshots and SNAP chunks).
 */

/** statOf is the Stat of the znode in `slot`. */
export function statOf(nodes: NodeTable, slot: number): Stat {
  return {
    czxid: nodes.f[slot * F_ROW + CZXID]!,
    mzxid: nodes.f[slot * F_ROW + MZXID]!,
    ctime: nodes.f[slot * F_ROW + CTIME]!,
    mtime: nodes.f[slot * F_ROW + MTIME]!,
    version: nodes.i[slot * ROW + VERSION]!,
    cversion: nodes.i[slot * ROW + CVERSION]!,
    aversion: nodes.i[slot * ROW + AVERSION]!,
    ephemeralOwner: nodes.f[slot * F_ROW + OWNER]!,
    dataLength: nodes.values.length(slot),
    numChildren: nodes.i[slot * ROW + NUM_CHILDREN]!,
    pzxid: nodes.f[slot * F_ROW + PZXID]!,
  };
}

/** nodeRecord is the snapshot record of the znode in `slot` (`path` its path, when the caller has it). */
export function nodeRecord(
  nodes: NodeTable,
  slot: number,
  acls: AclCache,
  path: string = nodes.pathOf(slot),
): SnapshotNodeRecord {
  return {
    kind: 'node',
    path,
    data: nodes.values.get(slot),
    czxid: nodes.f[slot * F_ROW + CZXID]!,
    mzxid: nodes.f[slot * F_ROW + MZXID]!,
    pzxid: nodes.f[slot * F_ROW + PZXID]!,
    ctime: nodes.f[slot * F_ROW + CTIME]!,
    mtime: nodes.f[slot * F_ROW + MTIME]!,
    version: nodes.i[slot * ROW + VERSION]!,
    cversion: nodes.i[slot * ROW + CVERSION]!,
    aversion: nodes.i[slot * ROW + AVERSION]!,
    ephemeralOwner: nodes.f[slot * F_ROW + OWNER]!,
    container: nodes.isContainer(slot),
    ttlMs: nodes.ttlOf(slot),
    acl: acls.get(nodes.aclRefs[slot]!),
  };
}

/** restoreStat sets the znode in `slot` to the Stat fields of a snapshot record (its data and flags are set on insert). */
export function restoreStat(nodes: NodeTable, slot: number, record: SnapshotNodeRecord): void {
  nodes.f[slot * F_ROW + CZXID] = record.czxid;
  nodes.f[slot * F_ROW + MZXID] = record.mzxid;
  nodes.f[slot * F_ROW + PZXID] = record.pzxid;
  nodes.f[slot * F_ROW + CTIME] = record.ctime;
  nodes.f[slot * F_ROW + MTIME] = record.mtime;
  nodes.i[slot * ROW + VERSION] = record.version;
  nodes.i[slot * ROW + CVERSION] = record.cversion;
  nodes.i[slot * ROW + AVERSION] = record.aversion;
}

/** SessionState is what the tree holds of a live session: its negotiated timeout and its password. */
export interface SessionState {
  timeoutMs: number;
  password: Uint8Array;
}

/**
 * snapshotRecordsOf yields every znode, parents before children, then every session. It may be
 * consumed while transactions keep being applied (a fuzzy snapshot): each znode's children are
 * listed when the znode is visited and a znode gone by the time its turn comes is skipped, so the
 * records plus a replay of the log from the header's zxid converge to the live tree. Children come
 * in path order and sessions in id order: equal trees give equal sequences (usable as a digest).
 */
export function* snapshotRecordsOf(
  nodes: NodeTable,
  sessions: ReadonlyMap<SessionId, SessionState>,
  acls: AclCache,
): Generator<SnapshotRecord> {
  // Each znode's children are listed with their slots; a slot is looked up again by path only if
  // it no longer holds that znode when its turn comes (deleted, or deleted and its slot reused).
  const stack: { slots: number[]; paths: string[]; next: number }[] = [
    { slots: [nodes.slotOf('/')], paths: ['/'], next: 0 },
  ];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.paths.length) {
      stack.pop();
      continue;
    }
    const path = top.paths[top.next]!;
    const listed = top.slots[top.next++]!;
    const slot = nodes.holdsPath(listed, path) ? listed : nodes.slotOf(path);
    if (slot < 0) continue;
    const record = nodeRecord(nodes, slot, acls, path);
    // Sorted, so equal trees yield equal record sequences whatever history built them.
    const children = nodes.childSlots(slot).map((child) => ({ slot: child, path: nodes.pathOf(child) }));
    children.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    // The children of /zookeeper are the host's (DataTree.setSystemNode), not replicated state.
    if (children.length > 0 && path !== SYSTEM_PATH) {
      stack.push({ slots: children.map((child) => child.slot), paths: children.map((child) => child.path), next: 0 });
    }
    yield record;
  }
  for (const sessionId of [...sessions.keys()].sort((a, b) => a - b)) {
    const session = sessions.get(sessionId);
    if (session !== undefined) yield { kind: 'session', sessionId, ...session };
  }
}
