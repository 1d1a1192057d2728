import { describe, expect, it } from 'vitest';
import { createPrng } from '../prng.js';
import { MemoryStorage, type RecoveredState } from '../storage.js';
import type { LogEntry } from '../types.js';
import { makeZxid } from '../zxid.js';
import type { PeerMessage } from './messages.js';
import { type ClientOutput, type Ready, totalOrder, ZabPeer } from './peer.js';
import { createTreeMachine } from './tree-machine.js';

const text = (value: string) => new TextEncoder().encode(value);

/**
 * Ensemble drives peers with immediate delivery and immediate persistence, checking on every Ready
 * that nothing acknowledges what it has not handed to the disk (the rule every ZooKeeper sync-path
 * data-loss bug broke).
 */
class Ensemble {
  readonly peers = new Map<number, ZabPeer>();
  readonly durable = new Map<number, { entries: LogEntry[]; acceptedEpoch: number; currentEpoch: number }>();
  readonly outputs = new Map<number, ClientOutput[]>();
  private readonly inbox: { from: number; to: number; message: PeerMessage }[] = [];
  private now = 0;
  readonly readies: { id: number; ready: Ready }[] = [];

  constructor(
    readonly voters: number[],
    readonly observers: number[] = [],
    recovered: Map<number, RecoveredState> = new Map(),
  ) {
    const prng = createPrng(7);
    for (const id of [...voters, ...observers]) {
      const state = recovered.get(id) ?? { epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: null, entries: [] };
      this.peers.set(
        id,
        new ZabPeer(
          { id, voters, observers, random: prng.fork(), machine: createTreeMachine({ tickMs: 50 }), tickMs: 50 },
          state,
        ),
      );
      this.durable.set(id, {
        entries: [...state.entries],
        acceptedEpoch: state.epochs.acceptedEpoch,
        currentEpoch: state.epochs.currentEpoch,
      });
      this.outputs.set(id, []);
    }
  }

  peer(id: number): ZabPeer {
    return this.peers.get(id) as ZabPeer;
  }

  /** settle processes Readies and messages until quiet, then ticks; repeats `rounds` times. */
  settle(rounds = 40): void {
    for (let round = 0; round < rounds; round++) {
      for (let guard = 0; guard < 10_000; guard++) {
        let progressed = false;
        for (const [id, peer] of this.peers) {
          while (peer.hasReady()) {
            progressed = true;
            this.carryOut(id, peer.ready());
            peer.advance();
          }
        }
        const next = this.inbox.shift();
        if (next) {
          progressed = true;
          this.peers.get(next.to)?.step(next.from, next.message);
        }
        if (!progressed) break;
      }
      this.now += 50;
      for (const peer of this.peers.values()) peer.tick(this.now);
    }
  }

  private carryOut(id: number, ready: Ready): void {
    this.readies.push({ id, ready });
    const disk = this.durable.get(id) as { entries: LogEntry[]; acceptedEpoch: number; currentEpoch: number };
    // 1. persist, in the documented order.
    if (ready.truncateAfter !== null)
      disk.entries = disk.entries.filter((e) => e.zxid <= (ready.truncateAfter as number));
    if (ready.snapshot) disk.entries = disk.entries.filter((e) => e.zxid <= (ready.snapshot?.header.zxid as number));
    disk.entries.push(...ready.entries);
    if (ready.epochs) {
      disk.acceptedEpoch = ready.epochs.acceptedEpoch;
      disk.currentEpoch = ready.epochs.currentEpoch;
    }
    // The rule: what a message acknowledges is durable by now.
    for (const { message } of ready.messages) {
      if (message.type === 'ack' || message.type === 'ackNewLeader') {
        const acked = message.type === 'ack' ? message.zxid : message.lastZxid;
        const last = disk.entries.at(-1)?.zxid ?? (ready.snapshot?.header.zxid as number | undefined) ?? 0;
        expect(
          last,
          `server ${id} acks ${acked.toString(16)} with only ${last.toString(16)} durable`,
        ).toBeGreaterThanOrEqual(acked);
      }
      if (message.type === 'ackEpoch') expect(disk.acceptedEpoch).toBe(message.epoch);
      if (message.type === 'ackNewLeader') expect(disk.currentEpoch).toBe(message.epoch);
      if (message.type === 'leaderInfo') expect(disk.acceptedEpoch).toBe(message.epoch);
    }
    // 2. send; 3. deliver to clients.
    for (const { to, message } of ready.messages) this.inbox.push({ from: id, to, message });
    this.outputs.get(id)?.push(...ready.toClients);
  }

  leader(): number | undefined {
    for (const [id, peer] of this.peers) {
      const status = peer.status();
      if (status.role === 'leading' && status.established) return id;
    }
    return undefined;
  }

  createSession(id: number): number {
    const connectId = this.peer(id).submitCreateSession(10_000);
    this.settle(5);
    const created = this.outputs.get(id)?.find((o) => o.type === 'sessionCreated' && o.connectId === connectId);
    if (created?.type !== 'sessionCreated') throw new Error(`no session via ${id}`);
    return created.sessionId;
  }

  reply(id: number, sessionId: number, xid: number) {
    const output = this.outputs
      .get(id)
      ?.find((o) => o.type === 'reply' && o.reply.sessionId === sessionId && o.reply.xid === xid);
    return output?.type === 'reply' ? output.reply : undefined;
  }
}

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
