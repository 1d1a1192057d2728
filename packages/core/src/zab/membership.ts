/**
 * Membership: the ensemble's configuration as replicated data, and the quorum rule over it.
 *
 * zabkit follows ZooKeeper's reconfig (Shraer et al., USENIX ATC 2012), not Raft's single-member
 * changes (see README "Membership changes" for the whole argument):
 *  - a configuration is a member list with a version, the zxid of the `reconfig` transaction that
 *    made it; it lives in the log and in every snapshot (a `config` record), so a restarted member
 *    rebuilds it from its disk;
 *  - each member's log gives the configurations in force: the last one committed, plus the last one
 *    logged ("seen") when that is newer (history.ts `configs`). A quorum must hold a majority of the
 *    voters of EVERY configuration in force ({@link isJointQuorum}): elections, discovery,
 *    synchronization, commit, barriers and the leader's heartbeat check all count this way;
 *  - one change at a time: a leader never proposes a reconfig while one is uncommitted in its log,
 *    so at most two configurations are in force and every reconfig but the last in a log is committed;
 *  - the new configuration alone is in force once its reconfig commits (never when it is only
 *    logged, or on the leader's own ack); a leader that is no longer a voter then steps down.
 */

import { SnapshotImage } from '../tree/snapshot-image.js';
import type { ClusterConfig, ClusterMember, SnapshotConfigRecord, SnapshotRecord } from '../types.js';
import type { Zxid } from '../zxid.js';
import type { ReplicatedMachine } from './machine.js';
import { quorumAckedZxid, quorumSize } from './quorum.js';

/** staticConfig is the version-0 configuration a member starts from (its PeerConfig lists). */
export function staticConfig(voters: readonly number[], observers: readonly number[]): ClusterConfig {
  return {
    version: 0,
    members: [
      ...voters.map((id) => ({ id, role: 'participant' as const, address: '', clientAddress: '', endpoints: '' })),
      ...observers.map((id) => ({ id, role: 'observer' as const, address: '', clientAddress: '', endpoints: '' })),
    ],
  };
}

/** Roles: a configuration's voters and members, computed once per configuration (they are asked per message). */
interface Roles {
  voters: readonly number[];
  voterSet: ReadonlySet<number>;
  memberSet: ReadonlySet<number>;
}
const rolesCache = new WeakMap<ClusterConfig, Roles>();

function rolesOf(config: ClusterConfig): Roles {
  let roles = rolesCache.get(config);
  if (roles === undefined) {
    const voters = config.members.filter((member) => member.role === 'participant').map((member) => member.id);
    roles = { voters, voterSet: new Set(voters), memberSet: new Set(config.members.map((member) => member.id)) };
    rolesCache.set(config, roles);
  }
  return roles;
}

/** votersOf lists a configuration's participants. */
export function votersOf(config: ClusterConfig): number[] {
  return [...rolesOf(config).voters];
}

/** observersOf lists a configuration's observers. */
export function observersOf(config: ClusterConfig): number[] {
  return config.members.filter((member) => member.role === 'observer').map((member) => member.id);
}

/** isVoterIn tells whether `id` is a participant of `config`. */
export function isVoterIn(config: ClusterConfig, id: number): boolean {
  return rolesOf(config).voterSet.has(id);
}

/** isMemberIn tells whether `id` is in `config` at all. */
export function isMemberIn(config: ClusterConfig, id: number): boolean {
  return rolesOf(config).memberSet.has(id);
}

/**
 * isJointQuorum tells whether the servers in `ids` hold a majority of the voters of every
 * configuration in `configs` (non-voters in `ids` are ignored). With one configuration it is the
 * plain majority rule; with two (a change pending) it is ZooKeeper's rule for a reconfig and for
 * everything proposed after it until it commits.
 */
export function isJointQuorum(ids: ReadonlySet<number>, configs: readonly ClusterConfig[]): boolean {
  for (const config of configs) {
    const { voters } = rolesOf(config);
    let count = 0;
    for (const id of voters) if (ids.has(id)) count++;
    if (count < quorumSize(voters.length)) return false;
  }
  return configs.length > 0;
}

/**
 * jointQuorumAckedZxid is the highest zxid durably logged by a majority of the voters of every
 * configuration in `configs`, from the last zxid each server acknowledged (voters not heard are
 * absent), or null when some configuration has no quorum among them.
 */
export function jointQuorumAckedZxid(acked: ReadonlyMap<number, Zxid>, configs: readonly ClusterConfig[]): Zxid | null {
  let lowest: Zxid | null = null;
  for (const config of configs) {
    const { voters } = rolesOf(config);
    const values: Zxid[] = [];
    for (const id of voters) {
      const zxid = acked.get(id);
      if (zxid !== undefined) values.push(zxid);
    }
    const candidate = quorumAckedZxid(values, voters.length);
    if (candidate === null) return null;
    if (lowest === null || candidate < lowest) lowest = candidate;
  }
  return lowest;
}

/** membersOf is every server named by any of `configs`, sorted: the peers a member talks to. */
export function membersOf(configs: readonly ClusterConfig[]): number[] {
  const ids = new Set<number>();
  for (const config of configs) for (const member of config.members) ids.add(member.id);
  return [...ids].sort((a, b) => a - b);
}

/** ReconfigErrorCode: why a leader refused a membership change. */
export type ReconfigErrorCode =
  /** this member is not an established leader (ask the leader). */
  | 'NOT_LEADER'
  /** another change is proposed and not yet committed (ZooKeeper's ReconfigInProgress). */
  | 'RECONFIG_IN_PROGRESS'
  /** `fromVersion` is not the version in force (ZooKeeper's BadVersion on fromConfig). */
  | 'BAD_VERSION'
  /** the member list is malformed (ids, roles, duplicates) or has no voter. */
  | 'BAD_ARGUMENTS'
  /** a quorum of the new voters is not connected and synced with the leader (ZooKeeper's NewConfigNoQuorum). */
  | 'NEW_CONFIG_NO_QUORUM'
  /** the host refuses membership changes now (e.g. a member's release cannot read them; ZooKeeper's ReconfigDisabled). */
  | 'RECONFIG_DISABLED';

/** ReconfigError is a refused membership change, with a stable code. */
export class ReconfigError extends Error {
  override readonly name = 'ReconfigError';
  constructor(
    readonly code: ReconfigErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** ReconfigChange asks for a new member list, valid only if `fromVersion` is the version in force (-1: any). */
export interface ReconfigChange {
  members: readonly ClusterMember[];
  fromVersion: Zxid;
}

/** checkMembers returns what is wrong with a proposed member list, or null. */
export function checkMembers(members: readonly ClusterMember[]): string | null {
  const seen = new Set<number>();
  let voters = 0;
  for (const member of members) {
    if (!Number.isSafeInteger(member.id) || member.id < 1 || member.id > 0x7fff_ffff)
      return `bad server id ${member.id}`;
    if (seen.has(member.id)) return `server ${member.id} listed twice`;
    seen.add(member.id);
    if (member.role !== 'participant' && member.role !== 'observer') return `bad role for server ${member.id}`;
    if (
      typeof member.address !== 'string' ||
      typeof member.clientAddress !== 'string' ||
      typeof member.endpoints !== 'string'
    ) {
      return `bad address for server ${member.id}`;
    }
    if (member.role === 'participant') voters++;
  }
  if (voters === 0) return 'no voter left: the ensemble would have no quorum';
  return null;
}

/** sameMembers tells whether two configurations list the same servers in the same roles. */
export function sameMembers(a: ClusterConfig, b: ClusterConfig): boolean {
  if (a.members.length !== b.members.length) return false;
  return a.members.every((member) => b.members.some((other) => other.id === member.id && other.role === member.role));
}

/**
 * configText is a configuration in ZooKeeper's dynamic-config format, as `/zookeeper/config` shows
 * it: `server.<id>=<address>:<role>[;<clientAddress>]` per member, then `version=<hex zxid>`.
 */
export function configText(config: ClusterConfig): string {
  const lines = [...config.members]
    .sort((a, b) => a.id - b.id)
    .map(
      (member) =>
        `server.${member.id}=${member.address}:${member.role}${member.clientAddress === '' ? '' : `;${member.clientAddress}`}`,
    );
  return [...lines, `version=${config.version.toString(16)}`].join('\n');
}

/**
 * membersJson is a configuration as zabkit's `/zookeeper/members` shows it: JSON
 * `{"version":"<hex zxid>","members":[{id, role, address, clientAddress, endpoints}]}`, every
 * string the host gave each member (`endpoints` included, which `/zookeeper/config` leaves out).
 */
export function membersJson(config: ClusterConfig): string {
  const members = [...config.members]
    .sort((a, b) => a.id - b.id)
    .map(({ id, role, address, clientAddress, endpoints }) => ({ id, role, address, clientAddress, endpoints }));
  // ASCII only (non-ASCII escaped as JSON allows): core has no TextEncoder, and the bytes are the same in any reader.
  return JSON.stringify({ version: config.version.toString(16), members }).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * restoreMachine restores `machine` from a snapshot's records and returns the configuration the
 * snapshot carries (its `config` record), or `fallback` for a snapshot without one (written before
 * reconfig existed: the static configuration was in force). The records are read once.
 * `entriesToReplay` is how many log entries will be applied on top (a size hint).
 */
export function restoreMachine(
  machine: ReplicatedMachine,
  zxid: Zxid,
  records: Iterable<SnapshotRecord> & { readonly length?: number },
  fallback: ClusterConfig,
  entriesToReplay = 0,
): ClusterConfig {
  // Sized for the records and the log entries replayed next (creates, at most), so neither grows the tree.
  const recordsHint = (records.length ?? 0) + entriesToReplay;
  if (SnapshotImage.isInstance(records)) {
    // Handed over whole, so the tree adopts it rather than copying it record by record.
    const config = records.config();
    machine.restore(zxid, records, recordsHint);
    return config === null ? fallback : { version: config.version, members: config.members };
  }
  let found: ClusterConfig | null = null;
  function* tap(): Generator<SnapshotRecord> {
    for (const record of records) {
      if (record.kind === 'config') found = { version: record.version, members: record.members };
      yield record;
    }
  }
  machine.restore(zxid, tap(), recordsHint);
  return found ?? fallback;
}

/** configRecord is the snapshot record that carries `config`. */
export function configRecord(config: ClusterConfig): SnapshotConfigRecord {
  return { kind: 'config', version: config.version, members: [...config.members] };
}

/**
 * withConfigRecord puts the configuration's record before a machine's snapshot records (Zab owns
 * it). The static configuration (version 0) gets none: such a snapshot is what members wrote before
 * reconfig existed, so an ensemble that never changes its membership writes and sends exactly what
 * it did, and an older member can still read it.
 */
export function* withConfigRecord(config: ClusterConfig, records: Iterable<SnapshotRecord>): Generator<SnapshotRecord> {
  if (config.version > 0) yield configRecord(config);
  for (const record of records) if (record.kind !== 'config') yield record;
}
