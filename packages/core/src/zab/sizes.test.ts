// Ordinary sizes must never take a member down: every peer message stays under peerFrameBytesMax
// and every reply under clientFrameBytesMax (the harness checks both on every Ready), a reply that
// cannot be sent fails that request alone, and synchronization of any size is streamed in a window.
import { describe, expect, it } from 'vitest';
import { deriveLimits } from '../limits.js';
import type { LogEntry, Reply } from '../types.js';
import { XID_MAX } from '../xid.js';
import type { PeerMessage } from './messages.js';
import { Ensemble, text } from './test/ensemble.js';

const bytes = (size: number, fill = 7) => new Uint8Array(size).fill(fill);

function repliesOf(ensemble: Ensemble, id: number, sessionId: number): Reply[] {
  return (ensemble.outputs.get(id) ?? []).flatMap((o) =>
    o.type === 'reply' && o.reply.sessionId === sessionId ? [o.reply] : [],
  );
}

function sentSince(ensemble: Ensemble, from: number) {
  return ensemble.readies.slice(from).flatMap(({ id, ready }) => ready.messages.map((m) => ({ from: id, ...m })));
}

function entriesOf(message: PeerMessage): LogEntry[] {
  return message.type === 'proposal' || message.type === 'inform' || message.type === 'entries' ? message.entries : [];
}

describe('a single voter is an ensemble', () => {
  it('elects itself and commits writes alone', () => {
    const ensemble = new Ensemble([1]);
    ensemble.settle(20);
    expect(ensemble.leader()).toBe(1);
    const session = ensemble.createSession(1);
    ensemble.peer(1).submit(session, 1, { op: 'create', path: '/solo', data: text('x'), mode: 0, ttlMs: 0 });
    ensemble.settle(2);
    expect(ensemble.reply(1, session, 1)?.error).toBeNull();
  });

  it('with observers, which learn every write', () => {
    const ensemble = new Ensemble([1], [2, 3]);
    ensemble.settle(30);
    expect(ensemble.leader()).toBe(1);
    const session = ensemble.createSession(2);
    ensemble.peer(2).submit(session, 1, { op: 'create', path: '/seen', data: text('x'), mode: 0, ttlMs: 0 });
    ensemble.settle(3);
    const reply = ensemble.reply(2, session, 1);
    expect(reply?.error).toBeNull();
    for (const id of [1, 2, 3]) expect(ensemble.peer(id).status().lastAppliedZxid).toBe(reply?.zxid);
  });
});

describe('byte-bounded peer messages', () => {
  it('8 pipelined writes of 900 KB to the leader go out as several PROPOSALs, each under the peer frame limit', () => {
    const ensemble = new Ensemble([1, 2, 3], [4]);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const session = ensemble.createSession(leader);
    ensemble.peer(leader).submit(session, 1, { op: 'create', path: '/big', data: text(''), mode: 0, ttlMs: 0 });
    ensemble.settle(2);
    const from = ensemble.readies.length;
    for (let xid = 2; xid <= 9; xid++) {
      ensemble
        .peer(leader)
        .submit(session, xid, { op: 'setData', path: '/big', data: bytes(900_000, xid), version: -1 });
    }
    ensemble.settle(3);
    for (let xid = 2; xid <= 9; xid++) expect(ensemble.reply(leader, session, xid)?.error).toBeNull();
    const proposals = sentSince(ensemble, from).filter((m) => m.message.type === 'proposal');
    // Two followers, one 900 KB entry per PROPOSAL (over the 512 KiB batch target on its own).
    expect(proposals.length).toBe(16);
    const informed = sentSince(ensemble, from).filter((m) => m.message.type === 'inform');
    expect(informed.flatMap((m) => entriesOf(m.message))).toHaveLength(8);
  });

  it('holds requests past proposalBytesInflightMax, in order, and answers them all', () => {
    const limits = deriveLimits({ proposalBytesInflightMax: 1_000_000 });
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { limits });
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const session = ensemble.createSession(leader);
    ensemble.peer(leader).submit(session, 1, { op: 'create', path: '/q', data: text(''), mode: 0, ttlMs: 0 });
    ensemble.settle(2);
    const from = ensemble.readies.length;
    // All in one Ready: without the budget the leader would propose 4.4 MB at once.
    for (let xid = 2; xid <= 12; xid++) {
      ensemble.peer(leader).submit(session, xid, { op: 'setData', path: '/q', data: bytes(400_000, xid), version: -1 });
    }
    ensemble.settle(3);
    const replies = repliesOf(ensemble, leader, session).filter((r) => r.xid >= 2);
    expect(replies.map((r) => r.xid)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(replies.every((r) => r.error === null)).toBe(true);
    // Each version follows the last: the held requests were proposed in their order.
    expect(replies.map((r) => (r.result?.op === 'setData' ? r.result.stat.version : -1))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ]);
    const perReady = ensemble.readies
      .slice(from)
      .filter(({ id }) => id === leader)
      .map(({ ready }) => ready.entries.filter((entry) => entry.txn.type === 'setData').length);
    expect(Math.max(...perReady)).toBe(3);
  });
});

describe('synchronization is streamed in a window', () => {
  it('a follower that misses 600 writes of 5 KB catches up by DIFF in messages under the batch target', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const session = ensemble.createSession(leader);
    ensemble.stop(follower);
    for (let xid = 1; xid <= 600; xid++) {
      ensemble
        .peer(leader)
        .submit(session, xid, { op: 'create', path: `/n${xid}`, data: bytes(5_000), mode: 0, ttlMs: 0 });
    }
    ensemble.settle(3);
    expect(ensemble.reply(leader, session, 600)?.error).toBeNull();
    const from = ensemble.readies.length;
    ensemble.restart(follower);
    ensemble.settle(40);
    expect(ensemble.peer(follower).status().lastAppliedZxid).toBe(ensemble.peer(leader).status().lastAppliedZxid);
    const sent = sentSince(ensemble, from);
    const sync = sent.find((m) => m.message.type === 'sync');
    expect(sync?.message.type === 'sync' && sync.message.mode).toBe('DIFF');
    const chunks = sent.filter((m) => m.message.type === 'entries');
    expect(chunks.length).toBeGreaterThan(4);
    const acks = sent.filter((m) => m.message.type === 'syncAck');
    expect(acks.length).toBeGreaterThan(0);
  });

  it('a wiped follower rejoining 1,200 znodes of 4 KiB gets a SNAP in chunks, and never more than a window in flight', () => {
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { historyEntriesMax: 100 });
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const session = ensemble.createSession(leader);
    for (let xid = 1; xid <= 1_200; xid++) {
      ensemble
        .peer(leader)
        .submit(session, xid, { op: 'create', path: `/s${xid}`, data: bytes(4096), mode: 0, ttlMs: 0 });
    }
    ensemble.settle(3);
    ensemble.stop(follower);
    ensemble.restart(follower, { wipe: true });
    const from = ensemble.readies.length;
    ensemble.settle(40);
    expect(ensemble.peer(follower).stateDigest()).toBe(ensemble.peer(leader).stateDigest());
    const toFollower = sentSince(ensemble, from).filter((m) => m.to === follower || m.from === follower);
    const sync = toFollower.find((m) => m.message.type === 'sync');
    expect(sync?.message.type === 'sync' && sync.message.mode).toBe('SNAP');
    // Walk the stream: chunks sent by the leader minus chunks the learner acknowledged, in bytes.
    let inflight = 0;
    let acked = 0;
    const sizes: number[] = [];
    for (const { from: sender, message } of toFollower) {
      if (sender === leader && (message.type === 'snapChunk' || message.type === 'entries')) {
        const size =
          message.type === 'snapChunk'
            ? message.records.reduce((sum, r) => sum + (r.kind === 'node' ? r.data.length : 0), 0)
            : 0;
        sizes.push(size);
        inflight += size;
        expect(inflight).toBeLessThanOrEqual(ensemble.limits.syncWindowBytes + ensemble.limits.batchBytesTarget);
      }
      if (sender === follower && message.type === 'syncAck') {
        while (acked < message.chunks) inflight -= sizes[acked++] as number;
      }
    }
    expect(sizes.length).toBeGreaterThan(8);
  });
});

describe('replies that cannot be sent fail alone', () => {
  const limits = deriveLimits({ dataBytesMax: 100_000, clientFrameBytesMax: 120_000 });

  it('a getChildren or multiRead over the client frame limit answers MARSHALLING_ERROR; the session carries on', () => {
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { limits });
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const session = ensemble.createSession(follower);
    const peer = ensemble.peer(follower);
    let xid = 1;
    peer.submit(session, xid++, { op: 'create', path: '/p', data: text(''), mode: 0, ttlMs: 0 });
    for (let i = 0; i < 5_000; i++) {
      peer.submit(session, xid++, {
        op: 'create',
        path: `/p/child-${i}-${'x'.repeat(20)}`,
        data: text(''),
        mode: 0,
        ttlMs: 0,
      });
    }
    peer.submit(session, xid++, { op: 'create', path: '/d1', data: bytes(90_000), mode: 0, ttlMs: 0 });
    peer.submit(session, xid++, { op: 'create', path: '/d2', data: bytes(90_000), mode: 0, ttlMs: 0 });
    ensemble.settle(5);
    const children = xid++;
    peer.submit(session, children, { op: 'getChildren', path: '/p', watch: false });
    const multiRead = xid++;
    peer.submit(session, multiRead, {
      op: 'multiRead',
      ops: [
        { op: 'getData', path: '/d1', watch: false },
        { op: 'getData', path: '/d2', watch: false },
      ],
    });
    const after = xid++;
    peer.submit(session, after, { op: 'getData', path: '/d1', watch: false });
    ensemble.settle(2);
    expect(ensemble.reply(follower, session, children)?.error).toBe('MARSHALLING_ERROR');
    expect(ensemble.reply(follower, session, multiRead)?.error).toBe('MARSHALLING_ERROR');
    expect(ensemble.reply(follower, session, after)?.error).toBeNull();
  });

  it('a multi whose reply could not be sent is refused before it commits', () => {
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { limits });
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const session = ensemble.createSession(leader);
    const ops = Array.from({ length: 1_200 }, (_, i) => ({
      op: 'create' as const,
      path: `/m${i}`,
      data: new Uint8Array(0),
      mode: 0 as const,
      ttlMs: 0,
    }));
    ensemble.peer(leader).submit(session, 1, { op: 'multi', ops });
    ensemble.peer(leader).submit(session, 2, { op: 'exists', path: '/m0', watch: false });
    ensemble.settle(2);
    expect(ensemble.reply(leader, session, 1)?.error).toBe('MARSHALLING_ERROR');
    const exists = ensemble.reply(leader, session, 2);
    expect(exists?.result?.op === 'exists' && exists.result.stat).toBeNull();
  });
});

describe('limits on what one session can ask for', () => {
  it('a watching read past watchesPerSessionMax fails with QUOTA_EXCEEDED; reads without watches still work', () => {
    const limits = deriveLimits({ watchesPerSessionMax: 3 });
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { limits });
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const session = ensemble.createSession(follower);
    const peer = ensemble.peer(follower);
    for (let xid = 1; xid <= 4; xid++) peer.submit(session, xid, { op: 'exists', path: `/w${xid}`, watch: true });
    peer.submit(session, 5, { op: 'exists', path: '/w1', watch: true });
    peer.submit(session, 6, { op: 'exists', path: '/w4', watch: false });
    peer.submit(session, 7, { op: 'addWatch', path: '/w9', mode: 0 });
    ensemble.settle(2);
    const errors = repliesOf(ensemble, follower, session).map((r) => r.error);
    expect(errors).toEqual([null, null, null, 'QUOTA_EXCEEDED', null, null, 'QUOTA_EXCEEDED']);
    expect(ensemble.peer(follower).machineStats().watches).toBe(3);
  });

  it('a path over pathBytesMax fails with INVALID_PATH, reads and writes alike', () => {
    const limits = deriveLimits({ pathBytesMax: 64 });
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { limits });
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const session = ensemble.createSession(follower);
    const peer = ensemble.peer(follower);
    const long = `/${'a'.repeat(64)}`;
    peer.submit(session, 1, { op: 'create', path: long, data: text(''), mode: 0, ttlMs: 0 });
    peer.submit(session, 2, { op: 'getData', path: long, watch: true });
    peer.submit(session, 3, { op: 'create', path: `/${'a'.repeat(63)}`, data: text(''), mode: 0, ttlMs: 0 });
    ensemble.settle(3);
    expect(repliesOf(ensemble, follower, session).map((r) => r.error)).toEqual(['INVALID_PATH', 'INVALID_PATH', null]);
  });
});

describe('client xids wrap', () => {
  it('a session whose xids cross 2^31 - 1 → 1 keeps getting its writes through a follower', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const session = ensemble.createSession(follower);
    const xids = [XID_MAX - 2, XID_MAX - 1, XID_MAX, 1, 2, 3];
    for (const [i, xid] of xids.entries()) {
      ensemble.peer(follower).submit(session, xid, { op: 'create', path: `/x${i}`, data: text(''), mode: 0, ttlMs: 0 });
      ensemble.settle(1);
    }
    ensemble.settle(2);
    for (const xid of xids) expect(ensemble.reply(follower, session, xid)?.error, `xid ${xid}`).toBeNull();
  });
});
