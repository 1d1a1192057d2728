import type { DataTree, Txn } from '@zabkit/core';
import { type createPrng, OPEN_ACL_UNSAFE } from '@zabkit/core';

// Shared by the storage tests that replay random workloads (fuzzy snapshots, backups).

/** nextTxn draws a valid transaction against the tree as it is now: creates, sets, deletes, sessions with ephemerals. */
export function nextTxn(tree: DataTree, random: ReturnType<typeof createPrng>, counter: number): Txn {
  const dirs = ['/d0', '/d1', '/d2', '/d3'];
  const sessions = tree.sessions().map(([sessionId]) => sessionId);
  const choice = random.next();
  if (choice < 0.05)
    return {
      type: 'createSession',
      sessionId: 2 ** 40 + counter,
      timeoutMs: 10_000,
      password: new Uint8Array(16).fill(counter % 256),
    };
  if (choice < 0.08 && sessions.length > 0) {
    const sessionId = sessions[random.int(sessions.length)] as number;
    return { type: 'closeSession', sessionId, paths: tree.ephemeralsOf(sessionId) };
  }
  const dir = dirs[random.int(dirs.length)] as string;
  const dirStat = tree.stat(dir);
  if (dirStat === null) {
    return {
      type: 'create',
      path: dir,
      data: new Uint8Array([1]),
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      parentCversion: (tree.stat('/')?.cversion ?? 0) + 1,
      acl: OPEN_ACL_UNSAFE,
    };
  }
  const children = (tree.getChildren(dir) as { children?: string[] }).children ?? [];
  if (choice < 0.5 || children.length === 0) {
    const owner = sessions.length > 0 && random.next() < 0.3 ? (sessions[random.int(sessions.length)] as number) : 0;
    return {
      type: 'create',
      path: `${dir}/n${counter}`,
      data: new Uint8Array([counter & 0xff, 2, 3]),
      ephemeralOwner: owner,
      container: false,
      ttlMs: 0,
      parentCversion: dirStat.cversion + 1,
      acl: OPEN_ACL_UNSAFE,
    };
  }
  const path = `${dir}/${children[random.int(children.length)] as string}`;
  if (choice < 0.85) {
    return {
      type: 'setData',
      path,
      data: new Uint8Array([counter & 0xff]),
      version: (tree.stat(path)?.version ?? 0) + 1,
    };
  }
  return { type: 'delete', path };
}
