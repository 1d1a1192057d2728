import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry, SnapshotRecord } from '@zabkit/core';
import { createPrng, DataTree, makeZxid } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { openFileStorage } from './file-storage.js';
import { nextTxn } from './random-txn.test-support.js';

const SEED = Number(process.env.ZABKIT_STORAGE_SEED ?? 0x5eed_0006);

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
