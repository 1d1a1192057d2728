/**
 * ValueStore holds every znode's data, by slot, without an object per value. Small values are
 * copied into shared slabs (append-only `Uint8Array`s) and found through three int32 arrays
 * (slab, offset, length); a value costs its bytes plus a 6-byte header and 12 bytes of location,
 * where a `Uint8Array` of its own cost about 184 bytes of wrapper and backing store beside its
 * bytes (issue 17's heap snapshot: a 100-byte value took 284 bytes). Values over
 * {@link LARGE_VALUE_BYTES} keep an array of their own: the wrapper is small beside them.
 *
 * Bytes once written to a slab are never written again, so the views {@link ValueStore.get}
 * returns stay valid and unchanged after the znode changes (reads, snapshots and SNAP chunks
 * share them). A replaced or deleted value leaves dead bytes behind; a slab whose live bytes fall
 * under half its size is compacted: its live values are copied to the current slab and the slab is
 * dropped (views into it keep it alive until they go). Each value's header is its slot and its
 * length: compaction walks a slab by the lengths and keeps the values their slot still points at. Every copy is paid by earlier writes that left
 * at least as many dead bytes, so the cost per byte written stays constant; the slabs never hold
 * more than about twice the live bytes.
 */

/** LARGE_VALUE_BYTES: values above this keep an array of their own. */
export const LARGE_VALUE_BYTES = 8 * 1024;
/** SLAB_BYTES_MAX: the size slabs grow to (the first are small, so a small tree costs little). */
export const SLAB_BYTES_MAX = 256 * 1024;
const SLAB_BYTES_MIN = 4 * 1024;
/** HEADER_BYTES: each value in a slab follows its slot (u32) and its length (u16). */
const HEADER_BYTES = 6;
/** NO_SLAB marks an empty value; LARGE marks one kept in `large`. */
const NO_SLAB = -1;
const LARGE = -2;

/** EMPTY is what an empty value reads as: one shared array. */
const EMPTY: Uint8Array = new Uint8Array(0);

interface Slab {
  bytes: Uint8Array;
  /** used: bytes written (values and headers), dead or alive. */
  used: number;
  /** live: bytes of values (and their headers) still referred to. */
  live: number;
}

export class ValueStore {
  private slabOf: Int32Array;
  private offsetOf: Int32Array;
  private lengthOf: Int32Array;
  private readonly slabs: (Slab | null)[] = [];
  private readonly freeSlabIndexes: number[] = [];
  private readonly large = new Map<number, Uint8Array>();
  /** current is the index of the slab being appended to, or -1. */
  private current = -1;
  private nextSlabBytes = SLAB_BYTES_MIN;

  constructor(capacity: number) {
    this.slabOf = new Int32Array(capacity).fill(NO_SLAB);
    this.offsetOf = new Int32Array(capacity);
    this.lengthOf = new Int32Array(capacity);
  }

  /** resize makes room for `capacity` slots (never fewer than it holds). */
  resize(capacity: number): void {
    const slabOf = new Int32Array(capacity).fill(NO_SLAB);
    slabOf.set(this.slabOf.subarray(0, Math.min(capacity, this.slabOf.length)));
    this.slabOf = slabOf;
    const offsetOf = new Int32Array(capacity);
    offsetOf.set(this.offsetOf.subarray(0, Math.min(capacity, this.offsetOf.length)));
    this.offsetOf = offsetOf;
    const lengthOf = new Int32Array(capacity);
    lengthOf.set(this.lengthOf.subarray(0, Math.min(capacity, this.lengthOf.length)));
    this.lengthOf = lengthOf;
  }

  /** length is the byte length of the slot's value. */
  length(slot: number): number {
    return this.lengthOf[slot]!;
  }

  /** get is the slot's value: a view that must not be written to (it may share a slab). */
  get(slot: number): Uint8Array {
    const slabIndex = this.slabOf[slot]!;
    if (slabIndex === NO_SLAB) return EMPTY;
    if (slabIndex === LARGE) return this.large.get(slot)!;
    const offset = this.offsetOf[slot]!;
    return this.slabs[slabIndex]!.bytes.subarray(offset, offset + this.lengthOf[slot]!);
  }

  /**
   * arrayOf is the array that holds the slot's value, from {@link startOf} for {@link length}
   * bytes: for reading it in place without making a view (the path index compares a million).
   */
  arrayOf(slot: number): Uint8Array {
    const slabIndex = this.slabOf[slot]!;
    if (slabIndex === NO_SLAB) return EMPTY;
    if (slabIndex === LARGE) return this.large.get(slot)!;
    return this.slabs[slabIndex]!.bytes;
  }

  /** startOf is where the slot's value starts in {@link arrayOf}. */
  startOf(slot: number): number {
    const slabIndex = this.slabOf[slot]!;
    return slabIndex < 0 ? 0 : this.offsetOf[slot]!;
  }

  /** matches tells whether the slot's value is the `length` bytes of `bytes` from `start`. */
  matches(slot: number, bytes: Uint8Array, start: number, length: number): boolean {
    if (this.lengthOf[slot] !== length) return false;
    const held = this.arrayOf(slot);
    const offset = this.startOf(slot);
    for (let index = 0; index < length; index++) if (held[offset + index] !== bytes[start + index]) return false;
    return true;
  }

  /** set copies `data` in as the slot's value, replacing what it held. */
  set(slot: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new TypeError('znode data must be a Uint8Array');
    this.clear(slot);
    const length = data.length;
    if (length === 0) return;
    if (length > LARGE_VALUE_BYTES) {
      this.large.set(slot, data.slice());
      this.slabOf[slot] = LARGE;
      this.lengthOf[slot] = length;
      return;
    }
    this.append(slot, data, 0, length);
  }

  /**
   * setBytes copies `length` bytes of `source` from `start` in as the slot's value, as {@link set}
   * does with a view of them, without making the view (a restore sets a million values).
   */
  setBytes(slot: number, source: Uint8Array, start: number, length: number): void {
    this.clear(slot);
    if (length === 0) return;
    if (length > LARGE_VALUE_BYTES) {
      // A copy of its own: `source` may be a reused read window, and slicing some kinds of arrays only makes a view.
      const value = new Uint8Array(length);
      value.set(source.subarray(start, start + length));
      this.large.set(slot, value);
      this.slabOf[slot] = LARGE;
      this.lengthOf[slot] = length;
      return;
    }
    this.append(slot, source, start, length);
  }

  /** clear empties the slot (its znode was deleted or its value is being replaced). */
  clear(slot: number): void {
    const slabIndex = this.slabOf[slot]!;
    if (slabIndex === NO_SLAB) return;
    this.slabOf[slot] = NO_SLAB;
    const length = this.lengthOf[slot]!;
    this.lengthOf[slot] = 0;
    if (slabIndex === LARGE) {
      this.large.delete(slot);
      return;
    }
    const slab = this.slabs[slabIndex]!;
    slab.live -= HEADER_BYTES + length;
    if (slabIndex !== this.current && slab.live * 2 < slab.used) this.compact(slabIndex);
  }

  /** heldBytes is the bytes held in slabs and large values (for tests and the README's figures). */
  heldBytes(): number {
    let bytes = 0;
    for (const slab of this.slabs) if (slab !== null) bytes += slab.bytes.length;
    for (const value of this.large.values()) bytes += value.length;
    return bytes;
  }

  private append(slot: number, source: Uint8Array, start: number, length: number): void {
    const need = HEADER_BYTES + length;
    let slab = this.current < 0 ? null : this.slabs[this.current]!;
    // Again after each new slab: the full one's compaction into it may have used the room.
    while (slab === null || slab.used + need > slab.bytes.length) slab = this.newSlab(need);
    const bytes = slab.bytes;
    const at = slab.used;
    bytes[at] = slot >>> 24;
    bytes[at + 1] = (slot >>> 16) & 0xff;
    bytes[at + 2] = (slot >>> 8) & 0xff;
    bytes[at + 3] = slot & 0xff;
    bytes[at + 4] = length >>> 8;
    bytes[at + 5] = length & 0xff;
    if (length <= 256) {
      // A loop beats set() and its subarray for the small values most znodes hold.
      for (let index = 0; index < length; index++) bytes[at + HEADER_BYTES + index] = source[start + index]!;
    } else {
      bytes.set(
        start === 0 && length === source.length ? source : source.subarray(start, start + length),
        at + HEADER_BYTES,
      );
    }
    slab.used += need;
    slab.live += need;
    this.slabOf[slot] = this.current;
    this.offsetOf[slot] = at + HEADER_BYTES;
    this.lengthOf[slot] = length;
  }

  private newSlab(need: number): Slab {
    const previous = this.current;
    const size = Math.max(this.nextSlabBytes, need);
    this.nextSlabBytes = Math.min(SLAB_BYTES_MAX, this.nextSlabBytes * 2);
    const slab: Slab = { bytes: new Uint8Array(size), used: 0, live: 0 };
    const index = this.freeSlabIndexes.pop() ?? this.slabs.length;
    this.slabs[index] = slab;
    this.current = index;
    // The slab just filled may already be half dead: it could not be compacted while current.
    if (previous >= 0) {
      const full = this.slabs[previous]!;
      if (full.live * 2 < full.used) this.compact(previous);
    }
    return this.slabs[this.current]!;
  }

  /** compact moves a slab's live values to the current slab and drops it. */
  private compact(slabIndex: number): void {
    const slab = this.slabs[slabIndex]!;
    this.slabs[slabIndex] = null;
    const bytes = slab.bytes;
    let at = 0;
    while (at < slab.used) {
      const slot = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
      const length = (bytes[at + 4]! << 8) | bytes[at + 5]!;
      const offset = at + HEADER_BYTES;
      if (this.slabOf[slot] === slabIndex && this.offsetOf[slot] === offset) {
        this.append(slot, bytes, offset, length);
      }
      at = offset + length;
    }
    this.freeSlabIndexes.push(slabIndex);
  }
}
