// /zookeeper/config and /zookeeper/quota (issue 15): ZooKeeper clients read the ensemble's
// configuration there (getConfig is a getData of /zookeeper/config). The host provides them; they
// are never replicated or snapshotted (every member sets its own, from the same configuration),
// clients may read them and never write them.
import { describe, expect, it } from 'vitest';
import { CreateMode } from '../types.js';
import { text } from './test/ensemble.js';
import { createTreeMachine } from './tree-machine.js';

const config = text('server.1=127.0.0.1:2888:2888:participant;127.0.0.1:2181\nversion=0');

describe('the host-provided children of /zookeeper', () => {
  it('are readable, not writable, left out of snapshots and set again after a restore', () => {
    const machine = createTreeMachine({ tickMs: 100, systemNodes: { config, quota: new Uint8Array(0) } });
    expect(machine.read(0, { op: 'getChildren', path: '/zookeeper', watch: false }, []).result).toMatchObject({
      children: ['config', 'quota'],
    });
    expect(machine.read(0, { op: 'getData', path: '/zookeeper/config', watch: false }, []).result).toMatchObject({
      data: config,
    });
    const session = 1;
    machine.apply({
      zxid: 1,
      sessionId: 0,
      cxid: 0,
      timeMs: 1,
      txn: { type: 'createSession', sessionId: session, timeoutMs: 4000, password: new Uint8Array(16) },
    });
    for (const request of [
      { op: 'setData' as const, path: '/zookeeper/config', data: text('x'), version: -1 },
      { op: 'create' as const, path: '/zookeeper/config/x', data: text('x'), mode: CreateMode.PERSISTENT, ttlMs: 0 },
      { op: 'delete' as const, path: '/zookeeper/quota', version: -1 },
    ]) {
      expect(machine.prepare(session, request, 2, [{ scheme: 'super', id: '' }])).toEqual({
        type: 'error',
        code: 'NO_AUTH',
      });
    }
    const records = [...machine.snapshotRecords()];
    expect(
      records.filter((record) => record.kind === 'node').map((record) => record.kind === 'node' && record.path),
    ).toEqual(['/', '/zookeeper']);
    const replica = createTreeMachine({ tickMs: 100, systemNodes: { config } });
    replica.restore(1, records);
    expect(replica.read(0, { op: 'getData', path: '/zookeeper/config', watch: false }, []).result).toMatchObject({
      data: config,
    });
    // Without systemNodes (the simulator, the unit tests) /zookeeper stays empty.
    const bare = createTreeMachine({ tickMs: 100 });
    expect(bare.read(0, { op: 'getChildren', path: '/zookeeper', watch: false }, []).result).toMatchObject({
      children: [],
    });
  });
});
