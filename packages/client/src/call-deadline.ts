import { timeoutError } from './errors.js';
import type { WaitOptions } from './types.js';

/** TIMER_MS_MAX is the longest delay setTimeout takes; a longer call timeout waits that long (about 24.8 days). */
export const TIMER_MS_MAX = 2 ** 31 - 1;

/**
 * CallDeadline is a call's signal with its `timeoutMs` joined in: the timer aborts it with
 * OPERATION_TIMEOUT; `clear` stops the timer once the call has settled.
 */
export interface CallDeadline {
  signal: AbortSignal | undefined;
  clear(): void;
}

/**
 * deadlineOf joins `options.timeoutMs` (any number ≥ 0, fractions included; Infinity: none) into
 * `options.signal`; a timeout that is not such a number is a RangeError.
 */
export function deadlineOf(options: WaitOptions, op: string, path: string | undefined): CallDeadline {
  const { signal, timeoutMs } = options;
  if (timeoutMs === undefined || timeoutMs === Number.POSITIVE_INFINITY) return { signal, clear() {} };
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))
    throw new RangeError(`${op}: timeoutMs must be a number >= 0: ${String(timeoutMs)}`);
  const controller = new AbortController();
  // A timer counts whole ms and may fire a fraction of a ms early: check, and wait out the rest.
  const startedMs = performance.now();
  const fire = () => {
    const leftMs = timeoutMs - (performance.now() - startedMs);
    if (leftMs > 0) timer = setTimeout(fire, Math.min(leftMs, TIMER_MS_MAX));
    else controller.abort(timeoutError(timeoutMs, op, path));
  };
  let timer = setTimeout(fire, Math.min(timeoutMs, TIMER_MS_MAX));
  return {
    signal: signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]),
    clear: () => clearTimeout(timer),
  };
}
