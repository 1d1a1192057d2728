import { crc32 } from 'node:zlib';
import { OPEN_ACL_UNSAFE, type SnapshotRecord } from '@zabkit/core';
import { writeZxid } from './log-record.js';
import { SNAPSHOT_END_MAGIC, SNAPSHOT_MAGIC } from './snapshot-file.js';

/**
 * versionOneFile is a snapshot file of format version 1 (read, no longer written) at zxid 9: a
 * node of OPEN_ACL_UNSAFE, an access list and a node that refers to it. VERSION_ONE_RECORDS are
 * its records.
 */
export function versionOneFile(): Buffer {
  const path = (text: string) => Buffer.from(text, 'utf8');
  const nodeV1 = (kind: number, name: string, data: number[], aclRef: number | null): Buffer => {
    const p = path(name);
    const record = Buffer.alloc(1 + 4 + p.length + 4 + data.length + 69 + (aclRef === null ? 0 : 4));
    let at = 0;
    record[at++] = kind;
    record.writeUInt32BE(p.length, at);
    p.copy(record, at + 4);
    at += 4 + p.length;
    record.writeUInt32BE(data.length, at);
    record.set(data, at + 4);
    at += 4 + data.length;
    [7, 8, 9, 100, 200, 0, 0].forEach((value, i) => {
      record.writeDoubleBE(value, at + 8 * i);
    });
    record.writeInt32BE(1, at + 56);
    record.writeInt32BE(2, at + 60);
    record.writeInt32BE(3, at + 64);
    record[at + 68] = 0;
    if (aclRef !== null) record.writeUInt32BE(aclRef, at + 69);
    return record;
  };
  const scheme = path('world');
  const id = path('anyone');
  const acl = Buffer.alloc(1 + 4 + 2 + 4 + 2 + scheme.length + 2 + id.length);
  acl[0] = 4;
  acl.writeUInt32BE(0, 1);
  acl.writeUInt16BE(1, 5);
  acl.writeInt32BE(1, 7);
  acl.writeUInt16BE(scheme.length, 11);
  scheme.copy(acl, 13);
  acl.writeUInt16BE(id.length, 13 + scheme.length);
  id.copy(acl, 15 + scheme.length);
  const payload = Buffer.concat([nodeV1(0, '/', [], null), acl, nodeV1(3, '/ä', [5, 6], 0)]);
  const file = Buffer.alloc(28 + 8 + payload.length + 20);
  file.writeUInt32BE(SNAPSHOT_MAGIC, 0);
  file.writeUInt16BE(1, 4);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  writeZxid(view, 8, 9);
  file.writeDoubleBE(1, 16);
  file.writeUInt32BE(crc32(file.subarray(0, 24)), 24);
  file.writeUInt32BE(payload.length, 28);
  file.writeUInt32BE(3, 32);
  payload.copy(file, 36);
  const trailer = 36 + payload.length;
  file.writeUInt32BE(SNAPSHOT_END_MAGIC, trailer + 4);
  writeZxid(view, trailer + 8, 3);
  file.writeUInt32BE(crc32(file.subarray(0, trailer + 16)), trailer + 16);
  return file;
}

const stat = { czxid: 7, mzxid: 8, pzxid: 9, ctime: 100, mtime: 200, ephemeralOwner: 0, ttlMs: 0 };

/** VERSION_ONE_RECORDS are the records of {@link versionOneFile}. */
export const VERSION_ONE_RECORDS: SnapshotRecord[] = [
  {
    kind: 'node',
    path: '/',
    data: new Uint8Array(0),
    ...stat,
    version: 1,
    cversion: 2,
    aversion: 3,
    container: false,
    acl: OPEN_ACL_UNSAFE,
  },
  {
    kind: 'node',
    path: '/ä',
    data: new Uint8Array([5, 6]),
    ...stat,
    version: 1,
    cversion: 2,
    aversion: 3,
    container: false,
    acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }],
  },
];
