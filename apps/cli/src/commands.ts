import {
  type ACL,
  type ConnectOptions,
  type CreateModeName,
  connect,
  digestId,
  type ZabClient,
  ZabError,
} from '@zabkit/client';
import { aclText, parseAcl, permsText } from './acl.js';
import { type CliArgs, type CommandFlags, tlsOptions } from './args.js';
import { type CliIo, UsageError } from './cli-io.js';
import { dataHuman, dataJson, hex, statHuman } from './format.js';
import { runMembers } from './members.js';
import { adminEndpoints, memberStatuses, statusTable } from './status.js';

export { type CliIo, UsageError };

/** CommandContext is what a command runs with: an open client (the shell's, or one opened for the command) and a signal (^C). */
export interface CommandContext {
  client: ZabClient;
  io: CliIo;
  json: boolean;
  flags: CommandFlags;
  signal?: AbortSignal;
  /** admin: the first --admin endpoint (members add: the new member's admin address). */
  admin?: string | undefined;
}

function argument(positionals: readonly string[], index: number, what: string): string {
  const value = positionals[index];
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}

function createMode(flags: CommandFlags): CreateModeName {
  const { ephemeral, sequential, container, ttlMs } = flags;
  if (container && (ephemeral || sequential || ttlMs !== undefined)) throw new UsageError('--container goes alone');
  if (ttlMs !== undefined && ephemeral) throw new UsageError('--ttl is for persistent znodes, not with -e');
  if (container) return 'CONTAINER';
  if (ttlMs !== undefined) return sequential ? 'PERSISTENT_SEQUENTIAL_WITH_TTL' : 'PERSISTENT_WITH_TTL';
  if (ephemeral) return sequential ? 'EPHEMERAL_SEQUENTIAL' : 'EPHEMERAL';
  return sequential ? 'PERSISTENT_SEQUENTIAL' : 'PERSISTENT';
}

function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** subtree lists every path under `root` (root excluded), parents before children, in sorted order. */
async function subtree(client: ZabClient, root: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string) => {
    for (const name of await client.children(path, { signal })) {
      const child = joinPath(path, name);
      out.push(child);
      await walk(child);
    }
  };
  await walk(root);
  return out;
}

/** jsonAcl is an ACL for --json: each entry's scheme, id and perms as letters (and as bits). */
function jsonAcl(acl: readonly ACL[]) {
  return acl.map((entry) => ({
    scheme: entry.id.scheme,
    id: entry.id.id,
    perms: permsText(entry.perms),
    permsBits: entry.perms,
  }));
}

/** aclArgument parses an ACL argument; a bad one is a UsageError naming the entry. */
function aclArgument(text: string): ACL[] {
  try {
    return parseAcl(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * runDigest is `digest USER:PASSWORD`: the id a digest ACL names for that user (ZooKeeper's
 * `user:base64(sha1(user:password))`); it needs no connection. The password is not printed.
 */
export function runDigest(positionals: readonly string[], io: CliIo, json: boolean): void {
  const credentials = argument(positionals, 0, 'USER:PASSWORD');
  const colon = credentials.indexOf(':');
  if (colon <= 0) throw new UsageError('digest needs USER:PASSWORD');
  const id = digestId(credentials);
  io.out(json ? JSON.stringify({ user: credentials.slice(0, colon), id }) : id);
}

/** jsonStat is a Stat for --json: numbers as they are (zxids are safe integers), plus hex zxids for reading. */
function jsonStat(stat: import('@zabkit/client').Stat) {
  return { ...stat, czxidHex: hex(stat.czxid), mzxidHex: hex(stat.mzxid), pzxidHex: hex(stat.pzxid) };
}

/**
 * runClientCommand runs one znode command (ls, get, set, create, rm, stat, watch, getacl, setacl,
 * addauth, digest) with an open client; throws ZabError or UsageError. `addauth` authenticates the
 * client's session for the rest of its life (the client replays it after reconnects).
 */
export async function runClientCommand(
  command: string,
  positionals: readonly string[],
  context: CommandContext,
): Promise<void> {
  const { client, io, json, flags, signal } = context;
  const print = (value: unknown, human: string) => io.out(json ? JSON.stringify(value) : human);
  switch (command) {
    case 'ls': {
      const path = positionals[0] ?? '/';
      if (flags.recursive) {
        const paths = await subtree(client, path, signal);
        print({ path, paths }, paths.join('\n'));
        return;
      }
      const { children, stat } = await client.children(path, { stat: true, signal });
      if (json) print(flags.stat ? { path, children, stat: jsonStat(stat) } : { path, children }, '');
      else io.out(flags.stat ? [...children, '', statHuman(stat)].join('\n') : children.join('\n'));
      return;
    }
    case 'get': {
      const path = argument(positionals, 0, 'PATH');
      const { data, stat } = await client.get(path, { signal });
      if (json) print({ path, ...dataJson(data), ...(flags.stat ? { stat: jsonStat(stat) } : {}) }, '');
      else io.out(flags.stat ? `${dataHuman(data)}\n\n${statHuman(stat)}` : dataHuman(data));
      return;
    }
    case 'set': {
      const path = argument(positionals, 0, 'PATH');
      const data = argument(positionals, 1, 'DATA');
      const stat = await client.set(path, data, { version: flags.version ?? -1, signal });
      print({ path, stat: jsonStat(stat) }, `${path}: version ${stat.version}, mZxid ${hex(stat.mzxid)}`);
      return;
    }
    case 'create': {
      const path = argument(positionals, 0, 'PATH');
      const created = await client.create(path, positionals[1] ?? '', {
        mode: createMode(flags),
        ttlMs: flags.ttlMs,
        ...(flags.acl === undefined ? {} : { acl: flags.acl }),
        signal,
      });
      print({ path: created }, created);
      return;
    }
    case 'rm': {
      const path = argument(positionals, 0, 'PATH');
      const deleted: string[] = [];
      if (flags.recursive) {
        for (const child of (await subtree(client, path, signal)).reverse()) {
          await client.delete(child, { signal }).catch((error: unknown) => {
            if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
          });
          deleted.push(child);
        }
      }
      await client.delete(path, { version: flags.version ?? -1, signal });
      deleted.push(path);
      print({ deleted }, deleted.map((item) => `deleted ${item}`).join('\n'));
      return;
    }
    case 'stat': {
      const path = argument(positionals, 0, 'PATH');
      const stat = await client.exists(path, { signal });
      if (stat === null) throw new ZabError('NO_NODE', { op: 'stat', path });
      print({ path, stat: jsonStat(stat) }, statHuman(stat));
      return;
    }
    case 'watch': {
      const path = argument(positionals, 0, 'PATH');
      const stream = client.watch(path, { recursive: flags.recursive, signal });
      await stream.ready;
      if (!json) io.err(`watching ${path}${flags.recursive ? ' and its subtree' : ''}; ^C to stop`);
      let seen = 0;
      try {
        for await (const event of stream) {
          print({ ...event, zxidHex: hex(event.zxid) }, `${event.type} ${event.path} ${hex(event.zxid)}`);
          if (flags.count !== undefined && ++seen >= flags.count) break;
        }
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
      return;
    }
    case 'getacl': {
      const path = argument(positionals, 0, 'PATH');
      const { acl, stat } = await client.getACL(path, { signal });
      if (json) print({ path, acl: jsonAcl(acl), ...(flags.stat ? { stat: jsonStat(stat) } : {}) }, '');
      else {
        const lines = acl.map(aclText).join('\n');
        io.out(flags.stat ? `${lines}\n\n${statHuman(stat)}` : lines);
      }
      return;
    }
    case 'setacl': {
      const path = argument(positionals, 0, 'PATH');
      const acl = aclArgument(argument(positionals, 1, 'ACL'));
      const stat = await client.setACL(path, acl, { version: flags.version ?? -1, signal });
      print({ path, acl: jsonAcl(acl), stat: jsonStat(stat) }, `${path}: aclVersion ${stat.aversion}`);
      return;
    }
    case 'addauth': {
      const scheme = argument(positionals, 0, 'SCHEME');
      const credentials = argument(positionals, 1, 'CREDENTIALS');
      await client.addAuth(scheme, credentials, { signal });
      print({ scheme, added: true }, `added ${scheme} credentials for this session`);
      return;
    }
    case 'digest':
      runDigest(positionals, io, json);
      return;
    case 'members':
      await runMembers(client, positionals, flags, context.admin, io, json);
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** connectOptions are the client options of a command line: connect timeout, --tls-* files, --auth. */
export function connectOptions(args: CliArgs): ConnectOptions {
  const tls = tlsOptions(args.tls);
  return {
    connectTimeoutMs: args.timeoutMs,
    ...(tls === undefined ? {} : { tls }),
    ...(args.auth.length === 0 ? {} : { auth: args.auth }),
  };
}

/** printError reports a failure: a line on stderr, or a JSON object on stdout with --json (so scripts can parse it). */
export function printError(error: unknown, io: CliIo, json: boolean): void {
  if (json) {
    const body = ZabError.isInstance(error)
      ? { code: error.code, message: error.message, path: error.path, op: error.op }
      : {
          code: error instanceof UsageError ? 'USAGE' : 'ERROR',
          message: error instanceof Error ? error.message : String(error),
        };
    io.out(JSON.stringify({ error: body }));
  } else io.err(`zabkit: ${error instanceof Error ? error.message : String(error)}`);
}

/** exitCodeOf: 2 for usage errors, 1 for everything else. */
export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError || error instanceof TypeError ? 2 : 1;
}

/**
 * runCli runs one command line (not `shell`): `status` reads the admin endpoints, `digest`
 * computes, the znode commands open a session (authenticated with --auth), run, and close it. Returns the exit code: 0 done, 1 failed (the
 * ZabError code is printed), 2 usage.
 */
export async function runCli(args: CliArgs, io: CliIo, signal?: AbortSignal): Promise<number> {
  try {
    if (args.command === 'status') {
      const endpoints = args.admin.length > 0 ? args.admin : adminEndpoints(args.server);
      const rows = await memberStatuses(endpoints, args.timeoutMs);
      io.out(args.json ? JSON.stringify(rows) : statusTable(rows));
      return rows.some((row) => row.error === undefined) ? 0 : 1;
    }
    if (args.command === 'help' || args.command === 'shell')
      throw new UsageError(`${args.command} is not run by runCli`);
    if (args.command === 'digest') {
      runDigest(args.positionals, io, args.json);
      return 0;
    }
    if (args.command === 'addauth') {
      throw new UsageError(
        'addauth lasts as long as its session: on the command line use --auth SCHEME:CREDENTIALS, or run it in the shell',
      );
    }
    const client = await connect(args.server, { ...connectOptions(args), sessionTimeoutMs: 10_000, signal });
    try {
      await runClientCommand(args.command, args.positionals, {
        client,
        io,
        json: args.json,
        flags: args.flags,
        signal,
        admin: args.admin[0],
      });
    } finally {
      await client.close();
    }
    return 0;
  } catch (error) {
    printError(error, io, args.json);
    return exitCodeOf(error);
  }
}
