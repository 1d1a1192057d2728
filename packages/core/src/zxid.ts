/**
 * Zxid: ZooKeeper's transaction id, `(epoch << 32) | counter`, totally ordered by (epoch, counter).
 *
 * zabkit keeps a zxid as a JS safe integer (`epoch * 2^32 + counter`) so that comparisons and map
 * keys stay cheap on the hot path. That caps the epoch at 2^21 - 1 (two million leader elections),
 * which {@link makeZxid} asserts; on the wire a zxid is always an exact 64-bit integer (see
 * {@link zxidToBigInt} / {@link zxidFromBigInt}), so the format does not change if the cap is lifted.
 */
export type Zxid = number;

/** ZXID_EPOCH_MAX is the largest epoch that fits a safe-integer zxid. */
export const ZXID_EPOCH_MAX = 0x1f_ffff;
/** ZXID_COUNTER_MAX is the largest counter within one epoch; ZooKeeper forces an election on rollover. */
export const ZXID_COUNTER_MAX = 0xffff_ffff;
/** ZXID_ZERO is the zxid before any transaction. */
export const ZXID_ZERO: Zxid = 0;

const TWO_32 = 0x1_0000_0000;

/** makeZxid builds a zxid from its epoch and counter; both must be in range. */
export function makeZxid(epoch: number, counter: number): Zxid {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > ZXID_EPOCH_MAX) {
    throw new RangeError(`zxid epoch out of range: ${epoch}`);
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > ZXID_COUNTER_MAX) {
    throw new RangeError(`zxid counter out of range: ${counter}`);
  }
  return epoch * TWO_32 + counter;
}

/** zxidEpoch is the epoch (high 32 bits) of a zxid. */
export function zxidEpoch(zxid: Zxid): number {
  return Math.floor(zxid / TWO_32);
}

/** zxidCounter is the counter (low 32 bits) of a zxid. */
export function zxidCounter(zxid: Zxid): number {
  return zxid % TWO_32;
}

/** isZxid tells whether a value is a valid zxid in zabkit's safe-integer form. */
export function isZxid(value: unknown): value is Zxid {
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 0 &&
    Math.floor(value / TWO_32) <= ZXID_EPOCH_MAX
  );
}

/** compareZxid orders zxids by (epoch, counter); negative, zero or positive as for Array#sort. */
export function compareZxid(a: Zxid, b: Zxid): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** formatZxid prints a zxid as ZooKeeper does in its logs: `0x` and lowercase hex, no padding. */
export function formatZxid(zxid: Zxid): string {
  return `0x${zxid.toString(16)}`;
}

/** parseZxid reads `0x…` hex (as {@link formatZxid} prints) or a decimal string; throws RangeError if invalid. */
export function parseZxid(text: string): Zxid {
  const trimmed = text.trim();
  const value = /^0x[0-9a-f]+$/i.test(trimmed)
    ? Number.parseInt(trimmed.slice(2), 16)
    : /^[0-9]+$/.test(trimmed)
      ? Number(trimmed)
      : Number.NaN;
  if (!isZxid(value)) throw new RangeError(`not a zxid: ${JSON.stringify(text)}`);
  return value;
}

/** zxidToBigInt gives the exact 64-bit value of a zxid, for encoders that write int64. */
export function zxidToBigInt(zxid: Zxid): bigint {
  return BigInt(zxid);
}

/** zxidFromBigInt reads a 64-bit value; throws RangeError when it is negative or past the epoch cap. */
export function zxidFromBigInt(value: bigint | number): Zxid {
  const asNumber = typeof value === 'bigint' ? Number(value) : value;
  if (typeof value === 'bigint' && BigInt(asNumber) !== value) {
    throw new RangeError(`zxid out of range: ${value}`);
  }
  if (!isZxid(asNumber)) throw new RangeError(`zxid out of range: ${String(value)}`);
  return asNumber;
}
