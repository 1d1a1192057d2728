/**
 * TranscriptWorld runs real ZabPeers under a script, as etcd raft's interaction tests run real
 * RawNodes: nothing happens unless a command says so. Messages wait in one queue (in send order,
 * so each connection stays FIFO) until a `deliver` or `stabilize`; time moves only on `tick`. Every
 * peer is run by core's ReadyDriver over an in-memory disk that persists each Ready at once, so a
 * crash loses nothing that was handed out, and a restart recovers exactly what was durable.
 *
 * Each command returns its output lines: messages as they are delivered or dropped, role and phase
 * changes, what each Ready persisted and applied, and what servers hand their clients.
 */
import { deriveLimits, type Limits } from '../../limits.js';
import { createPrng } from '../../prng.js';
import type { RecoveredState, Snapshot } from '../../storage.js';
import type { LogEntry, SessionId } from '../../types.js';
import { formatZxid } from '../../zxid.js';
// Zab's public surface (zab/index.ts), not peer.ts's internals: the peer's own files may move.
import {
  type ClientOutput,
  createTreeMachine,
  type PeerMessage,
  type Ready,
  ReadyDriver,
  seededPassword,
  ZabPeer,
} from '../index.js';
import { formatClientOutput, formatEntries, formatMessage, formatTxn, messageType } from './format.js';

/** TICK_MS is the length of a tick; znode times are ticks × TICK_MS (no wall clock anywhere). */
const TICK_MS = 50;
/** SESSION_TIMEOUT_MS: sessions outlive any script (600 ticks), so no expiry interleaves unasked. */
const SESSION_TIMEOUT_MS = 30_000;
/** STABILIZE_MESSAGES_MAX bounds `stabilize`: a script that never quiets is a bug in the script or in Zab. */
const STABILIZE_MESSAGES_MAX = 100_000;

/** TranscriptCommandError: a command the world cannot carry out; printed as the command's output. */
export class TranscriptCommandError extends Error {
  override readonly name = 'TranscriptCommandError';
}

/** Disk is what one member made durable: ZooKeeper's acceptedEpoch and currentEpoch files, its snapshot and log. */
interface Disk {
  acceptedEpoch: number;
  currentEpoch: number;
  snapshot: Snapshot | null;
  entries: LogEntry[];
}

interface Member {
  id: number;
  observer: boolean;
  /** peer is null while the member is down. */
  peer: ZabPeer | null;
  driver: ReadyDriver | null;
  disk: Disk;
  /** ticks this incarnation has ticked (its clock for znode times). */
  ticks: number;
  /** label is the role and phase last printed for it. */
  label: string;
  /** session is the client session connected to this member, once created. */
  session: SessionId | null;
  nextXid: number;
}

interface Envelope {
  from: number;
  to: number;
  message: PeerMessage;
}

/** Args are a command's arguments: positional words and key=value pairs, in order. */
export interface Args {
  positional: string[];
  named: Map<string, string>;
}

/** parseCommand splits a command line into its name and arguments. */
export function parseCommand(line: string): { name: string; args: Args } {
  const words = line.trim().split(/\s+/);
  const name = words.shift() as string;
  const args: Args = { positional: [], named: new Map() };
  for (const word of words) {
    const equals = word.indexOf('=');
    if (equals > 0) args.named.set(word.slice(0, equals), word.slice(equals + 1));
    else args.positional.push(word);
  }
  return { name, args };
}

/** TranscriptWorld: see the file comment. */
export class TranscriptWorld {
  private readonly members = new Map<number, Member>();
  private voters: number[] = [];
  private observers: number[] = [];
  private readonly queue: Envelope[] = [];
  private readonly prng = createPrng(1);
  /** passwords: session passwords come from their own generator, so a session does not shift the members' jitter. */
  private readonly passwords = createPrng(2);
  private limits: Limits = deriveLimits();
  private historyEntriesMax: number | undefined;
  /** groups: the sides of the current partition (members on different sides do not hear each other), or null. */
  private groups: number[][] | null = null;
  /** hidden: message types delivered without a line each (counted at the end of the command instead). */
  private readonly hidden = new Set<string>();
  private hiddenCounts = new Map<string, number>();
  private lines: string[] = [];

  /** run carries out one command line and returns its output (`ok` when it printed nothing). */
  run(line: string): string {
    this.lines = [];
    this.hiddenCounts = new Map();
    const { name, args } = parseCommand(line);
    try {
      this.dispatch(name, args);
    } catch (error) {
      if (!(error instanceof TranscriptCommandError)) throw error;
      this.lines.push(`error: ${error.message}`);
    }
    if (this.hiddenCounts.size > 0) {
      const counts = [...this.hiddenCounts].map(([type, count]) => `${count} ${type}`).join(', ');
      this.lines.push(`(hidden: ${counts})`);
    }
    return this.lines.length === 0 ? 'ok' : this.lines.join('\n');
  }

  /** commands: every command a transcript may use, by name (see each method's comment). */
  private readonly commands: Record<string, (args: Args) => void> = {
    'add-nodes': (args) => this.addNodes(args),
    tick: (args) => this.tick(args),
    settle: (args) => this.settle(args),
    deliver: (args) => this.deliver(args),
    drop: (args) => this.drop(args),
    stabilize: () => this.stabilize(),
    session: (args) => this.session(args),
    propose: (args) => this.propose(args),
    crash: (args) => this.crash(this.memberArg(args)),
    restart: (args) => this.restart(this.memberArg(args)),
    wipe: (args) => this.wipe(this.memberArg(args)),
    partition: (args) => this.partition(args),
    heal: () => {
      this.groups = null;
    },
    hide: (args) => {
      for (const type of args.positional) this.hidden.add(type.toUpperCase());
    },
    show: (args) => {
      for (const type of args.positional) this.hidden.delete(type.toUpperCase());
    },
    status: () => this.status(),
    log: (args) => this.log(this.memberArg(args)),
    get: (args) => this.get(args),
    queue: () => {
      for (const envelope of this.queue)
        this.lines.push(`${envelope.from}->${envelope.to} ${formatMessage(envelope.message)}`);
    },
  };

  private dispatch(name: string, args: Args): void {
    const command = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
    // A misspelt command is a broken script, not an output to record: fail the test (even on REWRITE).
    if (command === undefined) throw new Error(`unknown transcript command ${name}`);
    command(args);
  }

  // ---------------------------------------------------------------------------------------------
  // Commands.

  /** add-nodes N [observers=M] [history=H]: voters 1..N and observers N+1..N+M, all LOOKING. */
  private addNodes(args: Args): void {
    if (this.members.size > 0) throw new TranscriptCommandError('add-nodes runs once (membership is fixed)');
    const voters = integer(args.positional[0], 'voters');
    const observers = args.named.has('observers') ? integer(args.named.get('observers'), 'observers') : 0;
    if (args.named.has('history')) this.historyEntriesMax = integer(args.named.get('history'), 'history');
    this.limits = deriveLimits();
    this.voters = range(1, voters);
    this.observers = range(voters + 1, observers);
    for (const id of [...this.voters, ...this.observers]) {
      this.members.set(id, {
        id,
        observer: id > voters,
        peer: null,
        driver: null,
        disk: emptyDisk(),
        ticks: 0,
        label: 'down',
        session: null,
        nextXid: 1,
      });
    }
    for (const member of this.members.values()) this.start(member);
    this.afterEvent();
  }

  /** tick [N] [node=ID]: every running member (or one) ticks N times; what they send waits in the queue. */
  private tick(args: Args): void {
    const count = args.positional[0] === undefined ? 1 : integer(args.positional[0], 'ticks');
    const only = args.named.has('node') ? this.memberArg(args) : null;
    for (let i = 0; i < count; i++) {
      for (const member of this.members.values()) {
        if (member.peer === null || (only !== null && member !== only)) continue;
        member.ticks++;
        member.peer.tick(member.ticks * TICK_MS);
        this.afterEvent();
      }
    }
  }

  /** settle [N]: N rounds of a tick for every running member, then stabilize (ZabPeer tests' settle). */
  private settle(args: Args): void {
    const rounds = args.positional[0] === undefined ? 1 : integer(args.positional[0], 'rounds');
    for (let round = 0; round < rounds; round++) {
      this.tick({ positional: [], named: new Map() });
      this.stabilize();
    }
  }

  /** deliver [from=ID] [to=ID] [n=N]: delivers the queued messages that match, oldest first. */
  private deliver(args: Args): void {
    const match = this.matcher(args);
    const limit = args.named.has('n') ? integer(args.named.get('n'), 'n') : Number.POSITIVE_INFINITY;
    const chosen = this.queue.filter(match).slice(0, limit);
    for (const envelope of chosen) {
      const index = this.queue.indexOf(envelope);
      if (index === -1) continue; // dropped meanwhile (a crash or a disconnect)
      this.queue.splice(index, 1);
      this.deliverOne(envelope);
    }
  }

  /** drop [from=ID] [to=ID]: loses the queued messages that match (a lossy link; Zab resyncs on a gap). */
  private drop(args: Args): void {
    const match = this.matcher(args);
    for (let i = 0; i < this.queue.length; ) {
      const envelope = this.queue[i] as Envelope;
      if (match(envelope)) {
        this.queue.splice(i, 1);
        this.print(envelope, 'dropped');
      } else i++;
    }
  }

  /** stabilize delivers messages until none is queued (no time passes). */
  private stabilize(): void {
    for (let delivered = 0; this.queue.length > 0; delivered++) {
      if (delivered >= STABILIZE_MESSAGES_MAX) {
        throw new TranscriptCommandError(`not stable after ${STABILIZE_MESSAGES_MAX} messages`);
      }
      this.deliverOne(this.queue.shift() as Envelope);
    }
  }

  /** session node=ID: a client connects to the member and asks for a session (it is created once committed). */
  private session(args: Args): void {
    const member = this.running(this.memberArg(args));
    (member.peer as ZabPeer).submitCreateSession(SESSION_TIMEOUT_MS, seededPassword(this.passwords));
    this.afterEvent();
  }

  /** propose node=ID path=P [data=D] [op=create|set|delete]: the member's client session writes. */
  private propose(args: Args): void {
    const member = this.running(this.memberArg(args));
    if (member.session === null)
      throw new TranscriptCommandError(`no session on ${member.id}: run session node=${member.id}`);
    const path = args.named.get('path');
    if (path === undefined) throw new TranscriptCommandError('propose needs path=');
    const data = asciiBytes(args.named.get('data') ?? '');
    const op = args.named.get('op') ?? 'create';
    const xid = member.nextXid++;
    const peer = member.peer as ZabPeer;
    if (op === 'create') peer.submit(member.session, xid, { op: 'create', path, data, mode: 0, ttlMs: 0 });
    else if (op === 'set') peer.submit(member.session, xid, { op: 'setData', path, data, version: -1 });
    else if (op === 'delete') peer.submit(member.session, xid, { op: 'delete', path, version: -1 });
    else throw new TranscriptCommandError(`unknown op ${op}`);
    this.afterEvent();
  }

  /** crash ID: the member stops; messages to and from it are lost, and the others see its connections break. */
  private crash(member: Member): void {
    this.running(member);
    member.peer = null;
    member.driver = null;
    member.label = 'down';
    this.lines.push(`${member.id}: crashed`);
    this.dropBetween(member.id, null);
    for (const other of this.members.values()) other.peer?.disconnected(member.id);
    this.afterEvent();
  }

  /** restart ID: the member comes back with what its disk holds. */
  private restart(member: Member): void {
    if (member.peer !== null) throw new TranscriptCommandError(`${member.id} is running`);
    const disk = member.disk;
    this.lines.push(
      `${member.id}: recovered acceptedEpoch=${disk.acceptedEpoch} currentEpoch=${disk.currentEpoch}` +
        ` snapshot=${disk.snapshot === null ? 'none' : formatZxid(disk.snapshot.header.zxid)}` +
        ` log=${formatEntries(disk.entries)}`,
    );
    this.start(member);
    // It connects to the running members again: both ends see the connection up. (Read the peer
    // start() made through the map: the guard above narrowed `member.peer` to null.)
    const restarted = this.members.get(member.id)?.peer;
    for (const other of this.members.values()) {
      if (other === member || other.peer === null) continue;
      other.peer.connected(member.id);
      restarted?.connected(other.id);
    }
    this.afterEvent();
  }

  /** wipe ID: the member's disk is lost (crashing it first if it runs); restart brings it back empty. */
  private wipe(member: Member): void {
    if (member.peer !== null) this.crash(member);
    member.disk = emptyDisk();
    this.lines.push(`${member.id}: disk wiped`);
  }

  /** partition A B | C D: members on different sides stop hearing each other (their messages are dropped on delivery). */
  private partition(args: Args): void {
    const groups: number[][] = [[]];
    for (const word of args.positional) {
      if (word === '|') groups.push([]);
      else (groups.at(-1) as number[]).push(this.member(integer(word, 'member')).id);
    }
    if (groups.length < 2 || groups.some((group) => group.length === 0)) {
      throw new TranscriptCommandError('partition needs two or more non-empty sides: partition 1 | 2 3');
    }
    this.groups = groups;
  }

  /** status: one line per member — role, phase, epochs and zxids. */
  private status(): void {
    for (const member of this.members.values()) {
      const peer = member.peer;
      if (peer === null) {
        const last = lastDurableZxid(member.disk);
        this.lines.push(
          `${member.id}: down acceptedEpoch=${member.disk.acceptedEpoch} currentEpoch=${member.disk.currentEpoch} last=${formatZxid(last)}`,
        );
        continue;
      }
      const s = peer.status();
      this.lines.push(
        `${member.id}: ${this.labelOf(member)} acceptedEpoch=${s.acceptedEpoch} currentEpoch=${s.currentEpoch}` +
          ` last=${formatZxid(s.lastLoggedZxid)} committed=${formatZxid(s.committedZxid)} applied=${formatZxid(s.lastAppliedZxid)}`,
      );
    }
  }

  /** log ID: the member's durable snapshot and log, marking the entries it has applied. */
  private log(member: Member): void {
    const disk = member.disk;
    const applied = member.peer?.status().lastAppliedZxid ?? -1;
    if (disk.snapshot !== null) {
      this.lines.push(`snapshot ${formatZxid(disk.snapshot.header.zxid)} (${disk.snapshot.records.length} records)`);
    }
    if (disk.entries.length === 0 && disk.snapshot === null) this.lines.push('(empty)');
    const snapshotZxid = disk.snapshot?.header.zxid ?? 0;
    for (const entry of disk.entries) {
      // Entries at or below the snapshot are left from an older history; recovery never replays them.
      const mark =
        entry.zxid <= snapshotZxid
          ? ' (below the snapshot: never replayed)'
          : member.peer === null
            ? ''
            : entry.zxid <= applied
              ? ' applied'
              : ' not applied';
      this.lines.push(`${formatZxid(entry.zxid)} ${formatTxn(entry.txn)}${mark}`);
    }
  }

  /** get node=ID path=P: reads the member's replica directly (what its clients would see). */
  private get(args: Args): void {
    const member = this.running(this.memberArg(args));
    const path = args.named.get('path');
    if (path === undefined) throw new TranscriptCommandError('get needs path=');
    const read = (member.peer as ZabPeer).readDirect({ op: 'getData', path, watch: false });
    if (read.error !== null) this.lines.push(`${member.id}: ${path} ${read.error}`);
    else if (read.result?.op === 'getData') {
      this.lines.push(`${member.id}: ${path} = ${JSON.stringify(asciiText(read.result.data))}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The host.

  private start(member: Member): void {
    const disk = member.disk;
    const recovered: RecoveredState = {
      epochs: { acceptedEpoch: disk.acceptedEpoch, currentEpoch: disk.currentEpoch },
      snapshot: disk.snapshot,
      entries: disk.entries.filter((entry) => entry.zxid > (disk.snapshot?.header.zxid ?? 0)),
    };
    const peer = new ZabPeer(
      {
        id: member.id,
        voters: this.voters,
        observers: this.observers,
        random: this.prng.fork(),
        machine: createTreeMachine({
          tickMs: TICK_MS,
          limits: this.limits,
          sessionTimeoutMsMax: 2 * SESSION_TIMEOUT_MS,
        }),
        tickMs: TICK_MS,
        limits: this.limits,
        ...(this.historyEntriesMax !== undefined && { historyEntriesMax: this.historyEntriesMax }),
      },
      recovered,
    );
    member.peer = peer;
    member.ticks = 0;
    member.driver = new ReadyDriver(peer, {
      send: (messages) => {
        for (const { to, message } of messages) this.send(member, to, message);
      },
      deliver: (outputs) => this.deliverToClients(member, outputs),
      disconnect: (peers) => {
        for (const other of peers) this.disconnect(member, other);
      },
    });
  }

  /** deliverOne steps one message into its receiver (unless it is down or across the partition), then runs the host loop. */
  private deliverOne(envelope: Envelope): void {
    const receiver = this.members.get(envelope.to) as Member;
    if (receiver.peer === null) {
      this.print(envelope, 'dropped: receiver down');
      return;
    }
    if (this.separated(envelope.from, envelope.to)) {
      this.print(envelope, 'dropped: partition');
      return;
    }
    this.print(envelope, null);
    receiver.peer.step(envelope.from, envelope.message);
    this.afterEvent();
  }

  /** afterEvent prints role changes, then runs every member's host loop until no Ready is left. */
  private afterEvent(): void {
    for (;;) {
      this.printRoleChanges();
      let progressed = false;
      for (const member of this.members.values()) {
        const driver = member.driver;
        if (driver === null) continue;
        for (let ready = driver.begin(); ready !== null; ready = driver.begin()) {
          progressed = true;
          this.persist(member, ready);
          driver.finish();
        }
      }
      if (!progressed) return;
    }
  }

  /** persist carries out a Ready's durable part in the contract's order, and prints it. */
  private persist(member: Member, ready: Ready): void {
    const disk = member.disk;
    const parts: string[] = [];
    if (ready.truncateAfter !== null) {
      const cut = ready.truncateAfter;
      disk.entries = disk.entries.filter((entry) => entry.zxid <= cut);
      if (disk.snapshot !== null && disk.snapshot.header.zxid > cut) disk.snapshot = null;
      parts.push(`truncateAfter=${formatZxid(cut)}`);
    }
    if (ready.snapshot !== null) {
      disk.snapshot = ready.snapshot;
      parts.push(`snapshot=${formatZxid(ready.snapshot.header.zxid)} (${ready.snapshot.records.length} records)`);
    }
    if (ready.entries.length > 0) {
      disk.entries.push(...ready.entries);
      parts.push(`entries=${formatEntries(ready.entries)}`);
    }
    if (ready.epochs !== null) {
      disk.acceptedEpoch = ready.epochs.acceptedEpoch;
      disk.currentEpoch = ready.epochs.currentEpoch;
      parts.push(`acceptedEpoch=${disk.acceptedEpoch} currentEpoch=${disk.currentEpoch}`);
    }
    if (parts.length > 0) this.lines.push(`${member.id}: persist ${parts.join(' ')}`);
    if (ready.applied.length > 0) this.lines.push(`${member.id}: apply ${formatEntries(ready.applied)}`);
  }

  /**
   * send queues a message, first checking what it vouches for is durable (the rule every ZooKeeper
   * sync-path data-loss bug broke; core's test ensemble and the simulator check the same).
   */
  private send(member: Member, to: number, message: PeerMessage): void {
    const disk = member.disk;
    const last = lastDurableZxid(disk);
    const acked = message.type === 'ack' ? message.zxid : message.type === 'ackNewLeader' ? message.lastZxid : null;
    if (acked !== null && acked > last) {
      throw new Error(`${member.id} sends ${formatMessage(message)} with only ${formatZxid(last)} durable`);
    }
    if ((message.type === 'ackEpoch' || message.type === 'leaderInfo') && disk.acceptedEpoch !== message.epoch) {
      throw new Error(`${member.id} sends ${formatMessage(message)} with acceptedEpoch=${disk.acceptedEpoch} durable`);
    }
    if (message.type === 'ackNewLeader' && disk.currentEpoch !== message.epoch) {
      throw new Error(`${member.id} sends ${formatMessage(message)} with currentEpoch=${disk.currentEpoch} durable`);
    }
    this.queue.push({ from: member.id, to, message });
  }

  private deliverToClients(member: Member, outputs: readonly ClientOutput[]): void {
    for (const output of outputs) {
      if (output.type === 'sessionCreated' && member.session === null) member.session = output.sessionId;
      if (output.type === 'sessionClosed' && output.sessionId === member.session) member.session = null;
      this.lines.push(`${member.id}: ${formatClientOutput(output)}`);
    }
  }

  /** disconnect: a member dropped its connection to another (Ready.disconnect); both ends see the break. */
  private disconnect(member: Member, other: number): void {
    this.lines.push(`${member.id}: disconnect ${other}`);
    this.dropBetween(member.id, other);
    member.peer?.disconnected(other);
    this.members.get(other)?.peer?.disconnected(member.id);
    // The higher id dials again at once, as the real mesh does: both ends see the connection up.
    if (member.peer && this.members.get(other)?.peer) {
      member.peer.connected(other);
      this.members.get(other)?.peer?.connected(member.id);
    }
  }

  /** dropBetween loses the queued messages between a member and another (or every other, for null). */
  private dropBetween(id: number, other: number | null): void {
    for (let i = 0; i < this.queue.length; ) {
      const envelope = this.queue[i] as Envelope;
      const between =
        (envelope.from === id && (other === null || envelope.to === other)) ||
        (envelope.to === id && (other === null || envelope.from === other));
      if (between) {
        this.queue.splice(i, 1);
        this.print(envelope, 'dropped');
      } else i++;
    }
  }

  private printRoleChanges(): void {
    for (const member of this.members.values()) {
      if (member.peer === null) continue;
      const label = this.labelOf(member);
      if (label !== member.label) {
        member.label = label;
        this.lines.push(`${member.id}: ${label}`);
      }
    }
  }

  /** labelOf names a running member's role and phase: `LEADING broadcast epoch=1`, `FOLLOWING 3 discovery`. */
  private labelOf(member: Member): string {
    const status = (member.peer as ZabPeer).status();
    if (status.role === 'looking') return 'LOOKING';
    const role = status.role.toUpperCase();
    const leader = status.role === 'leading' ? '' : ` ${status.leader}`;
    const epoch = status.epoch > 0 ? ` epoch=${status.epoch}` : '';
    return `${role}${leader} ${status.phase}${epoch}`;
  }

  private print(envelope: Envelope, note: string | null): void {
    const type = messageType(envelope.message);
    if (this.hidden.has(type)) {
      const key = note === null ? type : `${type} ${note}`;
      this.hiddenCounts.set(key, (this.hiddenCounts.get(key) ?? 0) + 1);
      return;
    }
    const line = `${envelope.from}->${envelope.to} ${formatMessage(envelope.message)}`;
    this.lines.push(note === null ? line : `${line} (${note})`);
  }

  private separated(a: number, b: number): boolean {
    if (this.groups === null) return false;
    const side = (id: number) => this.groups?.findIndex((group) => group.includes(id)) ?? -1;
    const sideA = side(a);
    return sideA === -1 || sideA !== side(b);
  }

  private matcher(args: Args): (envelope: Envelope) => boolean {
    const from = args.named.has('from') ? integer(args.named.get('from'), 'from') : null;
    const to = args.named.has('to') ? integer(args.named.get('to'), 'to') : null;
    return (envelope) => (from === null || envelope.from === from) && (to === null || envelope.to === to);
  }

  private memberArg(args: Args): Member {
    const word = args.named.get('node') ?? args.positional[0];
    return this.member(integer(word, 'member'));
  }

  private member(id: number): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new TranscriptCommandError(`no member ${id}`);
    return member;
  }

  private running(member: Member): Member {
    if (member.peer === null) throw new TranscriptCommandError(`${member.id} is down`);
    return member;
  }
}

function integer(word: string | undefined, what: string): number {
  const value = Number(word);
  if (word === undefined || !Number.isInteger(value) || value < 0) {
    throw new TranscriptCommandError(`${what} must be a whole number, not ${word}`);
  }
  return value;
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

/** lastDurableZxid: the end of a disk's history (after a SNAP, older entries at or below the snapshot may remain). */
function lastDurableZxid(disk: Disk): number {
  return Math.max(disk.entries.at(-1)?.zxid ?? 0, disk.snapshot?.header.zxid ?? 0);
}

function emptyDisk(): Disk {
  return { acceptedEpoch: 0, currentEpoch: 0, snapshot: null, entries: [] };
}

/** asciiBytes encodes a script's data word (scripts are ASCII; core has no TextEncoder without DOM types). */
export function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
}

/** asciiText decodes znode data for printing, one byte per character. */
export function asciiText(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}
