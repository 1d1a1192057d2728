import type { MultiOp, Request } from '@zabkit/core';
import { abortReason, ZabError } from './errors.js';

/**
 * RetryOptions configure a {@link RetryPolicy}: exponential backoff with full jitter, within a
 * budget of tries and of time. Every field is optional; `retry: true` takes all the defaults.
 */
export interface RetryOptions {
  /** attemptsMax is how many times a call is tried in all, the first included (default 4: three retries). */
  attemptsMax?: number;
  /** elapsedMsMax: no retry starts later than this after the call began (default 30 000). */
  elapsedMsMax?: number;
  /** delayMsBase bounds the wait before the first retry; each later one may wait twice as long (default 100). */
  delayMsBase?: number;
  /** delayMsMax caps the wait before any retry (default 5 000). */
  delayMsMax?: number;
}

/** RetryOption is what `connect(…, { retry })` and a call's `retry` take: false (no retry), true (the defaults), or options. */
export type RetryOption = boolean | RetryOptions;

const DEFAULTS: Required<RetryOptions> = {
  attemptsMax: 4,
  elapsedMsMax: 30_000,
  delayMsBase: 100,
  delayMsMax: 5_000,
};

/**
 * RetryPolicy decides whether and when a call that failed with CONNECTION_LOSS is tried again
 * (Curator's ExponentialBackoffRetry with a time budget as well): after the n-th failed try it
 * waits a random time in [0, min(delayMsMax, delayMsBase × 2^(n-1))) (full jitter, so clients that
 * lost the same member do not come back in step), unless that would be the attemptsMax-th try or
 * start later than elapsedMsMax after the call began. Only CONNECTION_LOSS is retried, and only
 * for the calls {@link isRetryable} names: the session lives on and the call may simply not have
 * reached a server. A retry is sent like a new call: it waits for the reconnect if there is none.
 */
export class RetryPolicy {
  readonly attemptsMax: number;
  readonly elapsedMsMax: number;
  readonly delayMsBase: number;
  readonly delayMsMax: number;

  /** The constructor checks the options: a RangeError names a bad one. */
  constructor(options: RetryOptions = {}) {
    const { attemptsMax, elapsedMsMax, delayMsBase, delayMsMax } = { ...DEFAULTS, ...definedOnly(options) };
    if (!(Number.isInteger(attemptsMax) && attemptsMax >= 1))
      throw new RangeError(`retry.attemptsMax must be an integer >= 1: ${attemptsMax}`);
    for (const [name, value] of [
      ['elapsedMsMax', elapsedMsMax],
      ['delayMsBase', delayMsBase],
      ['delayMsMax', delayMsMax],
    ] as const) {
      if (!(typeof value === 'number' && value >= 0))
        throw new RangeError(`retry.${name} must be a number >= 0: ${value}`);
    }
    this.attemptsMax = attemptsMax;
    this.elapsedMsMax = elapsedMsMax;
    this.delayMsBase = delayMsBase;
    this.delayMsMax = delayMsMax;
  }

  /** of turns a RetryOption into a policy: undefined for false or undefined (no retry). */
  static of(option: RetryOption | RetryPolicy | undefined): RetryPolicy | undefined {
    if (option === undefined || option === false) return undefined;
    if (option instanceof RetryPolicy) return option;
    return new RetryPolicy(option === true ? {} : option);
  }

  /** delayMs is the wait after `failedAttempts` (≥ 1) failed tries: full jitter under the capped exponential. */
  delayMs(failedAttempts: number, random: () => number): number {
    const ceilingMs = Math.min(this.delayMsMax, this.delayMsBase * 2 ** Math.min(failedAttempts - 1, 52));
    return random() * ceilingMs;
  }

  /**
   * nextDelayMs is the wait before the next try after `failedAttempts` failed tries, `elapsedMs`
   * after the call began, or undefined when the budget is spent.
   */
  nextDelayMs(failedAttempts: number, elapsedMs: number, random: () => number): number | undefined {
    if (failedAttempts >= this.attemptsMax) return undefined;
    const delayMs = this.delayMs(failedAttempts, random);
    return elapsedMs + delayMs > this.elapsedMsMax ? undefined : delayMs;
  }
}

function definedOnly(options: RetryOptions): RetryOptions {
  return Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined));
}

/**
 * isRetryable tells whether a request may be sent again after CONNECTION_LOSS, when the first
 * send may or may not have taken effect:
 * - reads (getData, exists, getChildren, getACL, getEphemerals, getAllChildrenNumber, multiRead,
 *   whoAmI) and sync: they change nothing;
 * - setData, delete and setACL with an explicit version ≥ 0, and a multi made only of such ops
 *   and checks: if the first send took effect, the version moved and the retry fails (BAD_VERSION,
 *   or NO_NODE for a delete) instead of writing twice;
 * - a reconfig from an explicit version (fromVersion ≥ 0), for the same reason;
 * - never a create (use a protected create, as the recipes do), an unversioned write, or a
 *   session request.
 */
export function isRetryable(request: Request): boolean {
  switch (request.op) {
    case 'getData':
    case 'exists':
    case 'getChildren':
    case 'getACL':
    case 'getEphemerals':
    case 'getAllChildrenNumber':
    case 'multiRead':
    case 'whoAmI':
    case 'sync':
      return true;
    case 'setData':
    case 'delete':
    case 'setACL':
      return request.version >= 0;
    case 'multi':
      return request.ops.length > 0 && request.ops.every(isVersionedOp);
    case 'reconfig':
      // From a given version: a change that took effect moved it, and the retry fails BAD_VERSION.
      return request.fromVersion >= 0;
    default:
      return false;
  }
}

function isVersionedOp(op: MultiOp): boolean {
  switch (op.op) {
    case 'check':
      return true;
    case 'setData':
    case 'delete':
      return op.version >= 0;
    default:
      return false;
  }
}

/** RetryRun: what {@link retrying} needs besides the policy. */
export interface RetryRun {
  random: () => number;
  /** signal stops the waiting between tries (the call rejects with its reason). */
  signal?: AbortSignal | undefined;
  /** now is the clock the budget counts on (default performance.now). */
  now?: () => number;
}

/**
 * retrying runs `attempt` until it resolves, fails with anything but CONNECTION_LOSS, or the
 * policy's budget is spent, waiting {@link RetryPolicy.nextDelayMs} between tries. A failure after
 * more than one try is a ZabError with `attempts` set: a retried versioned write that fails with
 * BAD_VERSION or NO_NODE may have taken effect on an earlier try.
 */
export async function retrying<T>(policy: RetryPolicy, attempt: () => Promise<T>, run: RetryRun): Promise<T> {
  const now = run.now ?? (() => performance.now());
  const startedMs = now();
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      const delayMs = ZabError.isInstance(error, 'CONNECTION_LOSS')
        ? policy.nextDelayMs(attempts, now() - startedMs, run.random)
        : undefined;
      if (delayMs === undefined) throw attempts > 1 ? withAttempts(error, attempts) : error;
      await sleep(delayMs, run.signal);
    }
  }
}

/** withAttempts is `error` (a ZabError) with `attempts` set; anything else as it is. */
function withAttempts(error: unknown, attempts: number): unknown {
  if (!ZabError.isInstance(error)) return error;
  const where = [error.op, error.path].filter((part) => part !== undefined).join(' ');
  let detail = error.message.slice(`${error.code}: `.length);
  if (where !== '' && detail.endsWith(` (${where})`)) detail = detail.slice(0, -` (${where})`.length);
  return new ZabError(error.code, {
    message: `${detail}, after ${attempts} tries`,
    op: error.op,
    path: error.path,
    results: error.results,
    cause: error,
    attempts,
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
