// Membership changes on disk (issue 16): a reconfig transaction in the log, and the configuration a
// snapshot carries (kind 5). Logs and snapshots written before reconfig existed hold neither and
// still read: a member restoring one gets its static configuration (version 0).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPrng,
  createTreeMachine,
  type LogEntry,
  OPEN_ACL_UNSAFE,
  type SnapshotRecord,
  ZabPeer,
} from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from './file-system.js';
import { decodeRecordEntry, encodeRecord, readRecordAt } from './log-record.js';
import { decodeSnapshot, writeSnapshotFile } from './snapshot-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const root: SnapshotRecord = {
  kind: 'node',
  path: '/',
  data: new Uint8Array(0),
  czxid: 0,
  mzxid: 0,
  pzxid: 0,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0,
  container: false,
  ttlMs: 0,
  acl: OPEN_ACL_UNSAFE,
};

const members = [
  { id: 1, role: 'participant' as const, address: 'zk-1:7888:7888', clientAddress: 'zk-1:2181', endpoints: '' },
  { id: 7, role: 'observer' as const, address: 'zk-é:7888:7888', clientAddress: '', endpoints: '' },
];

async function roundTrip(records: SnapshotRecord[], zxid: number) {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-members-'));
  dirs.push(dir);
  const path = join(dir, 'snapshot');
  await writeSnapshotFile(nodeFileSystem, path, { zxid, timeMs: 1 }, records);
  return decodeSnapshot(new Uint8Array(readFileSync(path)));
}

function peerFrom(snapshot: Awaited<ReturnType<typeof roundTrip>>, entries: LogEntry[] = []): ZabPeer {
  return new ZabPeer(
    { id: 1, voters: [1, 2, 3], random: createPrng(1), tickMs: 50, machine: createTreeMachine({ tickMs: 50 }) },
    { epochs: { acceptedEpoch: 1, currentEpoch: 1 }, snapshot, entries },
  );
}

describe('membership on disk', () => {
  it('a reconfig log record round-trips', () => {
    const entry: LogEntry = {
      zxid: 0x2_0000_0003,
      sessionId: 0,
      cxid: 0,
      timeMs: 9,
      txn: { type: 'reconfig', members },
    };
    const bytes = encodeRecord(entry);
    expect(decodeRecordEntry(bytes, readRecordAt(bytes, 0)!)).toEqual(entry);
  });

  it('a snapshot with a membership record round-trips, and a member restarting from it uses that configuration', async () => {
    const config: SnapshotRecord = { kind: 'config', version: 0x2_0000_0003, members };
    const snapshot = await roundTrip([config, root], 0x2_0000_0005);
    expect([...snapshot.records][0]).toEqual(config);
    const peer = peerFrom(snapshot);
    expect(peer.status().config).toEqual({ version: 0x2_0000_0003, members });
    // Its own snapshot carries it on.
    const again = [...peer.snapshot().records];
    expect(again[0]).toEqual(config);
    // And /zookeeper/config shows it, not the static list.
    const shown = peer.readDirect({ op: 'getData', path: '/zookeeper/config', watch: false });
    expect(new TextDecoder().decode((shown.result as { data: Uint8Array }).data)).toContain('version=200000003');
  });

  it('a snapshot and a log from before reconfig read as they did: the static configuration, version 0', async () => {
    const snapshot = await roundTrip([root], 0x1_0000_0002);
    expect([...snapshot.records].every((record) => record.kind !== 'config')).toBe(true);
    const old: LogEntry = {
      zxid: 0x1_0000_0003,
      sessionId: 0,
      cxid: 0,
      timeMs: 1,
      txn: { type: 'delete', path: '/x' },
    };
    const bytes = encodeRecord(old);
    const peer = peerFrom(snapshot, [decodeRecordEntry(bytes, readRecordAt(bytes, 0)!)]);
    expect(peer.status().config.version).toBe(0);
    expect(peer.configs()).toHaveLength(1);
    // A member that never changed its membership writes no membership record.
    expect([...peer.snapshot().records].some((record) => record.kind === 'config')).toBe(false);
  });

  it('a reconfig in the log above the snapshot is pending after a restart: both configurations count', async () => {
    const snapshot = await roundTrip([root], 0x1_0000_0002);
    const change: LogEntry = {
      zxid: 0x1_0000_0003,
      sessionId: 0,
      cxid: 0,
      timeMs: 1,
      txn: { type: 'reconfig', members },
    };
    const bytes = encodeRecord(change);
    const peer = peerFrom(snapshot, [decodeRecordEntry(bytes, readRecordAt(bytes, 0)!)]);
    expect(peer.configs().map((config) => config.version)).toEqual([0, 0x1_0000_0003]);
    expect(peer.status().configCommitted).toBe(false);
  });
});
