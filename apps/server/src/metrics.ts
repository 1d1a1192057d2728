import type { LogEntry, PeerStatus, SessionId, Zxid } from '@zabkit/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** PENDING_PER_SESSION_MAX bounds the timed requests of one session (a client rarely has more in flight). */
const PENDING_PER_SESSION_MAX = 1_024;
/** PENDING_TOTAL_MAX bounds the timed requests of all sessions; past it, requests go untimed. */
const PENDING_TOTAL_MAX = 65_536;
/** PROPOSALS_TIMED_MAX bounds the leader's proposals awaiting commit that carry a start time. */
const PROPOSALS_TIMED_MAX = 65_536;
/** OP_LABELS_MAX bounds the `op` label's values; anything past it is counted as `other`. */
const OP_LABELS_MAX = 32;
/** RECENT_SAMPLES_MAX and RECENT_WINDOW_MS bound the samples kept for the dashboard's percentiles. */
const RECENT_SAMPLES_MAX = 4_096;
const RECENT_WINDOW_MS = 60_000;

const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** LatencySummary is what GET /api/latency reports for one kind of latency over the recent window. */
export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** LatencyReport is the body of GET /api/latency: recent percentiles, for the dashboard. */
export interface LatencyReport {
  /** windowMs: the samples cover at most this much of the past (fewer under heavy load). */
  windowMs: number;
  requests: LatencySummary & { perSecond: number; ops: Record<string, LatencySummary> };
  commit: LatencySummary;
  fsync: LatencySummary;
}

/**
 * RecentSamples keeps the last RECENT_SAMPLES_MAX latencies of one kind (a ring), for percentiles
 * over the recent window; Prometheus histograms stay the source of truth for alerting.
 */
class RecentSamples {
  private readonly ms = new Float64Array(RECENT_SAMPLES_MAX);
  private readonly atMs = new Float64Array(RECENT_SAMPLES_MAX);
  private readonly ops: string[] = new Array(RECENT_SAMPLES_MAX).fill('');
  private next = 0;
  private size = 0;

  add(ms: number, op = ''): void {
    this.ms[this.next] = ms;
    this.atMs[this.next] = Date.now();
    this.ops[this.next] = op;
    this.next = (this.next + 1) % RECENT_SAMPLES_MAX;
    this.size = Math.min(this.size + 1, RECENT_SAMPLES_MAX);
  }

  /** recent returns the samples of the last `windowMs`, grouped by op ('' for all). */
  recent(windowMs: number): Map<string, number[]> {
    const since = Date.now() - windowMs;
    const groups = new Map<string, number[]>([['', []]]);
    for (let i = 0; i < this.size; i++) {
      if ((this.atMs[i] as number) < since) continue;
      const ms = this.ms[i] as number;
      (groups.get('') as number[]).push(ms);
      const op = this.ops[i] as string;
      if (op === '') continue;
      let group = groups.get(op);
      if (!group) {
        group = [];
        groups.set(op, group);
      }
      group.push(ms);
    }
    return groups;
  }

  summary(windowMs: number): LatencySummary {
    return summarize(this.recent(windowMs).get('') ?? []);
  }
}

function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, p50Ms: null, p99Ms: null };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return { count: sorted.length, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)) };
}

function round(ms: number): number {
  return Math.round(ms * 1_000) / 1_000;
}

/** Rate turns a running count into a per-second rate over the last second or so. */
class Rate {
  private count = 0;
  private last = 0;
  private atMs = Date.now();
  private perSecondValue = 0;

  add(count: number): void {
    this.count += count;
  }

  perSecond(): number {
    const now = Date.now();
    const elapsed = now - this.atMs;
    if (elapsed >= 1_000) {
      this.perSecondValue = ((this.count - this.last) * 1_000) / elapsed;
      this.last = this.count;
      this.atMs = now;
    }
    return this.perSecondValue;
  }
}

/**
 * Metrics is one member's Prometheus registry (served at GET /metrics): requests and their latency
 * by op, proposals and commit latency (leader), apply throughput, fsync latency and batch size
 * (group commit), elections and their duration, connections, session closes; sessions, znodes and
 * watches are read from the peer at scrape time. Label values are op names only (bounded), and
 * every map that times something in flight is bounded and cleared when its owner goes away.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op'>;
  private readonly requestSeconds: Histogram<'op'>;
  private readonly proposals: Counter;
  private readonly commitSeconds: Histogram;
  private readonly appliedTotal: Counter;
  private readonly fsyncSeconds: Histogram;
  private readonly fsyncBatch: Histogram;
  private readonly elections: Counter;
  private readonly electionSeconds: Histogram;
  private readonly connectionsGauge: Gauge;
  private readonly sessionCloses: Counter<'reason'>;
  private readonly inputFailures: Counter<'input'>;
  private readonly limitRefusals: Counter<'limit'>;
  private readonly snapshotFailures: Counter;
  private readonly latencyTotals = { count: 0, sumMs: 0, minMs: Number.POSITIVE_INFINITY, maxMs: 0 };
  private readonly authFailures: Counter;
  private readonly applyRate = new Rate();
  private readonly requestRate = new Rate();
  private readonly recentRequests = new RecentSamples();
  private readonly recentCommits = new RecentSamples();
  private readonly recentFsyncs = new RecentSamples();
  /** pending: session → xid → when its request arrived (performance.now()) and its op label. */
  private readonly pending = new Map<SessionId, Map<number, { op: string; startedMs: number }>>();
  private pendingCount = 0;
  /** proposed: zxid → when this member, leading, proposed it (performance.now()). */
  private readonly proposed = new Map<Zxid, number>();
  private readonly opLabels = new Set<string>();

  constructor(serverId: number) {
    this.registry.setDefaultLabels({ member: String(serverId) });
    collectDefaultMetrics({ register: this.registry, prefix: 'zabkit_process_' });
    this.requests = new Counter({
      name: 'zabkit_requests_total',
      help: 'Client requests received, by op',
      labelNames: ['op'],
      registers: [this.registry],
    });
    this.requestSeconds = new Histogram({
      name: 'zabkit_request_duration_seconds',
      help: 'From receiving a client request to sending its reply, by op',
      labelNames: ['op'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
    this.proposals = new Counter({
      name: 'zabkit_proposals_total',
      help: 'Transactions this member proposed as leader',
      registers: [this.registry],
    });
    this.commitSeconds = new Histogram({
      name: 'zabkit_commit_duration_seconds',
      help: 'Leader: from proposing a transaction to applying it (fsync, quorum ACK, COMMIT)',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
    this.appliedTotal = new Counter({
      name: 'zabkit_applied_transactions_total',
      help: 'Committed transactions applied to this replica',
      registers: [this.registry],
    });
    this.fsyncSeconds = new Histogram({
      name: 'zabkit_fsync_duration_seconds',
      help: 'Time to append and fsync one batch of log entries',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [this.registry],
    });
    this.fsyncBatch = new Histogram({
      name: 'zabkit_fsync_batch_entries',
      help: 'Log entries per fsync (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [this.registry],
    });
    this.elections = new Counter({
      name: 'zabkit_elections_total',
      help: 'Times this member started serving after an election',
      registers: [this.registry],
    });
    this.electionSeconds = new Histogram({
      name: 'zabkit_election_duration_seconds',
      help: 'From losing the leader (or starting) to serving again',
      buckets: [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
      registers: [this.registry],
    });
    this.connectionsGauge = new Gauge({
      name: 'zabkit_client_connections',
      help: 'Open client connections with a session',
      registers: [this.registry],
    });
    this.sessionCloses = new Counter({
      name: 'zabkit_session_closes_total',
      help: 'Sessions closed in the replicated tree: reason expired (by the leader) or client',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.inputFailures = new Counter({
      name: 'zabkit_input_failures_total',
      help: 'Inputs whose handling threw (a bug): contained, logged, the connection closed; by input kind',
      labelNames: ['input'],
      registers: [this.registry],
    });
    this.limitRefusals = new Counter({
      name: 'zabkit_limit_refusals_total',
      help: 'Requests refused or connections paused or closed at a limit, by limit',
      labelNames: ['limit'],
      registers: [this.registry],
    });
    this.authFailures = new Counter({
      name: 'zabkit_client_auth_failures_total',
      help: 'addAuth requests refused with AUTH_FAILED (unknown scheme, malformed credentials, too many ids)',
      registers: [this.registry],
    });
    this.snapshotFailures = new Counter({
      name: 'zabkit_snapshot_failures_total',
      help: 'Snapshots that could not be written',
      registers: [this.registry],
    });
  }

  /** inputFailed counts an input whose handling threw (peer message, client request, tick, send). */
  inputFailed(input: 'peer message' | 'client request' | 'ping' | 'tick' | 'peer send' | 'watch event'): void {
    this.inputFailures.inc({ input });
  }

  /**
   * limitRefused counts one refusal at a limit: reply_too_large, invalid_path, watch_quota (errors
   * answered to a request), paused_connection and paused_member (reads paused by the request budget),
   * partial_frame_budget and frame_timeout (connections closed by the listener).
   */
  limitRefused(limit: string, count = 1): void {
    if (count > 0) this.limitRefusals.inc({ limit }, count);
  }

  /** authFailed counts an addAuth refused with AUTH_FAILED. */
  authFailed(): void {
    this.authFailures.inc();
  }

  snapshotFailed(): void {
    this.snapshotFailures.inc();
  }

  /** gauge registers a gauge whose value is read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** request counts a client request by op. */
  request(op: string): void {
    this.requests.inc({ op: this.opLabel(op) });
  }

  /** requestReceived starts timing a request; requestAnswered stops when its reply is sent. */
  requestReceived(sessionId: SessionId, xid: number, op: string): void {
    const timing = { op: this.opLabel(op), startedMs: performance.now() };
    const session = this.pending.get(sessionId);
    if (session?.has(xid)) {
      session.set(xid, timing);
      return;
    }
    if ((session?.size ?? 0) >= PENDING_PER_SESSION_MAX || this.pendingCount >= PENDING_TOTAL_MAX) return;
    if (session) session.set(xid, timing);
    else this.pending.set(sessionId, new Map([[xid, timing]]));
    this.pendingCount++;
  }

  requestAnswered(sessionId: SessionId, xid: number): void {
    const session = this.pending.get(sessionId);
    const started = session?.get(xid);
    if (!session || !started) return;
    session.delete(xid);
    this.pendingCount--;
    if (session.size === 0) this.pending.delete(sessionId);
    const ms = performance.now() - started.startedMs;
    this.requestSeconds.observe({ op: started.op }, ms / 1_000);
    this.latencyTotals.count++;
    this.latencyTotals.sumMs += ms;
    if (ms < this.latencyTotals.minMs) this.latencyTotals.minMs = ms;
    if (ms > this.latencyTotals.maxMs) this.latencyTotals.maxMs = ms;
    this.recentRequests.add(ms, started.op);
    this.requestRate.add(1);
  }

  /** latencySummaryMs: min, mean and max request latency since start, in ms (ZooKeeper's `srvr` line; all 0 before any request). */
  latencySummaryMs(): { min: number; avg: number; max: number } {
    const { count, sumMs, minMs, maxMs } = this.latencyTotals;
    return count === 0 ? { min: 0, avg: 0, max: 0 } : { min: minMs, avg: sumMs / count, max: maxMs };
  }

  /** connectionClosed forgets the timed requests of a session whose connection closed. */
  connectionClosed(sessionId: SessionId): void {
    const session = this.pending.get(sessionId);
    if (!session) return;
    this.pendingCount -= session.size;
    this.pending.delete(sessionId);
  }

  /**
   * logged sees the entries of a Ready before they are persisted: a leader's are its proposals, and
   * their commit latency starts now. A member that does not lead forgets the proposals it timed.
   */
  logged(role: PeerStatus['role'], entries: readonly LogEntry[]): void {
    if (role !== 'leading') {
      this.proposed.clear();
      return;
    }
    if (entries.length === 0) return;
    this.proposals.inc(entries.length);
    const now = performance.now();
    for (const entry of entries) {
      if (this.proposed.size >= PROPOSALS_TIMED_MAX) break;
      this.proposed.set(entry.zxid, now);
    }
  }

  /** committed sees the entries a Ready applied: commit latency of own proposals, session closes. */
  committed(applied: readonly LogEntry[]): void {
    const now = performance.now();
    for (const entry of applied) {
      const started = this.proposed.get(entry.zxid);
      if (started !== undefined) {
        this.proposed.delete(entry.zxid);
        this.commitSeconds.observe((now - started) / 1_000);
        this.recentCommits.add(now - started);
      }
      // The leader's session expirer issues closeSession with cxid 0; clients number from 1.
      if (entry.txn.type === 'closeSession')
        this.sessionCloses.inc({ reason: entry.cxid === 0 ? 'expired' : 'client' });
    }
  }

  applied(count: number): void {
    if (count === 0) return;
    this.appliedTotal.inc(count);
    this.applyRate.add(count);
  }

  /** appliedPerSecond is the apply rate over the last second or so (for the dashboard). */
  appliedPerSecond(): number {
    return this.applyRate.perSecond();
  }

  /** latency reports recent percentiles of request, commit and fsync latency (GET /api/latency). */
  latency(): LatencyReport {
    const groups = this.recentRequests.recent(RECENT_WINDOW_MS);
    const ops: Record<string, LatencySummary> = {};
    for (const [op, samples] of groups) if (op !== '') ops[op] = summarize(samples);
    return {
      windowMs: RECENT_WINDOW_MS,
      requests: { ...summarize(groups.get('') ?? []), perSecond: this.requestRate.perSecond(), ops },
      commit: this.recentCommits.summary(RECENT_WINDOW_MS),
      fsync: this.recentFsyncs.summary(RECENT_WINDOW_MS),
    };
  }

  fsync(durationMs: number, entries: number): void {
    this.fsyncSeconds.observe(durationMs / 1_000);
    this.fsyncBatch.observe(entries);
    this.recentFsyncs.add(durationMs);
  }

  election(durationMs: number): void {
    this.elections.inc();
    this.electionSeconds.observe(durationMs / 1_000);
  }

  connections(count: number): void {
    this.connectionsGauge.set(count);
  }

  private opLabel(op: string): string {
    if (this.opLabels.has(op)) return op;
    if (this.opLabels.size >= OP_LABELS_MAX) return 'other';
    this.opLabels.add(op);
    return op;
  }
}
