// Snapshot format version 2 (issue 17): compact znode records (varints, paths sharing the previous
// one's prefix). Round trips of what the compact form cannot hold, the size it reaches, errors
// found before a restore reads a record, and version 1 files still read.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type ACL, OPEN_ACL_UNSAFE, type SnapshotRecord } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from './file-system.js';
import { decodeSnapshot, SNAPSHOT_HEADER_BYTES, SnapshotFormatError, writeSnapshotFile } from './snapshot-file.js';
import { VERSION_ONE_RECORDS, versionOneFile } from './snapshot-v1.test-support.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function write(records: SnapshotRecord[], chunkBytes?: number): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-snapshot-v2-'));
  dirs.push(dir);
  const path = join(dir, 'snap');
  await writeSnapshotFile(nodeFileSystem, path, { zxid: 0x5_0000_0007, timeMs: 3 }, records, chunkBytes);
  return readFileSync(path);
}

type NodeRecord = SnapshotRecord & { kind: 'node' };

function node(path: string, fields: Partial<NodeRecord> = {}): NodeRecord {
  return {
    kind: 'node',
    path,
    data: new Uint8Array(0),
    czxid: 0x1_0000_0001,
    mzxid: 0x1_0000_0005,
    pzxid: 0x1_0000_0009,
    ctime: 1_700_000_000_000,
    mtime: 1_700_000_000_500,
    version: 3,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0,
    container: false,
    ttlMs: 0,
    acl: OPEN_ACL_UNSAFE,
    ...fields,
  };
}

const LOCKED: ACL[] = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];

describe('snapshot format version 2', () => {
  it('round-trips what the compact form holds and what it must write raw, across chunks', async () => {
    const records: SnapshotRecord[] = [
      node('/', { czxid: 0, mzxid: 0, pzxid: 0x7_0000_0000, ctime: 0, mtime: 0 }),
      // Paths that share a prefix ending inside a multi-byte character: bytes, not characters, are shared.
      node('/é', { data: new Uint8Array([1, 2, 3]) }),
      node('/éa'),
      node('/ê'),
      node('/😀x', { container: true, cversion: -1 }),
      node('/😁', { version: 2_147_483_647, cversion: -2_147_483_648, aversion: -7 }),
      // The raw stat: mzxid below czxid, a negative time, a fraction, past 2^32.
      node('/raw1', { mzxid: 1, czxid: 5 }),
      node('/raw2', { ctime: -1 }),
      node('/raw3', { mtime: 1.5 }),
      node('/big', { czxid: Number.MAX_SAFE_INTEGER, mzxid: Number.MAX_SAFE_INTEGER, pzxid: Number.MAX_SAFE_INTEGER }),
      node('/eph', { ephemeralOwner: 0x1_2345_6789_abcd, ttlMs: 0 }),
      node('/ttl', { ttlMs: 0xff_ffff_ffff }),
      node('/locked', { acl: LOCKED, data: new Uint8Array(20_000).fill(7) }),
      { kind: 'session', sessionId: 0x1_0000_0002, timeoutMs: 4000, password: new Uint8Array([9, 9]) },
    ];
    for (let i = 0; i < 300; i++) records.push(node(`/many/n${String(i).padStart(10, '0')}`));
    records.splice(13, 0, node('/many'));
    const bytes = await write(records, 512);
    const snapshot = decodeSnapshot(bytes);
    expect(snapshot.header).toEqual({ zxid: 0x5_0000_0007, timeMs: 3 });
    expect(snapshot.records.length).toBe(records.length);
    expect([...snapshot.records]).toEqual(records);
    // Each iteration decodes again and yields the same.
    expect([...snapshot.records]).toEqual(records);
  });

  it('writes a 100-byte znode under a shared parent in under 130 bytes (version 1: 192)', async () => {
    const records: SnapshotRecord[] = [node('/'), node('/bench')];
    for (let i = 0; i < 5000; i++) {
      const at = 0x1_0000_0000 + i + 2;
      records.push(
        node(`/bench/n${String(i).padStart(10, '0')}`, {
          data: new Uint8Array(100).fill(i & 0xff),
          czxid: at,
          mzxid: at,
          pzxid: at,
          ctime: 1_780_000_000_000 + i,
          mtime: 1_780_000_000_000 + i,
          version: 0,
        }),
      );
    }
    const bytes = await write(records);
    expect(bytes.length / 5000).toBeLessThan(130);
    expect([...decodeSnapshot(bytes).records]).toEqual(records);
  });

  it('refuses a record whose path prefix is longer than the previous path, before any record is read', async () => {
    const bytes = await write([node('/'), node('/a'), node('/ab')]);
    // The third record's prefix (the byte after kind and flags) made 200; the file crc made right
    // again: what a writer bug would leave.
    const third = bytes.indexOf(Buffer.from([6, 0, 2, 1, 0x62]), SNAPSHOT_HEADER_BYTES + 8);
    expect(third).toBeGreaterThan(0);
    bytes[third + 2] = 200;
    bytes.writeUInt32BE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
    expect(() => decodeSnapshot(bytes)).toThrow(SnapshotFormatError);
    expect(() => decodeSnapshot(bytes)).toThrow(/prefix longer than the previous path/);
  });

  it('refuses a varint cut off by the end of its chunk', async () => {
    const bytes = await write([node('/')]);
    // The root's last byte is aversion's zigzag varint; make it say "more follows".
    const last = bytes.length - 20 - 1;
    bytes[last] = 0x80;
    bytes.writeUInt32BE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
    expect(() => decodeSnapshot(bytes)).toThrow(/torn node record/);
  });
});

describe('snapshot format version 1 (read, no longer written)', () => {
  it('reads a version 1 file with a node of OPEN_ACL_UNSAFE, an access list and a node that refers to it', () => {
    const snapshot = decodeSnapshot(versionOneFile());
    expect(snapshot.records.length).toBe(2);
    expect([...snapshot.records]).toEqual(VERSION_ONE_RECORDS);
  });
});
