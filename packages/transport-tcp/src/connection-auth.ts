import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';
import { AUTH_CREDENTIALS_BYTES_MAX } from '@zabkit/codec';
import type { AuthId, ErrorCode } from '@zabkit/core';
import { SUPER_SCHEME } from '@zabkit/core';

/**
 * The identities a client connection holds, against which core checks znode ACLs (ZooKeeper's
 * per-connection authInfo):
 * - `ip`: the client's address, for every connection (IPv4-mapped IPv6 addresses as plain IPv4);
 * - `x509`: the subject of the client certificate on a TLS port that asked for one, in RFC 2253
 *   order (`CN=alice,O=Example`), as ZooKeeper's X509AuthenticationProvider names it;
 * - `digest`: `user:base64(sha1(user:password))` for each addAuth("digest", "user:password"),
 *   ZooKeeper's DigestAuthenticationProvider format, so digests move between the two systems;
 * - `super`: whoever authenticates as the configured super user (superDigest, or superX509 for a
 *   certificate), who passes every ACL check.
 */

/** SuperUser names who is the super user: a digest id (`super:base64(sha1(super:password))`), an x509 id, or both. */
export interface SuperUser {
  digest?: string;
  x509?: string;
}

/** digestId is ZooKeeper's DigestAuthenticationProvider.generateDigest: `user:base64(sha1("user:password"))`. */
export function digestId(credentials: string): string {
  const colon = credentials.indexOf(':');
  const user = colon < 0 ? credentials : credentials.slice(0, colon);
  return `${user}:${createHash('sha1').update(credentials, 'utf8').digest('base64')}`;
}

/**
 * x509Id names a certificate's subject as RFC 2253 does (most specific first, comma separated,
 * special characters escaped): what ZooKeeper's X509AuthenticationProvider uses as the id.
 */
export function x509Id(certificate: X509Certificate): string {
  // Node lists the subject's attributes one per line, least specific first (C=…, O=…, CN=…).
  const parts = certificate.subject.split('\n').filter((line) => line.length > 0);
  return parts
    .reverse()
    .map((part) => {
      const equals = part.indexOf('=');
      const name = part.slice(0, equals);
      const value = part.slice(equals + 1).replace(/([,+"\\<>;])/g, '\\$1');
      return `${name}=${value}`;
    })
    .join(',');
}

/** normalizeAddress turns an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) into its IPv4 form. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** CONNECTION_IDS_MAX bounds the ids of one connection (a forwarded request carries them all; the codec allows 64). */
export const CONNECTION_IDS_MAX = 32;

const SUPER_ID: AuthId = Object.freeze({ scheme: SUPER_SCHEME, id: '' });

/**
 * ConnectionAuth holds one connection's ids. `ids` is replaced, never changed in place, on each
 * addAuth: a request already queued keeps the ids it was sent with; every request the server reads
 * after an addAuth is checked with the new ones (frames are read in order).
 */
export class ConnectionAuth {
  private current: readonly AuthId[];

  constructor(
    remoteAddress: string,
    certificate: X509Certificate | undefined,
    private readonly superUser: SuperUser,
  ) {
    const ids: AuthId[] = [{ scheme: 'ip', id: normalizeAddress(remoteAddress) }];
    if (certificate !== undefined) {
      const id = x509Id(certificate);
      ids.push({ scheme: 'x509', id });
      if (superUser.x509 !== undefined && sameText(id, superUser.x509)) ids.push(SUPER_ID);
    }
    this.current = Object.freeze(ids);
  }

  /** ids are the connection's identities now. */
  get ids(): readonly AuthId[] {
    return this.current;
  }

  /**
   * add authenticates the connection in `scheme` with `credentials`: `digest` takes
   * `user:password`. Anything else (an unknown scheme, malformed credentials) is AUTH_FAILED and
   * leaves the ids as they were. Adding an id the connection holds already changes nothing.
   */
  add(scheme: string, credentials: Uint8Array): ErrorCode | null {
    if (scheme !== 'digest' || credentials.length > AUTH_CREDENTIALS_BYTES_MAX) return 'AUTH_FAILED';
    const text = Buffer.from(credentials).toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) return 'AUTH_FAILED';
    const id = digestId(text);
    const added: AuthId[] = [];
    if (!this.holds('digest', id)) added.push({ scheme: 'digest', id });
    if (this.superUser.digest !== undefined && sameText(id, this.superUser.digest) && !this.holds(SUPER_SCHEME, '')) {
      added.push(SUPER_ID);
    }
    if (this.current.length + added.length > CONNECTION_IDS_MAX) return 'AUTH_FAILED';
    if (added.length > 0) this.current = Object.freeze([...this.current, ...added]);
    return null;
  }

  private holds(scheme: string, id: string): boolean {
    return this.current.some((held) => held.scheme === scheme && held.id === id);
  }
}
