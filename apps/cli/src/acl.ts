import { type ACL, type AuthInfo, Perms } from '@zabkit/client';

/**
 * ACL text as ZooKeeper's zkCli writes it: `scheme:id:perms[,scheme:id:perms…]`, perms as letters
 * `cdrwa` (CREATE, DELETE, READ, WRITE, ADMIN), e.g. `world:anyone:r,digest:alice:XHx…=:cdrwa`.
 */

/** PERM_LETTERS: each letter and its bit, in the order zkCli prints them. */
const PERM_LETTERS: readonly [string, number][] = [
  ['c', Perms.CREATE],
  ['d', Perms.DELETE],
  ['r', Perms.READ],
  ['w', Perms.WRITE],
  ['a', Perms.ADMIN],
];

/** permsText writes perms as zkCli's letters, in its order (`cdrwa` for Perms.ALL; empty for none). */
export function permsText(perms: number): string {
  return PERM_LETTERS.filter(([, bit]) => (perms & bit) !== 0)
    .map(([letter]) => letter)
    .join('');
}

/** parsePerms reads perms letters (any order, each of `cdrwa`); a TypeError names an unknown letter. */
export function parsePerms(text: string): number {
  let perms = 0;
  for (const letter of text) {
    const bit = PERM_LETTERS.find(([known]) => known === letter)?.[1];
    if (bit === undefined)
      throw new TypeError(`unknown permission ${JSON.stringify(letter)} in ${JSON.stringify(text)}: use cdrwa`);
    perms |= bit;
  }
  return perms;
}

/** ENTRY_START: a piece that begins an ACL entry starts with a scheme and a colon. */
const ENTRY_START = /^[A-Za-z][A-Za-z0-9_-]*:/;

/**
 * parseAcl reads ACL text (`scheme:id:perms[,…]`): the scheme is before the first colon, the perms
 * after the last, the id in between, so digest ids (`user:hash`) and `auth::cdrwa` read as zkCli
 * reads them. A comma starts a new entry only where a scheme follows, so an x509 id
 * (`x509:CN=alice,O=Example:r`) keeps its commas. Throws a TypeError naming the entry that is wrong.
 */
export function parseAcl(text: string): ACL[] {
  const entries: string[] = [];
  for (const piece of text.split(',')) {
    if (entries.length > 0 && !ENTRY_START.test(piece)) entries[entries.length - 1] += `,${piece}`;
    else entries.push(piece);
  }
  return entries.map((entry) => {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first <= 0 || first === last)
      throw new TypeError(`ACL entry ${JSON.stringify(entry)} is not scheme:id:perms (e.g. world:anyone:cdrwa)`);
    const perms = entry.slice(last + 1);
    if (perms === '') throw new TypeError(`ACL entry ${JSON.stringify(entry)} has no permissions: add some of cdrwa`);
    return { perms: parsePerms(perms), id: { scheme: entry.slice(0, first), id: entry.slice(first + 1, last) } };
  });
}

/** aclText writes one ACL entry as zkCli's syntax: `scheme:id:perms`. */
export function aclText(entry: ACL): string {
  return `${entry.id.scheme}:${entry.id.id}:${permsText(entry.perms)}`;
}

/** parseAuth reads `scheme:credentials` (--auth): the scheme is before the first colon (`digest:alice:secret`). */
export function parseAuth(text: string): AuthInfo {
  const colon = text.indexOf(':');
  if (colon <= 0)
    throw new TypeError(`--auth needs scheme:credentials (e.g. digest:user:password), got ${JSON.stringify(text)}`);
  return { scheme: text.slice(0, colon), credentials: text.slice(colon + 1) };
}
