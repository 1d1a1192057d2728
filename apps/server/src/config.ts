import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname as machineHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { deriveLimits, type Limits, LimitsError } from '@zabkit/core';
import { PEER_SECRET_BYTES_MIN } from '@zabkit/transport-tcp';
import { z } from 'zod';
import { readClientTls } from './client-tls.js';
import { ConfigError } from './config-error.js';
import { configFromEnv } from './env-config.js';
import { FOUR_LETTER_WORD_DEFAULTS, FOUR_LETTER_WORDS_SERVED } from './four-letter-words.js';
import { readPeerTls } from './peer-tls-files.js';

export { ConfigError };

const port = z.number().int().min(0).max(65535);

/** HOST_NAME: a DNS name, an IPv4 address or an IPv6 address (bracketed or not); no port, no wildcard. */
const HOST_NAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?)$/;

const memberSchema = z.strictObject({
  id: z.number().int().min(1).max(255),
  host: z.string().min(1),
  peerPort: port,
  /** clientPort: the plain client port; may be left out when secureClientPort is set (TLS only). */
  clientPort: port.optional(),
  /** secureClientPort: a TLS client port beside clientPort (ZooKeeper's secureClientPort); needs clientTls. */
  secureClientPort: port.optional(),
  adminPort: port,
  /**
   * zookeeperPort: a client port that speaks ZooKeeper's own wire protocol (jute), for ZooKeeper's
   * clients (Curator, kazoo, zkCli.sh, the C client, node-zookeeper-client) unchanged; the same
   * sessions, tree, watches and ACLs as the native port. Its four-letter words: `fourLetterWords`.
   */
  zookeeperPort: port.optional(),
  /** secureZookeeperPort: the same over TLS, served with clientTls (ZooKeeper's secureClientPort). */
  secureZookeeperPort: port.optional(),
  role: z.enum(['voter', 'observer']).default('voter'),
});

/** tlsFilesSchema: the PEM files of a TLS port (clientTls, adminTls). */
const tlsFilesSchema = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  caFile: z.string().min(1).optional(),
  clientCertificates: z.enum(['none', 'request', 'require']).default('none'),
});

/** configSchema: one member's configuration file (JSON). Every duration names its unit. */
const baseConfigSchema = z.strictObject({
  /** id is this member's id; it must appear in `members`. */
  id: z.number().int().min(1).max(255),
  members: z.array(memberSchema).min(1),
  /**
   * joining: this member is new to a running ensemble whose configuration does not name it yet.
   * `members` lists the ensemble as it runs now plus this member (its ports); it votes for no one
   * and serves nothing until a membership change names it (`zabkit members add`), then catches up
   * from the leader. Once its data directory holds a configuration, that is in force, as on every
   * member: the JSON member list is only the configuration an ensemble starts with (version 0).
   */
  joining: z.boolean().default(false),
  /**
   * joinVersion: with `joining`, the version of the configuration `members` describes, as `zabkit
   * members list` prints it (hex, e.g. "300000005"). The member then never joins a leader whose
   * configuration is older: a leader cut off since an earlier change may still count this id as a
   * voter (an id reused after its member was removed), and a member on an empty disk has forgotten
   * what it promised under that id. Optional: without it, only a quorum of `members` naming a
   * leader, or a member reporting any newer configuration, lets it join.
   */
  joinVersion: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{1,13}$/, 'a configuration version in hex, as zabkit members list prints it')
    .transform((text) => Number.parseInt(text.replace(/^0x/, ''), 16))
    .optional(),
  /** dataDir holds the log, snapshots and epochs; created if missing; must be writable. */
  dataDir: z.string().min(1),
  /** clientHost, adminHost: where to listen; admin stays on loopback unless configured. */
  clientHost: z.string().min(1).optional(),
  adminHost: z.string().min(1).default('127.0.0.1'),
  /**
   * adminAllowedHosts: host names (or addresses) the admin port answers to besides loopback, the
   * members' hosts and adminHost: a DNS name or a tunnel's name that operators open the dashboard
   * with. A request whose Host header names anything else is refused (DNS rebinding).
   */
  adminAllowedHosts: z.array(z.string().regex(HOST_NAME, 'expected a host name or an IP address')).default([]),
  /**
   * adminTokenFile: a file holding the bearer token that GET /api/tree (znode data) requires; read
   * at start. Without it, znode data is served to loopback peers only.
   */
  adminTokenFile: z.string().min(1).optional(),
  /**
   * peerSecretFile: a file holding the ensemble's shared secret (at least 32 bytes; trailing
   * whitespace is ignored), the same on every member; read at start. With it, members prove to each
   * other that they know it before any peer message is taken (HMAC-SHA256 challenge both ways).
   */
  peerSecretFile: z.string().min(1).optional(),
  /**
   * insecure: let a member whose peer port is not on loopback start without peerSecretFile. Anyone
   * who reaches its peer port can then join the ensemble as a member; a warning is logged at start.
   */
  insecure: z.boolean().default(false),
  /**
   * peerTls: mutual TLS on the peer port. certFile and keyFile are this member's certificate, which
   * must name it `zabkit-member-<id>` (subject CN or a DNS SAN); caFile is the ensemble's CA, the
   * only signer of members' certificates. Read at start.
   */
  peerTls: z
    .strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1), caFile: z.string().min(1) })
    .optional(),
  /**
   * clientTls: the certificate of the TLS client port (members' secureClientPort), PEM files read
   * at start and again when they change or on SIGHUP. clientCertificates: `none` (default),
   * `request` or `require` a certificate signed by caFile (it becomes the client's x509 identity).
   */
  clientTls: tlsFilesSchema.optional(),
  /**
   * superDigest: the super user, who passes every ACL check, as ZooKeeper's
   * DigestAuthenticationProvider.superDigest: `super:base64(sha1("super:password"))` (make one with
   * `zabkit digest super:password`). A client becomes the super user with addAuth("digest",
   * "super:password"). Leave it out (the default) for no digest super user.
   */
  superDigest: z
    .string()
    .regex(
      /^[^:]+:[A-Za-z0-9+/]{27}=$/,
      'expected user:base64(sha1(user:password)), 28 base64 characters after the colon',
    )
    .optional(),
  /**
   * superX509: a client certificate subject (RFC 2253, e.g. `CN=admin,O=Example`) that is the super
   * user on the TLS client port. Leave it out for none.
   */
  superX509: z.string().min(1).optional(),
  /**
   * fourLetterWords: the four-letter words the ZooKeeper port answers (ZooKeeper's
   * 4lw.commands.whitelist); any other gets ZooKeeper's "is not executed because it is not in the
   * whitelist". `envi` and `cons` tell more about the machine and the clients: opt in.
   */
  fourLetterWords: z.array(z.enum(FOUR_LETTER_WORDS_SERVED)).default([...FOUR_LETTER_WORD_DEFAULTS]),
  /**
   * adminTls: serve the admin port over HTTPS with these PEM files (the shape of clientTls; with
   * clientCertificates `require`, only clients with a certificate from caFile reach it). Read at
   * start, and again on SIGHUP.
   */
  adminTls: tlsFilesSchema.optional(),
  tickMs: z.number().int().min(1).max(60_000).default(100),
  initLimitTicks: z.number().int().min(1).default(50),
  syncLimitTicks: z.number().int().min(1).default(20),
  electionTimeoutTicks: z.number().int().min(1).default(5),
  finalizeWaitTicks: z.number().int().min(0).default(2),
  sessionTimeoutMsMin: z.number().int().min(1).default(2_000),
  sessionTimeoutMsMax: z.number().int().min(1).default(60_000),
  /** snapshotEveryTxns: a fuzzy snapshot after this many applied transactions (ZooKeeper's snapCount). */
  snapshotEveryTxns: z.number().int().min(1).default(100_000),
  /** snapshotEveryBytes: a snapshot after this many bytes of applied transactions (ZooKeeper's snapSizeLimitInKb), whichever comes first. */
  snapshotEveryBytes: z
    .number()
    .int()
    .min(1)
    .default(256 * 1024 * 1024),
  snapshotRetainCount: z.number().int().min(1).default(3),
  /**
   * historyEntriesMax: applied entries kept in memory for DIFF; a learner further behind gets a DIFF
   * read from the log on disk (diskDiffFactor) or a SNAP. ZooKeeper keeps 500 (commitLogCount).
   */
  historyEntriesMax: z.number().int().min(1).default(10_000),
  /**
   * diskDiffFactor: a leader syncs a learner behind its in-memory history by a DIFF read from its
   * log on disk when the entries it lacks number at most this many times the znodes in the tree,
   * else by SNAP (ZooKeeper's snapshotSizeFactor, 0.33, which weighs bytes); 0 turns it off.
   */
  diskDiffFactor: z.number().min(0).default(0.33),
  /** historyBytesMax: the same in bytes; whichever binds first. */
  historyBytesMax: z
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  /** dataBytesMax: one znode's data (ZooKeeper's jute.maxbuffer). */
  dataBytesMax: z
    .number()
    .int()
    .min(0)
    .default(1024 * 1024),
  /** pathBytesMax: one path in UTF-8 bytes; a request naming a longer one fails with INVALID_PATH. */
  pathBytesMax: z.number().int().min(1).default(4096),
  /** frameBytesMax: one client frame, request or reply; must carry a write of dataBytesMax at pathBytesMax. */
  frameBytesMax: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024 + 64 * 1024),
  /** watchesPerSessionMax: watches one session may hold on this member; past it a watching read fails with QUOTA_EXCEEDED. */
  watchesPerSessionMax: z.number().int().min(0).default(65_536),
  /** proposalBytesInflightMax: bytes the leader proposes ahead of commits; further requests wait their turn. */
  proposalBytesInflightMax: z
    .number()
    .int()
    .min(0)
    .default(16 * 1024 * 1024),
  /** requestsOutstandingPerConnectionMax: unanswered requests of one connection; past it the member stops reading it. */
  requestsOutstandingPerConnectionMax: z.number().int().min(1).default(1_000),
  /** requestBytesInflightMax: bytes of client requests received and unanswered on this member; past it, it stops reading clients. */
  requestBytesInflightMax: z
    .number()
    .int()
    .min(0)
    .default(16 * 1024 * 1024),
  /** partialFrameBytesMax: bytes all client connections may hold in incomplete frames; the connection that would pass it is closed. */
  partialFrameBytesMax: z
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  /** frameTimeoutMs: a frame must arrive whole within this once its first byte did, or its connection is closed. */
  frameTimeoutMs: z.number().int().min(1).default(30_000),
  /** storageCheckMs: how often the member proves its data directory takes a write (GET /health says 503 when not). */
  storageCheckMs: z.number().int().min(100).default(5_000),
  connectionsMax: z.number().int().min(1).default(10_000),
  connectionsPerAddressMax: z.number().int().min(1).default(1_000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export const configSchema = baseConfigSchema.superRefine((config, context) => {
  const ids = new Set<number>();
  const ports = new Map<string, string>();
  for (const member of config.members) {
    if (ids.has(member.id))
      context.addIssue({ code: 'custom', message: `duplicate member id ${member.id}`, path: ['members'] });
    ids.add(member.id);
    for (const [kind, value] of [
      ['peerPort', member.peerPort],
      ['clientPort', member.clientPort ?? 0],
      ['secureClientPort', member.secureClientPort ?? 0],
      ['zookeeperPort', member.zookeeperPort ?? 0],
      ['secureZookeeperPort', member.secureZookeeperPort ?? 0],
      ['adminPort', member.adminPort],
    ] as const) {
      if (value === 0) continue;
      const key = `${member.host}:${value}`;
      const other = ports.get(key);
      if (other) {
        context.addIssue({
          code: 'custom',
          message: `duplicate port ${key}: member ${member.id} ${kind} and ${other}`,
          path: ['members'],
        });
      }
      ports.set(key, `member ${member.id} ${kind}`);
    }
  }
  for (const member of config.members) {
    if (
      member.clientPort === undefined &&
      member.secureClientPort === undefined &&
      member.zookeeperPort === undefined &&
      member.secureZookeeperPort === undefined
    ) {
      context.addIssue({
        code: 'custom',
        message: `member ${member.id} has neither clientPort nor secureClientPort: clients could not reach it`,
        path: ['members'],
      });
    }
  }
  const self = config.members.find((member) => member.id === config.id);
  if (self?.secureZookeeperPort !== undefined && config.clientTls === undefined) {
    context.addIssue({
      code: 'custom',
      message: `member ${config.id} has a secureZookeeperPort but no clientTls (certFile, keyFile) to serve it with`,
      path: ['clientTls'],
    });
  }
  if (self?.secureClientPort !== undefined && config.clientTls === undefined) {
    context.addIssue({
      code: 'custom',
      message: `member ${config.id} has a secureClientPort but no clientTls (certFile, keyFile) to serve it with`,
      path: ['clientTls'],
    });
  }
  for (const label of ['clientTls', 'adminTls'] as const) {
    const tls = config[label];
    if (tls !== undefined && tls.clientCertificates !== 'none' && tls.caFile === undefined) {
      context.addIssue({
        code: 'custom',
        message: `${label}.clientCertificates '${tls.clientCertificates}' needs ${label}.caFile to verify client certificates with`,
        path: [label, 'caFile'],
      });
    }
  }
  if (!ids.has(config.id))
    context.addIssue({ code: 'custom', message: `id ${config.id} is not among members`, path: ['id'] });
  if (!config.members.some((member) => member.role === 'voter' && !(config.joining && member.id === config.id))) {
    context.addIssue({ code: 'custom', message: 'at least one member must be a voter', path: ['members'] });
  }
  try {
    limitsOf(config);
  } catch (error) {
    if (!(error instanceof LimitsError)) throw error;
    context.addIssue({ code: 'custom', message: error.message, path: ['frameBytesMax'] });
  }
  if (config.sessionTimeoutMsMin > config.sessionTimeoutMsMax) {
    context.addIssue({
      code: 'custom',
      message: `sessionTimeoutMsMin (${config.sessionTimeoutMsMin}) is above sessionTimeoutMsMax (${config.sessionTimeoutMsMax})`,
      path: ['sessionTimeoutMsMin'],
    });
  }
});

/** limitsOf derives the member's byte limits from its configuration (core's deriveLimits: one place for the arithmetic). */
export function limitsOf(
  config: Pick<
    z.infer<typeof baseConfigSchema>,
    | 'dataBytesMax'
    | 'pathBytesMax'
    | 'frameBytesMax'
    | 'watchesPerSessionMax'
    | 'proposalBytesInflightMax'
    | 'historyBytesMax'
  >,
): Limits {
  return deriveLimits({
    dataBytesMax: config.dataBytesMax,
    pathBytesMax: config.pathBytesMax,
    clientFrameBytesMax: config.frameBytesMax,
    watchesPerSessionMax: config.watchesPerSessionMax,
    proposalBytesInflightMax: config.proposalBytesInflightMax,
    historyBytesMax: config.historyBytesMax,
  });
}

/** ServerConfig is a validated configuration with every default filled in. */
export type ServerConfig = z.infer<typeof configSchema>;
export type MemberConfig = ServerConfig['members'][number];

/**
 * parseConfig validates a configuration object; a problem throws ConfigError naming the key and
 * what is wrong with it (the first problem only: one message, one fix at a time). `origins` maps a
 * key path (`tickMs`, `members.1`) to where its value came from (an environment variable): the
 * message then names that instead of the key.
 */
export function parseConfig(input: unknown, origins: ReadonlyMap<string, string> = new Map()): ServerConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (!issue) throw new ConfigError('invalid configuration');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
        : issue.message;
    throw new ConfigError(`${whereOf(issue.path.map(String), origins)}: ${message}`);
  }
  return result.data;
}

/** whereOf names a problem's key path by the longest prefix of it that `origins` knows, else as a key path. */
function whereOf(path: readonly string[], origins: ReadonlyMap<string, string>): string {
  for (let length = path.length; length > 0; length--) {
    const origin = origins.get(path.slice(0, length).join('.'));
    if (origin !== undefined) return [origin, ...path.slice(length)].join(' ');
  }
  return path.length > 0 ? path.join('.') : 'config';
}

/** FLAG_KEYS: command-line flags (`--data-dir`) and the config keys they override. */
const FLAG_KEYS = Object.keys(baseConfigSchema.shape).filter((key) => key !== 'members');

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, letter: string) => letter.toUpperCase());
}

/** LoadConfigOptions: where loadConfig reads the environment (process.env and the machine's hostname by default). */
export interface LoadConfigOptions {
  env?: Readonly<Record<string, string | undefined>>;
  hostname?: () => string;
}

/**
 * resolveConfig merges the configuration's three sources, later ones winning key by key: the JSON
 * file of `--config FILE`, then ZABKIT_ environment variables (env-config.ts; a TLS object's fields
 * one by one, `members` as a whole), then `--key value` flags; and validates the result. Without
 * `--config` the environment alone configures the member. It reads no other file: loadConfig does.
 */
export function resolveConfig(args: readonly string[], options: LoadConfigOptions = {}): ServerConfig {
  let file: string | undefined;
  const overrides: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    const value = inline ?? args[++i];
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    if (name === 'config') {
      file = value;
      continue;
    }
    const key = camel(name);
    if (!FLAG_KEYS.includes(key)) throw new ConfigError(`unknown flag --${name}`);
    if (key === 'adminAllowedHosts') overrides[key] = value.split(',').filter((host) => host !== '');
    else if (key === 'insecure') overrides[key] = value === 'true' ? true : value === 'false' ? false : value;
    else overrides[key] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  let base: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) {
      throw new ConfigError(`config file ${file} must hold a JSON object`);
    }
  }
  const fromEnv = configFromEnv(options.env ?? process.env, options.hostname ?? machineHostname);
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(fromEnv.config)) {
    const below = merged[key];
    // A TLS object's variables override its fields one by one; a list or `members` is replaced whole.
    const nested = typeof below === 'object' && below !== null && !Array.isArray(below);
    merged[key] = nested ? { ...below, ...(value as Record<string, unknown>) } : value;
  }
  for (const key of Object.keys(overrides)) {
    for (const path of [...fromEnv.origins.keys()]) {
      if (path === key || path.startsWith(`${key}.`)) fromEnv.origins.delete(path);
    }
  }
  return parseConfig({ ...merged, ...overrides }, fromEnv.origins);
}

/**
 * loadConfig is resolveConfig (`--config FILE`, ZABKIT_ variables, flags; see there) and then checks
 * what the configuration names: the data directory is writable, the token, secret and TLS files
 * load. Every problem is a ConfigError.
 */
export function loadConfig(args: readonly string[], options: LoadConfigOptions = {}): ServerConfig {
  const config = resolveConfig(args, options);
  config.dataDir = resolve(config.dataDir);
  checkWritable(config.dataDir);
  if (config.adminTokenFile !== undefined) {
    config.adminTokenFile = resolve(config.adminTokenFile);
    readAdminToken(config.adminTokenFile);
  }
  if (config.peerSecretFile !== undefined) {
    config.peerSecretFile = resolve(config.peerSecretFile);
    readPeerSecret(config.peerSecretFile);
  }
  if (config.clientTls !== undefined) {
    const tls = config.clientTls;
    tls.certFile = resolve(tls.certFile);
    tls.keyFile = resolve(tls.keyFile);
    if (tls.caFile !== undefined) tls.caFile = resolve(tls.caFile);
    if (config.members.find((member) => member.id === config.id)?.secureClientPort !== undefined) {
      readClientTls(tls);
    }
  }
  if (config.adminTls !== undefined) {
    const tls = config.adminTls;
    tls.certFile = resolve(tls.certFile);
    tls.keyFile = resolve(tls.keyFile);
    if (tls.caFile !== undefined) tls.caFile = resolve(tls.caFile);
    readClientTls(tls, 'adminTls');
  }
  if (config.peerTls !== undefined) {
    config.peerTls.certFile = resolve(config.peerTls.certFile);
    config.peerTls.keyFile = resolve(config.peerTls.keyFile);
    config.peerTls.caFile = resolve(config.peerTls.caFile);
    readPeerTls(config.peerTls, config.id);
  }
  checkPeerAuth(config);
  return config;
}

/**
 * isLoopbackHost: the host is this machine's loopback (127.0.0.0/8, ::1, localhost). A wildcard
 * (0.0.0.0, ::) or any other name or address is not: other machines may reach it.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/**
 * checkPeerAuth refuses a member whose peer port listens beyond loopback without peerSecretFile,
 * unless the configuration says `insecure: true`: whoever reaches an unauthenticated peer port can
 * join as a member, receive the tree and forge votes.
 */
export function checkPeerAuth(config: ServerConfig): void {
  const self = config.members.find((member) => member.id === config.id);
  if (self === undefined || config.peerSecretFile !== undefined || config.peerTls !== undefined || config.insecure) {
    return;
  }
  if (isLoopbackHost(self.host)) return;
  throw new ConfigError(
    `member ${config.id} listens for peers on ${self.host}, which is not loopback: set peerTls (member certificates from the ensemble's CA) or peerSecretFile (a file of at least ${PEER_SECRET_BYTES_MIN} secret bytes shared by every member, e.g. openssl rand -base64 48 > secret), or insecure: true to let anyone who reaches the peer port join`,
  );
}

/**
 * readPeerSecret reads the ensemble's shared secret from `file`: its bytes without trailing
 * whitespace (so an editor's newline does not change it), at least 32 of them. A missing,
 * unreadable or short file is a ConfigError: a member never starts with a weak secret.
 */
export function readPeerSecret(file: string): Uint8Array {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw new ConfigError(
      `peerSecretFile ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let end = content.length;
  while (end > 0 && [0x20, 0x09, 0x0a, 0x0d].includes(content[end - 1] as number)) end--;
  if (end < PEER_SECRET_BYTES_MIN) {
    throw new ConfigError(
      `peerSecretFile ${file} holds ${end} bytes: the shared secret must be at least ${PEER_SECRET_BYTES_MIN} (openssl rand -base64 48 > ${file})`,
    );
  }
  return new Uint8Array(content.subarray(0, end));
}

/**
 * readAdminToken reads the admin bearer token from `file`: its content without surrounding
 * whitespace, one token of printable ASCII. A missing, unreadable or empty file is a ConfigError,
 * so a member never starts with its znode data open by mistake.
 */
export function readAdminToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `adminTokenFile ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const token = text.trim();
  if (token === '') throw new ConfigError(`adminTokenFile ${file} is empty: it must hold the admin bearer token`);
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(`adminTokenFile ${file} must hold one token of printable ASCII without spaces`);
  }
  return token;
}

/** checkWritable creates the data directory if needed and proves it takes a file. */
export function checkWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new ConfigError(
      `dataDir ${dir} is not writable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
