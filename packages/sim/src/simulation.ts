import { CodecError } from '@zabkit/codec';
import {
  type ClientOutput,
  createPrng,
  formatZxid,
  type Limits,
  type LogEntry,
  logEntryBytes,
  type PeerMessage,
  type Ready,
  ReadyDriver,
  type RecoveredState,
  type ReplicatedMachine,
  type Request,
  type SessionId,
  ZabPeer,
  type Zxid,
  zxidEpoch,
} from '@zabkit/core';
import { digestOf, treeDigest } from './digest.js';
import { Episodes } from './episodes.js';
import { EventQueue } from './event-queue.js';
import { type ClientOp, HistoryChecker } from './history.js';
import { LivenessWatch, livenessBoundMs, SIM_TIMEOUTS } from './liveness.js';
import { type DurableView, MemberStorage } from './member-storage.js';
import { SendQueues } from './send-queues.js';
import { simLimits, simPeerSendQueueBytesMax } from './sim-limits.js';
import { checkRecovery, RECOVERY_INVARIANT } from './storage-checker.js';
import { checkVouch, type DurableState, VOUCH_INVARIANT } from './vouch-checker.js';
import { eventFrameBytes, peerFrameBytes, replyFrameBytes, requestFrameBytes } from './wire.js';
import { type ClientRequest, drawWorkloadMix, Workload, type WorkloadMix } from './workload.js';

/** FaultMix: how often each fault strikes; every seed draws its own (swarm testing). */
export interface FaultMix {
  /** delayMsMax: message latency is uniform in [1, delayMsMax]. */
  delayMsMax: number;
  /** breakPerSecond: connection breaks per second across the ensemble. */
  breakPerSecond: number;
  /** partitionPerSecond: partitions (symmetric, one-way or isolating one member) started per second. */
  partitionPerSecond: number;
  /** crashPerSecond: process crashes (kill -9, unsynced writes lost or torn) per second. */
  crashPerSecond: number;
  /** pausePerSecond: process pauses (GC, SIGSTOP) per second. */
  pausePerSecond: number;
  /** staleDeliveryRate: share of broken connections whose in-flight messages still arrive after the break. */
  staleDeliveryRate: number;
  /** fsyncMsMax: how long a persist takes, uniform in [0, fsyncMsMax]. */
  fsyncMsMax: number;
  /** leaderPartitionPerSecond: episodes that cut the leader off for about an election's time, then heal (episodes.ts). */
  leaderPartitionPerSecond: number;
  /** longDownPerSecond: episodes that keep a follower or observer down while a bulk load commits past the history kept for DIFF. */
  longDownPerSecond: number;
  /** wipeRate: share of long-down members that come back with an empty disk (a SNAP of the whole tree). */
  wipeRate: number;
}

/** SimOptions configures one simulated run. */
export interface SimOptions {
  seed: number;
  nodes: number;
  observers?: number;
  clients?: number;
  /** safetyMs: how long faults strike. */
  safetyMs?: number;
  /** livenessMs: after healing, the bound within which a leader must be established and pending writes done. */
  livenessMs?: number;
  /** faults: a fixed mix instead of one drawn from the seed. */
  faults?: Partial<FaultMix>;
  /** workload: a fixed client workload instead of one drawn from the seed. */
  workload?: Partial<WorkloadMix>;
  /**
   * limits: the byte limits of every member and its machine, and of the simulated network (default
   * {@link simLimits}: the server's defaults scaled to 64 KiB of data).
   */
  limits?: Limits;
  /** makeMachine builds the replicated state for a (re)started server; give it `limits` (the members' own). */
  makeMachine: (limits: Limits) => ReplicatedMachine;
  /**
   * livenessWatch: check the liveness bound after every heal, not only the last (default true;
   * see liveness.ts).
   */
  livenessWatch?: boolean;
  /** traceSize: how many recent events a violation report shows. */
  traceSize?: number;
  /** historyEntriesMax: applied entries each member keeps in memory for DIFF (small values force SNAP). */
  historyEntriesMax?: number;
  /**
   * beforePersist lets a scenario crash a server at an exact point: called when a Ready is handed to
   * the storage; returning a number k lets k of the persist's fsyncs complete, then crashes the
   * server at the next one (what was written and not yet synced is lost or torn), or, if the persist
   * needs no more, once it is durable but before anything it vouches for is sent.
   */
  beforePersist?: (serverId: number, ready: Ready) => number | undefined;
}

/** Violation is a broken invariant with the seed that reproduces it. */
export class SimViolation extends Error {
  override readonly name = 'SimViolation';
  constructor(
    readonly seed: number,
    readonly invariant: string,
    readonly detail: string,
    readonly trace: string[],
  ) {
    super(`seed ${seed}: ${invariant}: ${detail}`);
  }
}

/** SimResult summarises a run that broke no invariant. */
export interface SimResult {
  seed: number;
  faults: FaultMix;
  workload: WorkloadMix;
  committed: number;
  /** committedBytes: the encoded size of every committed entry. */
  committedBytes: number;
  operations: number;
  elections: number;
  crashes: number;
  /** heals: heals after which the liveness bound was checked (and met). */
  heals: number;
  /** recoveryMsMax: the longest a checked heal took to have a leader serving; recoveryRatioMax: the largest share of its bound one took. */
  recoveryMsMax: number;
  recoveryRatioMax: number;
  /** livenessBoundMs: the bound (without allowances for waits begun before a heal) at the end of the run. */
  livenessBoundMs: number;
  /** peerFrameBytesMax: the largest peer message sent; sendQueueBytesPeak: the fullest connection. */
  peerFrameBytesMax: number;
  sendQueueBytesPeak: number;
  /** sendQueueBreaks: connections broken because their send queue was full. */
  sendQueueBreaks: number;
  /** marshallingErrors: requests refused because their reply or transaction would be over the limits. */
  marshallingErrors: number;
  /** leaderFollowsNotices: times a learner heard the member it follows say it follows another server. */
  leaderFollowsNotices: number;
  leaderPartitions: number;
  longDowns: number;
  wipes: number;
  /** stalls: long-down episodes whose member was paused instead of killed. */
  stalls: number;
  timeMs: number;
}

type SimEvent =
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
  | { kind: 'fsync'; server: number; incarnation: number; release: () => void }
  | { kind: 'notifyBreak'; server: number; incarnation: number; peer: number }
  | { kind: 'restart'; server: number }
  | { kind: 'unpause'; server: number }
  | { kind: 'fault' }
  | { kind: 'heal'; era: number }
  | { kind: 'client'; client: number }
  | { kind: 'clientTimeout'; client: number; xid: number; generation: number }
  | { kind: 'livenessCheck'; token: number }
  | { kind: 'episode'; action: () => void };

interface SimServer {
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
  pausedUntil: number;
  lastApplied: Zxid;
  wasEstablished: boolean;
  lastShape: string;
  /** held: events that reached the server while it was paused, in arrival order. */
  held: SimEvent[];
}

interface SimClient {
  id: number;
  sessionId: SessionId | null;
  server: number | null;
  connectId: number | null;
  nextXid: number;
  pending: Map<number, ClientOp>;
  /** generation changes on every reconnect; timeouts of an older connection are ignored. */
  generation: number;
  lastZxidSeen: Zxid;
  ephemerals: string[];
  /** bulk: writes of a bulk load this client sends before anything else, pipelined. */
  bulk: Request[];
}

const TICK_MS = SIM_TIMEOUTS.tickMs;
const SESSION_TIMEOUT_MS = 4_000;
/** BREAK_NOTICE_MS_MAX: the longest an end takes to learn its connection broke. */
const BREAK_NOTICE_MS_MAX = 400;
/** BULK_PIPELINE: requests a bulk loader keeps in flight. */
const BULK_PIPELINE = 32;
/** CLIENT_TIMEOUT_MS: a client gives up on a request after this and reconnects elsewhere. */
const CLIENT_TIMEOUT_MS = 3_000;

/**
 * Simulation runs a whole ensemble of {@link ZabPeer}s in one process on a seeded virtual clock,
 * network and disk, with a client workload, and checks DESIGN.md's invariants as it goes. The seed
 * decides everything: run it again and the same events happen in the same order.
 */
export class Simulation {
  readonly seed: number;
  readonly faults: FaultMix;
  private readonly prng: ReturnType<typeof createPrng>;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly servers: SimServer[] = [];
  private readonly voterIds: number[];
  private readonly observerIds: number[];
  private readonly clients: SimClient[] = [];
  private readonly options: SimOptions;
  private now = 0;
  private readonly trace: string[] = [];
  private readonly traceSize: number;
  /** generation per undirected connection; in-flight messages of an older one are lost. */
  private readonly generations = new Map<string, number>();
  private readonly staleGenerations = new Set<string>();
  private readonly lastDelivery = new Map<string, number>();
  private readonly blocked = new Set<string>();
  /** slowLinks: extra latency per directed link (a congested path whose connection stays up). */
  private readonly slowLinks = new Map<string, number>();
  /** notified: per directed link, the connection generation the receiver knows of. */
  private readonly notified = new Map<string, number>();
  private faultsOn = true;
  private readonly scripted = new Map<string, ClientOutput>();
  private nextScriptXid = 1;
  readonly checker = new HistoryChecker();
  /** leaders: epoch → id of the server established as its leader. */
  private readonly leaders = new Map<number, number>();
  /** committed: zxid → digest of the entry, and the zxid applied just before it somewhere. */
  private readonly committedDigest = new Map<Zxid, string>();
  private readonly predecessor = new Map<Zxid, Zxid>();
  private readonly ackedWrites: Zxid[] = [];
  private elections = 0;
  private crashes = 0;
  /** limits: every member's and machine's byte limits (one object), enforced on the network too. */
  readonly limits: Limits;
  readonly workload: Workload;
  private readonly sendQueues: SendQueues;
  private readonly episodes: Episodes;
  private committedBytes = 0;
  private peerFrameBytesSeen = 0;
  private sendQueueBreaks = 0;
  private marshallingErrors = 0;
  /** faultToken changes whenever a fault strikes; a liveness watch armed before it is void. */
  private faultToken = 0;
  /** breakNoticeUntil: when the last connection break is noticed by both ends. */
  private breakNoticeUntil = 0;
  /** liveness: the watch that holds every heal to the bound (liveness.ts). */
  private readonly liveness: LivenessWatch;
  private nextBulkLoad = 1;
  private leaderFollowsNotices = 0;
  /** partitionEra: a pending heal of an older era does not end the partitions of a newer one. */
  private partitionEra = 0;
  /** running: storage operations (persists, recoveries) under way and not waiting on an fsync. */
  private running = 0;
  /** pendingDrain: storage may have work to do before the next event (see settle). */
  private pendingDrain = false;
  /** completions: what the host does once a storage operation finished, run by settle in order. */
  private completions: (() => void)[] = [];

  constructor(options: SimOptions) {
    this.options = options;
    this.seed = options.seed;
    this.prng = createPrng(options.seed);
    this.traceSize = options.traceSize ?? 60;
    this.limits = options.limits ?? simLimits();
    this.sendQueues = new SendQueues(simPeerSendQueueBytesMax(this.limits));
    const draw = createPrng(options.seed ^ 0x5eed);
    // Swarm testing: each seed has its own mix, sometimes calm, sometimes brutal.
    const pick = (values: number[]) => values[draw.int(values.length)] as number;
    this.faults = {
      delayMsMax: pick([1, 5, 20, 80]),
      breakPerSecond: pick([0, 0, 0.2, 1, 3]),
      partitionPerSecond: pick([0, 0, 0.1, 0.3, 1]),
      crashPerSecond: pick([0, 0.05, 0.2, 0.5, 1]),
      pausePerSecond: pick([0, 0, 0.1, 0.5]),
      staleDeliveryRate: pick([0, 0, 0.3]),
      fsyncMsMax: pick([0, 2, 10, 40]),
      leaderPartitionPerSecond: pick([0, 0, 0.2, 0.5]),
      longDownPerSecond: pick([0, 0, 0.05, 0.2]),
      wipeRate: pick([0, 0.5]),
      ...options.faults,
    };
    this.workload = new Workload(
      { ...drawWorkloadMix(draw, this.limits), ...options.workload },
      this.limits,
      createPrng(options.seed ^ 0x10ad),
    );
    this.voterIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.observerIds = Array.from({ length: options.observers ?? 0 }, (_, i) => options.nodes + i + 1);
    this.liveness = new LivenessWatch(
      {
        memberIds: [...this.voterIds, ...this.observerIds],
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
        voterIds: this.voterIds,
        memberIds: [...this.voterIds, ...this.observerIds],
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
    for (const id of [...this.voterIds, ...this.observerIds]) {
      this.servers.push({
        id,
        peer: null,
        driver: null,
        storage: null as unknown as MemberStorage,
        loading: false,
        fsyncBudgetMs: 0,
        crashAtSync: null,
        incarnation: 0,
        pausedUntil: 0,
        lastApplied: 0,
        wasEstablished: false,
        lastShape: '',
        held: [],
      });
    }
    for (const server of this.servers) server.storage = this.memberStorage(server);
    for (const server of this.servers) this.start(server);
    for (let i = 0; i < (options.clients ?? 4); i++) {
      this.clients.push({
        id: i,
        sessionId: null,
        server: null,
        connectId: null,
        nextXid: 1,
        pending: new Map(),
        generation: 0,
        lastZxidSeen: 0,
        ephemerals: [],
        bulk: [],
      });
      this.queue.push(100 + i * 7, { kind: 'client', client: i });
    }
    // Starting is the first heal: the ensemble must elect within the bound from nothing too.
    this.noteHeal();
  }

  /**
   * run drives the safety phase (faults), then heals everything and requires liveness: an
   * established leader with a quorum, every pending request answered, and a fresh write committed,
   * within the liveness bound. Throws {@link SimViolation} on any broken invariant.
   */
  async run(): Promise<SimResult> {
    const safetyMs = this.options.safetyMs ?? 20_000;
    this.queue.push(this.nextFaultDelay(), { kind: 'fault' });
    await this.runUntil(safetyMs);
    this.healAll();
    // Liveness: once the last pause has run out the heal watch wants a leader with a quorum serving
    // within the bound; then a fresh write must commit and every client request be answered, which
    // may take a client timeout more (a request sent to a member that lost its leader).
    const settleMs = this.options.livenessMs ?? 3 * CLIENT_TIMEOUT_MS;
    const startedAt = this.now;
    let probe: { client: SimClient; xid: number } | null = null;
    for (;;) {
      await this.runUntil(this.now + 50);
      const healedAt = this.liveness.healedAt ?? startedAt;
      const deadline = Math.max(startedAt, healedAt) + this.livenessBoundMs() + settleMs;
      if (this.now > deadline) {
        const status = this.servers.map((s) => (s.peer ? this.describe(s) : `${s.id}:down`)).join(' ');
        const pending = this.clients.reduce((n, c) => n + c.pending.size, 0);
        this.violation(
          'liveness',
          `${probe ? 'the probe write or ' : ''}${pending} pending client requests not answered within ${deadline - healedAt} ms of the last heal at ${healedAt} ms (${status})`,
        );
      }
      if (!this.quiet() || !this.leaderServing()) continue;
      if (!probe) {
        const client = this.clients.find((c) => c.sessionId !== null && c.server !== null);
        if (client)
          probe = { client, xid: this.issue(client, { op: 'setData', path: '/', data: bytes('probe'), version: -1 }) };
        continue;
      }
      const answered = this.checker.find(probe.client.id, probe.xid);
      if (answered && answered.complete !== null && answered.ok) {
        if (this.clients.every((c) => c.pending.size === 0)) break;
      } else if (answered && answered.complete !== null) {
        probe = null;
      }
    }
    await this.checkConvergence();
    const violation = this.checker.verify(this.committedView());
    if (violation) this.violation(violation.invariant, violation.detail);
    return {
      seed: this.seed,
      faults: this.faults,
      workload: this.workload.mix,
      committed: this.committedDigest.size,
      committedBytes: this.committedBytes,
      operations: this.checker.count,
      elections: this.elections,
      crashes: this.crashes,
      heals: this.liveness.heals,
      recoveryMsMax: this.liveness.recoveryMsMax,
      recoveryRatioMax: this.liveness.recoveryRatioMax,
      livenessBoundMs: this.livenessBoundMs(),
      peerFrameBytesMax: this.peerFrameBytesSeen,
      sendQueueBytesPeak: this.sendQueues.peakBytes,
      sendQueueBreaks: this.sendQueueBreaks,
      marshallingErrors: this.marshallingErrors,
      leaderFollowsNotices: this.leaderFollowsNotices,
      leaderPartitions: this.episodes.stats.leaderPartitions,
      longDowns: this.episodes.stats.longDowns,
      wipes: this.episodes.stats.wipes,
      stalls: this.episodes.stats.stalls,
      timeMs: this.now,
    };
  }

  /**
   * livenessBoundMs is this seed's bound (liveness.ts): from the last heal to a leader with a quorum
   * serving, given its latency, fsync time and the bytes a sync may have to stream.
   */
  livenessBoundMs(): number {
    return livenessBoundMs(
      SIM_TIMEOUTS,
      {
        delayMsMax: this.faults.delayMsMax,
        fsyncMsMax: this.faults.fsyncMsMax,
        breakNoticeMsMax: BREAK_NOTICE_MS_MAX,
      },
      this.limits,
      this.committedBytes,
    );
  }

  /** nowMs is the virtual time. */
  nowMs(): number {
    return this.now;
  }

  /** stats: what the network measured so far (the largest peer frame, the fullest send queue). */
  stats(): Pick<SimResult, 'peerFrameBytesMax' | 'sendQueueBytesPeak' | 'sendQueueBreaks' | 'marshallingErrors'> {
    return {
      peerFrameBytesMax: this.peerFrameBytesSeen,
      sendQueueBytesPeak: this.sendQueues.peakBytes,
      sendQueueBreaks: this.sendQueueBreaks,
      marshallingErrors: this.marshallingErrors,
    };
  }

  /** leaderServing: an established leader with a quorum of voters serving under it. */
  leaderServing(): boolean {
    const leader = this.establishedLeader();
    if (!leader) return false;
    let serving = 0;
    for (const id of this.voterIds) {
      const peer = this.server(id).peer;
      if (peer?.isServing() && peer.status().leader === leader.id) serving++;
    }
    return serving >= this.quorum();
  }

  /** quiet: no fault in force: no partition or slow link, every member up, none paused, every break noticed. */
  quiet(): boolean {
    if (this.blocked.size > 0 || this.slowLinks.size > 0 || this.now < this.breakNoticeUntil) return false;
    for (const server of this.servers) {
      if (!server.peer || this.now < server.pausedUntil || server.held.length > 0) return false;
    }
    return true;
  }

  /** runUntil processes events until virtual time `until`. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      if (this.pendingDrain || this.completions.length > 0) await this.settle();
      const time = this.queue.peekTime();
      if (time === undefined || time > until) break;
      const next = this.queue.pop() as { time: number; value: SimEvent };
      this.now = next.time;
      this.handle(next.value);
      const kind = next.value.kind;
      if (kind === 'heal' || kind === 'restart' || kind === 'unpause' || kind === 'notifyBreak') this.noteHeal();
    }
    this.now = Math.max(this.now, until);
  }

  /** establishedLeader is the server currently established as leader with the highest epoch, if any. */
  establishedLeader(): SimServer | undefined {
    let best: SimServer | undefined;
    for (const server of this.servers) {
      const status = server.peer?.status();
      if (
        status?.role === 'leading' &&
        status.established &&
        (!best || status.epoch > (best.peer?.status().epoch ?? 0))
      ) {
        best = server;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------------------------------------
  // Servers.

  /** memberStorage gives a member its FileStorage on a simulated disk whose fsyncs take virtual time. */
  private memberStorage(server: SimServer): MemberStorage {
    return new MemberStorage(
      () => this.syncGate(server),
      (line) => this.log(`${server.id}: ${line}`),
    );
  }

  /**
   * syncGate is one fsync of a member's storage: it completes after part of the persist's time (the
   * 'fsync' event), or, at a scenario's crash point, never: the member crashes there.
   */
  private syncGate(server: SimServer): Promise<void> {
    this.running--;
    if (server.crashAtSync !== null && server.crashAtSync-- === 0) {
      server.crashAtSync = null;
      this.completions.push(() => this.crash(server));
      return new Promise(() => undefined);
    }
    const waitMs = this.prng.int(server.fsyncBudgetMs + 1);
    server.fsyncBudgetMs -= waitMs;
    return new Promise((release) => {
      this.queue.push(this.now + waitMs, {
        kind: 'fsync',
        server: server.id,
        incarnation: server.incarnation,
        release,
      });
    });
  }

  /**
   * start recovers a member from its disk through FileStorage's load() (no virtual time passes),
   * holds what it recovered to what its storage had confirmed (storage-checker.ts), then starts it.
   */
  private start(server: SimServer): void {
    if (server.peer || server.loading) return;
    server.held = [];
    server.incarnation++;
    server.loading = true;
    const incarnation = server.incarnation;
    this.running++;
    this.pendingDrain = true;
    server.storage.load().then(
      (recovered) => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          server.loading = false;
          const wrong = checkRecovery(server.id, recovered, server.storage);
          if (wrong !== null) this.violation(RECOVERY_INVARIANT, wrong);
          server.storage.adopt(recovered);
          this.startPeer(server, recovered);
        });
      },
      (error: unknown) => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          this.violation(RECOVERY_INVARIANT, `server ${server.id}: FileStorage.load() failed: ${describeError(error)}`);
        });
      },
    );
  }

  private startPeer(server: SimServer, recovered: RecoveredState): void {
    this.liveness.started(server.id);
    server.pausedUntil = 0;
    server.wasEstablished = false;
    server.crashAtSync = null;
    const machine = this.options.makeMachine(this.limits);
    server.peer = new ZabPeer(
      {
        id: server.id,
        voters: this.voterIds,
        observers: this.observerIds,
        random: this.prng.fork(),
        machine,
        ...SIM_TIMEOUTS,
        historyEntriesMax: this.options.historyEntriesMax ?? 200,
        syncBatchEntriesMax: 50,
        snapChunkRecordsMax: 50,
        limits: this.limits,
      },
      recovered,
    );
    server.driver = new ReadyDriver(server.peer, {
      send: (messages) => {
        for (const { to, message } of messages) {
          // Checked as it leaves, as core's test ensemble does: what it acknowledges is durable by now.
          const wrong = checkVouch(server.id, to, message, this.durableState(server));
          if (wrong !== null) this.violation(VOUCH_INVARIANT, wrong);
          this.sendMessage(server.id, to, message);
        }
      },
      deliver: (outputs) => this.deliverToClients(server, outputs as ClientOutput[]),
      disconnect: (peers) => {
        for (const id of peers) {
          this.log(`${server.id} drops its connection to ${id}`);
          this.breakConnection(server.id, id);
        }
      },
    });
    server.lastApplied = server.peer.status().lastAppliedZxid;
    this.log(`start ${server.id}#${server.incarnation} last=${formatZxid(server.peer.status().lastLoggedZxid)}`);
    this.queue.push(this.now + 1 + this.prng.int(TICK_MS), {
      kind: 'tick',
      server: server.id,
      incarnation: server.incarnation,
    });
    this.pump(server);
  }

  private crash(server: SimServer, autoRestart = true): void {
    if (!server.peer) return;
    // The disk keeps what was synced and a random prefix of the rest, the next write maybe torn.
    server.storage.crash(this.prng);
    this.log(`crash ${server.id}#${server.incarnation}`);
    this.crashes++;
    this.faultToken++;
    server.peer = null;
    server.driver = null;
    server.incarnation++;
    for (const other of this.servers) if (other !== server) this.breakConnection(server.id, other.id, true);
    for (const client of this.clients) if (client.server === server.id) this.disconnectClient(client);
    if (autoRestart && this.faultsOn) {
      this.queue.push(this.now + 200 + this.prng.int(3_000), { kind: 'restart', server: server.id });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Scripted control, for scenario tests.

  /** peerOf gives a running server's peer (throws if it is down). */
  peerOf(id: number): ZabPeer {
    const peer = this.server(id).peer;
    if (!peer) throw new Error(`server ${id} is down`);
    return peer;
  }

  /** isUp tells whether a server is running. */
  isUp(id: number): boolean {
    return this.server(id).peer !== null;
  }

  /**
   * durableOf is what a server's storage has confirmed durable (each persist step counted once it
   * resolved); right after a restart, what its recovery found.
   */
  durableOf(id: number): DurableView {
    return this.server(id).storage.durableState();
  }

  /** kill crashes a server now (kill -9): its unsynced writes are lost or torn. */
  kill(id: number): void {
    this.crash(this.server(id), false);
  }

  /**
   * restart starts a crashed server from its disk (FileStorage's recovery; no virtual time passes);
   * `wipe` first empties the disk (a replaced machine).
   */
  async restart(id: number, options: { wipe?: boolean } = {}): Promise<void> {
    this.restartNow(id, options);
    await this.settle();
  }

  private restartNow(id: number, options: { wipe?: boolean } = {}): void {
    const server = this.server(id);
    if (server.peer || server.loading) throw new Error(`server ${id} is running`);
    if (options.wipe) server.storage.wipe();
    this.start(server);
    this.noteHeal();
  }

  /** pause stops a running server's process for `ms`: what reaches it waits, in arrival order. */
  pause(id: number, ms: number): void {
    const server = this.server(id);
    if (!server.peer) return;
    this.faultToken++;
    // A pause never ends earlier than one already running: that would reorder the queued messages.
    server.pausedUntil = Math.max(server.pausedUntil, this.now + ms);
    this.log(`pause ${id} until ${server.pausedUntil}`);
    this.queue.push(server.pausedUntil, { kind: 'unpause', server: id });
  }

  /** isolate cuts a server off from every other (both directions). */
  isolate(id: number): void {
    this.faultToken++;
    for (const other of this.servers) if (other.id !== id) this.block(id, other.id, true);
    this.log(`isolate ${id}`);
  }

  /** reconnect ends the partition of one server (every link to and from it), leaving the rest as they are. */
  reconnect(id: number): void {
    for (const link of [...this.blocked]) {
      const [from, to] = link.split('>').map(Number);
      if (from === id || to === id) this.blocked.delete(link);
    }
    this.log(`reconnect ${id}`);
    this.noteHeal();
  }

  /**
   * deliverLate delivers `message` from `from` to `to` as a message of an earlier, broken
   * connection that arrives late (what `staleDeliveryRate` does at random): it reaches `to` in a
   * millisecond, before anything the current connection carries.
   */
  deliverLate(from: number, to: number, message: PeerMessage): void {
    const key = linkKey(from, to);
    const generation = (this.generations.get(key) ?? 0) - 1;
    this.staleGenerations.add(`${key}#${generation}`);
    const bytes = peerFrameBytes(message);
    this.log(`late delivery ${from}->${to} ${describeMessage(message)}`);
    this.queue.push(this.now + 1, { kind: 'deliver', from, to, generation, stale: true, message, bytes });
  }

  /** slowLink adds `extraMs` of latency to messages from `from` to `to`, keeping the connection up. */
  slowLink(from: number, to: number, extraMs: number): void {
    this.faultToken++;
    this.slowLinks.set(`${from}>${to}`, extraMs);
    this.log(`slow link ${from}->${to} +${extraMs} ms`);
  }

  /** healNetwork ends every partition. */
  healNetwork(): void {
    this.blocked.clear();
    this.slowLinks.clear();
    this.log('network healed');
    this.noteHeal();
  }

  /** stopFaults ends random faults and workload-driven crashes (scenarios drive faults themselves). */
  stopFaults(): void {
    this.faultsOn = false;
  }

  /** waitFor runs until `predicate` holds, or throws after `maxMs` of virtual time. */
  async waitFor(what: string, predicate: () => boolean, maxMs = 20_000): Promise<void> {
    const deadline = this.now + maxMs;
    while (!predicate()) {
      if (this.now >= deadline) this.violation('scenario', `timed out waiting for: ${what}`);
      await this.runUntil(this.now + 10);
    }
  }

  /** leaderId is the id of the established leader of the highest epoch, or null. */
  leaderId(): number | null {
    return this.establishedLeader()?.id ?? null;
  }

  /** openSession creates a session through server `id` and returns its id. */
  async openSession(id: number, timeoutMs = SESSION_TIMEOUT_MS): Promise<SessionId> {
    const server = this.server(id);
    const connectId = this.peerOf(id).submitCreateSession(timeoutMs);
    this.pump(server);
    await this.waitFor(`session via ${id}`, () => this.scripted.has(`c${id}:${connectId}`));
    const output = this.scripted.get(`c${id}:${connectId}`) as ClientOutput;
    if (output.type !== 'sessionCreated') throw new Error(`session via ${id} failed: ${JSON.stringify(output)}`);
    return output.sessionId;
  }

  /** request submits a request of a session through server `id` and runs until it is answered. */
  async request(id: number, sessionId: SessionId, request: Request, options: { linearizable?: boolean } = {}) {
    const xid = this.nextScriptXid++;
    this.peerOf(id).submit(sessionId, xid, request, options);
    this.pump(this.server(id));
    await this.waitFor(`reply to xid ${xid} via ${id}`, () => this.scripted.has(`r${id}:${sessionId}:${xid}`));
    const output = this.scripted.get(`r${id}:${sessionId}:${xid}`) as Extract<ClientOutput, { type: 'reply' }>;
    if (output.reply.error === null && ['create', 'delete', 'setData', 'multi'].includes(request.op)) {
      this.ackedWrites.push(output.reply.zxid);
    }
    return output.reply;
  }

  /** awaitReply runs until the request `xid` submitted through server `id` is answered, and returns the reply. */
  async awaitReply(id: number, sessionId: SessionId, xid: number) {
    await this.waitFor(`reply to xid ${xid} via ${id}`, () => this.scripted.has(`r${id}:${sessionId}:${xid}`));
    return (this.scripted.get(`r${id}:${sessionId}:${xid}`) as Extract<ClientOutput, { type: 'reply' }>).reply;
  }

  /** submitOnly submits a request without waiting (its reply may never come). */
  submitOnly(id: number, sessionId: SessionId, request: Request, options: { linearizable?: boolean } = {}): number {
    const xid = this.nextScriptXid++;
    this.peerOf(id).submit(sessionId, xid, request, options);
    this.pump(this.server(id));
    return xid;
  }

  /** assertReplicasIdentical checks that every serving member that applied the same zxid holds the same tree. */
  async assertReplicasIdentical(): Promise<void> {
    await this.checkConvergence();
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        server.peer.tick(this.now);
        this.observeStatus(server);
        this.pump(server);
        this.queue.push(this.now + TICK_MS, event);
        return;
      }
      case 'deliver': {
        const server = this.server(event.to);
        const key = linkKey(event.from, event.to);
        const current = (this.generations.get(key) ?? 0) === event.generation;
        if (!server.peer || (!current && !this.staleGenerations.has(`${key}#${event.generation}`))) {
          this.sendQueues.release(event.from, event.to, event.generation, event.bytes);
          return;
        }
        // A paused process takes nothing in: what reaches it stays queued on the connection.
        if (this.hold(server, event)) return;
        this.sendQueues.release(event.from, event.to, event.generation, event.bytes);
        // A socket reports its close before a new connection from the same peer delivers anything.
        const directed = `${event.from}>${event.to}`;
        if (event.generation > (this.notified.get(directed) ?? 0)) {
          this.notified.set(directed, event.generation);
          server.peer.disconnected(event.from);
        }
        if (event.message.type === 'notification' && event.message.state === 'FOLLOWING') {
          const status = server.peer.status();
          if (status.role !== 'looking' && status.role !== 'leading' && status.leader === event.from) {
            this.leaderFollowsNotices++;
          }
        }
        server.peer.step(event.from, event.message);
        this.observeStatus(server);
        this.pump(server);
        return;
      }
      case 'persisted': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        // The rest of the messages (checked against the durable state as they leave), the clients, advance.
        const ready = (server.driver as ReadyDriver).finish();
        // A SNAP install moves the replica to the snapshot's zxid without applying entries one by one.
        if (ready.snapshot) server.lastApplied = ready.snapshot.header.zxid;
        this.observeApplied(server, ready.applied);
        this.observeStatus(server);
        this.pump(server);
        return;
      }
      case 'notifyBreak': {
        const server = this.server(event.server);
        if (!server.peer || server.incarnation !== event.incarnation) return;
        if (this.hold(server, event)) return;
        const directed = `${event.peer}>${event.server}`;
        const generation = this.generations.get(linkKey(event.peer, event.server)) ?? 0;
        if (generation <= (this.notified.get(directed) ?? 0)) return;
        this.notified.set(directed, generation);
        server.peer.disconnected(event.peer);
        this.pump(server);
        return;
      }
      case 'fsync': {
        // The disk is not paused with the process: the fsync completes; the host sees it when it runs.
        if (this.server(event.server).incarnation !== event.incarnation) return;
        this.running++;
        this.pendingDrain = true;
        event.release();
        return;
      }
      case 'restart': {
        const server = this.server(event.server);
        if (!server.peer) this.start(server);
        return;
      }
      case 'unpause': {
        const server = this.server(event.server);
        if (this.now < server.pausedUntil) return;
        // The process resumes: what reached it meanwhile is handled in arrival order.
        const held = server.held;
        server.held = [];
        for (const waiting of held) this.handle(waiting);
        if (server.peer) this.pump(server);
        return;
      }
      case 'fault':
        if (!this.faultsOn) return;
        this.injectFault();
        this.queue.push(this.now + this.nextFaultDelay(), { kind: 'fault' });
        return;
      case 'heal':
        // Partitions overlap and the first heal ends them all; one of an older era has nothing left.
        if (event.era === this.partitionEra) this.blocked.clear();
        return;
      case 'client':
        this.stepClient(this.clients[event.client] as SimClient);
        return;
      case 'clientTimeout': {
        const client = this.clients[event.client] as SimClient;
        if (client.generation !== event.generation || !client.pending.has(event.xid)) return;
        this.log(`client ${client.id} timed out on xid ${event.xid} at server ${client.server}`);
        this.disconnectClient(client);
        return;
      }
      case 'livenessCheck':
        this.liveness.check(event.token);
        return;
      case 'episode':
        event.action();
        return;
    }
  }

  /** measure runs a codec measurement; a message the codec refuses to encode could never be sent (`wire-encodable`). */
  private measure(encode: () => number, what: string): number {
    try {
      return encode();
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      return this.violation('wire-encodable', `${what} cannot be encoded: ${error.message}`);
    }
  }

  /**
   * noteHeal is called when a fault may have ended: once nothing is in force any more, the
   * liveness watch arms (liveness.ts).
   */
  private noteHeal(): void {
    if (this.options.livenessWatch !== false) this.liveness.noteHeal();
  }

  /**
   * orphanBoundMs is how long a learner may keep following a member that gave up on it: the
   * LOOKING notification it sent when it stopped leading (re-sent every election timeout), or the
   * FOLLOWING one when it decided for another, must reach the learner, which then looks too.
   */
  orphanBoundMs(): number {
    return SIM_TIMEOUTS.electionTimeoutTicks * TICK_MS + this.faults.delayMsMax + this.faults.fsyncMsMax + 2 * TICK_MS;
  }

  /** hold keeps an event for a paused server until the pause ends (arrival order preserved). */
  private hold(server: SimServer, event: SimEvent): boolean {
    if (this.now >= server.pausedUntil && server.held.length === 0) return false;
    if (this.now >= server.pausedUntil) {
      // Older held events go first.
      server.held.push(event);
      this.queue.push(this.now, { kind: 'unpause', server: server.id });
      return true;
    }
    server.held.push(event);
    return true;
  }

  /**
   * pump runs core's host loop (ReadyDriver) one step: begin takes the next Ready and sends what may
   * leave before the persist; the persist takes virtual time; the 'persisted' event finishes it.
   */
  private pump(server: SimServer): void {
    const driver = server.driver;
    if (!driver || driver.busy || this.now < server.pausedUntil || server.held.length > 0) return;
    const ready = driver.begin();
    if (ready === null) return;
    const incarnation = server.incarnation;
    const persisted = () => this.queue.push(this.now, { kind: 'persisted', server: server.id, incarnation });
    const keep = this.options.beforePersist?.(server.id, ready);
    server.crashAtSync = keep ?? null;
    const persists =
      ready.entries.length > 0 || ready.epochs !== null || ready.snapshot !== null || ready.truncateAfter !== null;
    if (!persists) {
      if (keep !== undefined) this.crash(server);
      else persisted();
      return;
    }
    // The persist takes up to fsyncMsMax of virtual time, shared among its fsyncs.
    server.fsyncBudgetMs = this.prng.int(this.faults.fsyncMsMax + 1);
    this.running++;
    this.pendingDrain = true;
    server.storage.persist(ready).then(
      () => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          if (server.crashAtSync !== null) {
            // The scenario's crash point lies past the last fsync: durable, nothing sent yet.
            this.crash(server);
            return;
          }
          persisted();
        });
      },
      (error: unknown) => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          this.violation('storage-works', `server ${server.id}: persisting failed: ${describeError(error)}`);
        });
      },
    );
  }

  /** durableState is what the server's disk holds durably: the end of its history and its epochs. */
  private durableState(server: SimServer): DurableState {
    return server.storage.durableState();
  }

  /**
   * settle lets the members' storage run: FileStorage is asynchronous, and on a simulated disk it
   * resolves without real I/O, so turning the event loop until every persist and recovery has
   * finished or waits on an fsync gate is exact; then the completions run in the order they came.
   * Called between events, so a seed replays exactly.
   */
  private async settle(): Promise<void> {
    let turns = 0;
    while (this.pendingDrain || this.running > 0 || this.completions.length > 0) {
      this.pendingDrain = false;
      if (this.running > 0 || this.completions.length === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (++turns > 100_000) throw new Error('simulation: storage never settles');
      }
      const work = this.completions;
      this.completions = [];
      for (const complete of work) complete();
    }
  }

  private sendMessage(from: number, to: number, message: PeerMessage): void {
    // Its real size on the wire: over the peer frame limit, the receiver's decoder would refuse it
    // and drop the connection, and the sender would send it again on the next: an outage.
    const bytes = this.measure(() => peerFrameBytes(message), `${from}->${to} ${describeMessage(message)}`);
    if (bytes > this.peerFrameBytesSeen) this.peerFrameBytesSeen = bytes;
    if (bytes > this.limits.peerFrameBytesMax) {
      this.violation(
        'frame-within-limit',
        `${from}->${to} ${describeMessage(message)} is ${bytes} bytes, over peerFrameBytesMax (${this.limits.peerFrameBytesMax})`,
      );
    }
    if (message.type === 'sync') this.log(`${from}->${to} SYNC ${message.mode}`);
    const directed = `${from}>${to}`;
    if (this.blocked.has(directed)) return;
    const key = linkKey(from, to);
    const generation = this.generations.get(key) ?? 0;
    if (!this.sendQueues.admit(from, to, generation, bytes)) {
      // As TCP's SEND_QUEUE_FULL: the connection is dropped; the protocol recovers by resyncing.
      this.sendQueueBreaks++;
      this.log(
        `send queue ${from}->${to} full (${this.sendQueues.queuedBytes(from, to, generation)} + ${bytes} bytes of ${describeMessage(message)} over ${this.sendQueues.bytesMax}): the connection breaks`,
      );
      this.breakConnection(from, to);
      return;
    }
    const delay = 1 + this.prng.int(this.faults.delayMsMax) + (this.slowLinks.get(directed) ?? 0);
    // FIFO per connection, as TCP: never deliver before an earlier message on the same link.
    const time = Math.max(this.now + delay, this.lastDelivery.get(directed) ?? 0);
    this.lastDelivery.set(directed, time);
    this.queue.push(time, { kind: 'deliver', from, to, generation, stale: false, message, bytes });
  }

  /** breakConnection drops what is in flight between a and b (or lets it arrive late) and tells both ends after a detection delay. */
  private breakConnection(a: number, b: number, immediate = false): void {
    const key = linkKey(a, b);
    const generation = this.generations.get(key) ?? 0;
    this.sendQueues.drop(a, b, generation);
    this.generations.set(key, generation + 1);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const server = this.server(to);
      if (!server.peer) continue;
      const delay = immediate ? 1 + this.prng.int(50) : 1 + this.prng.int(BREAK_NOTICE_MS_MAX);
      this.breakNoticeUntil = Math.max(this.breakNoticeUntil, this.now + delay);
      this.queue.push(this.now + delay, {
        kind: 'notifyBreak',
        server: to,
        incarnation: server.incarnation,
        peer: from,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Faults.

  private faultRate(): number {
    const f = this.faults;
    return (
      f.breakPerSecond +
      f.partitionPerSecond +
      f.crashPerSecond +
      f.pausePerSecond +
      f.leaderPartitionPerSecond +
      f.longDownPerSecond
    );
  }

  private nextFaultDelay(): number {
    const rate = this.faultRate();
    if (rate === 0) return 1_000;
    return Math.max(1, Math.floor((-Math.log(1 - this.prng.next()) / rate) * 1_000));
  }

  private injectFault(): void {
    const f = this.faults;
    const total = this.faultRate();
    // While an episode runs, its check is about it alone.
    if (total === 0 || this.episodes.isActive()) return;
    let roll = this.prng.next() * total;
    const ids = this.servers.map((s) => s.id);
    const any = () => ids[this.prng.int(ids.length)] as number;
    const episodes = f.leaderPartitionPerSecond + f.longDownPerSecond;
    if (roll >= total - episodes) {
      roll -= total - episodes;
      if (roll < f.leaderPartitionPerSecond) this.episodes.leaderPartition();
      else this.episodes.longDown();
      return;
    }
    // A lone member has no connections to break or partition.
    if (ids.length < 2 && roll < f.breakPerSecond + f.partitionPerSecond) return;
    this.faultToken++;
    if (roll < f.breakPerSecond) {
      const a = any();
      let b = any();
      if (a === b) b = ids[(ids.indexOf(a) + 1) % ids.length] as number;
      const stale = this.prng.next() < f.staleDeliveryRate;
      this.log(`break ${a}-${b}${stale ? ' (in-flight messages arrive late)' : ''}`);
      if (stale) this.markStale(a, b);
      this.breakConnection(a, b);
      return;
    }
    if (roll < f.breakPerSecond + f.partitionPerSecond) {
      const shape = this.prng.int(3);
      const victim = any();
      if (shape === 0) {
        for (const other of ids) if (other !== victim) this.block(victim, other, true);
        this.log(`partition: isolate ${victim}`);
      } else if (shape === 1) {
        const other = ids.find((id) => id !== victim) as number;
        this.block(victim, other, false);
        this.log(`partition: one-way ${victim}->${other}`);
      } else {
        const half = [...ids].sort(() => this.prng.next() - 0.5).slice(0, Math.ceil(ids.length / 2));
        for (const a of half) for (const b of ids) if (!half.includes(b)) this.block(a, b, true);
        this.log(`partition: ${half.join(',')} | rest`);
      }
      this.queue.push(this.now + 500 + this.prng.int(4_000), { kind: 'heal', era: this.partitionEra });
      return;
    }
    if (roll < f.breakPerSecond + f.partitionPerSecond + f.crashPerSecond) {
      const victim = this.server(any());
      // Keep at least one voter up most of the time, so the safety phase also makes progress.
      if (victim.peer) this.crash(victim);
      return;
    }
    const victim = any();
    if (this.server(victim).peer) this.pause(victim, 100 + this.prng.int(3_000));
  }

  private markStale(a: number, b: number): void {
    // Messages in flight on the broken connection still arrive after the break: a late duplicate
    // path across reconnects. Their epochs and sequence checks must make them harmless.
    const key = linkKey(a, b);
    this.staleGenerations.add(`${key}#${this.generations.get(key) ?? 0}`);
  }

  private block(a: number, b: number, both: boolean): void {
    this.blocked.add(`${a}>${b}`);
    if (both) this.blocked.add(`${b}>${a}`);
    this.breakConnection(a, b);
  }

  private healAll(): void {
    this.faultsOn = false;
    this.episodes.stop();
    for (const client of this.clients) client.bulk = [];
    this.blocked.clear();
    this.log('heal: faults stop, partitions end, crashed servers restart');
    // Pauses run out on their own: ending one early would reorder the messages queued behind it.
    for (const server of this.servers) if (!server.peer) this.start(server);
    this.noteHeal();
  }

  // ---------------------------------------------------------------------------------------------
  // Clients.

  private stepClient(client: SimClient): void {
    this.queue.push(this.now + 20 + this.prng.int(200), { kind: 'client', client: client.id });
    if (!this.faultsOn && this.now > (this.options.safetyMs ?? 20_000) + 5_000 && client.pending.size === 0) {
      // In the liveness phase, stop issuing new work once the old is done: pending must drain.
      return;
    }
    if (client.server === null) {
      this.connectClient(client);
      return;
    }
    if (client.sessionId === null) return;
    if (client.bulk.length > 0) {
      // A bulk load goes first, pipelined as a loading tool would.
      while (client.bulk.length > 0 && client.pending.size < BULK_PIPELINE) {
        this.issue(client, client.bulk.shift() as Request);
      }
      return;
    }
    if (client.pending.size >= this.workload.mix.pipelineMax) return;
    const requests: ClientRequest[] = this.workload.next(client.id, client.nextXid);
    for (const { request, linearizable } of requests) this.issue(client, request, linearizable);
  }

  /**
   * bulkLoad has a connected client (not one on `avoid`) create `count` fresh znodes of
   * `valueBytes` each; null when no client has a session to do it with.
   */
  private bulkLoad(avoid: number, count: number, valueBytes: number): { done(): boolean; cancel(): void } | null {
    const loaders = this.clients.filter((c) => c.sessionId !== null && c.server !== null && c.server !== avoid);
    if (loaders.length === 0) return null;
    const client = loaders[this.prng.int(loaders.length)] as SimClient;
    const load = this.nextBulkLoad++;
    for (let i = 0; i < count; i++) client.bulk.push(this.workload.bulkWrite(load, i, valueBytes));
    this.log(`client ${client.id} loads ${count} znodes of ${valueBytes} bytes through ${client.server}`);
    return {
      done: () => client.bulk.length === 0 && client.pending.size === 0,
      cancel: () => {
        client.bulk = [];
      },
    };
  }

  private issue(client: SimClient, request: Request, linearizable = false): number {
    const xid = client.nextXid++;
    // The workload keeps within what a real client can send; a frame over the limit is its bug.
    if (request.op === 'multi' || request.op === 'create' || request.op === 'setData') {
      const frameBytes = requestFrameBytes(xid, request, linearizable);
      if (frameBytes > this.limits.clientFrameBytesMax) {
        throw new Error(
          `workload: a ${request.op} request frame of ${frameBytes} bytes is over the client frame limit`,
        );
      }
    }
    const server = this.server(client.server as number);
    const op: ClientOp = {
      client: client.id,
      sessionId: client.sessionId as number,
      xid,
      request,
      linearizable,
      invoke: this.now,
      complete: null,
      ok: null,
      error: null,
      result: null,
      zxid: 0,
      seenAtInvoke: client.lastZxidSeen,
    };
    client.pending.set(xid, op);
    this.checker.record(op);
    this.queue.push(this.now + CLIENT_TIMEOUT_MS, {
      kind: 'clientTimeout',
      client: client.id,
      xid,
      generation: client.generation,
    });
    server.peer?.submit(client.sessionId as number, xid, request, { linearizable });
    this.pump(server);
    return xid;
  }

  private connectClient(client: SimClient): void {
    const candidates = this.servers.filter(
      (s) => s.peer?.isServing() && s.peer.status().lastAppliedZxid >= client.lastZxidSeen && this.now >= s.pausedUntil,
    );
    if (candidates.length === 0) return;
    const server = candidates[this.prng.int(candidates.length)] as SimServer;
    const peer = server.peer as ZabPeer;
    client.server = server.id;
    client.generation++;
    if (client.sessionId !== null) {
      // Reconnect to another server within the session timeout (the session moves).
      this.log(`client ${client.id} reconnects session ${client.sessionId} to ${server.id}`);
      return;
    }
    client.connectId = peer.submitCreateSession(SESSION_TIMEOUT_MS);
    this.pump(server);
  }

  private disconnectClient(client: SimClient): void {
    if (client.server !== null) {
      const server = this.server(client.server);
      if (client.sessionId !== null) server.peer?.detachSession(client.sessionId);
    }
    for (const op of client.pending.values()) this.checker.complete(op, this.now, null, 'CONNECTION_LOSS', null, 0);
    client.pending.clear();
    client.server = null;
    client.connectId = null;
    client.generation++;
  }

  private deliverToClients(server: SimServer, outputs: ClientOutput[]): void {
    for (const output of outputs) {
      // What reaches a client must fit one client frame, or the server could not send it.
      if (output.type === 'reply' || output.type === 'event') {
        const frameBytes = this.measure(
          () => (output.type === 'reply' ? replyFrameBytes(output.reply) : eventFrameBytes(output.event)),
          `server ${server.id}: ${output.type} ${JSON.stringify(output.type === 'reply' ? output.reply.result?.op : output.event.type)}`,
        );
        if (frameBytes > this.limits.clientFrameBytesMax) {
          const what =
            output.type === 'reply'
              ? `reply to xid ${output.reply.xid} (${output.reply.result?.op ?? output.reply.error})`
              : `watch event on ${output.event.path}`;
          this.violation(
            'frame-within-limit',
            `server ${server.id}: ${what} is ${frameBytes} bytes, over clientFrameBytesMax (${this.limits.clientFrameBytesMax})`,
          );
        }
        if (output.type === 'reply' && output.reply.error === 'MARSHALLING_ERROR') this.marshallingErrors++;
      }
      if (output.type === 'sessionCreated' || output.type === 'connectFailed') {
        const client = this.clients.find((c) => c.server === server.id && c.connectId === output.connectId);
        if (!client) {
          this.scripted.set(`c${server.id}:${output.connectId}`, output);
          continue;
        }
        client.connectId = null;
        if (output.type === 'sessionCreated') {
          client.sessionId = output.sessionId;
          this.log(`client ${client.id} session ${output.sessionId} via ${server.id}`);
        } else {
          client.server = null;
        }
        continue;
      }
      if (output.type === 'sessionClosed') {
        const client = this.clients.find((c) => c.sessionId === output.sessionId);
        if (client) {
          if (client.server !== null) {
            for (const op of client.pending.values()) {
              if (op.request.op !== 'closeSession') continue;
            }
          }
          if (client.server === server.id || client.server === null) {
            this.failAll(client, 'SESSION_EXPIRED');
            client.sessionId = null;
            client.server = null;
            client.lastZxidSeen = Math.max(client.lastZxidSeen, 0);
          }
        }
        continue;
      }
      if (output.type === 'event') continue;
      const reply = output.reply;
      const client = this.clients.find((c) => c.sessionId === reply.sessionId && c.server === server.id);
      if (!client) {
        this.scripted.set(`r${server.id}:${reply.sessionId}:${reply.xid}`, output);
        continue;
      }
      const op = client.pending.get(reply.xid);
      if (!op) continue;
      client.pending.delete(reply.xid);
      this.checker.complete(op, this.now, reply.error === null, reply.error, reply.result, reply.zxid);
      if (reply.error === null || reply.error !== 'CONNECTION_LOSS') {
        client.lastZxidSeen = Math.max(client.lastZxidSeen, reply.zxid);
      }
      const isWrite = ['create', 'delete', 'setData', 'multi'].includes(op.request.op);
      if (isWrite && reply.error !== 'CONNECTION_LOSS' && reply.error !== 'SESSION_EXPIRED') {
        this.ackedWrites.push(reply.zxid);
      }
      if (reply.error === 'CONNECTION_LOSS') this.disconnectClient(client);
      if (reply.error === 'SESSION_EXPIRED') {
        this.failAll(client, 'SESSION_EXPIRED');
        client.sessionId = null;
        client.server = null;
      }
    }
  }

  private failAll(client: SimClient, error: 'SESSION_EXPIRED'): void {
    for (const op of client.pending.values()) this.checker.complete(op, this.now, null, error, null, 0);
    client.pending.clear();
    client.generation++;
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants.

  private observeApplied(server: SimServer, applied: LogEntry[]): void {
    for (const entry of applied) {
      // Each member applies zxids in strictly increasing order.
      if (entry.zxid <= server.lastApplied) {
        this.violation(
          'applied-in-order',
          `server ${server.id} applied ${formatZxid(entry.zxid)} after ${formatZxid(server.lastApplied)}`,
        );
      }
      // The committed histories are prefixes of one another: same zxid, same transaction, same predecessor.
      const digest = digestOf(entry);
      const known = this.committedDigest.get(entry.zxid);
      if (known !== undefined && known !== digest) {
        this.violation('committed-prefix', `${formatZxid(entry.zxid)} applied as two different transactions`);
      }
      const previous = this.predecessor.get(entry.zxid);
      if (previous !== undefined && previous !== server.lastApplied && server.lastApplied !== 0) {
        this.violation(
          'committed-prefix',
          `server ${server.id} applied ${formatZxid(entry.zxid)} after ${formatZxid(server.lastApplied)}, elsewhere after ${formatZxid(previous)}`,
        );
      }
      if (previous === undefined) this.predecessor.set(entry.zxid, server.lastApplied);
      if (known === undefined) {
        this.committedDigest.set(entry.zxid, digest);
        this.committedBytes += logEntryBytes(entry);
        this.checker.observeCommitted(entry);
      }
      server.lastApplied = entry.zxid;
    }
  }

  private observeStatus(server: SimServer): void {
    const status = (server.peer as ZabPeer).status();
    this.liveness.observe(server.id, status);
    const shape = `${status.role}/${status.phase}/e${status.epoch}`;
    if (shape !== server.lastShape) {
      this.log(
        `${server.id}: ${server.lastShape} -> ${shape} (logged ${formatZxid(status.lastLoggedZxid)}, accepted ${status.acceptedEpoch}, current ${status.currentEpoch})`,
      );
      server.lastShape = shape;
    }
    if (status.role === 'leading' && status.established && !server.wasEstablished) {
      server.wasEstablished = true;
      this.elections++;
      this.log(`leader ${server.id} established in epoch ${status.epoch} at ${formatZxid(status.lastLoggedZxid)}`);
      const other = this.leaders.get(status.epoch);
      if (other !== undefined && other !== server.id) {
        this.violation(
          'one-leader-per-epoch',
          `servers ${other} and ${server.id} both established in epoch ${status.epoch}`,
        );
      }
      this.leaders.set(status.epoch, server.id);
      // Every write acknowledged to a client is in the history of every leader of a later epoch. (A
      // leader of an older epoch may complete its establishment late, after a pause, from acks given
      // before the newer epoch began: it still holds everything committed before its own epoch.)
      for (const zxid of this.ackedWrites) {
        if (zxidEpoch(zxid) >= status.epoch) continue;
        if (!(server.peer as ZabPeer).hasLogged(zxid)) {
          this.violation(
            'acked-write-survives',
            `leader ${server.id} of epoch ${status.epoch} lacks acknowledged ${formatZxid(zxid)}`,
          );
        }
      }
    }
    if (!(status.role === 'leading' && status.established)) server.wasEstablished = false;
  }

  private async checkConvergence(): Promise<void> {
    // Let the healed ensemble settle, then caught-up members must hold identical trees.
    await this.runUntil(this.now + 3_000);
    const byZxid = new Map<Zxid, { id: number; digest: string }>();
    for (const server of this.servers) {
      const peer = server.peer;
      if (!peer?.isServing()) continue;
      const zxid = peer.status().lastAppliedZxid;
      const digest = treeDigest(peer);
      const other = byZxid.get(zxid);
      if (other && other.digest !== digest) {
        this.violation('replicas-identical', `servers ${other.id} and ${server.id} differ at ${formatZxid(zxid)}`);
      }
      byZxid.set(zxid, { id: server.id, digest });
    }
  }

  private committedView() {
    return this.checker;
  }

  private violation(invariant: string, detail: string): never {
    throw new SimViolation(this.seed, invariant, detail, [...this.trace]);
  }

  private log(line: string): void {
    this.trace.push(`${String(this.now).padStart(7)} ms  ${line}`);
    if (this.trace.length > this.traceSize) this.trace.shift();
  }

  private describe(server: SimServer): string {
    const s = (server.peer as ZabPeer).status();
    return `${s.id}:${s.role}/${s.phase}/e${s.epoch}/${formatZxid(s.lastAppliedZxid)}`;
  }

  private server(id: number): SimServer {
    return this.servers[id - 1] as SimServer;
  }

  private quorum(): number {
    return Math.floor(this.voterIds.length / 2) + 1;
  }
}

function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** describeMessage names a peer message and what it carries, for violation reports. */
function describeMessage(message: PeerMessage): string {
  if ('entries' in message) return `${message.type.toUpperCase()} of ${message.entries.length} entries`;
  if (message.type === 'snapChunk') return `SNAP chunk of ${message.records.length} records`;
  if (message.type === 'forward') return `forward of ${message.request.op}`;
  return message.type;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
