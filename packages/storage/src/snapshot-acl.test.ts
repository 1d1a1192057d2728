// Access lists in snapshot files (issue 14): each distinct list is written once per file (kind 4)
// and znodes refer to it (kind 7 since format version 2, kind 3 before), as ZooKeeper's snapshot
// writes its ACL cache; znodes with OPEN_ACL_UNSAFE carry no reference (kind 6; 0 before).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type ACL, OPEN_ACL_UNSAFE, type SnapshotRecord } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from './file-system.js';
import { decodeSnapshot, SnapshotFormatError, writeSnapshotFile } from './snapshot-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const LOCKED: ACL[] = [
  { perms: 31, id: { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' } },
  { perms: 1, id: { scheme: 'ip', id: '10.0.0.0/8' } },
];

function node(index: number, acl: readonly ACL[]): SnapshotRecord {
  return {
    kind: 'node',
    path: index === 0 ? '/' : `/n${index}`,
    data: new Uint8Array([index & 0xff]),
    czxid: index,
    mzxid: index,
    pzxid: index,
    ctime: 1,
    mtime: 2,
    version: 0,
    cversion: 0,
    aversion: acl === OPEN_ACL_UNSAFE ? 0 : 1,
    ephemeralOwner: 0,
    container: false,
    ttlMs: 0,
    acl,
  };
}

async function write(records: SnapshotRecord[], chunkBytes?: number): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-snapshot-acl-'));
  dirs.push(dir);
  const path = join(dir, 'snap');
  await writeSnapshotFile(nodeFileSystem, path, { zxid: 9, timeMs: 3 }, records, chunkBytes);
  return readFileSync(path);
}

describe('access lists in snapshot files', () => {
  it('writes a shared list once and reads every znode back with its list', async () => {
    const open = Array.from({ length: 1000 }, (_, i) => node(i, OPEN_ACL_UNSAFE));
    // Equal lists that are different arrays (as from two sources) still share one definition.
    const locked = Array.from({ length: 1000 }, (_, i) =>
      node(i, i % 2 === 0 ? LOCKED : LOCKED.map((e) => ({ ...e }))),
    );
    const openBytes = await write(open);
    // In one chunk each, the lists cost one definition and a one-byte reference per znode.
    const lockedOneChunk = await write(locked);
    const definition = 1 + 4 + 2 + LOCKED.reduce((sum, e) => sum + 4 + 2 + e.id.scheme.length + 2 + e.id.id.length, 0);
    expect(lockedOneChunk.length - openBytes.length).toBe(1000 * 1 + definition);
    // In many chunks, still one definition in the whole file.
    const lockedBytes = await write(locked, 4096);
    const occurrences = (bytes: Uint8Array, text: string): number => {
      const haystack = Buffer.from(bytes);
      let count = 0;
      for (let at = haystack.indexOf(text); at >= 0; at = haystack.indexOf(text, at + 1)) count++;
      return count;
    };
    expect(Math.ceil(lockedBytes.length / 4096)).toBeGreaterThan(2);
    expect(occurrences(lockedBytes, 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=')).toBe(1);
    const decoded = decodeSnapshot(lockedBytes);
    expect([...decoded.records]).toEqual(locked);
    expect([...decodeSnapshot(openBytes).records]).toEqual(open);
  });

  it('refuses a node that refers to a list not defined before it', async () => {
    const bytes = await write([node(0, LOCKED)]);
    // The definition's reference made one the node does not name, the file crc made right again:
    // what a writer bug would leave, which the reader must refuse rather than guess.
    const copy = Buffer.from(bytes);
    const at = 28 + 8; // header, chunk header: the first record is the definition
    expect(copy[at]).toBe(4);
    copy.writeUInt32BE(7, at + 1);
    copy.writeUInt32BE(crc32(copy.subarray(0, copy.length - 4)), copy.length - 4);
    expect(() => decodeSnapshot(copy)).toThrow(SnapshotFormatError);
    expect(() => decodeSnapshot(copy)).toThrow(/access list 0, not defined before it/);
  });
});
