import { crc32 } from 'node:zlib';
import { DataTree, type LogEntry, OPEN_ACL_UNSAFE, type Txn } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { decodeRecordEntry, encodeRecord, readRecordAt, writeZxid } from './log-record.js';
import { decodeSnapshot, SNAPSHOT_END_MAGIC, SNAPSHOT_MAGIC } from './snapshot-file.js';

/**
 * Data directories written before session passwords were replicated (issue 14) hold createSession
 * records and session snapshot records without a password. They must still load; those sessions
 * read as having an empty password, which no resume matches (core's zab/sessions.ts).
 */
/**
 * Log records written before ACLs (issue 14) hold create transactions without an `acl`. Replayed
 * as they were, the tree met a create without a list and the member died at restart; they read as
 * OPEN_ACL_UNSAFE, what every znode had then.
 */
describe('data written before ACLs', () => {
  it('a create, and a create inside a multi, without an acl read back as OPEN_ACL_UNSAFE', () => {
    const create = {
      type: 'create',
      path: '/a',
      data: new Uint8Array([1]),
      ephemeralOwner: 0,
      container: false,
      ttlMs: 0,
      parentCversion: 1,
    };
    for (const txn of [
      create,
      { type: 'multi', txns: [{ type: 'check', path: '/', version: -1 }, create] },
    ] as unknown as Txn[]) {
      const bytes = encodeRecord({ zxid: 0x1_0000_0002, sessionId: 7, cxid: 1, timeMs: 5, txn });
      const read = decodeRecordEntry(bytes, readRecordAt(bytes, 0)!).txn;
      const created = read.type === 'multi' ? read.txns[1] : read;
      expect(created).toMatchObject({ type: 'create', path: '/a', acl: OPEN_ACL_UNSAFE });
      if (read.type === 'multi') expect(read.txns[0]).toEqual({ type: 'check', path: '/', version: -1 });
    }
    // And the tree replays it (it threw before: an access list of undefined).
    const tree = new DataTree();
    const bytes = encodeRecord({
      zxid: 0x1_0000_0002,
      sessionId: 0,
      cxid: 0,
      timeMs: 5,
      txn: create as unknown as Txn,
    });
    expect(tree.applyTxn(decodeRecordEntry(bytes, readRecordAt(bytes, 0)!)).error).toBeNull();
    expect(tree.getData('/a', undefined, [])).toMatchObject({ op: 'getData' });
  });
});

describe('data written before session passwords', () => {
  it('a createSession log record without a password reads back with an empty one', () => {
    const old = { type: 'createSession', sessionId: 0x1_0000_0001, timeoutMs: 4000 } as unknown as Txn;
    const entry: LogEntry = { zxid: 0x1_0000_0001, sessionId: 0x1_0000_0001, cxid: 0, timeMs: 5, txn: old };
    const bytes = encodeRecord(entry);
    const location = readRecordAt(bytes, 0);
    expect(location).not.toBeNull();
    expect(decodeRecordEntry(bytes, location!).txn).toEqual({
      type: 'createSession',
      sessionId: 0x1_0000_0001,
      timeoutMs: 4000,
      password: new Uint8Array(0),
    });
  });

  it('a createSession with a password keeps it', () => {
    const password = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
    const entry: LogEntry = {
      zxid: 0x1_0000_0001,
      sessionId: 0x1_0000_0001,
      cxid: 0,
      timeMs: 5,
      txn: { type: 'createSession', sessionId: 0x1_0000_0001, timeoutMs: 4000, password },
    };
    const bytes = encodeRecord(entry);
    expect(decodeRecordEntry(bytes, readRecordAt(bytes, 0)!)).toEqual(entry);
  });

  it('a snapshot with a version-1 session record (kind 1, no password) reads as an empty password', () => {
    // header 28 | chunk: payloadBytes, count, [1 u8 | sessionId f64 | timeoutMs f64] | trailer 20
    const record = Buffer.alloc(17);
    record[0] = 1;
    record.writeDoubleBE(0x2_0000_0005, 1);
    record.writeDoubleBE(6000, 9);
    const file = Buffer.alloc(28 + 8 + record.length + 20);
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    view.setUint32(0, SNAPSHOT_MAGIC);
    view.setUint16(4, 1);
    writeZxid(view, 8, 0x2_0000_0005);
    view.setFloat64(16, 1_700_000_000_000);
    view.setUint32(24, crc32(file.subarray(0, 24)));
    view.setUint32(28, record.length);
    view.setUint32(32, 1);
    file.set(record, 36);
    const trailer = 36 + record.length;
    view.setUint32(trailer, 0);
    view.setUint32(trailer + 4, SNAPSHOT_END_MAGIC);
    writeZxid(view, trailer + 8, 1);
    view.setUint32(trailer + 16, crc32(file.subarray(0, trailer + 16)));
    expect([...decodeSnapshot(file).records]).toEqual([
      { kind: 'session', sessionId: 0x2_0000_0005, timeoutMs: 6000, password: new Uint8Array(0) },
    ]);
  });
});
