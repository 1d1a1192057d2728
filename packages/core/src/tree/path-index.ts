import { hashPathBytes } from './path-bytes.js';

/**
 * PathIndex finds a znode's slot by its path: an open-addressing hash table (linear probing,
 * backward-shift deletion, at most half full) of slot numbers in one Int32Array, with each slot's
 * hash kept beside the node table's rows. A JS `Map<string, number>` cost about 40 bytes per entry
 * here and rehashed a million strings at each doubling; this costs 8 to 16 bytes per znode plus 4
 * for the hash, and a restore sizes it once ({@link PathIndex.reserve}). Paths are looked up as
 * UTF-8 bytes (path-bytes.ts) and compared with the bytes the node table keeps for each slot
 * ({@link StoredPaths}): no string per znode.
 */

const EMPTY = -1;
const CAPACITY_MIN = 16;

/** StoredPaths is where the index reads a slot's path bytes to compare them. */
export interface StoredPaths {
  /** matches tells whether the slot's path is the `length` bytes of `bytes` from `start`. */
  matches(slot: number, bytes: Uint8Array, start: number, length: number): boolean;
}

export class PathIndex {
  private buckets: Int32Array;
  private mask: number;
  private count = 0;
  /** hashes holds each slot's path hash (grown by the node table with its rows). */
  private hashes: Int32Array;

  constructor(
    private readonly paths: StoredPaths,
    slotCapacity: number,
  ) {
    this.buckets = new Int32Array(CAPACITY_MIN).fill(EMPTY);
    this.mask = CAPACITY_MIN - 1;
    this.hashes = new Int32Array(slotCapacity);
  }

  get size(): number {
    return this.count;
  }

  /** resizeSlots makes room for hashes of `capacity` slots. */
  resizeSlots(capacity: number): void {
    const hashes = new Int32Array(capacity);
    hashes.set(this.hashes.subarray(0, Math.min(capacity, this.hashes.length)));
    this.hashes = hashes;
  }

  /** reserve makes the table hold `count` paths without growing again. */
  reserve(count: number): void {
    let capacity = this.buckets.length;
    while (capacity < count * 2) capacity *= 2;
    if (capacity !== this.buckets.length) this.rehash(capacity);
  }

  /** get is the slot of the path that is `length` bytes of `bytes` from `start`, or -1. */
  get(bytes: Uint8Array, start: number, length: number): number {
    const hash = hashPathBytes(bytes, start, length);
    const buckets = this.buckets;
    const mask = this.mask;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const slot = buckets[at]!;
      if (slot === EMPTY) return EMPTY;
      if (this.hashes[slot] === hash && this.paths.matches(slot, bytes, start, length)) return slot;
    }
  }

  /**
   * add indexes `slot` under its path, `length` bytes of `bytes` from `start` (the bytes the node
   * table keeps for it); false, changing nothing, if the path is indexed already.
   */
  add(slot: number, bytes: Uint8Array, start: number, length: number): boolean {
    if ((this.count + 1) * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    const hash = hashPathBytes(bytes, start, length);
    const buckets = this.buckets;
    const mask = this.mask;
    let at = hash & mask;
    for (; ; at = (at + 1) & mask) {
      const other = buckets[at]!;
      if (other === EMPTY) break;
      if (this.hashes[other] === hash && this.paths.matches(other, bytes, start, length)) return false;
    }
    buckets[at] = slot;
    this.hashes[slot] = hash;
    this.count++;
    return true;
  }

  /** remove drops `slot` from the index. */
  remove(slot: number): void {
    const buckets = this.buckets;
    const mask = this.mask;
    let hole = this.hashes[slot]! & mask;
    while (buckets[hole] !== slot) {
      if (buckets[hole] === EMPTY) throw new Error(`PathIndex.remove: slot ${slot} is not indexed`);
      hole = (hole + 1) & mask;
    }
    // Backward shift: move later entries of the run into the hole when their home allows it.
    for (let at = (hole + 1) & mask; buckets[at] !== EMPTY; at = (at + 1) & mask) {
      const home = this.hashes[buckets[at]!]! & mask;
      const between = hole <= at ? home > hole && home <= at : home > hole || home <= at;
      if (!between) {
        buckets[hole] = buckets[at]!;
        hole = at;
      }
    }
    buckets[hole] = EMPTY;
    this.count--;
  }

  private rehash(capacity: number): void {
    const old = this.buckets;
    const buckets = new Int32Array(capacity).fill(EMPTY);
    const mask = capacity - 1;
    for (let i = 0; i < old.length; i++) {
      const slot = old[i]!;
      if (slot === EMPTY) continue;
      let at = this.hashes[slot]! & mask;
      while (buckets[at] !== EMPTY) at = (at + 1) & mask;
      buckets[at] = slot;
    }
    this.buckets = buckets;
    this.mask = mask;
  }
}
