import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { memberCertificateName, type PeerTlsOptions, x509Names } from '@zabkit/transport-tcp';
import { ConfigError } from './config-error.js';

/** PeerTlsFiles: the configured PEM files of the peer port's mutual TLS. */
export interface PeerTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

function readPem(what: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `peerTls.${what} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/**
 * readPeerTls reads member `id`'s peer certificate, key and the ensemble's CA, and checks that they
 * load together and that the certificate names the member (`zabkit-member-<id>`); any problem is a
 * ConfigError naming the file, so a member never starts with a certificate its peers would refuse.
 */
export function readPeerTls(files: PeerTlsFiles, id: number): PeerTlsOptions {
  const cert = readPem('certFile', files.certFile);
  const key = readPem('keyFile', files.keyFile);
  const ca = readPem('caFile', files.caFile);
  try {
    createSecureContext({ cert, key, ca });
  } catch (error) {
    throw new ConfigError(
      `peerTls: ${files.certFile}, ${files.keyFile} and ${files.caFile} do not load together: ${(error as Error).message}`,
    );
  }
  const names = x509Names(new X509Certificate(cert));
  if (!names.includes(memberCertificateName(id))) {
    throw new ConfigError(
      `peerTls.certFile ${files.certFile} names ${names.join(', ') || 'nothing'}, not ${memberCertificateName(id)} (subject CN or DNS SAN): the other members would refuse member ${id}`,
    );
  }
  return { cert, key, ca };
}
