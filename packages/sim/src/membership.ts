import type { ClusterConfig, ClusterMember, LogEntry, Random, Zxid } from '@zabkit/core';
import { formatZxid, zxidEpoch } from '@zabkit/core';

/**
 * The simulator's own view of membership changes (issue 16), written from the rule in core's
 * README ("Membership changes"), not from core's code: which configurations a commit must be
 * durable on, which configuration the committed history says is in force, and the changes a seed
 * asks the leader for.
 */

/** MEMBERSHIP_INVARIANT: a version names one member list, and a removed member does not lead. */
export const MEMBERSHIP_INVARIANT = 'membership-agrees';

/** SimConfig is a configuration as the simulator tracks it: its version and voters and observers. */
export interface SimConfig {
  version: Zxid;
  voters: number[];
  observers: number[];
}

export function simConfigOf(config: ClusterConfig): SimConfig {
  return {
    version: config.version,
    voters: config.members.filter((m) => m.role === 'participant').map((m) => m.id),
    observers: config.members.filter((m) => m.role === 'observer').map((m) => m.id),
  };
}

function fromEntry(entry: LogEntry): SimConfig | null {
  if (entry.txn.type !== 'reconfig') return null;
  return simConfigOf({ version: entry.zxid, members: entry.txn.members });
}

/**
 * MembershipTimeline is the configuration history of the committed log (every member's committed
 * history is one prefix of another: committed-prefix), fed with each entry the first time any
 * member applies it. It answers which configuration was in force after a zxid.
 */
export class MembershipTimeline {
  /** committed: the static configuration, then each committed reconfig, in zxid order. */
  readonly committed: SimConfig[];
  /** versions: every configuration any member logged, by version: a version must name one member list. */
  private readonly versions = new Map<Zxid, string>();

  constructor(voters: readonly number[], observers: readonly number[]) {
    this.committed = [{ version: 0, voters: [...voters], observers: [...observers] }];
  }

  /** observeCommitted: an entry applied for the first time anywhere (in zxid order). */
  observeCommitted(entry: LogEntry): void {
    const config = fromEntry(entry);
    if (config !== null) this.committed.push(config);
  }

  /** latest is the last committed configuration. */
  latest(): SimConfig {
    return this.committed.at(-1) as SimConfig;
  }

  /** at is the committed configuration in force once `zxid` is applied. */
  at(zxid: Zxid): SimConfig {
    let config = this.committed[0] as SimConfig;
    for (const next of this.committed) if (next.version <= zxid) config = next;
    return config;
  }

  /**
   * noteLogged records a configuration a member holds; returns what is wrong if the same version
   * already named another member list (two leaders would then have made different changes at one zxid).
   */
  noteLogged(server: number, config: ClusterConfig): string | null {
    // Version 0 is each host's own static list (an operator starts a new member with the current one).
    if (config.version === 0) return null;
    const key = config.members
      .map((m) => `${m.id}:${m.role}`)
      .sort()
      .join(',');
    const known = this.versions.get(config.version);
    if (known === undefined) {
      this.versions.set(config.version, key);
      return null;
    }
    return known === key
      ? null
      : `server ${server} holds version ${formatZxid(config.version)} as [${key}], another member as [${known}]`;
  }

  /**
   * checkEstablished: a leader just established in `epoch` must hold every configuration committed
   * in an earlier epoch (its log has the last one), and must vote in the last committed one or in
   * a newer one it logged: a removed member never leads again (until a change adds it back).
   */
  checkEstablished(leader: number, epoch: number, config: ClusterConfig, role: string): string | null {
    let committed: SimConfig | null = null;
    for (const next of this.committed) if (zxidEpoch(next.version) < epoch) committed = next;
    if (committed !== null && config.version < committed.version) {
      return `leader ${leader} of epoch ${epoch} holds configuration ${formatZxid(config.version)}, older than ${formatZxid(committed.version)} committed before`;
    }
    const mine = simConfigOf(config);
    const latest = this.latest();
    const votes = mine.voters.includes(leader) || (mine.version > latest.version && latest.voters.includes(leader));
    if (role === 'leading' && !votes) {
      return `leader ${leader} of epoch ${epoch} leads though it is not a voter of configuration ${formatZxid(mine.version)} (${mine.voters.join(',')})`;
    }
    return null;
  }

  /**
   * requiredForCommit: when a leader moves its commit point from `from` to `to`, which zxids must be
   * durable on a majority of which configurations. `history` is the leader's log (the entries it
   * holds in memory). The rule (README "Membership changes"): a reconfig R is committed only once a
   * majority of the configuration before it and a majority of R's hold it; once R is committed,
   * R's configuration alone is in force. So each reconfig R in (from, to] must be held by both, and
   * `to` by the configuration of the last reconfig at or below it (or the committed one in force).
   */
  requiredForCommit(history: readonly LogEntry[], from: Zxid, to: Zxid): { zxid: Zxid; config: SimConfig }[] {
    const checks: { zxid: Zxid; config: SimConfig }[] = [];
    let last: SimConfig | null = null;
    for (const entry of history) {
      if (entry.zxid > to) break;
      const config = fromEntry(entry);
      if (config === null) continue;
      if (entry.zxid > from) {
        checks.push({ zxid: entry.zxid, config: last ?? this.at(entry.zxid - 1) });
        checks.push({ zxid: entry.zxid, config });
      }
      last = config;
    }
    checks.push({ zxid: to, config: last ?? this.at(to) });
    return checks;
  }
}

/** ReconfigDraw is a change a seed asks for, with a description for the trace. */
export interface ReconfigDraw {
  members: ClusterMember[];
  what: string;
  /** added: servers this change adds that are in no configuration now (the operator starts them first). */
  added: number[];
}

function member(id: number, role: ClusterMember['role']): ClusterMember {
  return { id, role, address: `sim-${id}:7888:7888`, clientAddress: `sim-${id}:7181`, endpoints: '' };
}

/**
 * drawReconfig draws a change from the configuration in force: add a spare (a server in no
 * configuration) as an observer, promote an observer, demote a voter, remove an observer, remove a
 * voter (the leader one time in three), or swap several at once (observers in, voters out: only
 * safe with both quorums). Voters stay within [votersMin, votersMax].
 */
export function drawReconfig(
  random: Random & { int(bound: number): number },
  current: SimConfig,
  serverIds: readonly number[],
  leader: number,
  votersMin: number,
  votersMax: number,
): ReconfigDraw | null {
  const spares = serverIds.filter((id) => !current.voters.includes(id) && !current.observers.includes(id));
  const voters = [...current.voters];
  const observers = [...current.observers];
  const pick = (ids: readonly number[]) => ids[random.int(ids.length)] as number;
  const build = (nextVoters: number[], nextObservers: number[], what: string): ReconfigDraw => ({
    members: [
      ...nextVoters.map((id) => member(id, 'participant')),
      ...nextObservers.map((id) => member(id, 'observer')),
    ],
    what,
    added: [...nextVoters, ...nextObservers].filter((id) => spares.includes(id)),
  });
  for (let attempt = 0; attempt < 6; attempt++) {
    switch (random.int(6)) {
      case 0:
        if (spares.length === 0) break;
        {
          const id = pick(spares);
          return build(voters, [...observers, id], `add ${id} as an observer`);
        }
      case 1:
        if (observers.length === 0 || voters.length >= votersMax) break;
        {
          const id = pick(observers);
          return build(
            [...voters, id],
            observers.filter((o) => o !== id),
            `promote observer ${id}`,
          );
        }
      case 2:
        if (voters.length <= votersMin) break;
        {
          const id = random.int(3) === 0 ? leader : pick(voters);
          if (!voters.includes(id)) break;
          return build(
            voters.filter((v) => v !== id),
            [...observers, id],
            `demote voter ${id}${id === leader ? ' (the leader)' : ''}`,
          );
        }
      case 3:
        if (observers.length === 0) break;
        {
          const id = pick(observers);
          return build(
            voters,
            observers.filter((o) => o !== id),
            `remove observer ${id}`,
          );
        }
      case 4:
        if (voters.length <= votersMin) break;
        {
          const id = random.int(3) === 0 ? leader : pick(voters);
          if (!voters.includes(id)) break;
          return build(
            voters.filter((v) => v !== id),
            observers,
            `remove voter ${id}${id === leader ? ' (the leader)' : ''}`,
          );
        }
      default: {
        // A swap: every observer in, as many voters out (the leader perhaps), in one change.
        if (observers.length === 0) break;
        const out = [...voters].sort(() => random.next() - 0.5).slice(0, Math.min(observers.length, voters.length - 1));
        const nextVoters = [...voters.filter((v) => !out.includes(v)), ...observers];
        if (nextVoters.length < votersMin || nextVoters.length > votersMax || out.length === 0) break;
        return build(nextVoters, out, `swap voters ${out.join(',')} for observers ${observers.join(',')}`);
      }
    }
  }
  return null;
}
