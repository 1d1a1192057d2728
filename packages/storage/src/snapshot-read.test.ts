// Recovery reads a snapshot file once, decoding it into a SnapshotImage while it checks it
// (snapshot-read.ts): what it reads equals the records written, from version 1 files too, and a
// file found bad part way through is dropped whole, as one found bad before decoding was.
import { crc32 } from 'node:zlib';
import { DataTree, makeZxid, OPEN_ACL_UNSAFE, SnapshotImage, type SnapshotRecord } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { type FileStorageOptions, openFileStorage, snapshotName } from './file-storage.js';
import { SimulatedDisk } from './simulated-disk.js';
import { SNAPSHOT_HEADER_BYTES, writeSnapshotFile } from './snapshot-file.js';
import { readSnapshotFile, SNAPSHOT_READ_BYTES } from './snapshot-read.js';
import { VERSION_ONE_RECORDS, versionOneFile } from './snapshot-v1.test-support.js';
import { entries, snapshotRecords } from './storage-contract.test-suite.js';

const DIR = '/data';

function setup(options: Partial<FileStorageOptions> = {}) {
  const disk = new SimulatedDisk();
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  const logger = { warn: (message: string, fields: Record<string, unknown>) => warnings.push({ message, fields }) };
  const open = () => openFileStorage({ dir: DIR, fileSystem: disk, logger, segmentBytesMax: 600, ...options });
  return { disk, warnings, open };
}

/** tree is a root, its children and a grandchild under each: what a DataTree restores from. */
function tree(count: number, dataBytes: (index: number) => number): SnapshotRecord[] {
  const node = (path: string, index: number): SnapshotRecord => ({
    kind: 'node',
    path,
    data: new Uint8Array(dataBytes(index)).fill(index & 0xff),
    czxid: index + 1,
    mzxid: index + 2,
    pzxid: index + 3,
    ctime: 1_700_000_000_000 + index,
    mtime: 1_700_000_000_001 + index,
    version: index % 5,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0,
    container: false,
    ttlMs: 0,
    acl: index % 3 === 0 ? [{ perms: 1, id: { scheme: 'digest', id: `u${index % 2}:x` } }] : OPEN_ACL_UNSAFE,
  });
  const records: SnapshotRecord[] = [node('/', 0)];
  for (let index = 1; index <= count; index++) {
    records.push(node(`/n${index}`, index), node(`/n${index}/c`, index + count));
  }
  records.push({ kind: 'session', sessionId: 2 ** 40 + 3, timeoutMs: 4000, password: new Uint8Array(16).fill(4) });
  return records;
}

async function writeTo(disk: SimulatedDisk, path: string, records: SnapshotRecord[], chunkBytes?: number) {
  await disk.mkdir(DIR);
  await writeSnapshotFile(disk, path, { zxid: makeZxid(2, 9), timeMs: 5 }, records, chunkBytes);
  await disk.syncDirectory(DIR);
}

/** place puts `bytes` at `path` durably. */
async function place(disk: SimulatedDisk, path: string, bytes: Uint8Array): Promise<void> {
  await disk.mkdir(DIR);
  await (await disk.open(path, 'w')).close();
  await disk.syncDirectory(DIR);
  disk.replaceFile(path, bytes);
}

/** fixCrc makes the file crc right again after a byte was changed: what a writer bug would leave. */
function fixCrc(bytes: Uint8Array): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)));
}

describe('readSnapshotFile', () => {
  it('reads what was written, across many chunks and one larger than its read buffer', async () => {
    const disk = new SimulatedDisk();
    const path = `${DIR}/snap`;
    // Node 7's data alone is larger than the read buffer: its chunk makes the buffer grow.
    const records = tree(400, (index) => (index === 7 ? SNAPSHOT_READ_BYTES + 5000 : index % 40));
    await writeTo(disk, path, records, 4096);
    const read = await readSnapshotFile(disk, path, 10);
    expect(read.header).toEqual({ zxid: makeZxid(2, 9), timeMs: 5 });
    expect(SnapshotImage.isInstance(read.records)).toBe(true);
    expect(read.records.length).toBe(records.length);
    // Data compared as base64: a deep equality walks a megabyte byte by byte.
    const comparable = (record: SnapshotRecord) =>
      record.kind === 'node' ? { ...record, data: Buffer.from(record.data).toString('base64') } : record;
    expect([...read.records].map(comparable)).toEqual(records.map(comparable));
    const restored = DataTree.fromSnapshot(read.header, read.records);
    // Every znode written (all records but the session) and /zookeeper, which the tree adds.
    expect(restored.nodeCount).toBe(records.length - 1 + 1);
    expect(restored.getData('/n7', undefined, [])).toMatchObject({ stat: { dataLength: SNAPSHOT_READ_BYTES + 5000 } });
  });

  it('reads a version 1 file into an image a tree is built from', async () => {
    const disk = new SimulatedDisk();
    await place(disk, `${DIR}/v1`, versionOneFile());
    const read = await readSnapshotFile(disk, `${DIR}/v1`, 0);
    expect(read.header.zxid).toBe(9);
    expect([...read.records]).toEqual(VERSION_ONE_RECORDS);
    const restored = DataTree.fromSnapshot(read.header, read.records);
    expect(restored.getAcl('/ä')).toMatchObject({ acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }] });
  });

  it('reports a damaged byte as the file crc mismatch, whatever it decoded to', async () => {
    const { disk, path } = await written(50);
    const bytes = disk.durableFile(path) as Uint8Array;
    // The first record's kind byte: decoding stops at once on an unknown kind; the crc still decides.
    disk.corrupt(path, SNAPSHOT_HEADER_BYTES + 8, 0x40);
    expect(bytes.length).toBeGreaterThan(SNAPSHOT_HEADER_BYTES);
    await expect(readSnapshotFile(disk, path, 0)).rejects.toThrow(/file crc mismatch/);
  });

  it('refuses a record that is wrong behind a good crc, found part way through the file', async () => {
    const { disk, path } = await written(200);
    const bytes = new Uint8Array(disk.durableFile(path) as Uint8Array);
    // The last chunk's first record kind: every chunk before it decodes into the image first.
    const view = new DataView(bytes.buffer);
    let offset = SNAPSHOT_HEADER_BYTES;
    let last = offset;
    while (view.getUint32(offset) !== 0) {
      last = offset;
      offset += 8 + view.getUint32(offset);
    }
    expect(last).toBeGreaterThan(SNAPSHOT_HEADER_BYTES);
    bytes[last + 8] = 99;
    fixCrc(bytes);
    disk.replaceFile(path, bytes);
    await expect(readSnapshotFile(disk, path, 0)).rejects.toThrow(/unknown record kind 99/);
  });

  it('refuses a file cut short, with or without its trailer', async () => {
    const { disk, path } = await written(50);
    const whole = disk.durableFile(path) as Uint8Array;
    disk.replaceFile(path, whole.subarray(0, whole.length - 100));
    await expect(readSnapshotFile(disk, path, 0)).rejects.toThrow(/no trailer/);
    disk.replaceFile(path, whole.subarray(0, 30));
    await expect(readSnapshotFile(disk, path, 0)).rejects.toThrow(/too short/);
  });
});

/** written is a snapshot file of a tree of `count` znodes in 512-byte chunks on a fresh simulated disk. */
async function written(count: number): Promise<{ disk: SimulatedDisk; path: string }> {
  const disk = new SimulatedDisk();
  const path = `${DIR}/snap`;
  await writeTo(
    disk,
    path,
    tree(count, () => 3),
    512,
  );
  return { disk, path };
}

describe('FileStorage recovery reading each snapshot once', () => {
  it('drops a snapshot found wrong part way through decoding and falls back to the older one', async () => {
    const { disk, warnings, open } = setup({ snapshotRetainCount: 3 });
    const storage = await open();
    await storage.load();
    await storage.append(entries(1, 1, 20));
    await storage.saveSnapshot({ zxid: makeZxid(1, 8), timeMs: 1 }, snapshotRecords(30, 8));
    await storage.append(entries(1, 21, 30));
    await storage.saveSnapshot({ zxid: makeZxid(1, 25), timeMs: 2 }, snapshotRecords(300, 25));
    await storage.close();
    const newest = `${DIR}/${snapshotName(makeZxid(1, 25))}`;
    const bytes = new Uint8Array(disk.durableFile(newest) as Uint8Array);
    // The last session record's kind, behind a good crc: most of the file is decoded before it is found.
    const sessionId = Buffer.alloc(8);
    sessionId.writeDoubleBE(2 ** 33 + 299);
    const session = Buffer.from(bytes).indexOf(Buffer.concat([Buffer.from([2]), sessionId]));
    expect(session).toBeGreaterThan(bytes.length / 2);
    bytes[session] = 99;
    fixCrc(bytes);
    disk.replaceFile(newest, bytes);
    const state = await (await open()).load();
    expect(state.snapshot?.header.zxid).toBe(makeZxid(1, 8));
    expect([...(state.snapshot?.records ?? [])]).toEqual(snapshotRecords(30, 8));
    expect(state.entries).toEqual(entries(1, 9, 30));
    expect(warnings[0]).toMatchObject({
      message: 'skipping a snapshot that fails validation',
      fields: { file: newest, reason: 'unknown record kind 99 in format version 2' },
    });
  });

  it('loads a data directory whose snapshot is of format version 1', async () => {
    const { disk, open } = setup();
    await place(disk, `${DIR}/${snapshotName(9)}`, versionOneFile());
    const state = await (await open()).load();
    expect(state.snapshot?.header.zxid).toBe(9);
    expect([...(state.snapshot?.records ?? [])]).toEqual(VERSION_ONE_RECORDS);
  });
});
