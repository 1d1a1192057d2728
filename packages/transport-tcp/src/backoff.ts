/** BackoffOptions bound a reconnect schedule. */
export interface BackoffOptions {
  /** reconnectDelayMsBase is the cap of the first attempt's delay. */
  reconnectDelayMsBase: number;
  /** reconnectDelayMsMax is the cap no delay exceeds, however many attempts failed. */
  reconnectDelayMsMax: number;
}

export const BACKOFF_DEFAULTS: BackoffOptions = { reconnectDelayMsBase: 50, reconnectDelayMsMax: 5_000 };

/**
 * backoffDelayMs is capped exponential backoff with full jitter (AWS architecture blog, as ioredis
 * and nats.js do): a uniform draw in [0, min(max, base * 2^attempt)). `random` returns [0, 1).
 */
export function backoffDelayMs(
  attempt: number,
  random: () => number,
  options: BackoffOptions = BACKOFF_DEFAULTS,
): number {
  const exponent = Math.min(Math.max(0, attempt), 30);
  const cap = Math.min(options.reconnectDelayMsMax, options.reconnectDelayMsBase * 2 ** exponent);
  return Math.floor(random() * cap);
}
