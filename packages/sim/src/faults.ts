import { SimClients } from './clients.js';

/**
 * SimFaults strikes the seed's fault mix (swarm testing: each seed draws its own, see world.ts):
 * breaks, partitions, crashes, pauses, and the episodes of episodes.ts; healAll ends them.
 */
export abstract class SimFaults extends SimClients {
  protected faultRate(): number {
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

  protected nextFaultDelay(): number {
    const rate = this.faultRate();
    if (rate === 0) return 1_000;
    return Math.max(1, Math.floor((-Math.log(1 - this.prng.next()) / rate) * 1_000));
  }

  /** nextOutsiderDelay: the outsider sends at random times, `outsiderPerSecond` on average (its own stream). */
  protected nextOutsiderDelay(): number {
    return Math.max(1, Math.floor((-Math.log(1 - this.outsiderRandom.next()) / this.faults.outsiderPerSecond) * 1_000));
  }

  /** startOutsider puts the outsider on the network, if the seed's mix has one; it sends until the run ends. */
  protected startOutsider(): void {
    if (this.faults.outsiderPerSecond > 0) this.queue.push(this.nextOutsiderDelay(), { kind: 'outsider' });
  }

  protected injectFault(): void {
    const f = this.faults;
    const total = this.faultRate();
    // While an episode runs, its check is about it alone.
    if (total === 0 || this.episodes.isActive()) return;
    let roll = this.prng.next() * total;
    const ids = this.servers.map((s) => s.id);
    const any = () => ids[this.prng.int(ids.length)] as number;
    const episodes = f.leaderPartitionPerSecond + f.longDownPerSecond;
    if (roll >= total - episodes) {
      // An episode's victim must stay a member until it serves again: none while a change is pending.
      if (this.options.membership && this.changePending()) return;
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

  /** changePending: some running member has logged a membership change it does not know committed. */
  protected changePending(): boolean {
    return this.servers.some((server) => {
      const status = server.peer?.status();
      return status !== undefined && status.role === 'leading' && !status.configCommitted;
    });
  }

  protected healAll(): void {
    this.faultsOn = false;
    this.episodes.stop();
    for (const client of this.clients) client.bulk = [];
    this.blocked.clear();
    this.log('heal: faults stop, partitions end, crashed servers restart');
    // Pauses run out on their own: ending one early would reorder the messages queued behind it.
    for (const server of this.servers) if (!server.peer && !server.dormant) this.start(server);
    this.noteHeal();
  }
}
