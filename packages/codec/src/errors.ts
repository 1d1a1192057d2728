const marker = Symbol.for('@zabkit/codec.CodecError');

/**
 * CodecError is the only error decoding throws: the frame or field was not what the protocol
 * allows. `field` names what was wrong (a dotted path such as `request.ops[2].path`), `reason` says
 * how. The connection that sent it should be closed; the process keeps running.
 */
export class CodecError extends Error {
  readonly [marker] = true;
  override readonly name = 'CodecError';
  /** field is set once and only grows outward while the error unwinds through containers (see {@link CodecError.within}). */
  field: string | undefined;
  constructor(
    readonly reason: string,
    field?: string,
  ) {
    super(field === undefined || field === '' ? reason : `${field}: ${reason}`);
    this.field = field;
  }

  /** isInstance works across two copies of this package, where `instanceof` does not. */
  static isInstance(error: unknown): error is CodecError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /**
   * within prefixes an error found inside a container with the container's field name, so the final
   * error names the whole path, and returns it to rethrow. It updates the error in place: one error
   * object per refused frame, however deep the field (a stack capture per level made refusing a
   * frame several times slower). Anything that is not a CodecError is a bug and passes through.
   */
  static within(error: unknown, field: string): unknown {
    if (!CodecError.isInstance(error)) return error;
    const inner = error.field;
    error.field =
      inner === undefined || inner === '' ? field : inner.startsWith('[') ? `${field}${inner}` : `${field}.${inner}`;
    error.message = `${error.field}: ${error.reason}`;
    return error;
  }
}
