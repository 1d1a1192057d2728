import { type ACL, CREATOR_ALL_ACL, type Stat, type ZabClient, ZabError } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { parseCliArgs } from './args.js';
import { type CliIo, connectOptions, runCli, runClientCommand, UsageError } from './commands.js';
import { keepsSecret } from './shell.js';

// The ACL commands against a client that records its calls (the integration tests run the built
// CLI against real servers).

const STAT: Stat = {
  czxid: 2 ** 32 + 1,
  mzxid: 2 ** 32 + 1,
  pzxid: 2 ** 32 + 1,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 3,
  ephemeralOwner: 0,
  dataLength: 0,
  numChildren: 0,
};
const ACL_OF_A: ACL[] = [
  { perms: 31, id: { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' } },
  { perms: 1, id: { scheme: 'world', id: 'anyone' } },
];

function recorder() {
  const calls: unknown[][] = [];
  const client = {
    async getACL(path: string) {
      calls.push(['getACL', path]);
      if (path !== '/a') throw new ZabError('NO_AUTH', { op: 'getACL', path });
      return { acl: ACL_OF_A, stat: STAT };
    },
    async setACL(path: string, acl: ACL[], options: { version?: number }) {
      calls.push(['setACL', path, acl, options.version]);
      return { ...STAT, aversion: 4 };
    },
    async create(path: string, data: string, options: { acl?: ACL[] }) {
      calls.push(['create', path, data, options.acl]);
      return path;
    },
    async addAuth(scheme: string, credentials: string) {
      calls.push(['addAuth', scheme, credentials]);
    },
  } as unknown as ZabClient;
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (text) => out.push(text), err: (text) => err.push(text) };
  /** run runs one command line as the shell does: parsed, then on the recording client. */
  const run = (...argv: string[]) => {
    const args = parseCliArgs(argv);
    return runClientCommand(args.command, args.positionals, { client, io, json: args.json, flags: args.flags });
  };
  return { calls, out, err, io, run };
}

describe('ACL commands', () => {
  it('getacl prints scheme:id:perms lines, the Stat with --stat, and JSON with --json', async () => {
    const { out, run } = recorder();
    await run('getacl', '/a');
    expect(out.pop()).toBe('digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=:cdrwa\nworld:anyone:r');
    await run('getacl', '/a', '--stat');
    expect(out.pop()).toMatch(/^digest:alice:\S+:cdrwa\nworld:anyone:r\n\ncZxid = 0x100000001\n[\s\S]*aclVersion = 3/);
    await run('getacl', '/a', '--json');
    expect(JSON.parse(out.pop()!)).toEqual({
      path: '/a',
      acl: [
        { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=', perms: 'cdrwa', permsBits: 31 },
        { scheme: 'world', id: 'anyone', perms: 'r', permsBits: 1 },
      ],
    });
    await expect(run('getacl', '/b')).rejects.toThrow(/NO_AUTH/);
    await expect(run('getacl')).rejects.toThrow(UsageError);
  });

  it('setacl parses zkCli ACL text and passes -v as the expected aversion', async () => {
    const { calls, out, run } = recorder();
    await run('setacl', '/a', 'world:anyone:r,digest:bob:aGFzaA==:cdrwa', '-v', '3');
    expect(calls.pop()).toEqual([
      'setACL',
      '/a',
      [
        { perms: 1, id: { scheme: 'world', id: 'anyone' } },
        { perms: 31, id: { scheme: 'digest', id: 'bob:aGFzaA==' } },
      ],
      3,
    ]);
    expect(out.pop()).toBe('/a: aclVersion 4');
    await run('setacl', '/a', 'auth::cdrwa', '--json');
    expect(calls.pop()).toEqual(['setACL', '/a', [...CREATOR_ALL_ACL], -1]);
    expect(JSON.parse(out.pop()!)).toMatchObject({ path: '/a', stat: { aversion: 4 } });
    await expect(run('setacl', '/a', 'world:anyone')).rejects.toThrow(UsageError);
    await expect(run('setacl', '/a')).rejects.toThrow(/missing ACL/);
  });

  it('create --acl passes the ACL; addauth authenticates the session', async () => {
    const { calls, out, run } = recorder();
    await run('create', '/c', 'x', '--acl', 'auth::cdrwa');
    expect(calls.pop()).toEqual(['create', '/c', 'x', [...CREATOR_ALL_ACL]]);
    await run('create', '/d');
    expect(calls.pop()).toEqual(['create', '/d', '', undefined]);
    await run('addauth', 'digest', 'alice:secret');
    expect(calls.pop()).toEqual(['addAuth', 'digest', 'alice:secret']);
    expect(out.pop()).toBe('added digest credentials for this session');
    expect(out.join('\n')).not.toContain('secret');
  });

  it('digest prints ZooKeeper digest ids with no connection; addauth on the command line is a usage error', async () => {
    const { out, err, io } = recorder();
    // ZooKeeper's documented digest of super:admin.
    expect(await runCli(parseCliArgs(['digest', 'super:admin', '--server', '127.0.0.1:1']), io)).toBe(0);
    expect(out.pop()).toBe('super:xQJmxLMiHGwaqBvst5y6rkB6HQs=');
    expect(await runCli(parseCliArgs(['digest', 'super:admin', '--json']), io)).toBe(0);
    expect(JSON.parse(out.pop()!)).toEqual({ user: 'super', id: 'super:xQJmxLMiHGwaqBvst5y6rkB6HQs=' });
    expect(await runCli(parseCliArgs(['digest', 'nopassword']), io)).toBe(2);
    expect(err.pop()).toMatch(/digest needs USER:PASSWORD/);
    expect(await runCli(parseCliArgs(['addauth', 'digest', 'a:b', '--server', '127.0.0.1:1']), io)).toBe(2);
    expect(err.pop()).toMatch(/--auth SCHEME:CREDENTIALS/);
  });

  it('--auth goes to connect as its auth option, with the timeout and no tls when no --tls-* is given', () => {
    expect(connectOptions(parseCliArgs(['ls', '/', '--auth', 'digest:alice:secret', '--timeout', '700']))).toEqual({
      connectTimeoutMs: 700,
      auth: [{ scheme: 'digest', credentials: 'alice:secret' }],
    });
    expect(connectOptions(parseCliArgs(['ls', '/']))).toEqual({ connectTimeoutMs: 5_000 });
  });

  it('shell lines that carry credentials stay out of the history file', () => {
    expect(keepsSecret('addauth digest alice:secret')).toBe(true);
    expect(keepsSecret('  digest alice:secret')).toBe(true);
    expect(keepsSecret('ls / --auth digest:a:b')).toBe(true);
    expect(keepsSecret('ls / --auth=digest:a:b')).toBe(true);
    expect(keepsSecret('get /digest')).toBe(false);
    expect(keepsSecret('setacl /a digest:alice:x=:r')).toBe(false);
  });
});
