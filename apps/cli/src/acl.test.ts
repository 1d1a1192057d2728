import { Perms } from '@zabkit/client';
import { describe, expect, it } from 'vitest';
import { aclText, parseAcl, parseAuth, parsePerms, permsText } from './acl.js';

describe('perms letters', () => {
  it('writes zkCli letters in its order and reads them in any order', () => {
    expect(permsText(Perms.ALL)).toBe('cdrwa');
    expect(permsText(Perms.READ | Perms.ADMIN)).toBe('ra');
    expect(permsText(0)).toBe('');
    expect(parsePerms('awrdc')).toBe(Perms.ALL);
    expect(parsePerms('r')).toBe(Perms.READ);
    for (let perms = 0; perms <= Perms.ALL; perms++) expect(parsePerms(permsText(perms))).toBe(perms);
    expect(() => parsePerms('rx')).toThrow(/unknown permission "x"/);
  });
});

describe('parseAcl', () => {
  it('reads zkCli ACL syntax: scheme before the first colon, perms after the last', () => {
    expect(parseAcl('world:anyone:r,digest:alice:XHx+/9=:cdrwa')).toEqual([
      { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
      { perms: Perms.ALL, id: { scheme: 'digest', id: 'alice:XHx+/9=' } },
    ]);
    expect(parseAcl('auth::cdrwa')).toEqual([{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }]);
    expect(parseAcl('ip:10.0.0.0/8:rw')).toEqual([
      { perms: Perms.READ | Perms.WRITE, id: { scheme: 'ip', id: '10.0.0.0/8' } },
    ]);
    // An x509 subject keeps its commas: a comma starts an entry only before a scheme and a colon.
    expect(parseAcl('x509:CN=alice,O=Example Corp:r,world:anyone:a')).toEqual([
      { perms: Perms.READ, id: { scheme: 'x509', id: 'CN=alice,O=Example Corp' } },
      { perms: Perms.ADMIN, id: { scheme: 'world', id: 'anyone' } },
    ]);
  });

  it('refuses what is not scheme:id:perms, naming the entry', () => {
    expect(() => parseAcl('')).toThrow(/is not scheme:id:perms/);
    expect(() => parseAcl('world')).toThrow(/"world" is not scheme:id:perms/);
    expect(() => parseAcl('world:anyone')).toThrow(/is not scheme:id:perms/);
    expect(() => parseAcl(':anyone:r')).toThrow(/is not scheme:id:perms/);
    expect(() => parseAcl('world:anyone:')).toThrow(/has no permissions/);
    expect(() => parseAcl('world:anyone:rq')).toThrow(/unknown permission "q"/);
  });

  it('aclText writes what parseAcl reads', () => {
    const text = 'world:anyone:r,digest:bob:aGFzaA==:cdrwa,auth::ra';
    expect(parseAcl(text).map(aclText).join(',')).toBe(text);
  });
});

describe('parseAuth', () => {
  it('splits scheme:credentials at the first colon', () => {
    expect(parseAuth('digest:alice:se:cret')).toEqual({ scheme: 'digest', credentials: 'alice:se:cret' });
    expect(() => parseAuth('digest')).toThrow(/--auth needs scheme:credentials/);
    expect(() => parseAuth(':x')).toThrow(/--auth needs scheme:credentials/);
  });
});
