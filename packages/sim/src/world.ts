import { CodecError } from '@zabkit/codec';
import {
  type AuthId,
  type ClientOutput,
  createPrng,
  formatZxid,
  type Limits,
  type LogEntry,
  type LogRead,
  type PeerMessage,
  quorumSize,
  type ReadyDriver,
  type Request,
  type SessionId,
  type ZabPeer,
  type Zxid,
} from '@zabkit/core';
import { AckedWriteChecker } from './acked-write-checker.js';
import { AclChecker } from './acl-checker.js';
import { Episodes } from './episodes.js';
import { EventQueue } from './event-queue.js';
import { type ClientOp, HistoryChecker } from './history.js';
import { OneLeaderChecker } from './leader-checker.js';
import { LivenessWatch, SIM_TIMEOUTS } from './liveness.js';
import type { MemberStorage } from './member-storage.js';
import { MembershipTimeline } from './membership.js';
import { drawFaultMix, type FaultMix, type SimOptions, SimViolation } from './options.js';
import { Outsider } from './outsider.js';
import { CommittedPrefixChecker } from './prefix-checker.js';
import { SendQueues } from './send-queues.js';
import { simLimits, simPeerSendQueueBytesMax } from './sim-limits.js';
import { drawWorkloadMix, Workload } from './workload.js';

export type SimEvent =
  | { kind: 'tick'; server: number; incarnation: number }
  | {
      kind: 'deliver';
      from: number;
      to: number;
      generation: number;
      stale: boolean;
      message: PeerMessage;
      bytes: number;
    }
  | { kind: 'persisted'; server: number; incarnation: number }
  | { kind: 'clients'; server: number; incarnation: number }
  | { kind: 'logRead'; server: number; incarnation: number; read: LogRead; entries: LogEntry[] | null }
  | { kind: 'fsync'; server: number; incarnation: number; release: () => void }
  | { kind: 'notifyBreak'; server: number; incarnation: number; peer: number }
  | { kind: 'notifyConnect'; server: number; incarnation: number; peer: number; generation: number }
  | { kind: 'restart'; server: number }
  | { kind: 'unpause'; server: number }
  | { kind: 'fault' }
  | { kind: 'heal'; era: number }
  | { kind: 'client'; client: number }
  | { kind: 'clientTimeout'; client: number; xid: number; generation: number }
  | { kind: 'livenessCheck'; token: number }
  | { kind: 'episode'; action: () => void }
  | { kind: 'outsider' }
  | { kind: 'reconfig' }
  | { kind: 'outsiderDeliver'; to: number; message: PeerMessage };

export interface SimServer {
  id: number;
  peer: ZabPeer | null;
  /** driver is core's host loop over `peer` (ReadyDriver): early messages, persist, the rest, advance. */
  driver: ReadyDriver | null;
  /** storage: the member's real FileStorage on its simulated disk (member-storage.ts). */
  storage: MemberStorage;
  /** loading: FileStorage.load() is running (a restart); the peer starts when it resolves. */
  loading: boolean;
  /** fsyncBudgetMs: what is left of the current persist's time, shared among its fsyncs. */
  fsyncBudgetMs: number;
  /** crashAtSync: a scenario's crash point in the current persist (fsyncs still to let through). */
  crashAtSync: number | null;
  incarnation: number;
  /** clientsScheduled: a 'clients' event is queued (client outputs that came while a persist runs). */
  clientsScheduled: boolean;
  pausedUntil: number;
  lastApplied: Zxid;
  wasEstablished: boolean;
  lastShape: string;
  /** held: events that reached the server while it was paused, in arrival order. */
  held: SimEvent[];
  /**
   * dormant: a spare not started yet (membership runs): it is not down, it is not there, so it
   * neither counts against quiet nor restarts at a heal.
   */
  dormant: boolean;
  /**
   * configured: the member list the host starts this server with, when not the simulation's static
   * one: an operator starts a new or rebuilt member with the ensemble's current configuration
   * (ZooKeeper's dynamic config file) and its version (PeerConfig.joinVersion); its log and
   * snapshot take over once they hold a change.
   */
  configured: { voters: number[]; observers: number[]; version: number } | null;
}

export interface SimClient {
  id: number;
  sessionId: SessionId | null;
  /** password is the session's password, drawn when the client asks for the session. */
  password: Uint8Array;
  server: number | null;
  connectId: number | null;
  nextXid: number;
  pending: Map<number, ClientOp>;
  /** generation changes on every reconnect; timeouts of an older connection are ignored. */
  generation: number;
  lastZxidSeen: Zxid;
  /** auth: the ids the client's connection authenticated as (workload.authFor), sent with each request. */
  auth: readonly AuthId[];
  ephemerals: string[];
  /** bulk: writes of a bulk load this client sends before anything else, pipelined. */
  bulk: Request[];
}

export const TICK_MS = SIM_TIMEOUTS.tickMs;
export const SESSION_TIMEOUT_MS = 4_000;
/** BREAK_NOTICE_MS_MAX: the longest an end takes to learn its connection broke. */
export const BREAK_NOTICE_MS_MAX = 400;
/** CONNECT_NOTICE_MS_MAX: the longest a transport takes to redial a connection that can come back up. */
export const CONNECT_NOTICE_MS_MAX = 50;
/** BULK_PIPELINE: requests a bulk loader keeps in flight. */
export const BULK_PIPELINE = 32;
/** CLIENT_TIMEOUT_MS: a client gives up on a request after this and reconnects elsewhere. */
export const CLIENT_TIMEOUT_MS = 3_000;

/**
 * SimWorld is the state of one simulated run that every layer shares — the seed's PRNG and fault
 * mix, the virtual clock and event queue, the members, the clients, the invariant checkers' state —
 * and the few things every layer uses (log, violation, server lookup). The layers above it each
 * add one concern: network.ts, host.ts, clients.ts, faults.ts, event-loop.ts, and simulation.ts
 * (the scenario API). All state is declared here, so it exists before any layer runs.
 */
export abstract class SimWorld {
  readonly seed: number;

  readonly faults: FaultMix;

  protected readonly prng: ReturnType<typeof createPrng>;
  /** passwords: session passwords come from their own stream, so they shift no other draw of the seed. */
  protected readonly passwords: ReturnType<typeof createPrng>;

  protected readonly queue = new EventQueue<SimEvent>();

  protected readonly servers: SimServer[] = [];

  protected readonly voterIds: number[];

  protected readonly observerIds: number[];

  /** spareIds: servers started in no configuration, for membership changes to add (options.spares). */
  protected readonly spareIds: number[];

  /**
   * liveVoterIds: the voters of the configurations in force as the committed history and the
   * members' logs say (the static voters without membership changes), kept in place: the episodes
   * hold this array.
   */
  protected readonly liveVoterIds: number[];

  /**
   * liveMemberIds: the members of the last committed configuration (the static members without
   * membership changes), in place: the episodes pick their victims here, since a victim must serve again.
   */
  protected readonly liveMemberIds: number[];

  /** timeline: the committed configurations, the simulator's own account (membership.ts). */
  protected readonly timeline: MembershipTimeline;

  /** membershipRandom: the membership changes' own PRNG stream, so they shift no other draw of the seed. */
  protected readonly membershipRandom: ReturnType<typeof createPrng>;

  /** reconfigStats: changes proposed, refused by code, committed. */
  protected readonly reconfigStats = { proposed: 0, refused: {} as Record<string, number>, committed: 0 };

  protected readonly clients: SimClient[] = [];

  protected readonly options: SimOptions;

  protected now = 0;

  protected readonly trace: string[] = [];

  protected readonly traceSize: number;

  /** generation per undirected connection; in-flight messages of an older one are lost. */
  protected readonly generations = new Map<string, number>();

  protected readonly staleGenerations = new Set<string>();

  protected readonly lastDelivery = new Map<string, number>();

  protected readonly blocked = new Set<string>();

  /** slowLinks: extra latency per directed link (a congested path whose connection stays up). */
  protected readonly slowLinks = new Map<string, number>();

  /** notified: per directed link, the connection generation the receiver knows of. */
  protected readonly notified = new Map<string, number>();
  /** connectAnnounced: per directed link, the connection generation whose being up the receiver was (or is about to be) told. */
  protected readonly connectAnnounced = new Map<string, number>();

  protected faultsOn = true;

  protected readonly scripted = new Map<string, ClientOutput>();

  protected nextScriptXid = 1;

  readonly checker = new HistoryChecker();

  /** aclChecker holds the committed history and the answered reads to the access lists (acl-checker.ts). */
  readonly aclChecker = new AclChecker();

  /** The invariant checkers that keep state (one file each; the rest are functions). */
  protected readonly leaderChecker = new OneLeaderChecker();
  protected readonly prefixChecker = new CommittedPrefixChecker();
  protected readonly ackedWriteChecker = new AckedWriteChecker();
  /** commitChecked: per leader, the epoch and committed zxid last held to a quorum of voters (quorum-checker.ts). */
  protected readonly commitChecked = new Map<number, { epoch: number; zxid: Zxid }>();
  protected elections = 0;

  protected crashes = 0;

  /** limits: every member's and machine's byte limits (one object), enforced on the network too. */
  readonly limits: Limits;

  readonly workload: Workload;

  protected readonly sendQueues: SendQueues;

  protected readonly episodes: Episodes;

  /** outsider: the host in no member's configuration that forges peer messages (outsider.ts). */
  readonly outsider: Outsider;

  /** outsiderRandom: the outsider's own PRNG stream (its rate, its messages, their latency). */
  protected readonly outsiderRandom: ReturnType<typeof createPrng>;

  protected peerFrameBytesSeen = 0;

  protected sendQueueBreaks = 0;

  protected marshallingErrors = 0;

  /** faultToken changes whenever a fault strikes; a liveness watch armed before it is void. */
  protected faultToken = 0;

  /** breakNoticeUntil: when the last connection break is noticed by both ends. */
  protected breakNoticeUntil = 0;

  /** liveness: the watch that holds every heal to the bound (liveness.ts). */
  protected readonly liveness: LivenessWatch;

  protected nextBulkLoad = 1;

  protected leaderFollowsNotices = 0;
  /** syncs: the SYNCs sent by mode, and the LogReads answered with entries (SimResult.syncs). */
  protected readonly syncs = { DIFF: 0, TRUNC: 0, SNAP: 0, diskReads: 0 };

  /** partitionEra: a pending heal of an older era does not end the partitions of a newer one. */
  protected partitionEra = 0;

  /** running: storage operations (persists, recoveries) under way and not waiting on an fsync. */
  protected running = 0;

  /** pendingDrain: storage may have work to do before the next event (see settle). */
  protected pendingDrain = false;

  /** completions: what the host does once a storage operation finished, run by settle in order. */
  protected completions: (() => void)[] = [];

  constructor(options: SimOptions) {
    this.options = options;
    this.seed = options.seed;
    this.prng = createPrng(options.seed);
    this.passwords = createPrng(options.seed ^ 0x9a55);
    this.traceSize = options.traceSize ?? 60;
    this.limits = options.limits ?? simLimits();
    this.sendQueues = new SendQueues(simPeerSendQueueBytesMax(this.limits));
    const draw = createPrng(options.seed ^ 0x5eed);
    this.outsiderRandom = createPrng(options.seed ^ 0x0b5e);
    this.faults = drawFaultMix(draw, options.faults, this.outsiderRandom);
    this.workload = new Workload(
      { ...drawWorkloadMix(draw, this.limits), ...options.workload },
      this.limits,
      createPrng(options.seed ^ 0x10ad),
      createPrng(options.seed ^ 0xac1),
    );
    this.voterIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.observerIds = Array.from({ length: options.observers ?? 0 }, (_, i) => options.nodes + i + 1);
    const spares = options.membership ? (options.spares ?? 2) : 0;
    this.spareIds = Array.from({ length: spares }, (_, i) => options.nodes + this.observerIds.length + i + 1);
    this.liveVoterIds = [...this.voterIds];
    this.liveMemberIds = [...this.voterIds, ...this.observerIds];
    this.timeline = new MembershipTimeline(this.voterIds, this.observerIds);
    this.membershipRandom = createPrng(options.seed ^ 0x3e3b);
    // The next id after the members': what a host set up for the ensemble but left out of it would have.
    this.outsider = new Outsider(options.nodes + this.observerIds.length + spares + 1, this.outsiderRandom, {
      voterIds: this.voterIds,
      observerIds: this.observerIds,
      leader: () => {
        const id = this.leaderId();
        const status = id === null ? undefined : this.server(id).peer?.status();
        return status ? { id: status.id, epoch: status.epoch, lastZxid: status.lastLoggedZxid } : null;
      },
      sessionIds: () => this.clients.flatMap((client) => (client.sessionId === null ? [] : [client.sessionId])),
      now: () => this.now,
    });
    this.liveness = new LivenessWatch(
      {
        memberIds: [...this.voterIds, ...this.observerIds, ...this.spareIds],
        now: () => this.now,
        faultToken: () => this.faultToken,
        quiet: () => this.quiet(),
        status: (id) => this.server(id).peer?.status() ?? null,
        leaderServing: () => this.leaderServing(),
        boundMs: () => this.livenessBoundMs(),
        orphanBoundMs: () => this.orphanBoundMs(),
        poll: (delayMs, token) => this.queue.push(this.now + delayMs, { kind: 'livenessCheck', token }),
        log: (line) => this.log(line),
        violation: (invariant, detail) => this.violation(invariant, detail),
        describe: () => this.servers.map((s) => (s.peer ? this.describe(s) : `${s.id}:down`)).join(' '),
      },
      SIM_TIMEOUTS,
    );
    this.episodes = new Episodes(
      {
        random: createPrng(options.seed ^ 0xe915),
        limits: this.limits,
        historyEntriesMax: options.historyEntriesMax ?? 200,
        voterIds: this.liveVoterIds,
        memberIds: this.liveMemberIds,
        now: () => this.now,
        at: (delayMs, action) => this.queue.push(this.now + delayMs, { kind: 'episode', action }),
        quiet: () => this.quiet(),
        leaderId: () => this.leaderId(),
        isServing: (id) => this.server(id).peer?.isServing() ?? false,
        lastApplied: (id) => this.server(id).peer?.status().lastAppliedZxid ?? 0,
        isolate: (id) => {
          // The random partitions' pending heals must not end the episode's early.
          this.partitionEra++;
          this.isolate(id);
        },
        healNetwork: () => this.healNetwork(),
        crash: (id) => this.crash(this.server(id), false),
        restart: (id, wipe) => this.restartNow(id, { wipe }),
        pause: (id, ms) => this.pause(id, ms),
        bulkLoad: (avoid, count, valueBytes) => this.bulkLoad(avoid, count, valueBytes),
        livenessBoundMs: () => this.livenessBoundMs(),
        log: (line) => this.log(line),
        violation: (invariant, detail) => this.violation(invariant, detail),
      },
      this.faults.wipeRate,
    );
    for (const id of [...this.voterIds, ...this.observerIds, ...this.spareIds]) {
      this.servers.push({
        id,
        peer: null,
        driver: null,
        storage: null as unknown as MemberStorage,
        loading: false,
        fsyncBudgetMs: 0,
        crashAtSync: null,
        incarnation: 0,
        clientsScheduled: false,
        pausedUntil: 0,
        lastApplied: 0,
        wasEstablished: false,
        lastShape: '',
        held: [],
        dormant: this.spareIds.includes(id),
        configured: null,
      });
    }
  }

  /** measure runs a codec measurement; a message the codec refuses to encode could never be sent (`wire-encodable`). */
  protected measure(encode: () => number, what: string): number {
    try {
      return encode();
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      return this.violation('wire-encodable', `${what} cannot be encoded: ${error.message}`);
    }
  }

  protected committedView() {
    return this.checker;
  }

  protected violation(invariant: string, detail: string): never {
    throw new SimViolation(this.seed, invariant, detail, [...this.trace]);
  }

  protected log(line: string): void {
    this.trace.push(`${String(this.now).padStart(7)} ms  ${line}`);
    if (this.trace.length > this.traceSize) this.trace.shift();
  }

  protected describe(server: SimServer): string {
    const s = (server.peer as ZabPeer).status();
    return `${s.id}:${s.role}/${s.phase}/e${s.epoch}/${formatZxid(s.lastAppliedZxid)}`;
  }

  protected server(id: number): SimServer {
    return this.servers[id - 1] as SimServer;
  }

  /** isMember tells whether `id` is a configured voter or observer. */
  protected isMember(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.servers.length;
  }

  protected quorum(): number {
    return quorumSize(this.voterIds.length);
  }

  /**
   * noteConfigs refreshes liveVoterIds after a member's log or the committed history changed: the
   * voters of the last committed configuration and of any newer one a running member logged.
   */
  protected noteConfigs(): void {
    if (!this.options.membership) return;
    const latest = this.timeline.latest();
    const voters = new Set(latest.voters);
    for (const server of this.servers) {
      const config = server.peer?.status().config;
      if (config && config.version > latest.version) {
        for (const member of config.members) if (member.role === 'participant') voters.add(member.id);
      }
    }
    this.liveVoterIds.splice(0, this.liveVoterIds.length, ...[...voters].sort((a, b) => a - b));
    this.liveMemberIds.splice(0, this.liveMemberIds.length, ...latest.voters, ...latest.observers);
  }

  // Implemented by the layers above: network.ts, host.ts, clients.ts, faults.ts, event-loop.ts.
  abstract quiet(): boolean;
  abstract leaderServing(): boolean;
  abstract livenessBoundMs(): number;
  abstract orphanBoundMs(): number;
  abstract leaderId(): number | null;
  abstract isolate(id: number): void;
  abstract healNetwork(): void;
  abstract pause(id: number, ms: number): void;
  protected abstract crash(server: SimServer, autoRestart?: boolean): void;
  protected abstract restartNow(id: number, options?: { wipe?: boolean }): void;
  protected abstract bulkLoad(
    avoid: number,
    count: number,
    valueBytes: number,
  ): { done(): boolean; cancel(): void } | null;
  protected abstract disconnectClient(client: SimClient): void;
  protected abstract deliverToClients(server: SimServer, outputs: ClientOutput[]): void;
  protected abstract observeApplied(server: SimServer, applied: LogEntry[]): void;
  protected abstract observeStatus(server: SimServer): void;
  protected abstract noteHeal(): void;
}

export function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** describeMessage names a peer message and what it carries, for violation reports. */
export function describeMessage(message: PeerMessage): string {
  if ('entries' in message) return `${message.type.toUpperCase()} of ${message.entries.length} entries`;
  if (message.type === 'snapChunk') return `SNAP chunk of ${message.records.length} records`;
  if (message.type === 'forward') return `forward of ${message.request.op}`;
  return message.type;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
