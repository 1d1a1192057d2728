import { isIP } from 'node:net';
import type { ConnectionOptions, SecureContextOptions, TlsOptions } from 'node:tls';
import { TransportError } from './errors.js';

/** PemInput is PEM text or its bytes (a file's contents). */
export type PemInput = string | Uint8Array;

/**
 * ClientCertificates says what a TLS client port asks of clients: `none` (server-authenticated
 * TLS only), `request` (ask; a client without one, or with one the CA did not sign, still
 * connects, with no x509 identity), `require` (a certificate signed by `ca`, or the handshake fails).
 */
export type ClientCertificates = 'none' | 'request' | 'require';

/** TlsServerOptions make a client port speak TLS. */
export interface TlsServerOptions {
  /** cert is the server's certificate chain (PEM), leaf first. */
  cert: PemInput;
  /** key is the server's private key (PEM). */
  key: PemInput;
  /** ca verifies client certificates (PEM); needed for `request` and `require`. */
  ca?: PemInput;
  /** clientCertificates: default `none`. */
  clientCertificates?: ClientCertificates;
}

/** TlsClientOptions make a client connection speak TLS. */
export interface TlsClientOptions {
  /** ca verifies the server's certificate (PEM); default: Node's bundled public CAs. */
  ca?: PemInput;
  /** cert and key are the client's certificate (PEM) for a port that asks for one. */
  cert?: PemInput;
  key?: PemInput;
  /** servername is the name the server's certificate must carry; default: the host, if it is a name. */
  servername?: string;
  /**
   * rejectUnauthorized: default true. false accepts any server certificate — encryption without
   * knowing who answers; for a lab only.
   */
  rejectUnauthorized?: boolean;
}

const pem = (input: PemInput): string | Buffer =>
  typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);

/** secureContextOptions: the parts of TlsServerOptions that a reload may change (cert, key, ca). */
export function secureContextOptions(options: TlsServerOptions): SecureContextOptions {
  const context: SecureContextOptions = { cert: pem(options.cert), key: pem(options.key), minVersion: 'TLSv1.2' };
  if (options.ca !== undefined) context.ca = pem(options.ca);
  return context;
}

/** tlsServerOptions: node:tls server options for a client port; the handshake is bounded by `handshakeTimeoutMs`. */
export function tlsServerOptions(options: TlsServerOptions, handshakeTimeoutMs: number): TlsOptions {
  const mode = options.clientCertificates ?? 'none';
  if (mode !== 'none' && options.ca === undefined) {
    throw new RangeError(`clientCertificates '${mode}' needs a ca to verify client certificates with`);
  }
  return {
    ...secureContextOptions(options),
    requestCert: mode !== 'none',
    rejectUnauthorized: mode === 'require',
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** tlsConnectOptions: node:tls connect options for a client connection to host:port. */
export function tlsConnectOptions(host: string, port: number, options: TlsClientOptions): ConnectionOptions {
  const connect: ConnectionOptions = {
    host,
    port,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    minVersion: 'TLSv1.2',
  };
  const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
  if (servername !== undefined) connect.servername = servername;
  if (options.ca !== undefined) connect.ca = pem(options.ca);
  if (options.cert !== undefined) connect.cert = pem(options.cert);
  if (options.key !== undefined) connect.key = pem(options.key);
  return connect;
}

/** CERTIFICATE_PROBLEMS: OpenSSL's verify codes that mean "this certificate is not one to trust". */
const CERTIFICATE_PROBLEMS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * tlsConnectFailure turns the error a TLS connect closed with before the session was accepted into
 * one that says what to check: the CA or the name (TLS), a server that is not speaking TLS, or a
 * server that wanted a client certificate. `error` is what the socket closed with.
 */
export function tlsConnectFailure(remote: string, error: TransportError | undefined): TransportError {
  const cause = error?.cause as (Error & { code?: string }) | undefined;
  const code = cause?.code ?? '';
  const text = `${cause?.message ?? error?.message ?? ''}`;
  if (CERTIFICATE_PROBLEMS.has(code)) {
    return new TransportError(
      'TLS',
      `TLS: ${remote}'s certificate is not trusted (${code}: ${cause?.message}); check the client's tls.ca (the CA that signed the server's certificate) and that the certificate names the host you connect to`,
      { cause, reason: code },
    );
  }
  if (/wrong version number|packet length too long|unknown protocol|record layer failure/i.test(text)) {
    return new TransportError(
      'TLS',
      `TLS: ${remote} does not speak TLS (${text}); is this the member's plain clientPort? Use its secureClientPort, or connect without tls`,
      { cause, reason: 'NOT_TLS' },
    );
  }
  if (/certificate required|handshake failure|bad certificate|unknown ca|alert/i.test(text)) {
    return new TransportError(
      'TLS',
      `TLS: ${remote} refused the handshake (${text}); the port may require a client certificate (tls.cert, tls.key) signed by a CA it trusts`,
      { cause, reason: 'HANDSHAKE_REFUSED' },
    );
  }
  return new TransportError(
    'TLS',
    `TLS: the connection to ${remote} closed before the TLS handshake completed (${text || 'no reason given'}); is it a TLS port, and does it accept this client's certificate?`,
    { cause, reason: 'HANDSHAKE_FAILED' },
  );
}

/**
 * plainOnTlsHint: a plain (non-TLS) connect that was closed before any answer. A TLS port closes
 * it at the first bytes, so the message says to check for that.
 */
export function plainOnTlsHint(remote: string, error: TransportError | undefined): TransportError {
  return new TransportError(
    'SOCKET',
    `${remote} closed the connection before answering the connect request (${error?.message ?? 'closed'}); if it is a TLS port (secureClientPort), connect with tls options`,
    { cause: error },
  );
}
