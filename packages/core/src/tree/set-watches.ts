import type { SessionId, SetWatchesRequest, WatchEvent } from '../types.js';
import { WatchEventType } from '../types.js';
import type { Zxid } from '../zxid.js';
import { CZXID, F_ROW, MZXID, type NodeTable, PZXID } from './node-table.js';
import { validatePath } from './path-utils.js';
import { WatchKind, type WatchTrigger } from './watch-manager.js';

/**
 * setWatchesOn re-registers a reconnecting session's watches (ZooKeeper's DataTree.setWatches)
 * against the tree's znodes. A watch whose event already happened after `relativeZxid` fires at
 * once instead: data watch → NodeDeleted if the znode is gone, NodeDataChanged if mzxid >
 * relativeZxid; exist watch → NodeCreated if the znode exists; child watch → NodeDeleted if gone,
 * NodeChildrenChanged if pzxid > relativeZxid. Persistent watches are re-added and what they missed
 * is replayed from the Stat zxids. Invalid paths are skipped. `register` adds one watch (the tree
 * counts refusals past the session's limit).
 */
export function setWatchesOn(
  nodes: NodeTable,
  lastZxid: Zxid,
  sessionId: SessionId,
  request: SetWatchesRequest,
  register: (kind: WatchKind, path: string) => void,
): WatchTrigger[] {
  const out: WatchTrigger[] = [];
  const relativeZxid = request.relativeZxid;
  const fire = (type: WatchEventType, path: string, zxid: Zxid): void => {
    const event: WatchEvent = { type, path, zxid };
    out.push({ event, sessionIds: new Set([sessionId]) });
  };
  for (const path of request.dataWatches) {
    if (validatePath(path) !== null) continue;
    const slot = nodes.slotOf(path);
    if (slot < 0) fire(WatchEventType.NODE_DELETED, path, lastZxid);
    else if (nodes.f[slot * F_ROW + MZXID]! > relativeZxid)
      fire(WatchEventType.NODE_DATA_CHANGED, path, nodes.f[slot * F_ROW + MZXID]!);
    else register(WatchKind.DATA, path);
  }
  for (const path of request.existWatches) {
    if (validatePath(path) !== null) continue;
    const slot = nodes.slotOf(path);
    if (slot >= 0) fire(WatchEventType.NODE_CREATED, path, nodes.f[slot * F_ROW + CZXID]!);
    else register(WatchKind.DATA, path);
  }
  for (const path of request.childWatches) {
    if (validatePath(path) !== null) continue;
    const slot = nodes.slotOf(path);
    if (slot < 0) fire(WatchEventType.NODE_DELETED, path, lastZxid);
    else if (nodes.f[slot * F_ROW + PZXID]! > relativeZxid) {
      fire(WatchEventType.NODE_CHILDREN_CHANGED, path, nodes.f[slot * F_ROW + PZXID]!);
    } else register(WatchKind.CHILD, path);
  }
  // Persistent watches stay registered, and what they missed since relativeZxid is replayed from
  // the Stat zxids (ZooKeeper replays nothing for them), in zxid order after the one-shot events.
  // Creations, data and child changes are exact; deletions are not replayed: without tombstones a
  // path deleted meanwhile cannot be told from one that never existed, and a false event is worse.
  const replayed: WatchTrigger[] = [];
  const replay = (type: WatchEventType, path: string, zxid: Zxid): void => {
    replayed.push({ event: { type, path, zxid }, sessionIds: new Set([sessionId]) });
  };
  for (const path of request.persistentWatches) {
    if (validatePath(path) !== null) continue;
    register(WatchKind.PERSISTENT, path);
    const slot = nodes.slotOf(path);
    if (slot < 0) continue;
    replayNode(nodes, slot, relativeZxid, replay);
    const pzxid = nodes.f[slot * F_ROW + PZXID]!;
    if (pzxid > relativeZxid) replay(WatchEventType.NODE_CHILDREN_CHANGED, path, pzxid);
  }
  for (const path of request.persistentRecursiveWatches) {
    if (validatePath(path) !== null) continue;
    register(WatchKind.PERSISTENT_RECURSIVE, path);
    const root = nodes.slotOf(path);
    if (root < 0) continue;
    // Recursive watches never fire NODE_CHILDREN_CHANGED (ZooKeeper's rule): creations and data changes below.
    const subtree = [root];
    for (let i = 0; i < subtree.length; i++) {
      const slot = subtree[i]!;
      replayNode(nodes, slot, relativeZxid, replay);
      for (const child of nodes.childSlots(slot)) subtree.push(child);
    }
  }
  replayed.sort((a, b) => a.event.zxid - b.event.zxid);
  for (const trigger of replayed) out.push(trigger);
  return out;
}

/** replayNode fires NODE_CREATED or NODE_DATA_CHANGED for a znode created or changed after `relativeZxid`. */
function replayNode(
  nodes: NodeTable,
  slot: number,
  relativeZxid: Zxid,
  fire: (type: WatchEventType, path: string, zxid: Zxid) => void,
): void {
  const path = nodes.pathOf(slot);
  const czxid = nodes.f[slot * F_ROW + CZXID]!;
  const mzxid = nodes.f[slot * F_ROW + MZXID]!;
  if (czxid > relativeZxid) fire(WatchEventType.NODE_CREATED, path, czxid);
  else if (mzxid > relativeZxid) fire(WatchEventType.NODE_DATA_CHANGED, path, mzxid);
}
