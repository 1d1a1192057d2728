const marker = Symbol.for('@zabkit/jute.JuteError');

/**
 * JuteError is the only error this package throws on bytes it did not like (and on a value it
 * cannot encode): `field` names what was wrong as a dotted path (`request.ops[2].path`, `password`,
 * `frame`, `body`), `reason` says how, `message` is both. A server closes the connection that sent
 * it (or, for an unknown op code read by {@link peekHeader}, answers UNIMPLEMENTED); it never stops
 * the process.
 */
export class JuteError extends Error {
  readonly [marker] = true;
  override readonly name = 'JuteError';
  /** field only grows outward while the error unwinds through records (see {@link JuteError.within}). */
  readonly field: string;
  constructor(
    readonly reason: string,
    field = '',
  ) {
    super(field === '' ? reason : `${field}: ${reason}`);
    this.field = field;
  }

  /** isInstance works across two copies of this package, where `instanceof` does not. */
  static isInstance(error: unknown): error is JuteError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /**
   * within prefixes an error raised inside a record or vector with that record's field name and
   * returns it to rethrow. It updates the error in place: one error object per refused frame,
   * however deep the field. Anything that is not a JuteError (a bug) passes through unchanged.
   */
  static within(error: unknown, field: string): unknown {
    if (!JuteError.isInstance(error)) return error;
    const inner = error.field;
    const outer = inner === '' ? field : inner.startsWith('[') ? `${field}${inner}` : `${field}.${inner}`;
    (error as { field: string }).field = outer;
    error.message = `${outer}: ${error.reason}`;
    return error;
  }
}
