import type { ConnectRequest } from '@zabkit/codec';
import {
  ClientConnection,
  type SessionServerMessage,
  type TlsClientOptions,
  type TransportError,
} from '@zabkit/transport-tcp';
import type { ServerAddress } from './connect-string.js';
import { abortReason } from './errors.js';
import { sessionClock } from './heartbeats.js';

/**
 * Attempt is one connection being opened to a member for the session (a first connect, a resume
 * after a loss, or a move home). Until the session adopts it, what arrives on it is held in
 * `early` and a close is noted in `closedEarly`, so the session handles both in order once it
 * does, and nothing is lost between the handshake and the adoption.
 */
export interface Attempt {
  server: ServerAddress;
  connection: ClientConnection | undefined;
  /** requestSentMs: when the connect request went out (sessionClock): the server touched the session after it. */
  requestSentMs: number;
  adopted: boolean;
  early: SessionServerMessage[];
  closedEarly: { error: TransportError | undefined } | undefined;
}

/** AttemptOptions: where to connect, the session's credentials, and where an adopted attempt's traffic goes. */
export interface AttemptOptions {
  server: ServerAddress;
  timeoutMs: number;
  frameBytesMax: number;
  /** tls: connect with TLS (ConnectOptions.tls). */
  tls?: TlsClientOptions | undefined;
  /** request opens a session (sessionId 0) or resumes one with its password and the last zxid the client saw. */
  request: Omit<ConnectRequest, 'kind' | 'protocolVersion'>;
  onMessage(attempt: Attempt, message: SessionServerMessage): void;
  onClose(attempt: Attempt, error: TransportError | undefined): void;
  /** signal: an abort rejects at once with its reason (and closes the connection if it opens later). */
  signal?: AbortSignal | undefined;
}

/** openAttempt connects to one member and resolves once it accepted the session, or rejects with its TransportError. */
export async function openAttempt(options: AttemptOptions): Promise<Attempt> {
  const { server, signal } = options;
  const attempt: Attempt = {
    server,
    connection: undefined,
    requestSentMs: sessionClock.now(),
    adopted: false,
    early: [],
    closedEarly: undefined,
  };
  const pending = ClientConnection.connect({
    host: server.host,
    port: server.port,
    connectTimeoutMs: options.timeoutMs,
    frameBytesMax: options.frameBytesMax,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    request: options.request,
    onMessage: (message) => {
      if (attempt.adopted) options.onMessage(attempt, message);
      else attempt.early.push(message);
    },
    onClose: (error) => {
      if (attempt.adopted) options.onClose(attempt, error);
      else attempt.closedEarly = { error };
    },
  });
  if (signal !== undefined) {
    // An abort does not wait for the attempt's own timeout.
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(abortReason(signal));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      pending.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
    });
    pending.then((connection) => signal.aborted && connection.close()).catch(() => {});
    attempt.connection = await Promise.race([pending, aborted]);
  } else attempt.connection = await pending;
  return attempt;
}
