import type { ACL, LogEntry, SnapshotHeader, SnapshotRecord, Storage, Txn } from '@zabkit/core';
import { makeZxid, OPEN_ACL_UNSAFE } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * StorageHarness gives the contract suite a fresh storage and a way to "restart" it: for a disk
 * implementation, close and reopen the same directory; for MemoryStorage, the same object (it is
 * durable only as long as it lives).
 */
export interface StorageHarness {
  storage: Storage;
  /** reopen returns the storage as a restarted process would see it (load() not yet called). */
  reopen(): Promise<Storage>;
  cleanup(): Promise<void>;
}

/** entry builds a LogEntry whose content depends on its zxid and a variant, so a wrong or stale one shows. */
export function entry(epoch: number, counter: number, variant = 0): LogEntry {
  const zxid = makeZxid(epoch, counter);
  const kinds: Txn[] = [
    {
      type: 'create',
      path: `/n${counter}`,
      data: new Uint8Array([counter & 0xff, variant, 7]),
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      parentCversion: counter,
      acl: OPEN_ACL_UNSAFE,
    },
    { type: 'setData', path: `/n${counter}`, data: new Uint8Array(counter % 50), version: variant },
    { type: 'delete', path: `/n${counter}/${variant}` },
    {
      type: 'createSession',
      sessionId: 0x1_0000_0000 * 3 + counter,
      timeoutMs: 30_000,
      password: new Uint8Array(16).fill(variant),
    },
    { type: 'closeSession', sessionId: 2 ** 50 + counter, paths: ['/a', `/b${variant}`] },
    { type: 'error', code: 'NO_NODE' },
    {
      type: 'multi',
      txns: [
        { type: 'check', path: '/x', version: variant },
        { type: 'setData', path: '/x', data: new Uint8Array([1, 2, variant]), version: 3 },
      ],
    },
  ];
  return {
    zxid,
    sessionId: 2 ** 40 + counter,
    cxid: counter * 3 + variant,
    timeMs: 1_700_000_000_000 + counter,
    txn: kinds[(counter + variant) % kinds.length] as Txn,
  };
}

export function entries(epoch: number, from: number, to: number, variant = 0): LogEntry[] {
  const result: LogEntry[] = [];
  for (let counter = from; counter <= to; counter++) result.push(entry(epoch, counter, variant));
  return result;
}

const sampleAcls: ACL[][] = [
  [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }],
  [
    { perms: 31, id: { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' } },
    { perms: 3, id: { scheme: 'ip', id: '10.0.0.0/8' } },
  ],
  [{ perms: 16, id: { scheme: 'x509', id: 'CN=zabkit-client,O=Zabkit Tests — é' } }],
];

export function snapshotRecords(count: number, seed: number): SnapshotRecord[] {
  const records: SnapshotRecord[] = [];
  for (let index = 0; index < count; index++) {
    records.push(
      index % 5 === 4
        ? {
            kind: 'session',
            sessionId: 2 ** 33 + index,
            timeoutMs: 10_000 + seed,
            password: new Uint8Array(16).fill(index % 256),
          }
        : {
            kind: 'node',
            path: `/s${seed}/n${index}`,
            data: new Uint8Array([index & 0xff, seed & 0xff]),
            czxid: index + 1,
            mzxid: index + 2,
            pzxid: index + 3,
            ctime: 1_700_000_000_000 + index,
            mtime: 1_700_000_000_500 + index,
            version: index,
            cversion: seed,
            aversion: 0,
            ephemeralOwner: index % 2 === 0 ? 0 : 2 ** 45 + index,
            container: index % 7 === 0,
            ttlMs: index % 11 === 0 ? 5_000 : 0,
            // A few distinct lists, shared by many znodes: the file writes each once (kinds 3 and 4).
            acl: index % 3 === 0 ? OPEN_ACL_UNSAFE : sampleAcls[index % sampleAcls.length]!,
          },
    );
  }
  return records;
}

async function collect(iterable: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const result: LogEntry[] = [];
  for await (const item of iterable) result.push(item);
  return result;
}

async function* slowly<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) {
    await new Promise((resolve) => setImmediate(resolve));
    yield item;
  }
}

/**
 * describeStorageContract runs the Storage contract of @zabkit/core against one implementation:
 * append order, truncation, readFrom, epochs, snapshots with the entries after them, and restart.
 * Every implementation (MemoryStorage, FileStorage) must pass it unchanged.
 */
export function describeStorageContract(name: string, makeHarness: () => Promise<StorageHarness>): void {
  describe(`Storage contract: ${name}`, () => {
    let harness: StorageHarness | null = null;
    const open = async (): Promise<StorageHarness> => {
      harness = await makeHarness();
      return harness;
    };
    const restart = async (current: StorageHarness) => {
      const storage = await current.reopen();
      const state = await storage.load();
      return { storage, state };
    };
    afterEach(async () => {
      await harness?.cleanup();
      harness = null;
    });

    it('starts empty', async () => {
      const { storage } = await open();
      expect(await storage.load()).toEqual({
        epochs: { acceptedEpoch: 0, currentEpoch: 0 },
        snapshot: null,
        entries: [],
      });
    });

    it('keeps appended entries, in order and intact, across a restart', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 5));
      await h.storage.append([]);
      await h.storage.append(entries(1, 6, 40));
      const { state } = await restart(h);
      expect(state.entries).toEqual(entries(1, 1, 40));
    });

    it('resolves appends issued without waiting, all of them, in order (group commit)', async () => {
      const h = await open();
      await h.storage.load();
      const pending: Promise<void>[] = [];
      for (let counter = 1; counter <= 200; counter++) pending.push(h.storage.append([entry(2, counter)]));
      await Promise.all(pending);
      expect(await collect(h.storage.readFrom(0))).toEqual(entries(2, 1, 200));
      const { state } = await restart(h);
      expect(state.entries).toEqual(entries(2, 1, 200));
    });

    it('rejects an append whose zxids do not increase, and keeps the log as it was', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 3));
      await expect(h.storage.append([entry(1, 3)])).rejects.toThrow();
      await expect(h.storage.append([entry(1, 2)])).rejects.toThrow();
      await expect(h.storage.append([entry(1, 5), entry(1, 4)])).rejects.toThrow();
      await h.storage.append([entry(1, 4)]);
      expect(await collect(h.storage.readFrom(0))).toEqual(entries(1, 1, 4));
      const { state } = await restart(h);
      expect(state.entries).toEqual(entries(1, 1, 4));
    });

    it('readFrom yields the entries above a zxid, in order', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 30));
      await h.storage.append(entries(2, 1, 30));
      expect(await collect(h.storage.readFrom(0))).toEqual([...entries(1, 1, 30), ...entries(2, 1, 30)]);
      expect(await collect(h.storage.readFrom(makeZxid(1, 25)))).toEqual([...entries(1, 26, 30), ...entries(2, 1, 30)]);
      expect(await collect(h.storage.readFrom(makeZxid(1, 31)))).toEqual(entries(2, 1, 30));
      expect(await collect(h.storage.readFrom(makeZxid(2, 30)))).toEqual([]);
      expect(await collect(h.storage.readFrom(makeZxid(9, 0)))).toEqual([]);
    });

    it('truncateAfter removes every entry above the zxid, durably, and new entries follow', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 50));
      await h.storage.truncateAfter(makeZxid(1, 20));
      expect(await collect(h.storage.readFrom(0))).toEqual(entries(1, 1, 20));
      // TRUNC then DIFF: the replacing entries, from a later epoch.
      await h.storage.append(entries(2, 1, 10, 1));
      await h.storage.truncateAfter(makeZxid(2, 10)); // nothing above: no change
      const expected = [...entries(1, 1, 20), ...entries(2, 1, 10, 1)];
      expect(await collect(h.storage.readFrom(0))).toEqual(expected);
      const { storage, state } = await restart(h);
      expect(state.entries).toEqual(expected);
      // The same zxids as before the truncation, with other content, are accepted after it.
      await storage.truncateAfter(makeZxid(1, 20));
      await storage.append(entries(1, 21, 25, 2));
      const again = await restart(h);
      expect(again.state.entries).toEqual([...entries(1, 1, 20), ...entries(1, 21, 25, 2)]);
    });

    it('truncateAfter below every entry empties the log; appends start again', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 40));
      await h.storage.truncateAfter(0);
      expect(await collect(h.storage.readFrom(0))).toEqual([]);
      await h.storage.append(entries(1, 1, 5, 3));
      const { state } = await restart(h);
      expect(state.entries).toEqual(entries(1, 1, 5, 3));
    });

    it('truncateAfter interleaved with appends issued without waiting applies in call order', async () => {
      const h = await open();
      await h.storage.load();
      const first = h.storage.append(entries(1, 1, 10));
      const truncate = h.storage.truncateAfter(makeZxid(1, 4));
      const second = h.storage.append(entries(2, 1, 3));
      await Promise.all([first, truncate, second]);
      const expected = [...entries(1, 1, 4), ...entries(2, 1, 3)];
      expect(await collect(h.storage.readFrom(0))).toEqual(expected);
      expect((await restart(h)).state.entries).toEqual(expected);
    });

    it('saveEpochs replaces both epochs durably', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.saveEpochs({ acceptedEpoch: 3, currentEpoch: 2 });
      await h.storage.saveEpochs({ acceptedEpoch: 4, currentEpoch: 4 });
      const { storage, state } = await restart(h);
      expect(state.epochs).toEqual({ acceptedEpoch: 4, currentEpoch: 4 });
      await storage.saveEpochs({ acceptedEpoch: 5, currentEpoch: 4 });
      expect((await restart(h)).state.epochs).toEqual({ acceptedEpoch: 5, currentEpoch: 4 });
    });

    it('load returns the newest snapshot and only the entries after it', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 30));
      const header: SnapshotHeader = { zxid: makeZxid(1, 20), timeMs: 1_700_000_000_123 };
      await h.storage.saveSnapshot(header, snapshotRecords(25, 1));
      await h.storage.append(entries(1, 31, 35));
      const { state } = await restart(h);
      expect(state.snapshot?.header).toEqual(header);
      expect([...(state.snapshot?.records ?? [])]).toEqual(snapshotRecords(25, 1));
      expect(state.entries).toEqual(entries(1, 21, 35));
    });

    it('saveSnapshot accepts an async producer that yields between records (fuzzy snapshot)', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 10));
      const header: SnapshotHeader = { zxid: makeZxid(1, 10), timeMs: 5 };
      const saving = h.storage.saveSnapshot(header, slowly(snapshotRecords(40, 2)));
      // Appends go on while the snapshot is written.
      await h.storage.append(entries(1, 11, 20));
      await saving;
      await h.storage.append(entries(1, 21, 25));
      const { state } = await restart(h);
      expect(state.snapshot?.header).toEqual(header);
      expect([...(state.snapshot?.records ?? [])]).toEqual(snapshotRecords(40, 2));
      expect(state.entries).toEqual(entries(1, 11, 25));
    });

    it('a later snapshot supersedes an earlier one; an empty snapshot is a snapshot', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 20));
      await h.storage.saveSnapshot({ zxid: makeZxid(1, 5), timeMs: 1 }, snapshotRecords(3, 3));
      await h.storage.saveSnapshot({ zxid: makeZxid(1, 15), timeMs: 2 }, []);
      const { state } = await restart(h);
      expect(state.snapshot?.header).toEqual({ zxid: makeZxid(1, 15), timeMs: 2 });
      expect([...(state.snapshot?.records ?? ['none'])]).toEqual([]);
      expect(state.entries).toEqual(entries(1, 16, 20));
    });

    it('truncateAfter below a snapshot drops that snapshot: truncated transactions never come back', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 20));
      await h.storage.saveSnapshot({ zxid: makeZxid(1, 5), timeMs: 1 }, snapshotRecords(2, 5));
      await h.storage.saveSnapshot({ zxid: makeZxid(1, 15), timeMs: 2 }, snapshotRecords(3, 6));
      await h.storage.truncateAfter(makeZxid(1, 10));
      await h.storage.append(entries(2, 1, 3));
      const { state } = await restart(h);
      expect(state.snapshot?.header.zxid).toBe(makeZxid(1, 5));
      expect(state.entries).toEqual([...entries(1, 6, 10), ...entries(2, 1, 3)]);
    });

    it('refuses zxid 0, which means "before any transaction"', async () => {
      const h = await open();
      await h.storage.load();
      await expect(h.storage.append(entries(0, 0, 0))).rejects.toThrow();
      await h.storage.append(entries(1, 1, 2));
      const { state } = await restart(h);
      expect(state.entries).toEqual(entries(1, 1, 2));
    });

    it('SNAP order: truncateAfter, saveSnapshot, then appends', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(1, 1, 12));
      await h.storage.truncateAfter(makeZxid(1, 8));
      const header: SnapshotHeader = { zxid: makeZxid(2, 40), timeMs: 9 };
      await h.storage.saveSnapshot(header, snapshotRecords(10, 4));
      await h.storage.append(entries(2, 41, 45));
      const { storage, state } = await restart(h);
      expect(state.snapshot?.header).toEqual(header);
      expect(state.entries).toEqual(entries(2, 41, 45));
      expect(await collect(storage.readFrom(header.zxid))).toEqual(entries(2, 41, 45));
    });

    it('restarting twice without writing changes nothing', async () => {
      const h = await open();
      await h.storage.load();
      await h.storage.append(entries(3, 1, 15));
      await h.storage.saveEpochs({ acceptedEpoch: 3, currentEpoch: 3 });
      const first = (await restart(h)).state;
      const second = (await restart(h)).state;
      expect(second).toEqual(first);
      expect(second.entries).toEqual(entries(3, 1, 15));
    });
  });
}
