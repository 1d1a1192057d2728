const marker = Symbol.for('@zabkit/codec.CodecError');

/**
 * CodecError is the only error decoding throws: the frame or field was not what the protocol
 * allows. `field` names what was wrong. The connection that sent it should be closed; the process
 * keeps running.
 */
export class CodecError extends Error {
  readonly [marker] = true;
  override readonly name = 'CodecError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field === undefined ? message : `${field}: ${message}`);
  }

  /** isInstance works across two copies of this package, where `instanceof` does not. */
  static isInstance(error: unknown): error is CodecError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}
