// Core bounds the size of what it emits with wire-size.ts (it cannot encode: the codec sits above
// it). These tests hold those bounds against the real encoding: every bound must be at least the
// encoded size, or a message could pass core's checks and still be over a frame limit.
import {
  type LogEntry,
  logEntryBytes,
  type MultiTxnOp,
  type PeerMessage,
  peerMessageBytes,
  type Reply,
  replyBytes,
  type SnapshotRecord,
  snapshotRecordBytes,
  type Txn,
  utf8Bytes,
} from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeServerMessage } from './client-protocol.js';
import { sampleLogEntries, samplePeerMessages, sampleResults, sampleSnapshotRecords, ZXID_BIG } from './fixtures.js';
import { FRAME_HEADER_BYTES } from './frame.js';
import { encodePeerMessage } from './peer-protocol.js';
import { encodeLogEntry, encodeSnapshotRecord } from './records.js';

const UNLIMITED = 256 * 1024 * 1024;

/** plain is fc.record with ordinary objects (the codec refuses null-prototype objects, as it should). */
const plain = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.constantFrom('\ud800', 'a\udc00b', '\ud83d\ude00', 'é', '€'),
);
const path = text.map((rest) => `/${rest}`);
const data = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n)),
);
const int64 = fc.oneof(fc.constantFrom(0, 1, ZXID_BIG, 2 ** 53 - 1), fc.maxSafeNat());
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
/** password: a session password, or none (a record from before passwords). */
const password = fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constant(new Uint8Array(0)));

const authId = plain({ scheme: text, id: text });
const acl = fc.array(plain({ perms: int32, id: authId }), { maxLength: 6 });

const multiOp: fc.Arbitrary<MultiTxnOp> = fc.oneof(
  plain({
    type: fc.constant('create' as const),
    path,
    data,
    ephemeralOwner: int64,
    container: fc.boolean(),
    ttlMs: int64,
    parentCversion: int32,
    acl,
  }),
  plain({ type: fc.constant('delete' as const), path }),
  plain({ type: fc.constant('setData' as const), path, data, version: int32 }),
  plain({ type: fc.constant('check' as const), path, version: int32 }),
  plain({ type: fc.constant('error' as const), code: fc.constantFrom('NO_NODE' as const, 'BAD_VERSION' as const) }),
);
const txn: fc.Arbitrary<Txn> = fc.oneof(
  multiOp.filter((op) => op.type !== 'check'),
  plain({ type: fc.constant('multi' as const), txns: fc.array(multiOp, { maxLength: 8 }) }),
  plain({
    type: fc.constant('createSession' as const),
    sessionId: int64,
    timeoutMs: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    password,
  }),
  plain({ type: fc.constant('closeSession' as const), sessionId: int64, paths: fc.array(path, { maxLength: 8 }) }),
  plain({ type: fc.constant('setACL' as const), path, acl, version: int32 }),
);
const logEntry: fc.Arbitrary<LogEntry> = plain({ zxid: int64, sessionId: int64, cxid: int32, timeMs: int64, txn });
const snapshotRecord: fc.Arbitrary<SnapshotRecord> = fc.oneof(
  plain({
    kind: fc.constant('node' as const),
    path,
    data,
    czxid: int64,
    mzxid: int64,
    pzxid: int64,
    ctime: int64,
    mtime: int64,
    version: int32,
    cversion: int32,
    aversion: int32,
    ephemeralOwner: int64,
    container: fc.boolean(),
    ttlMs: int64,
    acl,
  }),
  plain({
    kind: fc.constant('session' as const),
    sessionId: int64,
    timeoutMs: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    password,
  }),
);

const peerBody = (message: PeerMessage) => encodePeerMessage(message, UNLIMITED).length - FRAME_HEADER_BYTES;
const replyBody = (reply: Reply) =>
  encodeServerMessage(
    { kind: 'reply', xid: reply.xid, zxid: reply.zxid, error: reply.error, result: reply.result },
    UNLIMITED,
  ).length - FRAME_HEADER_BYTES;

describe('wire-size bounds hold against the real encoding', () => {
  it('utf8Bytes is the UTF-8 length, lone surrogates as the 3 bytes of U+FFFD', () => {
    for (const sample of ['', 'abc', 'é', '€', '\ud83d\ude00', '\ud800', 'a\udc00', '\ud800\ud800']) {
      expect(utf8Bytes(sample)).toBe(new TextEncoder().encode(sample).length);
    }
  });

  it('every sample entry, record, peer message and reply', () => {
    for (const entry of sampleLogEntries)
      expect(encodeLogEntry(entry).length).toBeLessThanOrEqual(logEntryBytes(entry));
    for (const sample of sampleSnapshotRecords) {
      expect(encodeSnapshotRecord(sample).length).toBeLessThanOrEqual(snapshotRecordBytes(sample));
    }
    for (const message of samplePeerMessages) expect(peerBody(message)).toBeLessThanOrEqual(peerMessageBytes(message));
    for (const result of sampleResults) {
      const reply: Reply = { sessionId: 1, xid: 2 ** 31 - 1, zxid: ZXID_BIG, error: null, result };
      expect(replyBody(reply)).toBeLessThanOrEqual(replyBytes(reply));
    }
  });

  it('random entries and snapshot records, alone and batched in PROPOSAL, INFORM, DIFF and SNAP messages', () => {
    fc.assert(
      fc.property(
        fc.array(logEntry, { maxLength: 6 }),
        fc.array(snapshotRecord, { maxLength: 6 }),
        (entries, records) => {
          for (const entry of entries) expect(encodeLogEntry(entry).length).toBeLessThanOrEqual(logEntryBytes(entry));
          for (const sample of records) {
            expect(encodeSnapshotRecord(sample).length).toBeLessThanOrEqual(snapshotRecordBytes(sample));
          }
          for (const message of [
            { type: 'proposal', epoch: 2 ** 32 - 1, entries },
            { type: 'inform', epoch: 7, entries },
            { type: 'entries', epoch: 7, entries },
            { type: 'snapChunk', epoch: 7, records },
          ] as PeerMessage[]) {
            expect(peerBody(message)).toBeLessThanOrEqual(peerMessageBytes(message));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random replies: children, ephemerals, multiRead results', () => {
    const stat = plain({
      czxid: int64,
      mzxid: int64,
      ctime: int64,
      mtime: int64,
      version: int32,
      cversion: int32,
      aversion: int32,
      ephemeralOwner: int64,
      dataLength: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      numChildren: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      pzxid: int64,
    });
    const getData = plain({ op: fc.constant('getData' as const), data, stat });
    const getChildren = plain({
      op: fc.constant('getChildren' as const),
      children: fc.array(text, { maxLength: 20 }),
      stat,
    });
    const result: fc.Arbitrary<Reply['result']> = fc.oneof(
      getData,
      getChildren,
      plain({ op: fc.constant('getEphemerals' as const), paths: fc.array(path, { maxLength: 20 }) }),
      plain({
        op: fc.constant('multiRead' as const),
        results: fc.array(
          fc.oneof(
            getData,
            getChildren,
            plain({ op: fc.constant('error' as const), code: fc.constant('NO_NODE' as const) }),
          ),
          { maxLength: 5 },
        ),
      }),
      plain({ op: fc.constant('create' as const), path, stat }),
    );
    fc.assert(
      fc.property(result, int32, int64, (sample, xid, zxid) => {
        const reply: Reply = { sessionId: 1, xid, zxid, error: null, result: sample };
        expect(replyBody(reply)).toBeLessThanOrEqual(replyBytes(reply));
      }),
      { numRuns: 300 },
    );
  });

  it('is tight where it matters: a big value costs its own size and a few dozen bytes', () => {
    const entry: LogEntry = {
      zxid: ZXID_BIG,
      sessionId: 5,
      cxid: 9,
      timeMs: 1_700_000_000_000,
      txn: { type: 'setData', path: '/config/app', data: new Uint8Array(900_000), version: 3 },
    };
    const encoded = encodeLogEntry(entry).length;
    expect(logEntryBytes(entry) - encoded).toBeLessThan(64);
  });
});
