/** ZabInvariantError: an internal invariant broke; the peer must stop rather than serve wrong data. */
export class ZabInvariantError extends Error {
  override readonly name = 'ZabInvariantError';
}

/** assert throws ZabInvariantError; pass the message as a function where building it costs (hot paths). */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new ZabInvariantError(typeof message === 'string' ? message : message());
}

/** NO_ZXID marks a zxid not known yet (a learner's ack before it synced, a barrier's target before the leader answers). */
export const NO_ZXID = -1;
