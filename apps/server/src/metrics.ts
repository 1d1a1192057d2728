import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Metrics is one member's Prometheus registry (served at GET /metrics): requests by op, apply
 * throughput, fsync latency and batch size (group commit), elections and their duration,
 * connections; sessions, znodes and watches are read from the peer at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op'>;
  private readonly appliedTotal: Counter;
  private readonly fsyncSeconds: Histogram;
  private readonly fsyncBatch: Histogram;
  private readonly elections: Counter;
  private readonly electionSeconds: Histogram;
  private readonly connectionsGauge: Gauge;
  private readonly applyRate = { last: 0, count: 0, at: Date.now(), perSecond: 0 };

  constructor(serverId: number) {
    this.registry.setDefaultLabels({ member: String(serverId) });
    collectDefaultMetrics({ register: this.registry, prefix: 'zabkit_process_' });
    this.requests = new Counter({
      name: 'zabkit_requests_total',
      help: 'Client requests received, by op',
      labelNames: ['op'],
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

  request(op: string): void {
    this.requests.inc({ op });
  }

  applied(count: number): void {
    if (count === 0) return;
    this.appliedTotal.inc(count);
    this.applyRate.count += count;
  }

  /** appliedPerSecond is the apply rate over the last second or so (for the dashboard). */
  appliedPerSecond(): number {
    const now = Date.now();
    const elapsed = now - this.applyRate.at;
    if (elapsed >= 1_000) {
      this.applyRate.perSecond = ((this.applyRate.count - this.applyRate.last) * 1_000) / elapsed;
      this.applyRate.last = this.applyRate.count;
      this.applyRate.at = now;
    }
    return this.applyRate.perSecond;
  }

  fsync(durationMs: number, entries: number): void {
    this.fsyncSeconds.observe(durationMs / 1_000);
    this.fsyncBatch.observe(entries);
  }

  election(durationMs: number): void {
    this.elections.inc();
    this.electionSeconds.observe(durationMs / 1_000);
  }

  connections(count: number): void {
    this.connectionsGauge.set(count);
  }
}
