/**
 * Membership as the server sees it (issue 16): how a member of the replicated configuration is
 * described (ClusterMember's opaque strings) and how the peer mesh finds the members core asks
 * it to talk to (Ready.peers).
 *
 * A configuration member carries three strings, all written by a server and read back by servers,
 * clients and the CLI:
 *  - `address`: `host:peerPort:peerPort`, ZooKeeper's `host:quorumPort:electionPort` (zabkit has
 *    one peer port for both), so `/zookeeper/config` parses as ZooKeeper's;
 *  - `clientAddress`: `host:zookeeperPort`, the port ZooKeeper's own clients use (Curator's ensemble
 *    tracker follows it), or empty for a member without one;
 *  - `endpoints`: JSON `{"client":"host:port","secureClient":…,"admin":"host:port"}`, the native ports
 *    zabkit's client and CLI follow. Not shown in `/zookeeper/config`.
 * The static configuration (version 0) carries none of them (core's staticConfig): the JSON member
 * list fills them in, so the same description is used before and after a change.
 */
import type { ClusterConfig, ClusterMember } from '@zabkit/core';
import type { PeerAddress } from '@zabkit/transport-tcp';
import type { MemberConfig, ServerConfig } from './config.js';

/** MemberEndpoints: a member's native ports, as `endpoints` carries them. */
export interface MemberEndpoints {
  client?: string;
  secureClient?: string;
  admin?: string;
}

/** joinHostPort writes `host:port`, bracketing an IPv6 address. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * splitHostPort reads `host:port[:more]` (IPv6 bracketed): the host and the first port, or null
 * for anything else.
 */
export function splitHostPort(text: string): { host: string; port: number } | null {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})(?::\d{1,5})*$/.exec(text);
  if (match === null) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return null;
  const host = (match[1] as string).replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** clusterMemberOf describes a JSON member as a configuration member. */
export function clusterMemberOf(member: MemberConfig, clientHost: string | undefined): ClusterMember {
  const host = clientHost ?? member.host;
  const endpoints: MemberEndpoints = {
    ...(member.clientPort !== undefined && { client: joinHostPort(host, member.clientPort) }),
    ...(member.secureClientPort !== undefined && { secureClient: joinHostPort(host, member.secureClientPort) }),
    admin: joinHostPort(member.host, member.adminPort),
  };
  return {
    id: member.id,
    role: member.role === 'observer' ? 'observer' : 'participant',
    address: `${joinHostPort(member.host, member.peerPort)}:${member.peerPort}`,
    clientAddress: member.zookeeperPort === undefined ? '' : joinHostPort(host, member.zookeeperPort),
    endpoints: JSON.stringify(endpoints),
  };
}

/** endpointsOf reads a member's `endpoints` (empty for a malformed or missing one). */
export function endpointsOf(member: ClusterMember): MemberEndpoints {
  if (member.endpoints === '') return {};
  try {
    const parsed: unknown = JSON.parse(member.endpoints);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const out: MemberEndpoints = {};
    for (const key of ['client', 'secureClient', 'admin'] as const) {
      const value = (parsed as Record<string, unknown>)[key];
      if (typeof value === 'string' && splitHostPort(value) !== null) out[key] = value;
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * MembershipView resolves configuration members for the host: a member of a replicated
 * configuration by the strings it carries, one of the static configuration by the JSON list.
 */
export class MembershipView {
  private readonly fromJson: Map<number, ClusterMember>;

  constructor(config: ServerConfig) {
    this.fromJson = new Map(config.members.map((member) => [member.id, clusterMemberOf(member, config.clientHost)]));
  }

  /** describe fills in the strings of a static member (version 0 carries none) from the JSON list. */
  describe(member: ClusterMember): ClusterMember {
    if (member.address !== '') return member;
    const known = this.fromJson.get(member.id);
    return known === undefined ? member : { ...known, role: member.role };
  }

  /** describeConfig is `config` with every member described. */
  describeConfig(config: ClusterConfig): ClusterConfig {
    return { version: config.version, members: config.members.map((member) => this.describe(member)) };
  }

  /**
   * peerAddresses are where to reach `ids` (Ready.peers): by the newest configuration in force
   * that names each, else the JSON list. A member with no readable address is left out (and said so).
   */
  peerAddresses(
    ids: readonly number[],
    configs: readonly ClusterConfig[],
  ): { peers: PeerAddress[]; unknown: number[] } {
    const peers: PeerAddress[] = [];
    const unknown: number[] = [];
    for (const id of ids) {
      let member: ClusterMember | undefined;
      for (const config of configs) {
        const found = config.members.find((m) => m.id === id);
        if (found !== undefined && found.address !== '') member = found;
      }
      member ??= this.fromJson.get(id);
      const address = member === undefined ? null : splitHostPort(member.address);
      if (address === null) unknown.push(id);
      else peers.push({ id, ...address });
    }
    return { peers, unknown };
  }
}

/** StatusMember is one member as GET /status lists it. */
export interface StatusMember {
  id: number;
  host: string;
  role: 'voter' | 'observer';
  clientPort: number | undefined;
  secureClientPort: number | undefined;
  adminPort: number | undefined;
  connected: boolean;
  lastContactMs: number | null;
  /**
   * protocolVersion: for a peer, the peer protocol version negotiated on the connection to it
   * (null while not connected); for this member, its own newest version.
   */
  protocolVersion: number | null;
}

/** statusMembers lists a (described) configuration's members for GET /status. */
export function statusMembers(
  config: ClusterConfig,
  contact: (id: number) => { connected: boolean; lastContactMs: number | null; protocolVersion: number | null },
): StatusMember[] {
  return [...config.members]
    .sort((a, b) => a.id - b.id)
    .map((member) => {
      const endpoints = endpointsOf(member);
      return {
        id: member.id,
        host: splitHostPort(member.address)?.host ?? '',
        role: member.role === 'observer' ? 'observer' : 'voter',
        clientPort: endpoints.client === undefined ? undefined : splitHostPort(endpoints.client)?.port,
        secureClientPort:
          endpoints.secureClient === undefined ? undefined : splitHostPort(endpoints.secureClient)?.port,
        adminPort: endpoints.admin === undefined ? undefined : splitHostPort(endpoints.admin)?.port,
        ...contact(member.id),
      };
    });
}

/** initialMembers: the JSON members of the configuration the ensemble starts with (a joining member is not one yet). */
export function initialMembers(config: ServerConfig): MemberConfig[] {
  return config.members.filter((member) => !(config.joining && member.id === config.id));
}

/** MEMBERSHIP_PEER_PROTOCOL_VERSION: the first peer protocol version that carries membership changes (codec's peer-protocol.ts). */
export const MEMBERSHIP_PEER_PROTOCOL_VERSION = 4;

/**
 * reconfigRefusal is the server's veto on a membership change (core's PeerConfig.reconfigRefusal):
 * a member it is connected to at a peer protocol version without membership changes (a member of
 * an older release) could not read the change, so the change waits until every connected member
 * speaks version 4. A member that is down is not asked: replacing a dead member is what changes
 * are for (start it again on the new release).
 */
export function reconfigRefusal(
  connected: Iterable<number>,
  versionOf: (id: number) => number | undefined,
): string | null {
  const older = [...connected]
    .filter((id) => (versionOf(id) ?? MEMBERSHIP_PEER_PROTOCOL_VERSION) < MEMBERSHIP_PEER_PROTOCOL_VERSION)
    .sort((a, b) => a - b);
  if (older.length === 0) return null;
  return `member${older.length === 1 ? '' : 's'} ${older.join(', ')} speak${older.length === 1 ? 's' : ''} a peer protocol without membership changes (version 3): upgrade ${older.length === 1 ? 'it' : 'them'} first`;
}
