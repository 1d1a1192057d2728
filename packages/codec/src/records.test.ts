import { ACL_ENTRIES_MAX, OPEN_ACL_UNSAFE } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { sampleLogEntries, sampleSnapshotRecords, sampleTxns } from './fixtures.js';
import { packBody } from './msgpack.js';
import {
  decodeLogEntry,
  decodeSnapshotRecord,
  encodeLogEntry,
  encodeSnapshotRecord,
  snapshotHeader,
  snapshotRecord,
  txn,
} from './records.js';

describe('LogEntry and SnapshotRecord', () => {
  it('samples cover every transaction type and record kind', () => {
    expect(new Set(sampleTxns.map((t) => t.type))).toEqual(new Set(txn.names));
    expect(new Set(sampleSnapshotRecords.map((r) => r.kind))).toEqual(new Set(snapshotRecord.names));
  });

  it.each(sampleLogEntries.map((e) => [e.txn.type, e] as const))('round-trips a LogEntry carrying %s', (_, entry) => {
    expect(decodeLogEntry(encodeLogEntry(entry))).toEqual(entry);
  });

  it.each(sampleSnapshotRecords.map((r) => [r.kind, r] as const))('round-trips a %s record', (_, record) => {
    expect(decodeSnapshotRecord(encodeSnapshotRecord(record))).toEqual(record);
  });

  it('reads a createSession and a session record written before passwords as having none', () => {
    // As version 0.x wrote them: [code, sessionId, timeoutMs], no password field.
    const entry = decodeLogEntry(packBody([0x1_0000_0001, 0, 0, 5, [-10, 0x1_0000_0001, 4000]]));
    expect(entry.txn).toEqual({
      type: 'createSession',
      sessionId: 0x1_0000_0001,
      timeoutMs: 4000,
      password: new Uint8Array(0),
    });
    const record = decodeSnapshotRecord(packBody([2, 0x1_0000_0001, 4000]));
    expect(record).toEqual({ kind: 'session', sessionId: 0x1_0000_0001, timeoutMs: 4000, password: new Uint8Array(0) });
  });

  it('reads a create and a znode record written before ACLs as OPEN_ACL_UNSAFE', () => {
    // As written before ACLs: a create txn [1, path, data, owner, container, ttlMs, parentCversion].
    const entry = decodeLogEntry(packBody([0x1_0000_0002, 0, 0, 5, [1, '/a', new Uint8Array(0), 0, false, 0, 1]]));
    expect(entry.txn).toMatchObject({ type: 'create', path: '/a', acl: OPEN_ACL_UNSAFE });
    const record = decodeSnapshotRecord(packBody([1, '/a', new Uint8Array(0), 1, 2, 3, 4, 5, 0, 0, 0, 0, false, 0]));
    expect(record).toMatchObject({ kind: 'node', path: '/a', acl: OPEN_ACL_UNSAFE });
  });

  it('refuses an access list of more than ACL_ENTRIES_MAX entries or a malformed entry', () => {
    const entry = { perms: 31, id: { scheme: 'world', id: 'anyone' } };
    const tooMany = Array.from({ length: ACL_ENTRIES_MAX + 1 }, () => entry);
    const setAcl = (list: unknown) => packBody([0x1_0000_0003, 0, 0, 5, [7, '/a', list, 0]]);
    expect(() => decodeLogEntry(setAcl(tooMany.map((e) => [e.perms, [e.id.scheme, e.id.id]])))).toThrow(CodecError);
    expect(() => decodeLogEntry(setAcl([[31, ['world']]]))).toThrow(/acl\[0\]\.id\.id/);
    expect(() => decodeLogEntry(setAcl([['31', ['world', 'anyone']]]))).toThrow(CodecError);
    expect(decodeLogEntry(setAcl([[31, ['world', 'anyone']]])).txn).toEqual({
      type: 'setACL',
      path: '/a',
      acl: [entry],
      version: 0,
    });
  });

  it('refuses a session password of any length but 16 or 0', () => {
    for (const length of [1, 15, 17, 64]) {
      const body = packBody([2, 7, 4000, new Uint8Array(length)]);
      expect(() => decodeSnapshotRecord(body)).toThrow(CodecError);
      expect(() =>
        encodeSnapshotRecord({ kind: 'session', sessionId: 7, timeoutMs: 4000, password: new Uint8Array(length) }),
      ).toThrow(CodecError);
    }
  });

  it('round-trips a snapshot header', () => {
    const header = { zxid: 2 ** 53 - 1, timeMs: 1_700_000_000_000 };
    expect(snapshotHeader.decode(snapshotHeader.encode(header))).toEqual(header);
  });

  it('writes the zxid as an exact int64', () => {
    const bytes = encodeLogEntry({
      zxid: 0x1_0000_0002,
      sessionId: 0,
      cxid: 0,
      timeMs: 0,
      txn: { type: 'delete', path: '/a' },
    });
    expect(Buffer.from(bytes).toString('hex')).toContain('d30000000100000002');
  });

  it('names the field of a bad transaction inside a multi', () => {
    // [zxid, sessionId, cxid, timeMs, [type, ...fields]]
    const wire = [
      1n,
      0n,
      0,
      0n,
      [
        14,
        [
          [2, '/a'],
          [-1, -9999],
        ],
      ],
    ];
    let error: unknown;
    try {
      decodeLogEntry(packBody(wire));
    } catch (caught) {
      error = caught;
    }
    expect(CodecError.isInstance(error)).toBe(true);
    expect((error as CodecError).field).toBe('txn.txns[1].code');
  });

  it('refuses a nested multi and a session transaction inside a multi', () => {
    const entry = (inner: unknown) => packBody([1n, 0n, 0, 0n, [14, [inner]]]);
    expect(() => decodeLogEntry(entry([14, []]))).toThrow(/txn.txns\[0\].type: unknown multi transaction/);
    expect(() => decodeLogEntry(entry([-10, 1n, 1]))).toThrow(CodecError);
  });
});
