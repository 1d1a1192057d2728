const marker = Symbol.for('@zabkit/transport-tcp.TransportError');

/** TransportErrorCode: why a connection failed or was closed. */
export type TransportErrorCode =
  /** the TCP connect did not complete within connectTimeoutMs */
  | 'CONNECT_TIMEOUT'
  /** the server answered the connect or handshake with a refusal (see `reason`) */
  | 'REFUSED'
  /** the handshake did not complete within handshakeTimeoutMs */
  | 'HANDSHAKE_TIMEOUT'
  /** nothing was received for idleTimeoutMs */
  | 'IDLE_TIMEOUT'
  /** the other end fell behind: its send queue passed sendQueueBytesMax */
  | 'SEND_QUEUE_FULL'
  /**
   * the other end's incomplete frame needed more buffer than was left of the listener's
   * partialFrameBytesMax, shared by all its connections
   */
  | 'PARTIAL_FRAME_BUDGET'
  /** a frame began to arrive but was not complete within frameTimeoutMs */
  | 'FRAME_TIMEOUT'
  /** the other end sent a frame the codec refused (the cause is a CodecError) */
  | 'PROTOCOL'
  /** the socket failed or the other end closed it */
  | 'SOCKET'
  /**
   * the TLS handshake failed: the server's certificate is not trusted (`reason` is OpenSSL's code),
   * the server does not speak TLS (NOT_TLS), or it refused this client (HANDSHAKE_REFUSED)
   */
  | 'TLS'
  /** this end closed the connection */
  | 'CLOSED';

/**
 * TransportError is the error every connection of this package closes with, or a connect rejects
 * with. `code` is stable; `reason` carries the refusal reason for REFUSED.
 */
export class TransportError extends Error {
  readonly [marker] = true;
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown; reason?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options?.reason;
  }
  /** reason is the other end's refusal reason (ConnectRefusedReason or PeerHandshakeRefusedReason) for REFUSED. */
  readonly reason: string | undefined;

  /** isInstance works across two copies of this package, where `instanceof` does not. */
  static isInstance(error: unknown): error is TransportError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
