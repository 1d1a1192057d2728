import type { ClusterConfig, LogEntry } from '../types.js';
import { logEntryBytes } from '../wire-size.js';
import { formatZxid, type Zxid } from '../zxid.js';
import { assert } from './invariant.js';
import type { Outbox } from './outbox.js';
import { TrimmedZxids } from './trimmed-zxids.js';

/**
 * History is a member's accepted log as the protocol sees it (etcd raft's log.go and
 * log_unstable.go in one): the entries above `base` held in memory, in zxid order, and three
 * marks over them:
 *  - lastLoggedZxid: the last entry accepted (appended to the Ready being filled, or earlier);
 *  - persistedZxid: the last entry the host made durable (a Ready's entries become durable at
 *    advance(); acknowledgements of them ride in that same Ready, sent only after the persist);
 *  - committedZxid: the last entry known committed (a quorum logged it).
 * An entry is applied once it is both committed and persisted here. The applied prefix is trimmed
 * to historyEntriesMax entries and historyBytesMax bytes, except what a leader's sync stream still
 * has to send (the pin). What was trimmed stays on disk: `trimmed` knows which zxids, so a learner
 * further behind than `base` can get a DIFF read from the disk log (sync-stream.ts), or a SNAP.
 *
 * It also keeps the membership its entries carry (membership.ts): `baseConfig` (in force at `base`,
 * from the snapshot or the static configuration) and the reconfig entries held, from which
 * {@link configs} derives the configurations in force.
 */
export class History {
  /** base: every entry up to here is in the snapshot (or is the empty history's 0); held entries are above it. */
  base: Zxid;
  persistedZxid: Zxid;
  committedZxid: Zxid;
  private log: LogEntry[];
  /** logBytes is the encoded size of the entries in `log`, for trimming by historyBytesMax. */
  private logBytes = 0;
  /** inflightEndZxid: the last entry of the Ready handed out and not yet advanced; null when none is. */
  private inflightEndZxid: Zxid | null = null;
  /** baseConfig: the membership in force at `base` (committed: everything up to base is). */
  baseConfig: ClusterConfig;
  /** reconfigs: the configurations made by reconfig entries held above `base`, in zxid order. */
  private reconfigs: ClusterConfig[] = [];
  /** trimmed: the zxids trimmed from memory since the history was rooted; the disk log holds them. */
  readonly trimmed: TrimmedZxids;

  constructor(
    base: Zxid,
    baseConfig: ClusterConfig,
    recovered: readonly LogEntry[],
    private readonly outbox: Outbox,
    private readonly entriesMax: number,
    private readonly bytesMax: number,
  ) {
    this.base = base;
    this.trimmed = new TrimmedZxids(base, bytesMax);
    this.baseConfig = baseConfig;
    this.log = recovered.filter((entry) => entry.zxid > base);
    for (const entry of this.log) this.noteReconfig(entry);
    for (let i = 1; i < this.log.length; i++) {
      assert((this.log[i] as LogEntry).zxid > (this.log[i - 1] as LogEntry).zxid, 'recovered log out of order');
    }
    for (const entry of this.log) this.logBytes += logEntryBytes(entry);
    this.persistedZxid = this.lastLoggedZxid();
    // Only what the snapshot holds is known to be committed; the rest is settled by synchronization.
    this.committedZxid = base;
  }

  /**
   * configs are the configurations in force for counting quorums: the last one logged, preceded by
   * the one before it while the last is above the commit point (a change pending). Every reconfig
   * in a log but the last is committed (a leader proposes one only once the previous committed), so
   * this is ZooKeeper's "last committed plus last seen".
   */
  configs(): readonly ClusterConfig[] {
    const last = this.lastSeenConfig();
    const pending = last.version > this.committedZxid;
    // Asked on every message (ZabPeer.step) and every quorum count: the answer changes only when a
    // reconfig is logged, truncated or committed, so it is kept until then.
    const cached = this.configsCache;
    if (cached !== null && cached.last === last && cached.pending === pending) return cached.value;
    const count = this.reconfigs.length;
    const previous = count >= 2 ? (this.reconfigs[count - 2] as ClusterConfig) : this.baseConfig;
    const value = pending ? [previous, last] : [last];
    this.configsCache = { last, pending, value };
    return value;
  }

  private configsCache: { last: ClusterConfig; pending: boolean; value: readonly ClusterConfig[] } | null = null;

  /** lastSeenConfig is the configuration of the last reconfig logged (or the base's). */
  lastSeenConfig(): ClusterConfig {
    return this.reconfigs.at(-1) ?? this.baseConfig;
  }

  /** configAt is the configuration in force once everything up to `zxid` is applied (for a snapshot at `zxid`). */
  configAt(zxid: Zxid): ClusterConfig {
    let config = this.baseConfig;
    for (const next of this.reconfigs) if (next.version <= zxid) config = next;
    return config;
  }

  /** pendingReconfig tells whether a reconfig is logged above the commit point. */
  pendingReconfig(): boolean {
    return this.lastSeenConfig().version > this.committedZxid;
  }

  /**
   * committedConfigVersion is the version of the last configuration this member knows committed:
   * the last one logged, or the one before it while that is pending. Notifications carry it.
   */
  committedConfigVersion(): Zxid {
    return (this.configs()[0] as ClusterConfig).version;
  }

  /**
   * learnCommittedConfig raises the commit point to `version` when a peer reports that
   * configuration committed and this member logged it, pending, as its last: the same zxid is the
   * same proposal (one leader an epoch) on the same prefix, so everything up to it is committed
   * too. ZooKeeper's election adopts a newer committed configuration from a notification the same
   * way (FastLeaderElection, processReconfig). Returns whether the configurations in force changed.
   */
  learnCommittedConfig(version: Zxid): boolean {
    // Only a reconfig this member logged: the base configuration is committed already.
    const last = this.reconfigs.at(-1);
    if (last === undefined || last.version !== version || version <= this.committedZxid) return false;
    this.committedZxid = version;
    return true;
  }

  private noteReconfig(entry: LogEntry): void {
    if (entry.txn.type === 'reconfig') this.reconfigs.push({ version: entry.zxid, members: entry.txn.members });
  }

  /** entries are the accepted entries held in memory, above `base`. */
  entries(): readonly LogEntry[] {
    return this.log;
  }

  get length(): number {
    return this.log.length;
  }

  /** bytes is the encoded size of the entries held in memory. */
  get bytes(): number {
    return this.logBytes;
  }

  at(index: number): LogEntry {
    return this.log[index] as LogEntry;
  }

  lastLoggedZxid(): Zxid {
    return this.log.length > 0 ? (this.log[this.log.length - 1] as LogEntry).zxid : this.base;
  }

  /** hasLogged tells whether the entry with this zxid is in the history (or below its base). */
  hasLogged(zxid: Zxid): boolean {
    if (zxid <= this.base) return true;
    return this.findIndex(zxid) !== -1;
  }

  /** findIndex is the index of the entry with this zxid, or -1. */
  findIndex(zxid: Zxid): number {
    let low = 0;
    let high = this.log.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = (this.log[middle] as LogEntry).zxid;
      if (value === zxid) return middle;
      if (value < zxid) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** indexAfter is the index of the entry after `zxid`, which is `base` or a held entry. */
  indexAfter(zxid: Zxid): number {
    return zxid <= this.base ? 0 : this.findIndex(zxid) + 1;
  }

  /** append accepts one entry into the history (to persist in this Ready); returns its encoded size. */
  append(entry: LogEntry): number {
    assert(
      entry.zxid > this.lastLoggedZxid(),
      () => `append ${formatZxid(entry.zxid)} not above ${formatZxid(this.lastLoggedZxid())}`,
    );
    const bytes = logEntryBytes(entry);
    this.log.push(entry);
    this.logBytes += bytes;
    this.outbox.ready.entries.push(entry);
    this.noteReconfig(entry);
    return bytes;
  }

  /** appendNew appends the entries above the last logged one, skipping what is already held (INFORM overlaps). */
  appendNew(entries: readonly LogEntry[]): void {
    for (const entry of entries) if (entry.zxid > this.lastLoggedZxid()) this.append(entry);
  }

  /**
   * truncate drops accepted entries above `zxid` (TRUNC), or all of them above a snapshot about to
   * be installed (`forSnapshot`). Committed entries are never truncated: that would be data loss,
   * so it is an assertion, not an error.
   */
  truncate(zxid: Zxid, appliedZxid: Zxid, forSnapshot: boolean): void {
    if (!forSnapshot) {
      assert(zxid >= appliedZxid, () => `TRUNC to ${formatZxid(zxid)} below applied ${formatZxid(appliedZxid)}`);
      assert(
        zxid === this.base || this.findIndex(zxid) !== -1,
        () => `TRUNC to ${formatZxid(zxid)}, which is not in this server's history`,
      );
    }
    let keep = this.log.length;
    while (keep > 0 && (this.log[keep - 1] as LogEntry).zxid > zxid) {
      keep--;
      this.logBytes -= logEntryBytes(this.log[keep] as LogEntry);
    }
    this.log.length = keep;
    this.reconfigs = this.reconfigs.filter((config) => config.version <= zxid);
    const out = this.outbox.ready;
    out.entries = out.entries.filter((entry) => entry.zxid <= zxid);
    out.truncateAfter = out.truncateAfter === null ? zxid : Math.min(out.truncateAfter, zxid);
    if (this.persistedZxid > zxid) this.persistedZxid = zxid;
    if (this.inflightEndZxid !== null && this.inflightEndZxid > zxid) this.inflightEndZxid = zxid;
    if (this.committedZxid > zxid && !forSnapshot) this.committedZxid = Math.max(zxid, appliedZxid);
  }

  /**
   * resetToSnapshot empties the history onto a snapshot at `zxid` that the Ready being filled
   * installs (SNAP): the host truncates everything after it, and it is the new base and committed.
   */
  resetToSnapshot(zxid: Zxid, config: ClusterConfig): void {
    this.log = [];
    this.reconfigs = [];
    this.baseConfig = config;
    this.logBytes = 0;
    this.outbox.ready.entries = [];
    this.base = zxid;
    this.trimmed.reset(zxid);
    this.committedZxid = zxid;
    this.outbox.ready.truncateAfter = zxid;
  }

  /** handedOut: the Ready being filled goes to the host now; its entries are durable at {@link advanced}. */
  handedOut(): void {
    this.inflightEndZxid = this.lastLoggedZxid();
  }

  /** advanced: the host carried out the Ready handed out; what it persisted is durable. */
  advanced(): void {
    if (this.inflightEndZxid !== null && this.inflightEndZxid > this.persistedZxid) {
      this.persistedZxid = this.inflightEndZxid;
    }
    this.inflightEndZxid = null;
  }

  /**
   * trim drops the oldest applied entries while the history is over historyEntriesMax entries or
   * historyBytesMax bytes, none above `pin()` (the applied zxid, or lower where a sync stream still
   * has to send entries: a stalled stream is dropped by the leader's tick after initLimit, which
   * releases them).
   */
  trim(pin: () => Zxid): void {
    const excessEntries = this.log.length - this.entriesMax;
    if (excessEntries <= 0 && this.logBytes <= this.bytesMax) return;
    const limit = pin();
    let drop = 0;
    let bytes = this.logBytes;
    while (drop < this.log.length && (drop < excessEntries || bytes > this.bytesMax)) {
      const entry = this.log[drop] as LogEntry;
      if (entry.zxid > limit) break;
      const size = logEntryBytes(entry);
      bytes -= size;
      drop++;
      this.trimmed.add(entry.zxid, size);
    }
    if (drop === 0) return;
    this.base = (this.log[drop - 1] as LogEntry).zxid;
    // Trimmed reconfigs are applied, so committed: the last of them is the base's configuration.
    while (this.reconfigs.length > 0 && (this.reconfigs[0] as ClusterConfig).version <= this.base) {
      this.baseConfig = this.reconfigs.shift() as ClusterConfig;
    }
    this.logBytes = bytes;
    this.log.splice(0, drop);
  }
}
