import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, loadConfig, resolveConfig } from '../src/config.js';
import {
  configFromEnv,
  ENV_KEYS,
  ENV_VARIABLES,
  envName,
  idFromHostname,
  parseMembers,
  withoutEnvConfig,
} from '../src/env-config.js';
import { healthUrl } from '../src/health-command.js';

const dir = mkdtempSync(join(tmpdir(), 'zabkit-env-config-'));
const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
const members =
  '1=zabkit-0.zabkit-peers:2888:7181:8080, 2=zabkit-1.zabkit-peers:2888:7181:8080, 3=zabkit-2.zabkit-peers:2888:7181:8080';
const env = { ZABKIT_ID: '2', ZABKIT_MEMBERS: members, ZABKIT_DATA_DIR: join(dir, 'data'), ZABKIT_INSECURE: 'true' };
const noHostname = () => {
  throw new Error('the hostname is not read without ZABKIT_ID_FROM_HOSTNAME');
};

/** resolve is resolveConfig over `env` only (no file, no flags), with a fixed hostname. */
function resolve(variables: Record<string, string>, hostname: () => string = noHostname) {
  return resolveConfig([], { env: variables, hostname });
}

/** refusal is the ConfigError message resolving `variables` throws. */
function refusal(variables: Record<string, string>, hostname?: () => string): string {
  try {
    resolve(variables, hostname);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration from ZABKIT_ environment variables', () => {
  it('configures a member with no config file, to the same defaults as JSON', () => {
    const config = resolve(env);
    expect(config.id).toBe(2);
    expect(config.members).toEqual([
      { id: 1, host: 'zabkit-0.zabkit-peers', peerPort: 2888, clientPort: 7181, adminPort: 8080, role: 'voter' },
      { id: 2, host: 'zabkit-1.zabkit-peers', peerPort: 2888, clientPort: 7181, adminPort: 8080, role: 'voter' },
      { id: 3, host: 'zabkit-2.zabkit-peers', peerPort: 2888, clientPort: 7181, adminPort: 8080, role: 'voter' },
    ]);
    const json = resolveConfig(
      ['--config', writeJson({ id: 2, members: config.members, dataDir: config.dataDir, insecure: true })],
      {
        env: {},
      },
    );
    expect(config).toEqual(json);
  });

  it('reads every kind of variable: integers, numbers, booleans, lists, TLS fields, strings', () => {
    const config = resolve({
      ...env,
      ZABKIT_TICK_MS: '50',
      ZABKIT_INSECURE: 'false',
      ZABKIT_PEER_SECRET_FILE: '/run/secrets/peer',
      ZABKIT_CLIENT_HOST: '0.0.0.0',
      ZABKIT_ADMIN_HOST: '0.0.0.0',
      ZABKIT_ADMIN_ALLOWED_HOSTS: ' zabkit.example , admin.example,',
      ZABKIT_FOUR_LETTER_WORDS: 'ruok,conf',
      ZABKIT_PEER_TLS_CERT_FILE: '/tls/member.pem',
      ZABKIT_PEER_TLS_KEY_FILE: '/tls/member.key',
      ZABKIT_PEER_TLS_CA_FILE: '/tls/ca.pem',
      ZABKIT_ADMIN_TLS_CERT_FILE: '/tls/admin.pem',
      ZABKIT_ADMIN_TLS_KEY_FILE: '/tls/admin.key',
      ZABKIT_ADMIN_TLS_CLIENT_CERTIFICATES: 'none',
      ZABKIT_LOG_LEVEL: 'warn',
      ZABKIT_SESSION_TIMEOUT_MS_MAX: '30000',
      ZABKIT_DISK_DIFF_FACTOR: '0.5',
    });
    expect(config).toMatchObject({
      tickMs: 50,
      insecure: false,
      peerSecretFile: '/run/secrets/peer',
      clientHost: '0.0.0.0',
      adminHost: '0.0.0.0',
      adminAllowedHosts: ['zabkit.example', 'admin.example'],
      fourLetterWords: ['ruok', 'conf'],
      peerTls: { certFile: '/tls/member.pem', keyFile: '/tls/member.key', caFile: '/tls/ca.pem' },
      adminTls: { certFile: '/tls/admin.pem', keyFile: '/tls/admin.key', clientCertificates: 'none' },
      logLevel: 'warn',
      sessionTimeoutMsMax: 30_000,
      diskDiffFactor: 0.5,
    });
  });

  it('has a variable for every config key (ENV_KEYS covers configSchema), named by the key', () => {
    expect(Object.keys(ENV_KEYS).sort()).toEqual(
      Object.keys(configSchema.shape)
        .filter((key) => key !== 'id' && key !== 'members')
        .sort(),
    );
    expect(envName('sessionTimeoutMsMax')).toBe('ZABKIT_SESSION_TIMEOUT_MS_MAX');
    expect(envName('clientTls', 'clientCertificates')).toBe('ZABKIT_CLIENT_TLS_CLIENT_CERTIFICATES');
    expect(ENV_VARIABLES).toContain('ZABKIT_PEER_SECRET_FILE');
    expect(ENV_VARIABLES).toContain('ZABKIT_DATA_DIR');
  });

  it('treats an empty variable as unset (the schema default applies)', () => {
    const config = resolve({ ...env, ZABKIT_TICK_MS: '', ZABKIT_ADMIN_HOST: '  ' });
    expect(config.tickMs).toBe(100);
    expect(config.adminHost).toBe('127.0.0.1');
  });

  it('reports ZABKIT_ variables that configure nothing, and startEnsemble children get none', () => {
    expect(configFromEnv({ ...env, ZABKIT_DATADIR: '/x', ZABKIT_CUTS: '5' }, noHostname).unknown).toEqual([
      'ZABKIT_CUTS',
      'ZABKIT_DATADIR',
    ]);
    expect(withoutEnvConfig({ ...env, PATH: '/bin' })).toEqual({ PATH: '/bin' });
  });
});

describe('ZABKIT_MEMBERS', () => {
  it('reads observers, the optional ports, a TLS-only member and IPv6 hosts', () => {
    expect(
      parseMembers(`1=10.0.0.1:2888:7181:8080:zookeeperPort=2181,
        2=[fd00::2]:2888:7181:8080:secureClientPort=7443:secureZookeeperPort=2281,
        3=zk-3:2888::8080:secureClientPort=7443,
        4=zk-4:2888:7181:8080:observer:zookeeperPort=2181`),
    ).toEqual([
      { id: 1, host: '10.0.0.1', peerPort: 2888, clientPort: 7181, adminPort: 8080, zookeeperPort: 2181 },
      {
        id: 2,
        host: '[fd00::2]',
        peerPort: 2888,
        clientPort: 7181,
        adminPort: 8080,
        secureClientPort: 7443,
        secureZookeeperPort: 2281,
      },
      { id: 3, host: 'zk-3', peerPort: 2888, adminPort: 8080, secureClientPort: 7443 },
      { id: 4, host: 'zk-4', peerPort: 2888, clientPort: 7181, adminPort: 8080, role: 'observer', zookeeperPort: 2181 },
    ]);
  });

  it.each([
    ['a stray comma', `${members},`, /ZABKIT_MEMBERS entry 4 \(""\): empty/],
    ['no id', 'zk-0:2888:7181:8080', /ZABKIT_MEMBERS entry 1 .*: expected <id>=<host>/],
    [
      'a port that is not a number',
      '1=zk-0:2888:http:8080',
      /ZABKIT_MEMBERS entry 1 .* clientPort: expected an integer, got "http"/,
    ],
    ['too few ports', '1=zk-0:2888:7181', /ZABKIT_MEMBERS entry 1 .*: .*too few ports/],
    ['an unknown option', '1=zk-0:2888:7181:8080:witness', /ZABKIT_MEMBERS entry 1 .*: unknown option "witness"/],
    ['a role given twice', '1=zk-0:2888:7181:8080:observer:voter', /the role is given twice/],
    ['an empty host', '1=:2888:7181:8080', /the host is empty/],
    ['an unclosed IPv6 host', '1=[fd00::1:2888:7181:8080', /closing \]/],
  ])('refuses %s, naming the entry', (_name, text, message) => {
    expect(refusal({ ...env, ZABKIT_MEMBERS: text })).toMatch(message);
  });

  it('leaves ranges and cross-checks to configSchema, naming the variable and the member', () => {
    expect(refusal({ ...env, ZABKIT_MEMBERS: `${members},4=zabkit-3:70000:7181:8080` })).toBe(
      'ZABKIT_MEMBERS member 4 peerPort: Too big: expected number to be <=65535',
    );
    expect(refusal({ ...env, ZABKIT_MEMBERS: `${members},3=zabkit-9:2888:7181:8080` })).toMatch(
      /^ZABKIT_MEMBERS: duplicate member id 3$/,
    );
    expect(refusal({ ...env, ZABKIT_ID: '1', ZABKIT_MEMBERS: '1=a:2888:7181:8080:observer' })).toBe(
      'ZABKIT_MEMBERS: at least one member must be a voter',
    );
  });
});

describe('bad values: a ConfigError naming the variable', () => {
  it.each([
    ['ZABKIT_ID', 'two', 'ZABKIT_ID: expected an integer, got "two"'],
    ['ZABKIT_ID', '9', 'ZABKIT_ID: id 9 is not among members'],
    ['ZABKIT_ID', '0', 'ZABKIT_ID: Too small: expected number to be >=1'],
    ['ZABKIT_TICK_MS', 'fast', 'ZABKIT_TICK_MS: expected an integer, got "fast"'],
    ['ZABKIT_TICK_MS', '1.5', 'ZABKIT_TICK_MS: expected an integer, got "1.5"'],
    ['ZABKIT_TICK_MS', '0', 'ZABKIT_TICK_MS: Too small: expected number to be >=1'],
    ['ZABKIT_DISK_DIFF_FACTOR', 'a third', 'ZABKIT_DISK_DIFF_FACTOR: expected a number, got "a third"'],
    ['ZABKIT_DISK_DIFF_FACTOR', '-1', 'ZABKIT_DISK_DIFF_FACTOR: Too small: expected number to be >=0'],
    [
      'ZABKIT_SNAPSHOT_EVERY_BYTES',
      '99999999999999999999',
      'ZABKIT_SNAPSHOT_EVERY_BYTES: 99999999999999999999 is too large',
    ],
    ['ZABKIT_INSECURE', 'yes', 'ZABKIT_INSECURE: expected true or false (or 1 or 0), got "yes"'],
    ['ZABKIT_LOG_LEVEL', 'loud', /^ZABKIT_LOG_LEVEL: Invalid option: expected one of/],
    ['ZABKIT_ADMIN_ALLOWED_HOSTS', 'ok.example,*.example', /^ZABKIT_ADMIN_ALLOWED_HOSTS 1: expected a host name/],
    ['ZABKIT_FOUR_LETTER_WORDS', 'ruok,kill', /^ZABKIT_FOUR_LETTER_WORDS 1: Invalid option/],
    ['ZABKIT_SUPER_DIGEST', 'super:short', /^ZABKIT_SUPER_DIGEST: expected user:base64/],
    [
      'ZABKIT_CLIENT_TLS_CERT_FILE',
      '/tls/client.pem',
      'ZABKIT_CLIENT_TLS_KEY_FILE: Invalid input: expected string, received undefined',
    ],
    // The derived limit is named by the key that must grow with it.
    [
      'ZABKIT_DATA_BYTES_MAX',
      '2000000',
      /^frameBytesMax: frameBytesMax \(1114112\) cannot carry a write of dataBytesMax \(2000000\)/,
    ],
    ['ZABKIT_ID_FROM_HOSTNAME', 'maybe', 'ZABKIT_ID_FROM_HOSTNAME: expected true or false (or 1 or 0), got "maybe"'],
  ])('%s=%s', (name, value, message) => {
    const variables: Record<string, string> = { ...env, [name]: value };
    if (name === 'ZABKIT_ID_FROM_HOSTNAME') delete variables.ZABKIT_ID;
    const text = refusal(variables, () => 'zabkit-1');
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
  });

  it('a TLS field is checked as the JSON one is', () => {
    const tls = { ZABKIT_CLIENT_TLS_CERT_FILE: '/tls/client.pem', ZABKIT_CLIENT_TLS_KEY_FILE: '/tls/client.key' };
    expect(refusal({ ...env, ...tls, ZABKIT_CLIENT_TLS_CLIENT_CERTIFICATES: 'always' })).toMatch(
      /^ZABKIT_CLIENT_TLS_CLIENT_CERTIFICATES: Invalid option: expected one of "none"\|"request"\|"require"$/,
    );
    expect(refusal({ ...env, ...tls, ZABKIT_CLIENT_TLS_CLIENT_CERTIFICATES: 'require' })).toBe(
      "ZABKIT_CLIENT_TLS_CA_FILE: clientTls.clientCertificates 'require' needs clientTls.caFile to verify client certificates with",
    );
  });

  it('the variables that loadConfig checks on disk name their file', () => {
    const variables = { ...env, ZABKIT_PEER_SECRET_FILE: join(dir, 'missing-secret') };
    expect(() => loadConfig([], { env: variables, hostname: noHostname })).toThrow(
      /peerSecretFile .*missing-secret cannot be read: ENOENT/,
    );
  });
});

describe('precedence: JSON file < ZABKIT_ variables < flags', () => {
  const file = writeJson({
    id: 1,
    members: [{ id: 1, host: '127.0.0.1', peerPort: 42000, clientPort: 42001, adminPort: 42002 }],
    dataDir: join(dir, 'from-json'),
    tickMs: 70,
    logLevel: 'debug',
    peerTls: { certFile: '/json/member.pem', keyFile: '/json/member.key', caFile: '/json/ca.pem' },
  });

  it('without variables the file is the configuration', () => {
    expect(resolveConfig(['--config', file], { env: {} })).toMatchObject({ id: 1, tickMs: 70, logLevel: 'debug' });
  });

  it('a variable overrides its key of the file; the other keys stay', () => {
    const config = resolveConfig(['--config', file], {
      env: { ZABKIT_TICK_MS: '40', ZABKIT_PEER_TLS_CA_FILE: '/env/ca.pem' },
    });
    expect(config).toMatchObject({ id: 1, tickMs: 40, logLevel: 'debug', dataDir: join(dir, 'from-json') });
    // A TLS object is merged field by field.
    expect(config.peerTls).toEqual({
      certFile: '/json/member.pem',
      keyFile: '/json/member.key',
      caFile: '/env/ca.pem',
    });
  });

  it("an empty variable lets the file's value count (an image's defaults, passed empty)", () => {
    const config = resolveConfig(['--config', file], { env: { ZABKIT_DATA_DIR: '', ZABKIT_ADMIN_HOST: '' } });
    expect(config).toMatchObject({ dataDir: join(dir, 'from-json'), adminHost: '127.0.0.1' });
  });

  it('ZABKIT_MEMBERS replaces the whole member list of the file', () => {
    const config = resolveConfig(['--config', file], { env: { ZABKIT_MEMBERS: members } });
    expect(config.members.map((member) => member.host)).toEqual([
      'zabkit-0.zabkit-peers',
      'zabkit-1.zabkit-peers',
      'zabkit-2.zabkit-peers',
    ]);
  });

  it('a flag overrides both, and then a bad flag is named as the key, not the variable', () => {
    const options = { env: { ZABKIT_TICK_MS: '40' } };
    expect(resolveConfig(['--config', file, '--tick-ms', '30'], options).tickMs).toBe(30);
    expect(() => resolveConfig(['--config', file, '--tick-ms', '0'], options)).toThrow(/^tickMs: Too small/);
  });
});

describe('ZABKIT_ID_FROM_HOSTNAME: one manifest for every StatefulSet pod', () => {
  it.each([
    ['zabkit-0', 1],
    ['zabkit-2', 3],
    ['my-zk-ensemble-10', 11],
    ['zabkit-1.zabkit-peers.default.svc.cluster.local', 2],
  ])('%s is id %i', (hostname, id) => {
    expect(idFromHostname(hostname)).toBe(id);
  });

  it('sets the id from the hostname', () => {
    const variables = { ...env, ZABKIT_ID: '', ZABKIT_ID_FROM_HOSTNAME: '1' };
    expect(resolve(variables, () => 'zabkit-2').id).toBe(3);
    expect(resolve({ ...variables, ZABKIT_ID_FROM_HOSTNAME: 'true' }, () => 'zabkit-0').id).toBe(1);
  });

  it('is off for false or 0, and then ZABKIT_ID counts', () => {
    expect(resolve({ ...env, ZABKIT_ID_FROM_HOSTNAME: 'false' }).id).toBe(2);
  });

  it('refuses a hostname without an ordinal, an ordinal past the members, and a ZABKIT_ID beside it', () => {
    const variables = { ...env, ZABKIT_ID: '', ZABKIT_ID_FROM_HOSTNAME: '1' };
    expect(refusal(variables, () => 'laptop')).toBe(
      'ZABKIT_ID_FROM_HOSTNAME: hostname "laptop" does not end in -<ordinal> (a StatefulSet pod is <name>-0, <name>-1, …)',
    );
    expect(refusal(variables, () => 'zabkit-3')).toBe(
      'ZABKIT_ID_FROM_HOSTNAME (hostname zabkit-3 is id 4): id 4 is not among members',
    );
    expect(refusal(variables, () => 'zabkit-255')).toBe(
      'ZABKIT_ID_FROM_HOSTNAME (hostname zabkit-255 is id 256): Too big: expected number to be <=255',
    );
    expect(refusal({ ...env, ZABKIT_ID_FROM_HOSTNAME: '1' }, () => 'zabkit-1')).toMatch(
      /^ZABKIT_ID and ZABKIT_ID_FROM_HOSTNAME are both set/,
    );
  });
});

describe('zabkit-server with environment variables', () => {
  it('start exits 2 with one line naming the bad variable', () => {
    const result = spawnSync(process.execPath, [bin, 'start'], {
      env: { PATH: process.env.PATH, ...env, ZABKIT_SYNC_LIMIT_TICKS: 'twenty' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('zabkit-server: ZABKIT_SYNC_LIMIT_TICKS: expected an integer, got "twenty"\n');
  });

  it('health finds its own admin port from the same variables (loopback for a wildcard adminHost)', () => {
    expect(healthUrl(resolve({ ...env, ZABKIT_ADMIN_HOST: '0.0.0.0' }))).toBe('http://127.0.0.1:8080/health');
    expect(healthUrl(resolve({ ...env, ZABKIT_ADMIN_HOST: '::' }))).toBe('http://[::1]:8080/health');
    expect(healthUrl(resolve({ ...env, ZABKIT_ADMIN_HOST: '10.1.2.3' }))).toBe('http://10.1.2.3:8080/health');
    const result = spawnSync(process.execPath, [bin, 'health', '--timeout-ms', '500'], {
      env: { PATH: process.env.PATH, ...env, ZABKIT_MEMBERS: '1=127.0.0.1:1:2:3,2=127.0.0.1:4:6:5' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    // Nothing listens on 127.0.0.1:5: unhealthy, exit 1, naming the URL.
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^zabkit-server health: http:\/\/127\.0\.0\.1:5\/health: /);
  });
});

function writeJson(config: unknown): string {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}
