import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCliArgs, splitLine, tlsOptions } from './args.js';

describe('parseCliArgs', () => {
  it('reads the command, its arguments and the options', () => {
    const args = parseCliArgs(['get', '/a', '--server', 'h:1', '--json']);
    expect(args).toMatchObject({ command: 'get', positionals: ['/a'], server: 'h:1', json: true, admin: [] });
    expect(
      parseCliArgs(['create', '/s-', 'x', '-e', '--sequential', '--ttl=5', '--timeout', '100']).flags,
    ).toMatchObject({
      ephemeral: true,
      sequential: true,
      ttlMs: 5,
    });
    expect(parseCliArgs(['status', '--admin', 'a:1, b:2']).admin).toEqual(['a:1', 'b:2']);
    expect(parseCliArgs(['rm', '/a', '-v', '3', '-r']).flags).toMatchObject({ version: 3, recursive: true });
    expect(parseCliArgs(['set', '/a', '--', '-x']).positionals).toEqual(['/a', '-x']);
    expect(parseCliArgs([]).command).toBe('help');
    expect(parseCliArgs(['ls', '--help']).command).toBe('help');
  });
  it('reads the ACL commands, --acl and repeated --auth', () => {
    const args = parseCliArgs(['getacl', '/a', '--auth', 'digest:alice:secret', '--auth=digest:bob:pw']);
    expect(args).toMatchObject({ command: 'getacl', positionals: ['/a'] });
    expect(args.auth).toEqual([
      { scheme: 'digest', credentials: 'alice:secret' },
      { scheme: 'digest', credentials: 'bob:pw' },
    ]);
    expect(parseCliArgs(['ls', '/']).auth).toEqual([]);
    expect(parseCliArgs(['setacl', '/a', 'world:anyone:r', '-v', '2'])).toMatchObject({
      command: 'setacl',
      positionals: ['/a', 'world:anyone:r'],
      flags: { version: 2 },
    });
    expect(parseCliArgs(['create', '/a', 'x', '--acl', 'auth::cdrwa,world:anyone:r']).flags.acl).toEqual([
      { perms: 31, id: { scheme: 'auth', id: '' } },
      { perms: 1, id: { scheme: 'world', id: 'anyone' } },
    ]);
    expect(parseCliArgs(['create', '/a']).flags.acl).toBeUndefined();
    expect(parseCliArgs(['addauth', 'digest', 'alice:secret']).positionals).toEqual(['digest', 'alice:secret']);
    expect(parseCliArgs(['digest', 'alice:secret']).command).toBe('digest');
    expect(() => parseCliArgs(['create', '/a', '--acl', 'world:anyone'])).toThrow(/is not scheme:id:perms/);
    expect(() => parseCliArgs(['ls', '/', '--auth', 'digest'])).toThrow(/--auth needs scheme:credentials/);
  });
  it('refuses unknown commands and options, and bad numbers, with a message naming them', () => {
    expect(() => parseCliArgs(['frob'])).toThrow(/unknown command "frob"/);
    expect(() => parseCliArgs(['ls', '--frob'])).toThrow(/unknown option --frob/);
    expect(() => parseCliArgs(['set', '/a', 'x', '-v', 'one'])).toThrow(/-v needs a whole number/);
    expect(() => parseCliArgs(['get', '/a', '--server'])).toThrow(/--server needs a value/);
  });
  it('reads the --tls-* files into the client tls option; cert and key go together', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-cli-tls-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
      writeFileSync(join(dir, 'c.pem'), 'CERT PEM');
      writeFileSync(join(dir, 'c.key'), 'KEY PEM');
      const args = parseCliArgs(['ls', '/', '--tls-ca', join(dir, 'ca.pem')]);
      expect(args.tls).toEqual({ caFile: join(dir, 'ca.pem') });
      expect(tlsOptions(args.tls)).toEqual({ ca: 'CA PEM' });
      const mutual = parseCliArgs(['ls', '/', `--tls-cert=${join(dir, 'c.pem')}`, '--tls-key', join(dir, 'c.key')]);
      expect(tlsOptions(mutual.tls)).toEqual({ cert: 'CERT PEM', key: 'KEY PEM' });
      expect(tlsOptions(parseCliArgs(['ls', '/']).tls)).toBeUndefined();
      expect(() => parseCliArgs(['ls', '/', '--tls-cert', join(dir, 'c.pem')])).toThrow(
        /--tls-cert and --tls-key go together/,
      );
      expect(() => tlsOptions({ caFile: join(dir, 'missing.pem') })).toThrow(/--tls-ca .*missing\.pem: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('splitLine', () => {
  it('splits on whitespace and keeps quoted words together', () => {
    expect(splitLine(`set /a "two words" 'and \\ more' x\\ y`)).toEqual([
      'set',
      '/a',
      'two words',
      'and \\ more',
      'x y',
    ]);
    expect(splitLine('  ls   / ')).toEqual(['ls', '/']);
    expect(splitLine('set /a ""')).toEqual(['set', '/a', '']);
    expect(() => splitLine('get "/a')).toThrow(/unclosed/);
  });
});
