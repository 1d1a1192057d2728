import { ConfigError } from './config-error.js';

/**
 * Configuration from environment variables, for containers: one image, one manifest for every
 * member. Each config key has a variable, `ZABKIT_` and the key in upper snake case (`tickMs` →
 * `ZABKIT_TICK_MS`, `peerTls.certFile` → `ZABKIT_PEER_TLS_CERT_FILE`); `members` is the compact
 * list of ZABKIT_MEMBERS (parseMembers) and `id` is ZABKIT_ID or derived from a StatefulSet
 * hostname (ZABKIT_ID_FROM_HOSTNAME). configFromEnv turns the variables into the same plain object
 * a JSON config file holds, so configSchema validates both alike; a value that cannot even be
 * read as its kind (an integer that is not one) is a ConfigError naming the variable here.
 */

/** EnvKind: how a variable's text becomes a config value. */
type EnvKind = 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'peerTls' | 'tls';

/**
 * ENV_KEYS: every config key but `id` and `members`, with the kind of its variable. config's tests
 * check this covers configSchema's keys, so a new key cannot miss its variable.
 */
export const ENV_KEYS = {
  dataDir: 'string',
  clientHost: 'string',
  adminHost: 'string',
  adminAllowedHosts: 'list',
  adminTokenFile: 'string',
  peerSecretFile: 'string',
  insecure: 'boolean',
  joining: 'boolean',
  joinVersion: 'string',
  peerTls: 'peerTls',
  clientTls: 'tls',
  superDigest: 'string',
  superX509: 'string',
  fourLetterWords: 'list',
  adminTls: 'tls',
  tickMs: 'integer',
  initLimitTicks: 'integer',
  syncLimitTicks: 'integer',
  electionTimeoutTicks: 'integer',
  finalizeWaitTicks: 'integer',
  sessionTimeoutMsMin: 'integer',
  sessionTimeoutMsMax: 'integer',
  snapshotEveryTxns: 'integer',
  snapshotEveryBytes: 'integer',
  snapshotRetainCount: 'integer',
  historyEntriesMax: 'integer',
  historyBytesMax: 'integer',
  diskDiffFactor: 'number',
  dataBytesMax: 'integer',
  pathBytesMax: 'integer',
  frameBytesMax: 'integer',
  watchesPerSessionMax: 'integer',
  proposalBytesInflightMax: 'integer',
  requestsOutstandingPerConnectionMax: 'integer',
  requestBytesInflightMax: 'integer',
  partialFrameBytesMax: 'integer',
  frameTimeoutMs: 'integer',
  storageCheckMs: 'integer',
  connectionsMax: 'integer',
  connectionsPerAddressMax: 'integer',
  logLevel: 'string',
} as const satisfies Record<string, EnvKind>;

/** TLS_KEYS: the fields of peerTls and of clientTls/adminTls, each its own variable. */
const TLS_KEYS = {
  peerTls: ['certFile', 'keyFile', 'caFile'],
  tls: ['certFile', 'keyFile', 'caFile', 'clientCertificates'],
} as const;

/** ENV_PREFIX: every configuration variable starts with it. */
export const ENV_PREFIX = 'ZABKIT_';
export const ID_VARIABLE = 'ZABKIT_ID';
export const ID_FROM_HOSTNAME_VARIABLE = 'ZABKIT_ID_FROM_HOSTNAME';
export const MEMBERS_VARIABLE = 'ZABKIT_MEMBERS';

/** envName is a config key's variable: `sessionTimeoutMsMax` → `ZABKIT_SESSION_TIMEOUT_MS_MAX`. */
export function envName(...keys: string[]): string {
  return ENV_PREFIX + keys.map((key) => key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()).join('_');
}

/** ENV_VARIABLES: the names of every configuration variable configFromEnv reads. */
export const ENV_VARIABLES: readonly string[] = [
  ID_VARIABLE,
  ID_FROM_HOSTNAME_VARIABLE,
  MEMBERS_VARIABLE,
  ...Object.entries(ENV_KEYS).flatMap(([key, kind]) =>
    kind === 'peerTls' || kind === 'tls' ? TLS_KEYS[kind].map((field) => envName(key, field)) : [envName(key)],
  ),
];

/** MEMBER_PORT_OPTIONS: the optional ports a ZABKIT_MEMBERS entry may name as `key=port`. */
const MEMBER_PORT_OPTIONS = ['zookeeperPort', 'secureClientPort', 'secureZookeeperPort'] as const;

/** MemberInput: one member as a JSON config file would list it (configSchema checks ranges). */
export interface MemberInput {
  id: number;
  host: string;
  peerPort: number;
  clientPort?: number;
  adminPort: number;
  zookeeperPort?: number;
  secureClientPort?: number;
  secureZookeeperPort?: number;
  role?: 'voter' | 'observer';
}

/**
 * EnvConfig: what configFromEnv read. `config` holds only the keys some variable set; `origins`
 * maps a config path (`tickMs`, `members.1`, `peerTls.certFile`) to the variable it came from, for
 * parseConfig's messages; `unknown` lists ZABKIT_ variables that are not configuration.
 */
export interface EnvConfig {
  config: Record<string, unknown>;
  origins: Map<string, string>;
  unknown: string[];
}

/**
 * configFromEnv reads the ZABKIT_ variables of `env`. An empty variable counts as unset. `hostname`
 * (the machine's, by default) is only read for ZABKIT_ID_FROM_HOSTNAME.
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>, hostname: () => string): EnvConfig {
  const config: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  const value = (name: string): string | undefined => {
    const text = env[name];
    return text === undefined || text.trim() === '' ? undefined : text.trim();
  };

  const idText = value(ID_VARIABLE);
  const fromHostname = value(ID_FROM_HOSTNAME_VARIABLE);
  if (fromHostname !== undefined && parseBoolean(ID_FROM_HOSTNAME_VARIABLE, fromHostname)) {
    if (idText !== undefined) {
      throw new ConfigError(
        `${ID_VARIABLE} and ${ID_FROM_HOSTNAME_VARIABLE} are both set: set one (the id, or take it from the hostname's ordinal)`,
      );
    }
    const name = hostname();
    const id = idFromHostname(name);
    config.id = id;
    origins.set('id', `${ID_FROM_HOSTNAME_VARIABLE} (hostname ${name} is id ${id})`);
  } else if (idText !== undefined) {
    config.id = parseInteger(ID_VARIABLE, idText);
    origins.set('id', ID_VARIABLE);
  }

  const membersText = value(MEMBERS_VARIABLE);
  if (membersText !== undefined) {
    const members = parseMembers(membersText);
    config.members = members;
    origins.set('members', MEMBERS_VARIABLE);
    members.forEach((member, index) => {
      origins.set(`members.${index}`, `${MEMBERS_VARIABLE} member ${member.id}`);
    });
  }

  for (const [key, kind] of Object.entries(ENV_KEYS)) {
    if (kind === 'peerTls' || kind === 'tls') {
      const fields: Record<string, string> = {};
      for (const field of TLS_KEYS[kind]) {
        const text = value(envName(key, field));
        if (text !== undefined) fields[field] = text;
      }
      if (Object.keys(fields).length === 0) continue;
      config[key] = fields;
      // Every field, set or not: a missing one is then named by the variable that would set it.
      for (const field of TLS_KEYS[kind]) origins.set(`${key}.${field}`, envName(key, field));
      continue;
    }
    const name = envName(key);
    const text = value(name);
    if (text === undefined) continue;
    config[key] =
      kind === 'integer'
        ? parseInteger(name, text)
        : kind === 'number'
          ? parseNumber(name, text)
          : kind === 'boolean'
            ? parseBoolean(name, text)
            : kind === 'list'
              ? text
                  .split(',')
                  .map((item) => item.trim())
                  .filter((item) => item !== '')
              : text;
    origins.set(key, name);
  }

  return { config, origins, unknown: unknownEnvVariables(env) };
}

/** unknownEnvVariables: the ZABKIT_ variables of `env` that configure nothing (a typo, or a test's own). */
export function unknownEnvVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !ENV_VARIABLES.includes(name))
    .sort();
}

/**
 * idFromHostname: a StatefulSet pod's id, its hostname's ordinal plus one (`zabkit-0` is 1,
 * `zabkit-2` is 3), so ids start at 1 as ZooKeeper's myid does. Only the first DNS label counts.
 */
export function idFromHostname(hostname: string): number {
  const label = hostname.split('.')[0] ?? '';
  const match = /^[A-Za-z0-9-]*-(\d{1,6})$/.exec(label);
  if (match === null) {
    throw new ConfigError(
      `${ID_FROM_HOSTNAME_VARIABLE}: hostname ${JSON.stringify(hostname)} does not end in -<ordinal> (a StatefulSet pod is <name>-0, <name>-1, …)`,
    );
  }
  return Number(match[1]) + 1;
}

function parseInteger(name: string, text: string): number {
  if (!/^-?\d+$/.test(text)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(text)}`);
  const number = Number(text);
  if (!Number.isSafeInteger(number)) throw new ConfigError(`${name}: ${text} is too large`);
  return number;
}

function parseNumber(name: string, text: string): number {
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(text))
    throw new ConfigError(`${name}: expected a number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseBoolean(name: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw new ConfigError(`${name}: expected true or false (or 1 or 0), got ${JSON.stringify(text)}`);
}

/**
 * parseMembers reads ZABKIT_MEMBERS: members separated by commas (whitespace and newlines around
 * them ignored), each
 *
 *     <id>=<host>:<peerPort>:<clientPort>:<adminPort>[:<option>]…
 *
 * with options `observer` (or `voter`, the default) and `zookeeperPort=<port>`,
 * `secureClientPort=<port>`, `secureZookeeperPort=<port>`. An IPv6 host is bracketed
 * (`[fd00::1]`); an empty clientPort leaves the plain client port out (a TLS-only member). E.g.
 * `1=zabkit-0.zabkit-peers:2888:7181:8080:zookeeperPort=2181,…,4=zabkit-3.zabkit-peers:2888:7181:8080:observer`.
 */
export function parseMembers(text: string): MemberInput[] {
  const entries = text.split(',').map((entry) => entry.trim());
  const members: MemberInput[] = [];
  entries.forEach((entry, index) => {
    const where = `${MEMBERS_VARIABLE} entry ${index + 1} (${JSON.stringify(entry)})`;
    if (entry === '') throw new ConfigError(`${where}: empty (a stray comma?)`);
    const equals = entry.indexOf('=');
    if (equals === -1) throw new ConfigError(`${where}: expected <id>=<host>:<peerPort>:<clientPort>:<adminPort>`);
    const id = parseInteger(`${where} id`, entry.slice(0, equals).trim());
    let rest = entry.slice(equals + 1).trim();
    let host: string;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close === -1) throw new ConfigError(`${where}: an IPv6 host needs its closing ]`);
      host = rest.slice(0, close + 1);
      rest = rest.slice(close + 1);
    } else {
      const colon = rest.indexOf(':');
      host = colon === -1 ? rest : rest.slice(0, colon);
      rest = colon === -1 ? '' : rest.slice(colon);
    }
    if (host === '') throw new ConfigError(`${where}: the host is empty`);
    const fields = rest.startsWith(':') ? rest.slice(1).split(':') : [];
    if (fields.length < 3) {
      throw new ConfigError(`${where}: expected <id>=<host>:<peerPort>:<clientPort>:<adminPort>, got too few ports`);
    }
    const [peerText, clientText, adminText, ...options] = fields.map((field) => field.trim()) as [
      string,
      string,
      string,
      ...string[],
    ];
    const port = (label: string, portText: string) => parseInteger(`${where} ${label}`, portText);
    const member: MemberInput = {
      id,
      host,
      peerPort: port('peerPort', peerText),
      adminPort: port('adminPort', adminText),
    };
    if (clientText !== '') member.clientPort = port('clientPort', clientText);
    for (const option of options) {
      if (option === 'observer' || option === 'voter') {
        if (member.role !== undefined) throw new ConfigError(`${where}: the role is given twice`);
        member.role = option;
        continue;
      }
      const [key, portText] = option.split('=', 2) as [string, string | undefined];
      const portKey = MEMBER_PORT_OPTIONS.find((name) => name === key);
      if (portKey === undefined || portText === undefined) {
        throw new ConfigError(
          `${where}: unknown option ${JSON.stringify(option)} (expected observer, voter, ${MEMBER_PORT_OPTIONS.map((name) => `${name}=<port>`).join(', ')})`,
        );
      }
      if (member[portKey] !== undefined) throw new ConfigError(`${where}: ${portKey} is given twice`);
      member[portKey] = port(portKey, portText);
    }
    members.push(member);
  });
  return members;
}

/**
 * withoutEnvConfig is `env` without any ZABKIT_ variable: for member processes started with a
 * config file of their own (startEnsemble), which the caller's environment must not override.
 */
export function withoutEnvConfig(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith(ENV_PREFIX)));
}
