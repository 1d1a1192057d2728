import type { ACL, AuthId } from '@zabkit/core';

/**
 * ZooKeeper's access-control rules, restated for the checkers from ZooKeeper's own code
 * (ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL, the providers' isValid), not taken
 * from core's acl.ts: a checker that called core's checkAcl would hold core to itself. It knows
 * what the workload uses — world, auth, digest, x509, IPv4 addresses and blocks, the super user.
 */

/** WORLD is `world:anyone`, the id every caller holds. */
export const WORLD: AuthId = Object.freeze({ scheme: 'world', id: 'anyone' });

/** SUPER is the simulator's super user (core grants everything to an id of scheme `super`). */
export const SUPER: AuthId = Object.freeze({ scheme: 'super', id: 'operator' });

/** The perms bits (ZooDefs.Perms), spelled out here so the model owes core nothing. */
export const READ = 1;
export const WRITE = 2;
export const CREATE = 4;
export const DELETE = 8;
export const ADMIN = 16;
export const ALL = 31;

/**
 * aclAllows tells whether a caller holding `auth` has one of the `perm` bits on a znode whose
 * access list is `acl`: an empty list allows everything, the super user everything, otherwise an
 * entry granting a bit of `perm` to `world:anyone` or to an id the caller holds (ip by block).
 */
export function aclAllows(acl: readonly ACL[], perm: number, auth: readonly AuthId[]): boolean {
  if (acl.length === 0) return true;
  if (auth.some((held) => held.scheme === SUPER.scheme)) return true;
  return acl.some((entry) => {
    if ((entry.perms & perm) === 0) return false;
    if (entry.id.scheme === WORLD.scheme) return entry.id.id === WORLD.id;
    return auth.some(
      (held) =>
        held.scheme === entry.id.scheme &&
        (held.scheme === 'ip' ? inBlock(held.id, entry.id.id) : held.id === entry.id.id),
    );
  });
}

/**
 * expandAcl is the access list a create or setACL asking for `requested` must store, or null when
 * ZooKeeper refuses it (INVALID_ACL): not empty; each entry's perms within ALL; `auth` becomes
 * one entry per authenticated id the caller holds (digest and x509, not ip or super; none:
 * refused); `world` only `anyone`; digest `user:` and a 28-character base64 SHA-1; x509 any
 * name; ip an IPv4 address or block; no other scheme.
 */
export function expandAcl(requested: readonly ACL[], auth: readonly AuthId[]): ACL[] | null {
  if (requested.length === 0) return null;
  const out: ACL[] = [];
  for (const entry of requested) {
    if (!Number.isInteger(entry.perms) || entry.perms < 0 || entry.perms > ALL) return null;
    const { scheme, id } = entry.id;
    if (scheme === 'auth') {
      const held = auth.filter((candidate) => candidate.scheme === 'digest' || candidate.scheme === 'x509');
      if (held.length === 0) return null;
      for (const each of held) out.push({ perms: entry.perms, id: { scheme: each.scheme, id: each.id } });
      continue;
    }
    const valid =
      (scheme === 'world' && id === WORLD.id) ||
      (scheme === 'digest' && /^[^:]+:[A-Za-z0-9+/]{27}=$/.test(id)) ||
      (scheme === 'x509' && id.length > 0) ||
      (scheme === 'ip' && parseBlock(id) !== null);
    if (!valid) return null;
    out.push({ perms: entry.perms, id: { scheme, id } });
  }
  return out;
}

/** aclText spells an access list out for comparisons and reports: `perms:scheme:id` entries, in order. */
export function aclText(acl: readonly ACL[]): string {
  return `[${acl.map((entry) => `${entry.perms}:${entry.id.scheme}:${entry.id.id}`).join(', ')}]`;
}

/**
 * redactedAclText is `acl` as ZooKeeper's getACL shows it to a caller without ADMIN (3.5 and later
 * replace each digest's hash with `x`), so a checker accepts either form.
 */
export function redactedAclText(acl: readonly ACL[]): string {
  return aclText(
    acl.map((entry) =>
      entry.id.scheme === 'digest'
        ? { perms: entry.perms, id: { scheme: 'digest', id: `${entry.id.id.split(':')[0]}:x` } }
        : entry,
    ),
  );
}

/** authText names the ids a caller holds, for reports. */
export function authText(auth: readonly AuthId[]): string {
  return auth.length === 0 ? '(no ids)' : auth.map((id) => `${id.scheme}:${id.id}`).join(' ');
}

/** inBlock tells whether the IPv4 address `address` lies in the address or block `block`. */
function inBlock(address: string, block: string): boolean {
  const held = parseBlock(address);
  const range = parseBlock(block);
  if (held === null || range === null || held.prefix !== 32) return false;
  if (range.prefix === 0) return true;
  const mask = range.prefix === 32 ? 0xffffffff : ~(0xffffffff >>> range.prefix) >>> 0;
  return (held.address & mask) >>> 0 === (range.address & mask) >>> 0;
}

function parseBlock(text: string): { address: number; prefix: number } | null {
  const [address, prefixText, extra] = text.split('/');
  if (address === undefined || extra !== undefined) return null;
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return null;
  const prefix = prefixText === undefined ? 32 : /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : 33;
  if (prefix > 32) return null;
  return { address: parts.reduce((value, part) => value * 256 + Number(part), 0), prefix };
}
