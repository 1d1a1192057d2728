import { readFileSync } from 'node:fs';
import type { ACL, AuthInfo, TlsClientOptions } from '@zabkit/client';
import { parseAcl, parseAuth } from './acl.js';

/** CliCommand is one of the commands `zabkit` knows. */
export const CLI_COMMANDS = [
  'ls',
  'get',
  'set',
  'create',
  'rm',
  'stat',
  'watch',
  'getacl',
  'setacl',
  'addauth',
  'digest',
  'status',
  'members',
  'shell',
] as const;
export type CliCommand = (typeof CLI_COMMANDS)[number];

/** SERVER_DEFAULT is the server `zabkit` talks to without --server (the first member of `zabkit-server dev`). */
export const SERVER_DEFAULT = '127.0.0.1:7181';

/** CliArgs is a parsed command line. */
export interface CliArgs {
  command: CliCommand | 'help';
  positionals: string[];
  /** server is a connect string: host:port[,host:port...][/chroot]. */
  server: string;
  /** admin lists admin endpoints (host:port) for `status`; empty means derive them from `server`. */
  admin: string[];
  json: boolean;
  /** timeoutMs bounds connecting (and each admin request). */
  timeoutMs: number;
  /** tls: PEM files for a TLS client port (--tls-ca, --tls-cert, --tls-key); undefined: plain. */
  tls: TlsFiles | undefined;
  /** auth: the --auth scheme:credentials options, in order, for connect's `auth`. */
  auth: AuthInfo[];
  /** flags are the command's own options: stat, recursive, ephemeral, sequential, container, ttl, version, count. */
  flags: CommandFlags;
}

/** TlsFiles are the --tls-* options: files, read when connecting. */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** CommandFlags are the per-command options. */
export interface CommandFlags {
  /** acl: create's --acl, parsed from zkCli's syntax. */
  acl: ACL[] | undefined;
  stat: boolean;
  recursive: boolean;
  ephemeral: boolean;
  sequential: boolean;
  container: boolean;
  ttlMs: number | undefined;
  version: number | undefined;
  count: number | undefined;
  /** members add: the new member's role (--observer) and addresses (--peer, --client, --secure-client, --zookeeper). */
  observer: boolean;
  peer: string | undefined;
  client: string | undefined;
  secureClient: string | undefined;
  zookeeper: string | undefined;
}

const BOOLEAN_FLAGS: Record<string, keyof CommandFlags> = {
  '--stat': 'stat',
  '--recursive': 'recursive',
  '-r': 'recursive',
  '-R': 'recursive',
  '--ephemeral': 'ephemeral',
  '-e': 'ephemeral',
  '--sequential': 'sequential',
  '--container': 'container',
  '--observer': 'observer',
};
const STRING_FLAGS: Record<string, 'peer' | 'client' | 'secureClient' | 'zookeeper'> = {
  '--peer': 'peer',
  '--client': 'client',
  '--secure-client': 'secureClient',
  '--zookeeper': 'zookeeper',
};
const NUMBER_FLAGS: Record<string, keyof CommandFlags> = {
  '--ttl': 'ttlMs',
  '--version': 'version',
  '-v': 'version',
  '--count': 'count',
  '-n': 'count',
};

function integer(flag: string, value: string | undefined): number {
  if (value === undefined || !/^-?\d+$/.test(value))
    throw new TypeError(`${flag} needs a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * parseCliArgs reads `zabkit <command> [args] [--server host:port] [--admin host:port,...] [--json]
 * [--timeout ms]` plus the command's own options; throws TypeError naming what is wrong.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const positionals: string[] = [];
  let server = SERVER_DEFAULT;
  let admin: string[] = [];
  let json = false;
  let timeoutMs = 5_000;
  let help = false;
  let tls: TlsFiles | undefined;
  const auth: AuthInfo[] = [];
  const flags: CommandFlags = {
    acl: undefined,
    stat: false,
    recursive: false,
    ephemeral: false,
    sequential: false,
    container: false,
    ttlMs: undefined,
    version: undefined,
    count: undefined,
    observer: false,
    peer: undefined,
    client: undefined,
    secureClient: undefined,
    zookeeper: undefined,
  };
  const optionValue = (arg: string, i: number): [string, number] => {
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) return [arg.slice(eq + 1), i];
    const value = argv[i + 1];
    if (value === undefined) throw new TypeError(`${arg} needs a value`);
    return [value, i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const option = arg.startsWith('--') && arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (option === '--json') json = true;
    else if (option === '--help' || option === '-h') help = true;
    else if (option === '--server' || option === '-s') [server, i] = optionValue(arg, i);
    else if (option === '--admin') {
      let value: string;
      [value, i] = optionValue(arg, i);
      admin = value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');
    } else if (option === '--timeout') {
      let value: string;
      [value, i] = optionValue(arg, i);
      timeoutMs = integer(option, value);
    } else if (option === '--tls-ca' || option === '--tls-cert' || option === '--tls-key') {
      let value: string;
      [value, i] = optionValue(arg, i);
      tls = { ...tls, [option === '--tls-ca' ? 'caFile' : option === '--tls-cert' ? 'certFile' : 'keyFile']: value };
    } else if (option === '--auth') {
      let value: string;
      [value, i] = optionValue(arg, i);
      auth.push(parseAuth(value));
    } else if (option === '--acl') {
      let value: string;
      [value, i] = optionValue(arg, i);
      flags.acl = parseAcl(value);
    } else if (option in STRING_FLAGS) {
      let value: string;
      [value, i] = optionValue(arg, i);
      flags[STRING_FLAGS[option]!] = value;
    } else if (option in BOOLEAN_FLAGS) (flags[BOOLEAN_FLAGS[option]!] as boolean) = true;
    else if (option in NUMBER_FLAGS) {
      let value: string;
      [value, i] = optionValue(arg, i);
      (flags[NUMBER_FLAGS[option]!] as number) = integer(option, value);
    } else if (arg.startsWith('-') && arg !== '-') throw new TypeError(`unknown option ${arg}`);
    else positionals.push(arg);
  }
  const [command, ...rest] = positionals;
  if (help || command === undefined || command === 'help') {
    return {
      command: 'help',
      positionals: command === 'help' ? rest : positionals,
      server,
      admin,
      json,
      timeoutMs,
      tls,
      auth,
      flags,
    };
  }
  if (!(CLI_COMMANDS as readonly string[]).includes(command)) {
    throw new TypeError(`unknown command ${JSON.stringify(command)}; one of ${CLI_COMMANDS.join(', ')}`);
  }
  if (tls !== undefined && (tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new TypeError('--tls-cert and --tls-key go together');
  }
  return { command: command as CliCommand, positionals: rest, server, admin, json, timeoutMs, tls, auth, flags };
}

/**
 * tlsOptions reads the --tls-* files into the client's tls option (undefined without them); a file
 * that cannot be read is a TypeError naming it.
 */
export function tlsOptions(tls: TlsFiles | undefined): TlsClientOptions | undefined {
  if (tls === undefined) return undefined;
  const read = (flag: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new TypeError(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const options: TlsClientOptions = {};
  const ca = read('--tls-ca', tls.caFile);
  const cert = read('--tls-cert', tls.certFile);
  const key = read('--tls-key', tls.keyFile);
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  return options;
}

/**
 * splitLine splits a shell line into words: whitespace separates, single or double quotes group
 * (`set /a "two words"`), a backslash escapes the next character. Throws on an unclosed quote.
 */
export function splitLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new TypeError(`unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** USAGE is the help text. */
export const USAGE = `zabkit <command> [args] [options]

commands:
  ls PATH [--stat] [-R]             list children (-R: the whole subtree)
  get PATH [--stat]                 print a znode's data (and Stat)
  set PATH DATA [-v VERSION]        replace a znode's data (only at VERSION if given)
  create PATH [DATA] [-e] [--sequential] [--container] [--ttl MS] [--acl ACL]
                                    create a znode (-e: ephemeral, lives as long as the command)
  rm PATH [-v VERSION] [-r]         delete a znode (-r: with its subtree)
  stat PATH                         print a znode's Stat
  watch PATH [-r] [-n COUNT]        print events of a persistent watch (-r: the subtree) until ^C or COUNT events
  getacl PATH [--stat]              print a znode's ACL, one scheme:id:perms line per entry
  setacl PATH ACL [-v VERSION]      replace a znode's ACL (only at aclVersion VERSION if given)
  addauth SCHEME CREDENTIALS        (shell) authenticate the session, e.g. addauth digest alice:secret
  digest USER:PASSWORD              print the digest id for digest ACLs (no connection)
  status [--admin host:port,...]    table of the members: role, epoch, zxid, leader (from their admin ports)
  members list                      the ensemble's configuration: version, members, roles, addresses
  members add ID --peer HOST:PORT --client HOST:PORT [--admin HOST:PORT] [--zookeeper HOST:PORT] [--observer]
                                    add a member (start it first with "joining": true; add a voter
                                    as an observer first, then promote it, so the new quorum is synced)
  members remove ID                 remove a member (the leader too: it steps down once the change commits)
  members promote ID | demote ID    turn an observer into a voter, or a voter into an observer
                                    (members changes need the super user: --auth digest:super:PASSWORD)
  shell                             interactive shell with history and tab completion of paths

options:
  -s, --server host:port[,...][/chroot]   where to connect (default ${SERVER_DEFAULT})
  --admin host:port[,...]           admin endpoints for status (default: derived from --server)
  --json                            JSON output for scripts (watch: one JSON object per line)
  --timeout MS                      connect timeout (default 5000)
  --tls-ca FILE                     connect with TLS (to secureClientPort), trusting the CA in FILE (PEM)
  --tls-cert FILE --tls-key FILE    this client's certificate and key (PEM), for a port that asks for one
  --auth SCHEME:CREDENTIALS         authenticate the session (repeatable), e.g. --auth digest:alice:secret
  -h, --help                        this help

ACL: scheme:id:perms[,scheme:id:perms...] with perms letters cdrwa (create, delete, read, write, admin),
  e.g. world:anyone:r,digest:alice:XHx...=:cdrwa; auth::cdrwa grants the ids the session authenticated as`;
