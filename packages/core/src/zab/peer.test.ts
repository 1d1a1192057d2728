import { describe, expect, it } from 'vitest';
import { createPrng } from '../prng.js';
import { MemoryStorage, type RecoveredState } from '../storage.js';
import type { LogEntry } from '../types.js';
import { makeZxid } from '../zxid.js';
import type { PeerMessage } from './messages.js';
import { totalOrder, ZabPeer } from './peer.js';
import { Ensemble, text } from './test/ensemble.js';
import { createTreeMachine } from './tree-machine.js';

describe('totalOrder (FastLeaderElection vote order)', () => {
  it('compares peerEpoch first, then zxid, then server id', () => {
    const vote = (leader: number, zxid: number, peerEpoch: number) => ({ leader, zxid, peerEpoch });
    expect(totalOrder(vote(1, 0, 2), vote(3, 100, 1))).toBe(true);
    expect(totalOrder(vote(1, 5, 1), vote(3, 4, 1))).toBe(true);
    expect(totalOrder(vote(3, 5, 1), vote(1, 5, 1))).toBe(true);
    expect(totalOrder(vote(1, 5, 1), vote(3, 5, 1))).toBe(false);
    expect(totalOrder(vote(-1, 9, 9), vote(1, 0, 0))).toBe(false);
  });
});

describe('ZabPeer', () => {
  it('elects the server with the most recent history, not the highest id', () => {
    const entry = (counter: number): LogEntry => ({
      zxid: makeZxid(1, counter),
      sessionId: 0,
      cxid: 0,
      timeMs: 0,
      txn: { type: 'error', code: 'NO_NODE' },
    });
    const recovered = new Map<number, RecoveredState>([
      [1, { epochs: { acceptedEpoch: 1, currentEpoch: 1 }, snapshot: null, entries: [entry(1), entry(2)] }],
      [2, { epochs: { acceptedEpoch: 1, currentEpoch: 1 }, snapshot: null, entries: [entry(1)] }],
      [3, { epochs: { acceptedEpoch: 1, currentEpoch: 1 }, snapshot: null, entries: [entry(1)] }],
    ]);
    const ensemble = new Ensemble([1, 2, 3], [], recovered);
    ensemble.settle();
    expect(ensemble.leader()).toBe(1);
    // The new leader's history is committed at establishment and reaches every follower.
    for (const id of [2, 3]) expect(ensemble.peer(id).status().lastAppliedZxid).toBe(makeZxid(1, 2));
  });

  it('commits a write forwarded by a follower on every member, observers included, in a new epoch', () => {
    const ensemble = new Ensemble([1, 2, 3], [4]);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const session = ensemble.createSession(follower);
    ensemble.peer(follower).submit(session, 1, { op: 'create', path: '/a', data: text('x'), mode: 0, ttlMs: 0 });
    ensemble.settle(5);
    const reply = ensemble.reply(follower, session, 1);
    expect(reply?.error).toBeNull();
    expect(reply?.result).toMatchObject({ op: 'create', path: '/a' });
    for (const id of [1, 2, 3, 4]) expect(ensemble.peer(id).status().lastAppliedZxid).toBe(reply?.zxid);
    expect(ensemble.peer(leader).status().epoch).toBe(1);
  });

  it('batches per Ready: one PROPOSAL per follower, one cumulative ACK back, one COMMIT per round', () => {
    const ensemble = new Ensemble([1, 2, 3], [4]);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const session = ensemble.createSession(leader);
    const from = ensemble.readies.length;
    for (let xid = 1; xid <= 20; xid++)
      ensemble
        .peer(leader)
        .submit(session, xid, { op: 'create', path: `/b${xid}`, data: text('x'), mode: 0, ttlMs: 0 });
    ensemble.settle(2);
    for (let xid = 1; xid <= 20; xid++) expect(ensemble.reply(leader, session, xid)?.error).toBeNull();
    const sent = ensemble.readies.slice(from).flatMap(({ id, ready }) => ready.messages.map((m) => ({ id, ...m })));
    const of = (type: PeerMessage['type']) => sent.filter((m) => m.message.type === type);
    const proposals = of('proposal');
    expect(proposals).toHaveLength(2);
    for (const p of proposals) expect(p.message.type === 'proposal' && p.message.entries).toHaveLength(20);
    expect(of('ack')).toHaveLength(2);
    // Each ACK may commit on its own (a quorum is the leader and one follower), at most one COMMIT each.
    expect(of('commit').length).toBeLessThanOrEqual(4);
    const informed = of('inform').flatMap((m) => (m.message.type === 'inform' ? m.message.entries : []));
    expect(informed).toHaveLength(20);
  });

  it('answers a session in the order it asked, reads included (FIFO client order)', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const session = ensemble.createSession(follower);
    const peer = ensemble.peer(follower);
    peer.submit(session, 1, { op: 'create', path: '/k', data: text('1'), mode: 0, ttlMs: 0 });
    peer.submit(session, 2, { op: 'getData', path: '/k', watch: false });
    peer.submit(session, 3, { op: 'setData', path: '/k', data: text('2'), version: 0 });
    peer.submit(session, 4, { op: 'getData', path: '/k', watch: false });
    ensemble.settle(5);
    const replies = (ensemble.outputs.get(follower) ?? []).flatMap((o) =>
      o.type === 'reply' && o.reply.sessionId === session ? [o.reply] : [],
    );
    expect(replies.map((r) => r.xid)).toEqual([1, 2, 3, 4]);
    const read = (xid: number) => {
      const result = replies.find((r) => r.xid === xid)?.result;
      return result?.op === 'getData' ? new TextDecoder().decode(result.data) : undefined;
    };
    expect(read(2)).toBe('1');
    expect(read(4)).toBe('2');
  });

  it('a linearizable read confirms leadership with a quorum before answering', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const session = ensemble.createSession(follower);
    ensemble.peer(follower).submit(session, 1, { op: 'getData', path: '/', watch: false }, { linearizable: true });
    const barrier = () =>
      ensemble.readies.some((r) =>
        r.ready.messages.some((m) => m.message.type === 'barrier' || m.message.type === 'barrierAck'),
      );
    expect(barrier()).toBe(false);
    ensemble.settle(3);
    expect(barrier()).toBe(true);
    expect(ensemble.reply(follower, session, 1)?.error).toBeNull();
  });

  it('refuses clients with CONNECTION_LOSS while it is not serving', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    const peer = ensemble.peer(1);
    peer.submit(5, 1, { op: 'getData', path: '/', watch: false });
    const ready = peer.ready();
    expect(ready.toClients).toContainEqual({
      type: 'reply',
      reply: { sessionId: 5, xid: 1, zxid: 0, error: 'CONNECTION_LOSS', result: null },
    });
  });

  it('restarts from MemoryStorage with its epochs and history', async () => {
    const storage = new MemoryStorage();
    await storage.saveEpochs({ acceptedEpoch: 3, currentEpoch: 2 });
    const entries: LogEntry[] = [
      { zxid: makeZxid(2, 1), sessionId: 0, cxid: 0, timeMs: 0, txn: { type: 'error', code: 'NO_NODE' } },
    ];
    await storage.append(entries);
    const peer = new ZabPeer(
      { id: 1, voters: [1, 2, 3], random: createPrng(1), machine: createTreeMachine({ tickMs: 50 }), tickMs: 50 },
      await storage.load(),
    );
    const status = peer.status();
    expect(status.acceptedEpoch).toBe(3);
    expect(status.currentEpoch).toBe(2);
    expect(status.lastLoggedZxid).toBe(makeZxid(2, 1));
    // Not committed until synchronization says so: nothing applied yet.
    expect(status.lastAppliedZxid).toBe(0);
  });
});
