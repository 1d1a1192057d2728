export type { BackoffOptions } from './backoff.js';
export { BACKOFF_DEFAULTS, backoffDelayMs } from './backoff.js';
