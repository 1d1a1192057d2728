import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { TlsServerOptions } from '@zabkit/transport-tcp';
import { ConfigError } from './config-error.js';

/** ClientTlsFiles: the configured PEM files of the TLS client port. */
export interface ClientTlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string | undefined;
  clientCertificates: 'none' | 'request' | 'require';
}

function readPem(label: string, what: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${label}.${what} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/**
 * readClientTls reads a TLS port's certificate, key and CA (the client port's, or the admin port's
 * with `label` adminTls) and checks that they load together (the key matches the certificate); a
 * problem is a ConfigError naming the file.
 */
export function readClientTls(files: ClientTlsFiles, label = 'clientTls'): TlsServerOptions {
  const cert = readPem(label, 'certFile', files.certFile);
  const key = readPem(label, 'keyFile', files.keyFile);
  const ca = files.caFile === undefined ? undefined : readPem(label, 'caFile', files.caFile);
  const options: TlsServerOptions = { cert, key, clientCertificates: files.clientCertificates };
  if (ca !== undefined) options.ca = ca;
  try {
    createSecureContext(ca === undefined ? { cert, key } : { cert, key, ca });
  } catch (error) {
    throw new ConfigError(
      `${label}: ${files.certFile} and ${files.keyFile}${files.caFile === undefined ? '' : ` and ${files.caFile}`} do not load together: ${(error as Error).message}`,
    );
  }
  return options;
}

/** CERT_WATCH_INTERVAL_MS: how often the certificate files' stat is polled for a change. */
export const CERT_WATCH_INTERVAL_MS = 1_000;

/**
 * watchClientTls calls `onChange` when any of the files changes (polled stat, so a file replaced by
 * a rename, as certificate tools do, is seen too). Returns a function that stops watching.
 */
export function watchClientTls(files: ClientTlsFiles, onChange: () => void): () => void {
  const paths = [files.certFile, files.keyFile, ...(files.caFile === undefined ? [] : [files.caFile])];
  const listener = (current: { mtimeMs: number; ino: number }, previous: { mtimeMs: number; ino: number }) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino) onChange();
  };
  for (const path of paths) watchFile(path, { interval: CERT_WATCH_INTERVAL_MS, persistent: false }, listener);
  return () => {
    for (const path of paths) unwatchFile(path, listener);
  };
}
