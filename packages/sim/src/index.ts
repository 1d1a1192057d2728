export type { CommittedEntry, PrefixViolation } from './prefix.js';
export { checkPrefixHistories } from './prefix.js';
