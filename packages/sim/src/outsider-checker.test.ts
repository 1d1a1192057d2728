import {
  createPrng,
  type LogEntry,
  makeZxid,
  OPEN_ACL_UNSAFE,
  type Request,
  type SnapshotNodeRecord,
} from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { Outsider } from './outsider.js';
import { checkEntryNotFromOutsider, checkTreeNotFromOutsider } from './outsider-checker.js';
import { checkCommitQuorum } from './quorum-checker.js';

const text = (value: string) => new TextEncoder().encode(value);

function outsider(): Outsider {
  return new Outsider(4, createPrng(9), {
    voterIds: [1, 2, 3],
    observerIds: [],
    leader: () => ({ id: 1, epoch: 2, lastZxid: makeZxid(2, 7) }),
    sessionIds: () => [101, 102],
    now: () => 1_000,
  });
}

describe('the outsider and its checks', () => {
  it('forges every kind of peer message, aimed where it would matter', () => {
    const forger = outsider();
    const targets = new Set<number>();
    for (let i = 0; i < 2_000; i++) targets.add(forger.forge().to);
    expect([...targets].sort()).toEqual([1, 2, 3]);
    for (const type of ['notification', 'followerInfo', 'ack', 'forward', 'proposal', 'commit', 'sync', 'ping']) {
      expect(forger.sent.get(type), type).toBeGreaterThan(0);
    }
  });

  it('recognises every entry the outsider forges, and no client entry', () => {
    const forger = outsider();
    let entries = 0;
    for (let i = 0; i < 500; i++) {
      const { message } = forger.forge();
      const forged: LogEntry[] =
        message.type === 'proposal' || message.type === 'inform' || message.type === 'entries' ? message.entries : [];
      if (message.type === 'forward' && message.request.op !== 'createSession') {
        forged.push({
          zxid: makeZxid(2, 8),
          sessionId: message.sessionId,
          cxid: 1,
          timeMs: 0,
          txn: toTxn(message.request),
        });
      }
      for (const entry of forged) {
        entries++;
        expect(checkEntryNotFromOutsider(entry)).not.toBeNull();
      }
    }
    expect(entries).toBeGreaterThan(50);
    const client: LogEntry = {
      zxid: makeZxid(2, 8),
      sessionId: 101,
      cxid: 7,
      timeMs: 0,
      txn: { type: 'setData', path: '/k0', data: text('c1-7'), version: 3 },
    };
    expect(checkEntryNotFromOutsider(client)).toBeNull();
  });

  it("finds the outsider's znode in a member's tree", () => {
    const record: SnapshotNodeRecord = {
      kind: 'node',
      path: '/outsider-9',
      data: text('x'),
      czxid: 1,
      mzxid: 1,
      pzxid: 1,
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
    expect(checkTreeNotFromOutsider(2, [record])).toMatch(/server 2 holds \/outsider-9/);
    expect(checkTreeNotFromOutsider(2, [{ ...record, path: '/k0' }])).toBeNull();
  });

  it('catches a commit that a quorum of voters does not hold durably', () => {
    const durable = (zxids: number[]) => ({
      lastZxid: zxids.at(-1) ?? 0,
      acceptedEpoch: 2,
      currentEpoch: 2,
      zxids,
      snapshotZxid: 0,
    });
    const zxid = makeZxid(2, 5);
    const held = [makeZxid(2, 4), zxid];
    expect(
      checkCommitQuorum(1, 2, zxid, [
        { id: 1, durable: durable(held) },
        { id: 2, durable: durable(held) },
        { id: 3, durable: durable([]) },
      ]),
    ).toBeNull();
    // The leader's own disk and an ACK nobody durable gave (an outsider's): one of the two a quorum needs.
    expect(
      checkCommitQuorum(1, 2, zxid, [
        { id: 1, durable: durable(held) },
        { id: 2, durable: durable([makeZxid(2, 4)]) },
        { id: 3, durable: durable([]) },
      ]),
    ).toMatch(/durable on 1 voters \(1\) of the 2/);
  });
});

function toTxn(request: Request): LogEntry['txn'] {
  // What the leader would have prepared of the forwarded request, had it taken it.
  switch (request.op) {
    case 'create':
      return {
        type: 'create',
        path: request.path,
        data: request.data,
        ephemeralOwner: 0,
        container: false,
        ttlMs: 0,
        parentCversion: 1,
        acl: request.acl ?? OPEN_ACL_UNSAFE,
      };
    case 'setData':
      return { type: 'setData', path: request.path, data: request.data, version: 1 };
    case 'setACL':
      return { type: 'setACL', path: request.path, acl: request.acl, version: 1 };
    default:
      throw new Error(`the outsider forwards no ${request.op}`);
  }
}
