import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry, SnapshotRecord, Txn } from '@zabkit/core';
import { createPrng, DataTree, makeZxid, OPEN_ACL_UNSAFE } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { openFileStorage } from './file-storage.js';

const SEED = Number(process.env.ZABKIT_STORAGE_SEED ?? 0x5eed_0006);

/** nextTxn draws a valid transaction against the tree as it is now: creates, sets, deletes, sessions with ephemerals. */
function nextTxn(tree: DataTree, random: ReturnType<typeof createPrng>, counter: number): Txn {
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

describe('fuzzy snapshot during concurrent writes', () => {
  it(`snapshot taken while the tree changes, plus replay of the log after it, equals the live tree (seed ${SEED})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zabkit-fuzzy-'));
    try {
      const random = createPrng(SEED);
      const storage = await openFileStorage({ dir, segmentBytesMax: 16 * 1024 });
      await storage.load();
      const tree = new DataTree();
      let counter = 0;
      // The host's order: persist, then apply.
      const step = async (): Promise<void> => {
        counter++;
        const entry: LogEntry = {
          zxid: makeZxid(1, counter),
          sessionId: 0,
          cxid: counter,
          timeMs: 1_700_000_000_000 + counter,
          txn: nextTxn(tree, random, counter),
        };
        await storage.append([entry]);
        tree.applyTxn(entry);
      };
      for (let index = 0; index < 400; index++) await step();

      const header = tree.snapshotHeader(1_700_000_000_000);
      let writesDuringSnapshot = 0;
      async function* fuzzy(): AsyncGenerator<SnapshotRecord> {
        for (const record of tree.snapshotRecords()) {
          yield record;
          // Writes land between records: the snapshot sees some of them, not others.
          if (random.next() < 0.5) {
            await step();
            writesDuringSnapshot++;
          }
        }
      }
      await storage.saveSnapshot(header, fuzzy());
      for (let index = 0; index < 100; index++) await step();
      expect(writesDuringSnapshot).toBeGreaterThan(20);
      await storage.close();

      const reopened = await openFileStorage({ dir, segmentBytesMax: 16 * 1024 });
      const state = await reopened.load();
      await reopened.close();
      expect(state.snapshot?.header).toEqual(header);
      const rebuilt = DataTree.fromSnapshot(state.snapshot!.header, state.snapshot!.records);
      for (const entry of state.entries) rebuilt.applyTxn(entry);
      expect(rebuilt.lastProcessedZxid).toBe(tree.lastProcessedZxid);
      expect(rebuilt.nodeCount).toBe(tree.nodeCount);
      expect([...rebuilt.snapshotRecords()]).toEqual([...tree.snapshotRecords()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
