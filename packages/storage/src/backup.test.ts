import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrng, DataTree, type LogEntry, makeZxid } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import {
  BackupFormatError,
  consolidateBackup,
  encodeBackupTail,
  writeConsolidatedSnapshot,
  writeFuzzySnapshot,
} from './backup.js';
import { nodeFileSystem } from './file-system.js';
import { nextTxn } from './random-txn.test-support.js';
import { decodeSnapshot } from './snapshot-file.js';

const SEED = Number(process.env.ZABKIT_STORAGE_SEED ?? 0x5eed_0b0c);

describe('backups: a fuzzy snapshot and the transactions applied while it was written', () => {
  it(`replay into exactly the live tree at the tail's last zxid, and one snapshot file of it (seed ${SEED})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zabkit-backup-unit-'));
    try {
      const random = createPrng(SEED);
      const tree = new DataTree();
      const applied: LogEntry[] = [];
      let counter = 0;
      const step = (): void => {
        counter++;
        const entry: LogEntry = {
          zxid: makeZxid(3, counter),
          sessionId: 0,
          cxid: counter,
          timeMs: 1_700_000_000_000 + counter,
          txn: nextTxn(tree, random, counter),
        };
        tree.applyTxn(entry);
        applied.push(entry);
      };
      for (let index = 0; index < 400; index++) step();
      const fuzzyZxid = tree.lastProcessedZxid;
      // The member's writes land between the records the snapshot reads: it sees some, not others.
      function* fuzzy() {
        for (const record of tree.snapshotRecords()) {
          yield record;
          if (random.next() < 0.5) step();
        }
      }
      const snapshotPath = join(dir, 'fuzzy');
      await writeFuzzySnapshot(nodeFileSystem, snapshotPath, { zxid: fuzzyZxid, timeMs: 1 }, fuzzy());
      const tail = applied.filter((entry) => entry.zxid > fuzzyZxid);
      expect(tail.length).toBeGreaterThan(20);
      const snapshotBytes = await readFile(snapshotPath);
      const tailBytes = encodeBackupTail(fuzzyZxid, tail);

      const backup = consolidateBackup(snapshotBytes, tailBytes);
      expect(backup.zxid).toBe(tree.lastProcessedZxid);
      expect(backup.fuzzyZxid).toBe(fuzzyZxid);
      expect(backup.tailEntries).toBe(tail.length);
      expect([...backup.tree.snapshotRecords()]).toEqual([...tree.snapshotRecords()]);

      const out = join(dir, 'backup');
      await writeConsolidatedSnapshot(nodeFileSystem, out, backup, 2);
      const written = decodeSnapshot(await readFile(out));
      expect(written.header.zxid).toBe(tree.lastProcessedZxid);
      expect([...written.records]).toEqual([...tree.snapshotRecords()]);

      // A damaged part, or a tail that does not continue the snapshot, is refused with the reason.
      const torn = Uint8Array.from(tailBytes);
      torn[torn.length - 3] = (torn[torn.length - 3] as number) ^ 0x40;
      expect(() => consolidateBackup(snapshotBytes, torn)).toThrow(/tail part is damaged at byte/);
      const flipped = Uint8Array.from(snapshotBytes);
      flipped[100] = (flipped[100] as number) ^ 0x01;
      expect(() => consolidateBackup(flipped, tailBytes)).toThrow(BackupFormatError);
      expect(() => consolidateBackup(snapshotBytes, encodeBackupTail(fuzzyZxid - 1, tail))).toThrow(
        /continues .*, not the snapshot's/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
