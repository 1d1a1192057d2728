import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { type ConnectionOptions, TLSSocket, type TlsOptions } from 'node:tls';
import type { PemInput } from './tls-options.js';

/**
 * PeerTlsOptions make the peer mesh mutual TLS: every member has its own certificate, signed by the
 * ensemble's CA, that names it (see {@link memberCertificateName}); each end of a connection checks
 * that the other's certificate was signed by `ca` and names the member it says it is.
 */
export interface PeerTlsOptions {
  /** cert is this member's certificate (PEM), naming it. */
  cert: PemInput;
  key: PemInput;
  /** ca is the ensemble's CA (PEM): only certificates it signed are members. */
  ca: PemInput;
}

/** MEMBER_NAME_PREFIX: a member's certificate names it `zabkit-member-<id>`. */
export const MEMBER_NAME_PREFIX = 'zabkit-member-';

/** memberCertificateName is the name member `id`'s certificate carries, as its subject CN or a DNS SAN. */
export function memberCertificateName(id: number): string {
  return `${MEMBER_NAME_PREFIX}${id}`;
}

const pem = (input: PemInput): string | Buffer =>
  typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);

/** peerTlsServerOptions: the acceptor requires a certificate from the ensemble's CA. */
export function peerTlsServerOptions(tls: PeerTlsOptions, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: pem(tls.cert),
    key: pem(tls.key),
    ca: pem(tls.ca),
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: handshakeTimeoutMs,
    minVersion: 'TLSv1.2',
  };
}

/**
 * peerTlsConnectOptions: the dialer trusts the ensemble's CA only, and checks the member name
 * itself (namesMember) instead of the host name: members are known by id, not by DNS.
 */
export function peerTlsConnectOptions(tls: PeerTlsOptions, host: string, port: number): ConnectionOptions {
  return {
    host,
    port,
    cert: pem(tls.cert),
    key: pem(tls.key),
    ca: pem(tls.ca),
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
    minVersion: 'TLSv1.2',
  };
}

/**
 * certificateNames lists the names the other end's verified certificate carries (its subject CN and
 * its DNS SANs); empty when the socket is not TLS or the certificate was not verified.
 */
export function certificateNames(socket: Socket): string[] {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return [];
  const certificate = socket.getPeerX509Certificate();
  return certificate === undefined ? [] : x509Names(certificate);
}

/** x509Names lists a certificate's subject CNs and DNS SANs: the names a member's certificate may carry. */
export function x509Names(certificate: X509Certificate): string[] {
  const names: string[] = [];
  for (const line of certificate.subject.split('\n')) if (line.startsWith('CN=')) names.push(line.slice(3));
  for (const entry of (certificate.subjectAltName ?? '').split(',')) {
    const trimmed = entry.trim();
    if (trimmed.startsWith('DNS:')) names.push(trimmed.slice(4));
  }
  return names;
}

/** namesMember tells whether the other end's verified certificate names member `id`. */
export function namesMember(socket: Socket, id: number): boolean {
  return certificateNames(socket).includes(memberCertificateName(id));
}
