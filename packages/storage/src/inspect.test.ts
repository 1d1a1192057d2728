import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogEntry, makeZxid, OPEN_ACL_UNSAFE, type SnapshotRecord } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileStorage } from './file-storage.js';
import { formatReport, inspectFile } from './inspect.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const LOCKED = [{ perms: 31, id: { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' } }];

function entries(): LogEntry[] {
  const at = (counter: number) => ({
    zxid: makeZxid(1, counter),
    sessionId: 0x1_0000_0001,
    cxid: counter,
    timeMs: 1_700_000_000_000 + counter,
  });
  return [
    {
      ...at(1),
      sessionId: 0,
      txn: { type: 'createSession', sessionId: 0x1_0000_0001, timeoutMs: 4000, password: new Uint8Array(16) },
    },
    {
      ...at(2),
      txn: {
        type: 'create',
        path: '/a',
        data: new Uint8Array(3),
        ephemeralOwner: 0,
        container: false,
        ttlMs: 0,
        parentCversion: 1,
        acl: OPEN_ACL_UNSAFE,
      },
    },
    { ...at(3), txn: { type: 'setACL', path: '/a', acl: LOCKED, version: 1 } },
    { ...at(4), txn: { type: 'error', code: 'NO_AUTH' } },
  ];
}

describe('inspect', () => {
  it('reads a log segment and a snapshot that FileStorage wrote, and says where a log is torn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-inspect-'));
    dirs.push(dir);
    const storage = await openFileStorage({ dir });
    await storage.load();
    await storage.append(entries());
    const records: SnapshotRecord[] = [
      {
        kind: 'node',
        path: '/',
        data: new Uint8Array(0),
        czxid: 0,
        mzxid: 0,
        pzxid: 2,
        ctime: 0,
        mtime: 0,
        version: 0,
        cversion: 1,
        aversion: 0,
        ephemeralOwner: 0,
        container: false,
        ttlMs: 0,
        acl: OPEN_ACL_UNSAFE,
      },
      {
        kind: 'node',
        path: '/a',
        data: new Uint8Array(3),
        czxid: 2,
        mzxid: 2,
        pzxid: 2,
        ctime: 1,
        mtime: 1,
        version: 0,
        cversion: 0,
        aversion: 1,
        ephemeralOwner: 0,
        container: false,
        ttlMs: 0,
        acl: LOCKED,
      },
      { kind: 'session', sessionId: 0x1_0000_0001, timeoutMs: 4000, password: new Uint8Array(16) },
    ];
    await storage.saveSnapshot({ zxid: makeZxid(1, 4), timeMs: 1_700_000_000_004 }, records);
    await storage.close();
    const files = readdirSync(dir);
    const log = join(dir, files.find((name) => name.startsWith('log.')) as string);
    const snapshot = join(dir, files.find((name) => name.startsWith('snapshot.')) as string);

    const logReport = inspectFile(readFileSync(log));
    expect(logReport).toMatchObject({
      kind: 'log',
      summary: {
        entries: 4,
        byType: { createSession: 1, create: 1, setACL: 1, error: 1 },
        zxids: ['0x100000001', '0x100000004'],
      },
      integrity: { whole: true },
    });
    const text = formatReport(logReport);
    expect(text).toContain('setACL /a aversion 1: digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=:cdrwa');
    expect(text).toContain('error NO_AUTH');

    const snapshotReport = inspectFile(readFileSync(snapshot));
    expect(snapshotReport).toMatchObject({
      kind: 'snapshot',
      zxid: '0x100000004',
      summary: { nodes: 2, sessions: 1, distinctAcls: 2, dataBytes: 3 },
      integrity: { whole: true },
    });
    expect(formatReport(snapshotReport)).toContain('/a  3 B  version 0  aversion 1  digest:alice:');

    // A torn tail: the report says from where, and keeps what is whole.
    const torn = readFileSync(log);
    writeFileSync(log, torn.subarray(0, torn.length - 5));
    expect(inspectFile(readFileSync(log))).toMatchObject({ summary: { entries: 3 }, integrity: { whole: false } });
    // A corrupt snapshot: invalid, with the reason.
    const bad = readFileSync(snapshot);
    bad[40] = (bad[40] as number) ^ 0xff;
    expect(inspectFile(bad)).toMatchObject({ integrity: { whole: false, error: expect.stringMatching(/crc/) } });
    expect(() => inspectFile(Buffer.from('hello world'))).toThrow(/not a zabkit log segment/);
  });
});
