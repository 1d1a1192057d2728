// A test harness for ZabPeer: immediate delivery and immediate persistence (no I/O).
import { expect } from 'vitest';
import { deriveLimits, type Limits } from '../../limits.js';
import { createPrng } from '../../prng.js';
import type { RecoveredState } from '../../storage.js';
import type { LogEntry } from '../../types.js';
import { logEntryBytes, peerMessageBytes, replyBytes } from '../../wire-size.js';
import type { PeerMessage } from '../messages.js';
import { type ClientOutput, type LogRead, type Ready, ZabPeer } from '../peer.js';
import { ReadyDriver } from '../ready-driver.js';
import { seededPassword } from '../sessions.js';
import { createTreeMachine } from '../tree-machine.js';

export const text = (value: string) => new TextEncoder().encode(value);

/** EnsembleOptions: limits and history for every peer. */
export interface EnsembleOptions {
  limits?: Limits;
  historyEntriesMax?: number;
  /** reconfigRefusal: every member's veto on membership changes (PeerConfig.reconfigRefusal). */
  reconfigRefusal?: () => string | null;
  /** diskDiffFactor: every member's PeerConfig.diskDiffFactor (the harness answers LogReads from its disk). */
  diskDiffFactor?: number;
}

/**
 * Ensemble drives peers with immediate delivery and immediate persistence, checking on every Ready
 * that nothing acknowledges what it has not handed to the disk (the rule every ZooKeeper sync-path
 * data-loss bug broke).
 */
export class Ensemble {
  readonly peers = new Map<number, ZabPeer>();
  readonly durable = new Map<number, { entries: LogEntry[]; acceptedEpoch: number; currentEpoch: number }>();
  readonly outputs = new Map<number, ClientOutput[]>();
  private readonly inbox: { from: number; to: number; message: PeerMessage }[] = [];
  private now = 0;
  readonly readies: { id: number; ready: Ready }[] = [];
  readonly limits: Limits;
  /** down: members that are stopped (they neither receive nor tick; what was sent to them is lost). */
  readonly down = new Set<number>();
  private readonly prng = createPrng(7);
  private readonly passwords = createPrng(8);
  private readonly drivers = new WeakMap<ZabPeer, ReadyDriver>();
  /** logReads: LogReads handed out and not answered yet, answered one per turn of settle. */
  private readonly logReads: { peer: ZabPeer; id: number; read: LogRead }[] = [];
  /** logReadsFail: answer every LogRead with null, as a host whose log was compacted meanwhile. */
  logReadsFail = false;
  /** logReadsAnswered counts the LogReads answered with entries. */
  logReadsAnswered = 0;
  /** snapshotZxid: the zxid of the last snapshot each member installed (its log starts after it). */
  private readonly snapshotZxid = new Map<number, number>();

  constructor(
    readonly voters: number[],
    readonly observers: number[] = [],
    recovered: Map<number, RecoveredState> = new Map(),
    private readonly options: EnsembleOptions = {},
  ) {
    this.limits = options.limits ?? deriveLimits();
    for (const id of [...voters, ...observers]) {
      this.start(
        id,
        recovered.get(id) ?? { epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: null, entries: [] },
      );
    }
  }

  /** start (re)starts a member from a recovered state; `stop` first if it runs. */
  start(id: number, state: RecoveredState): void {
    const restarting = this.peers.has(id);
    this.peers.set(
      id,
      new ZabPeer(
        {
          id,
          voters: this.voters,
          observers: this.observers,
          random: this.prng.fork(),
          machine: createTreeMachine({ tickMs: 50, limits: this.limits }),
          tickMs: 50,
          limits: this.limits,
          ...(this.options.historyEntriesMax !== undefined && { historyEntriesMax: this.options.historyEntriesMax }),
          ...(this.options.reconfigRefusal !== undefined && { reconfigRefusal: this.options.reconfigRefusal }),
          ...(this.options.diskDiffFactor !== undefined && { diskDiffFactor: this.options.diskDiffFactor }),
        },
        state,
      ),
    );
    this.durable.set(id, {
      entries: [...state.entries],
      acceptedEpoch: state.epochs.acceptedEpoch,
      currentEpoch: state.epochs.currentEpoch,
    });
    this.outputs.set(id, []);
    this.down.delete(id);
    // A member that comes back connects to the others: both ends see the connection up.
    if (restarting) {
      for (const other of this.peers.keys()) {
        if (other === id || this.down.has(other)) continue;
        this.peer(other).connected(id);
        this.peer(id).connected(other);
      }
    }
  }

  /** stop takes a member down: the others see its connections break. */
  stop(id: number): void {
    this.down.add(id);
    for (const other of this.peers.keys()) if (other !== id) this.peer(other).disconnected(id);
  }

  /** restart brings a stopped member back with what it had made durable (or wiped). */
  restart(id: number, options: { wipe?: boolean } = {}): void {
    const disk = this.durable.get(id) as { entries: LogEntry[]; acceptedEpoch: number; currentEpoch: number };
    this.start(
      id,
      options.wipe
        ? { epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: null, entries: [] }
        : {
            epochs: { acceptedEpoch: disk.acceptedEpoch, currentEpoch: disk.currentEpoch },
            snapshot: null,
            entries: disk.entries,
          },
    );
  }

  peer(id: number): ZabPeer {
    return this.peers.get(id) as ZabPeer;
  }

  /** settle processes Readies and messages until quiet, then ticks; repeats `rounds` times. */
  settle(rounds = 40): void {
    for (let round = 0; round < rounds; round++) {
      for (let guard = 0; guard < 10_000; guard++) {
        let progressed = false;
        for (const [id] of this.peers) {
          if (this.down.has(id)) continue;
          const driver = this.driverOf(id);
          for (let ready = driver.begin(); ready !== null; ready = driver.begin()) {
            progressed = true;
            this.persist(id, ready);
            driver.finish();
          }
        }
        const read = this.logReads.shift();
        if (read && !this.down.has(read.id) && this.peers.get(read.id) === read.peer) {
          progressed = true;
          read.peer.logRead(read.read, this.readDisk(read.id, read.read));
        }
        const next = this.inbox.shift();
        if (next) {
          progressed = true;
          if (!this.down.has(next.to) && !this.down.has(next.from))
            this.peers.get(next.to)?.step(next.from, next.message);
        }
        if (!progressed) break;
      }
      this.now += 50;
      for (const [id, peer] of this.peers) if (!this.down.has(id)) peer.tick(this.now);
    }
  }

  /** driverOf runs core's host loop for a member over this harness's disk, network and clients. */
  private driverOf(id: number): ReadyDriver {
    const peer = this.peer(id);
    let driver = this.drivers.get(peer);
    if (driver === undefined) {
      driver = new ReadyDriver(peer, {
        send: (messages) => this.send(id, messages),
        deliver: (outputs) => this.outputs.get(id)?.push(...outputs),
        disconnect: (peers) => this.disconnect(id, peers),
        readLog: (reads) => {
          for (const read of reads) this.logReads.push({ peer, id, read });
        },
      });
      this.drivers.set(peer, driver);
    }
    return driver;
  }

  /** readDisk answers a LogRead from the member's disk (storage.ts readLogEntries' rules), or null when told to fail. */
  private readDisk(id: number, read: LogRead): LogEntry[] | null {
    if (this.logReadsFail) return null;
    const disk = this.durable.get(id) as { entries: LogEntry[] };
    const entries: LogEntry[] = [];
    let bytes = 0;
    for (const entry of disk.entries) {
      if (entry.zxid <= read.afterZxid) continue;
      if (entry.zxid > read.toZxid || bytes >= read.bytesMax) break;
      entries.push(entry);
      bytes += logEntryBytes(entry);
    }
    this.logReadsAnswered++;
    return entries;
  }

  /** persist carries out the durable part of a Ready, in the documented order. */
  private persist(id: number, ready: Ready): void {
    this.readies.push({ id, ready });
    const disk = this.durable.get(id) as { entries: LogEntry[]; acceptedEpoch: number; currentEpoch: number };
    if (ready.truncateAfter !== null)
      disk.entries = disk.entries.filter((e) => e.zxid <= (ready.truncateAfter as number));
    if (ready.snapshot) {
      disk.entries = disk.entries.filter((e) => e.zxid <= (ready.snapshot?.header.zxid as number));
      this.snapshotZxid.set(id, ready.snapshot.header.zxid);
    }
    disk.entries.push(...ready.entries);
    if (ready.epochs) {
      disk.acceptedEpoch = ready.epochs.acceptedEpoch;
      disk.currentEpoch = ready.epochs.currentEpoch;
    }
    // Every reply fits its frame (wire-size's bounds, which the codec's tests hold to the real encoding).
    for (const output of ready.toClients) {
      if (output.type === 'reply')
        expect(replyBytes(output.reply)).toBeLessThanOrEqual(this.limits.clientFrameBytesMax);
    }
  }

  /**
   * send checks each message as it leaves — what it acknowledges is durable by now (the rule every
   * ZooKeeper sync-path data-loss bug broke), and it fits the peer frame — and queues it.
   */
  private send(id: number, messages: readonly { to: number; message: PeerMessage }[]): void {
    const disk = this.durable.get(id) as { entries: LogEntry[]; acceptedEpoch: number; currentEpoch: number };
    for (const { to, message } of messages) {
      if (message.type === 'ack' || message.type === 'ackNewLeader') {
        const acked = message.type === 'ack' ? message.zxid : message.lastZxid;
        // Entries below an installed snapshot may stay on the disk: the snapshot is durable too.
        const last = Math.max(disk.entries.at(-1)?.zxid ?? 0, this.snapshotZxid.get(id) ?? 0);
        expect(
          last,
          `server ${id} acks ${acked.toString(16)} with only ${last.toString(16)} durable`,
        ).toBeGreaterThanOrEqual(acked);
      }
      if (message.type === 'ackEpoch') expect(disk.acceptedEpoch).toBe(message.epoch);
      if (message.type === 'ackNewLeader') expect(disk.currentEpoch).toBe(message.epoch);
      if (message.type === 'leaderInfo') expect(disk.acceptedEpoch).toBe(message.epoch);
      expect(peerMessageBytes(message), `${message.type} from ${id}`).toBeLessThanOrEqual(
        this.limits.peerFrameBytesMax,
      );
      this.inbox.push({ from: id, to, message });
    }
  }

  /** disconnect drops connections: both ends see the break, and what is in flight between them is lost. */
  private disconnect(id: number, peers: readonly number[]): void {
    for (const other of peers) {
      for (let i = this.inbox.length - 1; i >= 0; i--) {
        const item = this.inbox[i] as (typeof this.inbox)[number];
        if ((item.from === id && item.to === other) || (item.from === other && item.to === id)) this.inbox.splice(i, 1);
      }
      this.peer(id).disconnected(other);
      if (!this.down.has(other)) this.peer(other).disconnected(id);
    }
    // The higher id dials again at once (as the real mesh does): both ends see the connection up.
    for (const other of peers) {
      if (this.down.has(other) || this.down.has(id)) continue;
      this.peer(id).connected(other);
      this.peer(other).connected(id);
    }
  }

  leader(): number | undefined {
    for (const [id, peer] of this.peers) {
      const status = peer.status();
      if (status.role === 'leading' && status.established) return id;
    }
    return undefined;
  }

  /**
   * restartFollowers stops and restarts the two members that do not lead, one from its disk and
   * one wiped (rebuilt by sync), while the session's client keeps pinging the leader; returns them
   * as [restarted, wiped].
   */
  restartFollowers(leader: number, sessionId: number): [number, number] {
    const [restarted, wiped] = [...this.peers.keys()].filter((id) => id !== leader) as [number, number];
    this.stop(restarted);
    this.restart(restarted);
    this.stop(wiped);
    this.restart(wiped, { wipe: true });
    for (let round = 0; round < 20; round++) {
      this.peer(leader).touchSession(sessionId);
      this.settle(5);
    }
    return [restarted, wiped];
  }

  createSession(id: number, password: Uint8Array = seededPassword(this.passwords)): number {
    const connectId = this.peer(id).submitCreateSession(10_000, password);
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
