/**
 * `zabkit members list|add|remove|promote|demote`: the ensemble's membership through the client
 * API (getConfig, reconfig), as etcd's `etcdctl member` and ZooKeeper's `reconfig`. Every change
 * reads the configuration in force and asks for the whole new list from that version, so two
 * operators racing each other get BAD_VERSION instead of undoing each other's change.
 */
import type { EnsembleConfig, EnsembleMember, ZabClient } from '@zabkit/client';
import { memberEndpoint, ZabError } from '@zabkit/client';
import type { CommandFlags } from './args.js';
import { type CliIo, UsageError } from './cli-io.js';

const HOST_PORT = /^(\[[^\]]+\]|[^:[\]\s]+):(\d{1,5})$/;

function hostPort(flag: string, value: string | undefined, required: boolean): string | undefined {
  if (value === undefined) {
    if (required) throw new UsageError(`members add needs ${flag} HOST:PORT`);
    return undefined;
  }
  const match = HOST_PORT.exec(value);
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
    throw new UsageError(`${flag} needs HOST:PORT, got ${JSON.stringify(value)}`);
  }
  return value;
}

function memberId(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 255) {
    throw new UsageError(`a member id is a whole number from 1 to 255, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** newMember describes a member from `members add`'s options as the servers do (address, clientAddress, endpoints). */
export function newMember(id: number, flags: CommandFlags, admin: string | undefined): EnsembleMember {
  const peer = hostPort('--peer', flags.peer, true) as string;
  const client = hostPort('--client', flags.client, flags.secureClient === undefined);
  const secureClient = hostPort('--secure-client', flags.secureClient, false);
  const zookeeper = hostPort('--zookeeper', flags.zookeeper, false);
  const adminAddress = hostPort('--admin', admin, false);
  const peerPort = peer.slice(peer.lastIndexOf(':') + 1);
  return {
    id,
    role: flags.observer ? 'observer' : 'participant',
    address: `${peer}:${peerPort}`,
    clientAddress: zookeeper ?? '',
    endpoints: JSON.stringify({
      ...(client !== undefined && { client }),
      ...(secureClient !== undefined && { secureClient }),
      ...(adminAddress !== undefined && { admin: adminAddress }),
    }),
  };
}

/** changed is the member list `members <verb> ...` asks for, from the configuration in force. */
export function changedMembers(
  config: EnsembleConfig,
  verb: string,
  positionals: readonly string[],
  flags: CommandFlags,
  admin: string | undefined,
): EnsembleMember[] {
  const id = memberId(positionals[0]);
  const found = config.members.find((member) => member.id === id);
  switch (verb) {
    case 'add':
      if (found !== undefined) throw new UsageError(`member ${id} is already in the configuration (as ${found.role})`);
      return [...config.members, newMember(id, flags, admin)];
    case 'remove':
      if (found === undefined) throw new UsageError(`member ${id} is not in the configuration`);
      return config.members.filter((member) => member.id !== id);
    case 'promote':
    case 'demote': {
      if (found === undefined) throw new UsageError(`member ${id} is not in the configuration`);
      const role = verb === 'promote' ? 'participant' : 'observer';
      if (found.role === role)
        throw new UsageError(`member ${id} is already ${verb === 'promote' ? 'a voter' : 'an observer'}`);
      return config.members.map((member) => (member.id === id ? { ...member, role } : member));
    }
    default:
      throw new UsageError(`members ${verb}: one of list, add, remove, promote, demote`);
  }
}

/** membersTable prints a configuration for people. */
export function membersTable(config: EnsembleConfig): string {
  const rows = [...config.members]
    .sort((a, b) => a.id - b.id)
    .map((member) => {
      const at = (kind: 'client' | 'admin') => {
        const address = memberEndpoint(member, kind);
        return address === null ? '–' : `${address.host}:${address.port}`;
      };
      return [
        String(member.id),
        member.role === 'participant' ? 'voter' : 'observer',
        member.address || '–',
        at('client'),
        at('admin'),
        member.clientAddress || '–',
      ];
    });
  const header = ['id', 'role', 'peer', 'client', 'admin', 'zookeeper'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [`configuration version ${config.version.toString(16)}`, line(header), ...rows.map(line)].join('\n');
}

/** RETRY: how the CLI retries over a lost connection (an election after a change takes a few hundred ms). */
const RETRY = { attemptsMax: 20, elapsedMsMax: 20_000, delayMsBase: 100, delayMsMax: 1_000 };

/** sameList tells whether a configuration lists exactly `members` (ids and roles). */
function sameList(config: EnsembleConfig, members: readonly EnsembleMember[]): boolean {
  return (
    config.members.length === members.length &&
    members.every((member) => config.members.some((m) => m.id === member.id && m.role === member.role))
  );
}

/**
 * reconfigOnce asks for the change from `fromVersion`, retried over a lost connection: a retry of
 * a change that took effect fails BAD_VERSION (the version moved), and then the configuration in
 * force is the one asked for — that is success, not an error. A change to the leader itself often
 * loses its reply: the leader steps down as it commits.
 */
async function reconfigOnce(client: ZabClient, members: EnsembleMember[], fromVersion: number): Promise<number> {
  try {
    return await client.reconfig(members, { fromVersion, retry: RETRY });
  } catch (error) {
    if (!ZabError.isInstance(error) || error.code !== 'BAD_VERSION') throw error;
    const now = await client.getConfig({ retry: RETRY });
    if (now.version > fromVersion && sameList(now, members)) return now.version;
    throw error;
  }
}

/** runMembers runs `members VERB ...` with an open client. */
export async function runMembers(
  client: ZabClient,
  positionals: readonly string[],
  flags: CommandFlags,
  admin: string | undefined,
  io: CliIo,
  json: boolean,
): Promise<void> {
  const [verb = 'list', ...rest] = positionals;
  // Reads are retried over a lost connection (a change may start an election that closes it).
  const config = await client.getConfig({ retry: RETRY });
  if (verb === 'list') {
    io.out(json ? JSON.stringify({ ...config, versionHex: config.version.toString(16) }) : membersTable(config));
    return;
  }
  const members = changedMembers(config, verb, rest, flags, admin);
  const version = await reconfigOnce(client, members, config.version);
  const after = await client.getConfig({ retry: RETRY });
  io.out(
    json
      ? JSON.stringify({ version, versionHex: version.toString(16), members: after.members })
      : `members ${verb} ${rest[0]}: configuration version ${version.toString(16)}\n${membersTable(after)}`,
  );
}
