import { type Limits, quorumSize, type Zxid } from '@zabkit/core';
import type { SimRandom } from './workload.js';

/**
 * EpisodeHost is what an episode needs of the simulation: the clock, the members, the fault
 * actions and a bulk writer. Episodes are scripted faults with a check at their end, drawn in the
 * safety phase like the random ones; while one runs, no random fault strikes, so its check is
 * about it alone.
 */
export interface EpisodeHost {
  readonly random: SimRandom;
  readonly limits: Limits;
  readonly historyEntriesMax: number;
  readonly voterIds: readonly number[];
  readonly memberIds: readonly number[];
  now(): number;
  /** at runs `action` after `delayMs` of virtual time. */
  at(delayMs: number, action: () => void): void;
  /** quiet: no fault in force (no partition, every member up, none paused). */
  quiet(): boolean;
  leaderId(): number | null;
  isServing(id: number): boolean;
  lastApplied(id: number): Zxid;
  isolate(id: number): void;
  healNetwork(): void;
  crash(id: number): void;
  restart(id: number, wipe: boolean): void;
  /** pause stops a member's process for `ms` (GC, SIGSTOP): it takes nothing in meanwhile. */
  pause(id: number, ms: number): void;
  /** bulkLoad has a connected client (not through `avoid`) write `count` fresh znodes of `valueBytes`; null if no client can. */
  bulkLoad(avoid: number, count: number, valueBytes: number): { done(): boolean; cancel(): void } | null;
  /** livenessBoundMs: the bound a recovery must meet after a heal (see liveness.ts). */
  livenessBoundMs(): number;
  log(line: string): void;
  violation(invariant: string, detail: string): never;
}

/** EpisodeStats count what the episodes of a run did, for reports. */
export interface EpisodeStats {
  leaderPartitions: number;
  longDowns: number;
  wipes: number;
  /** stalls: long-down episodes in which the member was paused, not killed. */
  stalls: number;
}

/**
 * Episodes runs the two scripted faults of issue 12:
 *
 * - **leader partition**: the established leader is cut off for about as long as it takes the
 *   others to elect a new one (0.1 to 1.5 s), then the partition heals. Clients on the old leader
 *   keep sending writes meanwhile, so it comes back ahead, with proposals nobody else logged.
 *   After the heal the ordinary liveness watch must see a leader serving within the bound.
 * - **long-down member**: a follower or observer is killed, a bulk load commits well past what
 *   the leader keeps for DIFF (historyEntriesMax, historyBytesMax) or just under it, then the
 *   member comes back, sometimes with an empty disk (a replaced machine): it needs a big DIFF or
 *   a SNAP of a big tree. Or it is stalled instead (a process paused for seconds): it takes
 *   nothing in, so what the leader sends it piles up until the connection's send queue is full
 *   and breaks. Either way it must be serving and caught up within the liveness bound of its
 *   return.
 */
export class Episodes {
  private active = false;
  /** token ends the scheduled steps of an episode that was cut short (the safety phase ended). */
  private token = 0;
  private cancelLoad: (() => void) | null = null;
  readonly stats: EpisodeStats = { leaderPartitions: 0, longDowns: 0, wipes: 0, stalls: 0 };

  constructor(
    private readonly host: EpisodeHost,
    private readonly wipeRate: number,
  ) {}

  /** isActive: an episode is running; random faults hold off. */
  isActive(): boolean {
    return this.active;
  }

  /** stop abandons the running episode (the safety phase is over; the final heal takes over). */
  stop(): void {
    this.token++;
    this.active = false;
    this.cancelLoad?.();
    this.cancelLoad = null;
  }

  /** leaderPartition starts a leader partition, if the ensemble is quiet and has a leader. */
  leaderPartition(): void {
    const host = this.host;
    if (this.active || !host.quiet()) return;
    const leader = host.leaderId();
    if (leader === null) return;
    this.begin();
    const token = this.token;
    const partitionMs = 100 + host.random.int(1_400);
    this.stats.leaderPartitions++;
    host.log(`episode: isolate leader ${leader} for ${partitionMs} ms`);
    host.isolate(leader);
    host.at(partitionMs, () => {
      if (token !== this.token) return;
      host.log(`episode: leader partition of ${leader} heals`);
      host.healNetwork();
      // The heal arms the liveness watch; hold other faults off until its bound has passed.
      host.at(host.livenessBoundMs() + SETTLE_MS, () => {
        if (token === this.token) this.active = false;
      });
    });
  }

  /** longDown starts a long-down member episode, if the ensemble is quiet and a member can go. */
  longDown(): void {
    const host = this.host;
    if (this.active || !host.quiet()) return;
    const leader = host.leaderId();
    if (leader === null) return;
    // Any member but the leader goes, one still synchronizing included (stalled past initLimit,
    // the leader drops its connection: the scenario 'a learner the leader gives up on learns it at
    // once'); a voter only if the others still make a quorum.
    const votersLeft = host.voterIds.length - 1;
    const candidates = host.memberIds.filter(
      (id) => id !== leader && (!host.voterIds.includes(id) || votersLeft >= quorumSize(host.voterIds.length)),
    );
    if (candidates.length === 0) return;
    const victim = candidates[host.random.int(candidates.length)] as number;
    const limits = host.limits;
    // Value sizes from a few bytes to near dataBytesMax; how far behind: under the history kept for
    // DIFF (a big DIFF), or past it by entries or bytes (a SNAP of a big tree).
    const valueBytes = [16, 1024, 6 * 1024, 20 * 1024, limits.dataBytesMax - 1024][host.random.int(5)] as number;
    const behind = [0.5, 1.5, 3][host.random.int(3)] as number;
    const kept = Math.min(host.historyEntriesMax, Math.floor(limits.historyBytesMax / (valueBytes + 100)));
    const count = Math.max(1, Math.ceil(behind * kept));
    const stallMs = host.random.int(4) === 0 ? 2_000 + host.random.int(3_000) : 0;
    this.begin();
    const token = this.token;
    host.log(
      `episode: ${victim} ${stallMs > 0 ? `stalls for ${stallMs} ms` : 'goes down'} while ${count} writes of ${valueBytes} bytes commit`,
    );
    if (stallMs > 0) {
      this.stats.stalls++;
      host.pause(victim, stallMs);
    } else host.crash(victim);
    const load = host.bulkLoad(victim, count, valueBytes);
    if (!load) {
      host.log('episode: no client to load with; the member comes back at once');
    }
    this.cancelLoad = load ? () => load.cancel() : null;
    this.stats.longDowns++;
    const started = host.now();
    const comeBack = () => {
      if (token !== this.token) return;
      // A stalled member resumes when its pause is over; one that went down stays down until the
      // load is in (or long enough: a slow seed still brings it back).
      const waiting = stallMs > 0 ? host.now() < started + stallMs : load && !load.done();
      if (waiting && host.now() - started < LOAD_MS_MAX) {
        host.at(50, comeBack);
        return;
      }
      // An empty disk loses what the member promised: only when every other voter is serving and
      // caught up with the leader, so no quorum can form that lacks a committed write.
      const leaderNow = host.leaderId();
      const target = leaderNow === null ? 0 : host.lastApplied(leaderNow);
      const othersCaughtUp = host.voterIds.every(
        (id) => id === victim || (host.isServing(id) && host.lastApplied(id) >= target),
      );
      const wipe =
        stallMs === 0 && host.random.next() < this.wipeRate && (!host.voterIds.includes(victim) || othersCaughtUp);
      if (wipe) this.stats.wipes++;
      host.log(`episode: ${victim} comes back${wipe ? ' with an empty disk' : ''}, leader at ${target}`);
      if (stallMs === 0) host.restart(victim, wipe);
      const restartedAt = host.now();
      const bound = host.livenessBoundMs();
      const check = () => {
        if (token !== this.token) return;
        const leaderId = host.leaderId();
        if (
          leaderId !== null &&
          host.isServing(victim) &&
          host.lastApplied(victim) >= Math.min(target, host.lastApplied(leaderId))
        ) {
          host.log(`episode: ${victim} serves again after ${host.now() - restartedAt} ms`);
          this.active = false;
          this.cancelLoad = null;
          return;
        }
        if (host.now() - restartedAt > bound) {
          host.violation(
            'liveness',
            `member ${victim}, back${wipe ? ' with an empty disk' : ''} after missing ${count} writes of ${valueBytes} bytes, was not serving and caught up within ${bound} ms`,
          );
        }
        host.at(SIM_POLL_MS, check);
      };
      host.at(SIM_POLL_MS, check);
    };
    host.at(50, comeBack);
  }

  private begin(): void {
    this.token++;
    this.active = true;
  }
}

/** LOAD_MS_MAX: a long-down member comes back after this even if its bulk load is not done. */
const LOAD_MS_MAX = 8_000;
/** SETTLE_MS: after a leader partition's bound has passed, a little longer before faults resume. */
const SETTLE_MS = 100;
const SIM_POLL_MS = 10;
