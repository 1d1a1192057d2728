import { type ACL, ACL_SCHEMES, type AuthId, OPEN_ACL_UNSAFE, Perms } from '../types.js';

/**
 * ZooKeeper's access control, without the I/O: who may do what to a znode (checkAcl, as
 * ZooKeeperServer.checkACL) and which ACL a create or setACL may set (fixupAcl, as
 * PrepRequestProcessor.fixupACL). The ids a connection holds come from the host: `ip` for every
 * connection, `x509` from a client certificate, `digest` from addAuth, `super` for the configured
 * super user. Computing a digest (SHA-1) is the host's: core has no crypto.
 */

/** NO_AUTH_IDS is what a caller that authenticated as nobody holds (world ACLs still match). */
export const NO_AUTH_IDS: readonly AuthId[] = Object.freeze([]);

/** ACL_ENTRIES_MAX bounds one access list (ZooKeeper's only bound is jute.maxbuffer). */
export const ACL_ENTRIES_MAX = 1024;
/** ACL_ID_CHARS_MAX bounds one id or scheme string in an access list. */
export const ACL_ID_CHARS_MAX = 1024;

/** SUPER_SCHEME: a connection holding an id of this scheme passes every check (ZooKeeper's super user). */
export const SUPER_SCHEME = 'super';

/** AUTHENTICATED_SCHEMES are the schemes an `auth` ACL entry expands to (not `ip`: ZooKeeper's isAuthenticated). */
const AUTHENTICATED_SCHEMES: ReadonlySet<string> = new Set(['digest', 'x509']);

/**
 * checkAcl tells whether `auth` grants any of the `perm` bits on a znode with access list `acl`
 * (ZooKeeper's checkACL: an empty list allows everything, the super user is allowed everything,
 * otherwise one entry with a bit of `perm` whose id the caller holds).
 */
export function checkAcl(acl: readonly ACL[], perm: number, auth: readonly AuthId[]): boolean {
  if (acl.length === 0) return true;
  for (const id of auth) if (id.scheme === SUPER_SCHEME) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    const { scheme, id } = entry.id;
    if (scheme === 'world' && id === 'anyone') return true;
    for (const held of auth) {
      if (held.scheme !== scheme) continue;
      if (scheme === 'ip' ? ipMatches(held.id, id) : held.id === id) return true;
    }
  }
  return false;
}

/**
 * fixupAcl checks an access list a create or setACL asks for and returns the one to store: `auth`
 * entries become one entry per authenticated id of the caller (none held: INVALID_ACL), the rest
 * must be well formed in a known scheme. Null when the list is invalid (INVALID_ACL).
 */
export function fixupAcl(acl: readonly ACL[], auth: readonly AuthId[]): ACL[] | null {
  if (!Array.isArray(acl) || acl.length === 0 || acl.length > ACL_ENTRIES_MAX) return null;
  const out: ACL[] = [];
  for (const entry of acl) {
    if (typeof entry !== 'object' || entry === null || typeof entry.id !== 'object' || entry.id === null) return null;
    const { perms } = entry;
    const { scheme, id } = entry.id;
    if (!(Number.isInteger(perms) && perms >= 0 && perms <= Perms.ALL)) return null;
    if (typeof scheme !== 'string' || typeof id !== 'string' || id.length > ACL_ID_CHARS_MAX) return null;
    if (!(ACL_SCHEMES as readonly string[]).includes(scheme)) return null;
    if (scheme === 'auth') {
      let added = false;
      for (const held of auth) {
        if (!AUTHENTICATED_SCHEMES.has(held.scheme)) continue;
        out.push({ perms, id: { scheme: held.scheme, id: held.id } });
        added = true;
      }
      if (!added) return null;
      continue;
    }
    if (!validAclId(scheme, id)) return null;
    out.push({ perms, id: { scheme, id } });
  }
  // ZooKeeper's removeDuplicates: an entry repeated (after `auth` expansion) is kept once, where first seen.
  for (let i = out.length - 1; i > 0; i--) {
    const entry = out[i]!;
    const earlier = out.findIndex(
      (other) => other.perms === entry.perms && other.id.scheme === entry.id.scheme && other.id.id === entry.id.id,
    );
    if (earlier < i) out.splice(i, 1);
  }
  if (out.length > ACL_ENTRIES_MAX) return null;
  // The common list is shared, not copied into every transaction.
  return isOpenAcl(out) ? (OPEN_ACL_UNSAFE as ACL[]) : out;
}

/** isOpenAcl tells whether a list is OPEN_ACL_UNSAFE (world:anyone with every right, alone). */
export function isOpenAcl(acl: readonly ACL[]): boolean {
  if (acl === OPEN_ACL_UNSAFE) return true;
  const only = acl.length === 1 ? acl[0] : undefined;
  return only !== undefined && only.perms === Perms.ALL && only.id.scheme === 'world' && only.id.id === 'anyone';
}

/** validAclId is ZooKeeper's AuthenticationProvider.isValid per scheme. */
function validAclId(scheme: string, id: string): boolean {
  switch (scheme) {
    case 'world':
      return id === 'anyone';
    case 'digest': {
      // user:base64(sha1(user:password)): one colon after a non-empty user, a 28-character digest.
      const colon = id.indexOf(':');
      return colon > 0 && /^[A-Za-z0-9+/]{27}=$/.test(id.slice(colon + 1));
    }
    case 'ip':
      return parseCidr(id) !== null;
    case 'x509':
      return id.length > 0;
    default:
      return false;
  }
}

/** aclKey is a canonical string for an access list: equal lists (same entries, same order) have equal keys. */
export function aclKey(acl: readonly ACL[]): string {
  let key = '';
  for (const entry of acl)
    key += `${entry.perms},${entry.id.scheme.length}:${entry.id.scheme}${entry.id.id.length}:${entry.id.id};`;
  return key;
}

// ---------------------------------------------------------------------------------------------
// The ip scheme: an address or a CIDR block, IPv4 or IPv6 (ZooKeeper's IPAuthenticationProvider).

interface Cidr {
  bytes: number[];
  prefix: number;
}

/** ipMatches tells whether the address `held` lies in the address or block `pattern`. */
export function ipMatches(held: string, pattern: string): boolean {
  const address = parseAddress(held);
  const block = parseCidr(pattern);
  if (address === null || block === null || address.length !== block.bytes.length) return false;
  let bits = block.prefix;
  for (let i = 0; i < address.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((address[i]! & mask) !== (block.bytes[i]! & mask)) return false;
  }
  return true;
}

function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const bytes = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (bytes === null) return null;
  const width = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: width };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= width ? { bytes, prefix } : null;
}

/** parseAddress reads an IPv4 or IPv6 address into its bytes; an IPv4-mapped IPv6 address reads as IPv4. */
export function parseAddress(text: string): number[] | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return null;
  if (!text.includes(':')) return parseIpv4(text);
  const v6 = parseIpv6(text);
  if (v6 === null) return null;
  const mapped = v6.slice(0, 10).every((byte) => byte === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

function parseIpv6(text: string): number[] | null {
  const zone = text.indexOf('%');
  const body = zone < 0 ? text : text.slice(0, zone);
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(part)) return null;
        out.push(Number.parseInt(part, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes: number[] = [];
  for (const group of groups) bytes.push(group >> 8, group & 0xff);
  return bytes;
}
