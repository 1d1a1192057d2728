/**
 * The ensemble's membership as a client sees it (issue 16): zabkit's `/zookeeper/members` read
 * and parsed (getConfig), the member list turned into the addresses a client connects to, and the
 * tracker that keeps a client's server list on the members in force (ConnectOptions.followEnsemble,
 * Curator's EnsembleTracker).
 */
import type { ClusterMember, Zxid } from '@zabkit/core';
import type { ServerAddress } from './connect-string.js';
import { ZabError } from './errors.js';
import type { ClientLogger } from './types.js';

/** MEMBERS_PATH: zabkit's system node with every member's strings (`/zookeeper/config` leaves out the native ports). */
export const MEMBERS_PATH = '/zookeeper/members';

/** EnsembleMember is one member of a configuration (core's ClusterMember). */
export type EnsembleMember = ClusterMember;

/** EnsembleConfig is a configuration: its version (the reconfig's zxid, 0 for the one the ensemble started with) and members. */
export interface EnsembleConfig {
  version: Zxid;
  members: EnsembleMember[];
}

/** parseEnsembleConfig reads `/zookeeper/members` (JSON written by the server); MARSHALLING_ERROR when it is not that. */
export function parseEnsembleConfig(data: Uint8Array): EnsembleConfig {
  const fail = (why: string) =>
    new ZabError('MARSHALLING_ERROR', { message: `${MEMBERS_PATH} is not a member list: ${why}`, path: MEMBERS_PATH });
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch (error) {
    throw fail(String(error));
  }
  if (typeof parsed !== 'object' || parsed === null) throw fail('not an object');
  const { version, members } = parsed as { version?: unknown; members?: unknown };
  if (typeof version !== 'string' || !/^[0-9a-f]{1,14}$/.test(version)) throw fail('bad version');
  if (!Array.isArray(members)) throw fail('no members');
  const out: EnsembleMember[] = [];
  for (const member of members as unknown[]) {
    const m = member as Record<string, unknown>;
    if (
      typeof m !== 'object' ||
      m === null ||
      !Number.isInteger(m.id) ||
      (m.role !== 'participant' && m.role !== 'observer') ||
      typeof m.address !== 'string' ||
      typeof m.clientAddress !== 'string' ||
      typeof m.endpoints !== 'string'
    ) {
      throw fail(`bad member ${JSON.stringify(member)}`);
    }
    out.push({
      id: m.id as number,
      role: m.role,
      address: m.address,
      clientAddress: m.clientAddress,
      endpoints: m.endpoints,
    });
  }
  return { version: Number.parseInt(version, 16), members: out };
}

/** memberEndpoint reads one of a member's native addresses (`client`, `secureClient`, `admin`) from its endpoints. */
export function memberEndpoint(
  member: EnsembleMember,
  kind: 'client' | 'secureClient' | 'admin',
): ServerAddress | null {
  let value: unknown;
  try {
    value = (JSON.parse(member.endpoints || '{}') as Record<string, unknown>)[kind];
  } catch {
    return null;
  }
  if (typeof value !== 'string') return null;
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  if (match === null) return null;
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}

/** clientServersOf lists the addresses a client connects to in `config`: each member's client (or TLS client) port. */
export function clientServersOf(config: EnsembleConfig, tls: boolean): ServerAddress[] {
  const servers: ServerAddress[] = [];
  for (const member of config.members) {
    const address = memberEndpoint(member, tls ? 'secureClient' : 'client');
    if (address !== null) servers.push(address);
  }
  return servers;
}

/** EnsembleTrackerHost is what the tracker needs of the client. */
export interface EnsembleTrackerHost {
  /** read reads the member list and sets a one-shot data watch that calls `changed`. */
  read(changed: () => void): Promise<EnsembleConfig>;
  /** update replaces the server list. */
  update(servers: ServerAddress[]): void;
  tls: boolean;
  logger: ClientLogger;
}

/**
 * EnsembleTracker keeps a client's server list on the members in force: on every (re)connect and
 * whenever the member list changes (a watch), it reads it and, once the membership was changed
 * (version > 0: the list the ensemble started with may be a subset on purpose), replaces the
 * server list with the members' client addresses. A failed read is retried at the next connect.
 */
export class EnsembleTracker {
  private version = -1;
  private reading = false;
  private again = false;
  private stopped = false;
  private readonly changed = () => this.refresh();

  constructor(private readonly host: EnsembleTrackerHost) {}

  /** refresh reads the member list now (once at a time; a call during a read reads again after it). */
  refresh(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    this.host
      .read(this.changed)
      .then((config) => {
        if (config.version === 0 || config.version <= this.version) return;
        const servers = clientServersOf(config, this.host.tls);
        if (servers.length === 0) return;
        this.version = config.version;
        this.host.logger.info(
          { version: config.version.toString(16), servers: servers.map((s) => `${s.host}:${s.port}`) },
          'the ensemble changed: following its members',
        );
        this.host.update(servers);
      })
      .catch((error: unknown) => {
        this.host.logger.debug({ error: String(error) }, 'could not read the member list');
      })
      .finally(() => {
        this.reading = false;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  stop(): void {
    this.stopped = true;
  }
}
