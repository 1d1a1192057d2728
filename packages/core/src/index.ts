export type { Random } from './prng.js';
export { createPrng } from './prng.js';
export type { Zxid } from './zxid.js';
export {
  compareZxid,
  formatZxid,
  isZxid,
  makeZxid,
  parseZxid,
  ZXID_COUNTER_MAX,
  ZXID_EPOCH_MAX,
  ZXID_ZERO,
  zxidCounter,
  zxidEpoch,
  zxidFromBigInt,
  zxidToBigInt,
} from './zxid.js';
