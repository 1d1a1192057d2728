import type { ErrorCode, MultiOpResult } from '@zabkit/core';

const marker = Symbol.for('@zabkit/client.ZabError');

/** ZabErrorOptions: what a ZabError carries besides its code. */
export interface ZabErrorOptions {
  /** message replaces the default message of the code. */
  message?: string;
  /** path is the znode path the failed call named (as the caller wrote it, without the chroot). */
  path?: string;
  /** op is the operation that failed: `create`, `getData`, `multi`, `connect`, ... */
  op?: string;
  cause?: unknown;
  /** results are a failed multi's per-op results (the failing op has its code, the rest RUNTIME_INCONSISTENCY). */
  results?: MultiOpResult[];
  /** attempts: how many times a retry policy tried the call, when it tried more than once. */
  attempts?: number;
}

const DEFAULT_MESSAGES: Partial<Record<ErrorCode, string>> = {
  CONNECTION_LOSS: 'the connection to the server was lost before the reply arrived',
  SESSION_EXPIRED: 'the session has expired',
  NO_NODE: 'no znode at this path',
  NODE_EXISTS: 'a znode already exists at this path',
  BAD_VERSION: 'the version does not match',
  NOT_EMPTY: 'the znode has children',
  NO_CHILDREN_FOR_EPHEMERALS: 'ephemeral znodes cannot have children',
  INVALID_PATH: 'the path is not a valid znode path',
  BAD_ARGUMENTS: 'bad arguments',
  NO_WATCHER: 'no such watch is registered',
  UNIMPLEMENTED: 'the server does not implement this operation',
  NOT_LEADER: 'the server could not confirm it leads an established ensemble',
  NO_AUTH: 'the session is not authenticated as an id the access list grants this to',
  INVALID_ACL: 'the access list is invalid (empty, malformed, or `auth` without an authenticated id)',
  AUTH_FAILED: 'the server refused the credentials',
  OPERATION_TIMEOUT: 'no reply within the call timeout',
};

/**
 * ZabError is the one error class of @zabkit/client: `code` is ZooKeeper's KeeperException code by
 * name (`NO_NODE`, `NODE_EXISTS`, `BAD_VERSION`, `NOT_EMPTY`, `SESSION_EXPIRED`, `CONNECTION_LOSS`,
 * `INVALID_PATH`, ...), `path` and `op` say which call failed. Use {@link ZabError.isInstance}
 * rather than `instanceof`: it also recognises errors from another copy of this package.
 */
export class ZabError extends Error {
  readonly [marker] = true;
  override readonly name = 'ZabError';
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly op: string | undefined;
  readonly results: MultiOpResult[] | undefined;
  /**
   * attempts is how many times a retry policy tried the call, set when it tried more than once
   * (the earlier tries failed with CONNECTION_LOSS, so they may have taken effect: see retry.ts).
   */
  readonly attempts: number | undefined;

  constructor(code: ErrorCode, options: ZabErrorOptions = {}) {
    const detail = options.message ?? DEFAULT_MESSAGES[code] ?? code.toLowerCase().replaceAll('_', ' ');
    const where = [options.op, options.path].filter((part) => part !== undefined).join(' ');
    super(
      `${code}: ${detail}${where === '' ? '' : ` (${where})`}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.path = options.path;
    this.op = options.op;
    this.results = options.results;
    this.attempts = options.attempts;
  }

  /**
   * isInstance tells whether `error` is a ZabError (of any copy of this package), and when `code`
   * is given, whether it has that code: `ZabError.isInstance(error, 'NO_NODE')`.
   */
  static isInstance(error: unknown, code?: ErrorCode): error is ZabError {
    if (typeof error !== 'object' || error === null || (error as Record<symbol, unknown>)[marker] !== true)
      return false;
    return code === undefined || (error as ZabError).code === code;
  }
}

/**
 * timeoutError is what a call whose `timeoutMs` passed rejects with: OPERATION_TIMEOUT (ZooKeeper's
 * code -7). Like an abort, a request already sent may still take effect; its reply is ignored.
 */
export function timeoutError(timeoutMs: number, op: string, path?: string): ZabError {
  return new ZabError('OPERATION_TIMEOUT', { message: `no reply within ${timeoutMs} ms`, op, path });
}

/** abortReason is what an aborted call rejects with: the signal's reason, or an AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
