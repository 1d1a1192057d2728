import type { SnapshotNodeFields } from '../storage.js';
import { decodePath, encodePath } from './path-bytes.js';
import { PathIndex } from './path-index.js';
import { ValueStore } from './value-store.js';

/**
 * NodeTable stores znodes in two typed arrays of fixed-size rows indexed by a slot number: a row
 * of six float64 (czxid, mzxid, pzxid, ctime, mtime, ephemeralOwner) and a row of eight int32
 * (version, cversion, aversion, numChildren, parent, firstChild, nextSibling, prevSibling):
 * children are an intrusive doubly linked list. A znode's Stat then sits in two cache lines, and
 * costs 80 bytes plus its entry in the path index, instead of a JS object with boxed doubles and a
 * Set of children (measured in bench/tree.bench.mjs; see README). Beside them: each znode's flags
 * (1 byte), its access list as a reference into the tree's AclCache (4 bytes), its data in a
 * {@link ValueStore} (no object per value), and the TTL of the rare TTL znode in a map.
 *
 * Each path is kept as UTF-8 bytes in a ValueStore of its own ({@link NodeTable.paths}), not as a
 * JS string: a restart of a million znodes made and promoted a million strings (issue 17), and the
 * bytes cost less. Strings are made where a path is handed out ({@link NodeTable.pathOf}).
 *
 * Slots of deleted znodes are reused. Nothing outside the tree package sees a slot number: the
 * tree's API speaks paths.
 */

/** F_ROW is the number of fields per slot in the float64 array. */
export const F_ROW = 6;
/** ROW is the number of fields per slot in the int32 array. */
export const ROW = 8;
// Offsets in the float64 row.
export const CZXID = 0;
export const MZXID = 1;
export const PZXID = 2;
export const CTIME = 3;
export const MTIME = 4;
export const OWNER = 5;
// Offsets in the int32 row (Int32: version counters wrap like ZooKeeper's Java ints).
export const VERSION = 0;
export const CVERSION = 1;
export const AVERSION = 2;
export const NUM_CHILDREN = 3;
export const PARENT = 4;
export const FIRST_CHILD = 5;
export const NEXT_SIBLING = 6;
export const PREV_SIBLING = 7;

const NONE = -1;
const FLAG_USED = 1;
const FLAG_CONTAINER = 2;

/** EMPTY_DATA is shared by every znode without data, so the common empty znode costs no array. */
export const EMPTY_DATA: Uint8Array = new Uint8Array(0);

/** NodeFields are the values a new znode starts with. */
export interface NodeFields {
  data: Uint8Array;
  zxid: number;
  timeMs: number;
  ephemeralOwner: number;
  container: boolean;
  ttlMs: number;
  /** aclRef is the znode's AclCache reference, acquired by the caller. */
  aclRef: number;
}

export class NodeTable {
  private capacity: number;
  /** paths holds each slot's path as UTF-8 bytes (path-bytes.ts). */
  readonly paths: ValueStore;
  /** byPath finds a path's slot. */
  private readonly byPath: PathIndex;
  /** values holds each slot's data. */
  readonly values: ValueStore;
  /** f holds the float64 row of each slot. */
  f: Float64Array;
  /** i holds the int32 row of each slot. */
  i: Int32Array;
  /** aclRefs holds each slot's AclCache reference (the caller acquires and releases it). */
  aclRefs: Int32Array;
  /** flags holds each slot's FLAG_USED and FLAG_CONTAINER. */
  private flags: Uint8Array;
  /** ttls holds the TTL of the few znodes that have one (ZooKeeper's TTL nodes), by slot. */
  private readonly ttls = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  private highWater = 0;

  constructor(initialCapacity = 64) {
    this.capacity = Math.max(8, initialCapacity);
    this.f = new Float64Array(this.capacity * F_ROW);
    this.i = new Int32Array(this.capacity * ROW);
    this.aclRefs = new Int32Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    this.values = new ValueStore(this.capacity);
    this.paths = new ValueStore(this.capacity);
    this.byPath = new PathIndex(this.paths, this.capacity);
  }

  /** size is the number of znodes. */
  get size(): number {
    return this.byPath.size;
  }

  /** slotOf is the slot of a path, or -1. */
  slotOf(path: string): number {
    const { bytes, length } = encodePath(path);
    return this.byPath.get(bytes, 0, length);
  }

  /** slotOfBytes is the slot of the path that is `length` bytes of `bytes` from `start`, or -1. */
  slotOfBytes(bytes: Uint8Array, start: number, length: number): number {
    return this.byPath.get(bytes, start, length);
  }

  /**
   * holdsPath tells whether `slot` holds a znode at `path`, comparing the string with the slot's
   * bytes in place (a snapshot visits a million slots it listed earlier and must tell whether each
   * still holds the znode it listed).
   */
  holdsPath(slot: number, path: string): boolean {
    if (slot >= this.highWater || (this.flags[slot]! & FLAG_USED) === 0) return false;
    const paths = this.paths;
    const length = paths.length(slot);
    if (length === path.length) {
      // An ASCII path's characters are its bytes. Only ASCII ones are compared in place: a
      // character from U+0080 to U+00FF equals a byte of some other path's UTF-8 form.
      const bytes = paths.arrayOf(slot);
      const start = paths.startOf(slot);
      let i = 0;
      for (; i < length; i++) {
        const c = path.charCodeAt(i);
        if (c >= 0x80 || bytes[start + i] !== c) break;
      }
      if (i === length) return true;
    }
    // Not ASCII, or not this path: compare the encoded bytes.
    const { bytes, length: encoded } = encodePath(path);
    return paths.matches(slot, bytes, 0, encoded);
  }

  /** pathOf is the path of the znode in `slot`. */
  pathOf(slot: number): string {
    const paths = this.paths;
    return decodePath(paths.arrayOf(slot), paths.startOf(slot), paths.length(slot));
  }

  /** nameOf is the last segment of the path of the znode in `slot` ('' for the root). */
  nameOf(slot: number): string {
    const paths = this.paths;
    const bytes = paths.arrayOf(slot);
    const start = paths.startOf(slot);
    const end = start + paths.length(slot);
    let from = end;
    while (from > start && bytes[from - 1] !== 0x2f) from--;
    return decodePath(bytes, from, end - from);
  }

  isContainer(slot: number): boolean {
    return (this.flags[slot]! & FLAG_CONTAINER) !== 0;
  }

  /** ownerOf is the znode's ephemeralOwner (0 for a persistent znode). */
  ownerOf(slot: number): number {
    return this.f[slot * F_ROW + OWNER]!;
  }

  /** ttlOf is the znode's TTL in milliseconds, 0 for none. */
  ttlOf(slot: number): number {
    return this.ttls.get(slot) ?? 0;
  }

  /** insert adds a znode under `parentSlot` (-1 only for the root); the caller has checked it is absent. */
  insert(path: string, parentSlot: number, fields: NodeFields): number {
    const slot = this.insertIfAbsent(path, parentSlot, fields);
    if (slot < 0) throw new Error(`NodeTable.insert: ${path} exists`);
    return slot;
  }

  /**
   * insertIfAbsent adds a znode as {@link insert} does, or returns -1 and changes nothing when the
   * path exists: one hash lookup where a check before insert costs two (a restore of a million).
   */
  insertIfAbsent(path: string, parentSlot: number, fields: NodeFields): number {
    const slot = this.allocate();
    const { bytes, length } = encodePath(path);
    if (!this.byPath.add(slot, bytes, 0, length)) {
      this.freeSlots.push(slot);
      return -1;
    }
    this.paths.setBytes(slot, bytes, 0, length);
    this.values.set(slot, fields.data);
    const f = this.f;
    const fAt = slot * F_ROW;
    f[fAt + CZXID] = fields.zxid;
    f[fAt + MZXID] = fields.zxid;
    f[fAt + PZXID] = fields.zxid;
    f[fAt + CTIME] = fields.timeMs;
    f[fAt + MTIME] = fields.timeMs;
    f[fAt + OWNER] = fields.ephemeralOwner;
    if (fields.ttlMs !== 0) this.ttls.set(slot, fields.ttlMs);
    this.flags[slot] = FLAG_USED | (fields.container ? FLAG_CONTAINER : 0);
    this.aclRefs[slot] = fields.aclRef;
    const at = slot * ROW;
    this.i[at + VERSION] = 0;
    this.i[at + CVERSION] = 0;
    this.i[at + AVERSION] = 0;
    this.linkUnder(slot, parentSlot);
    return slot;
  }

  /**
   * placeRestored writes a snapshot's znode into the next slot with its whole Stat, neither indexed
   * by path nor linked under a parent: a snapshot image (snapshot-image.ts) fills a table this way
   * while a file is decoded and checked, and {@link link} joins each slot in once a tree adopts it.
   * `aclRef` is acquired by the caller.
   */
  placeRestored(fields: Readonly<SnapshotNodeFields>, aclRef: number): number {
    const slot = this.allocate();
    this.paths.setBytes(slot, fields.pathSource, fields.pathStart, fields.pathLength);
    this.values.setBytes(slot, fields.source, fields.dataStart, fields.dataLength);
    const f = this.f;
    const fAt = slot * F_ROW;
    f[fAt + CZXID] = fields.czxid;
    f[fAt + MZXID] = fields.mzxid;
    f[fAt + PZXID] = fields.pzxid;
    f[fAt + CTIME] = fields.ctime;
    f[fAt + MTIME] = fields.mtime;
    f[fAt + OWNER] = fields.ephemeralOwner;
    if (fields.ttlMs !== 0) this.ttls.set(slot, fields.ttlMs);
    this.flags[slot] = FLAG_USED | (fields.container ? FLAG_CONTAINER : 0);
    this.aclRefs[slot] = aclRef;
    const i = this.i;
    const at = slot * ROW;
    i[at + VERSION] = fields.version;
    i[at + CVERSION] = fields.cversion;
    i[at + AVERSION] = fields.aversion;
    i[at + NUM_CHILDREN] = 0;
    i[at + PARENT] = NONE;
    i[at + FIRST_CHILD] = NONE;
    i[at + NEXT_SIBLING] = NONE;
    i[at + PREV_SIBLING] = NONE;
    return slot;
  }

  /** placedCount is the number of slots handed out (placed or inserted), freed ones included. */
  get placedCount(): number {
    return this.highWater;
  }

  /**
   * link indexes a slot filled by {@link placeRestored} under its path and links it under
   * `parentSlot` (-1 only for the root); returns false, changing nothing, when the path is indexed
   * already.
   */
  link(slot: number, parentSlot: number): boolean {
    const paths = this.paths;
    if (!this.byPath.add(slot, paths.arrayOf(slot), paths.startOf(slot), paths.length(slot))) return false;
    this.linkUnder(slot, parentSlot);
    return true;
  }

  /** clearSpecial makes a slot a plain znode: no ephemeral owner, not a container, no TTL (what `/` and `/zookeeper` always are). */
  clearSpecial(slot: number): void {
    this.f[slot * F_ROW + OWNER] = 0;
    this.flags[slot] = FLAG_USED;
    this.ttls.delete(slot);
  }

  private linkUnder(slot: number, parentSlot: number): void {
    const i = this.i;
    const at = slot * ROW;
    i[at + NUM_CHILDREN] = 0;
    i[at + PARENT] = parentSlot;
    i[at + FIRST_CHILD] = NONE;
    i[at + PREV_SIBLING] = NONE;
    if (parentSlot === NONE) {
      i[at + NEXT_SIBLING] = NONE;
    } else {
      const head = i[parentSlot * ROW + FIRST_CHILD]!;
      i[at + NEXT_SIBLING] = head;
      if (head !== NONE) i[head * ROW + PREV_SIBLING] = slot;
      i[parentSlot * ROW + FIRST_CHILD] = slot;
      i[parentSlot * ROW + NUM_CHILDREN]! += 1;
    }
  }

  /** remove deletes a childless znode and frees its slot. */
  remove(slot: number): void {
    const i = this.i;
    const at = slot * ROW;
    if (i[at + NUM_CHILDREN] !== 0) throw new Error(`NodeTable.remove: ${this.pathOf(slot)} has children`);
    const parentSlot = i[at + PARENT]!;
    const prev = i[at + PREV_SIBLING]!;
    const next = i[at + NEXT_SIBLING]!;
    if (parentSlot !== NONE) {
      if (prev === NONE) i[parentSlot * ROW + FIRST_CHILD] = next;
      else i[prev * ROW + NEXT_SIBLING] = next;
      if (next !== NONE) i[next * ROW + PREV_SIBLING] = prev;
      i[parentSlot * ROW + NUM_CHILDREN]! -= 1;
    }
    this.byPath.remove(slot);
    this.paths.clear(slot);
    this.values.clear(slot);
    this.flags[slot] = 0;
    this.ttls.delete(slot);
    this.freeSlots.push(slot);
  }

  /** childSlots lists the slots of a znode's children (unordered). */
  childSlots(slot: number): number[] {
    const out: number[] = [];
    const i = this.i;
    for (let child = i[slot * ROW + FIRST_CHILD]!; child !== NONE; child = i[child * ROW + NEXT_SIBLING]!) {
      out.push(child);
    }
    return out;
  }

  private allocate(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  /**
   * reserve makes room for `count` znodes in all, at once (a restore knows how many it loads), so
   * the table is sized to need rather than to the next power of two.
   */
  reserve(count: number): void {
    if (count > this.capacity) this.resize(count);
    this.byPath.reserve(count);
  }

  /** grow adds half again: a table of a million znodes wastes at most a third, not half, of its rows. */
  private grow(): void {
    this.resize(Math.ceil(this.capacity * 1.5));
  }

  private resize(capacity: number): void {
    this.capacity = capacity;
    const f = new Float64Array(this.capacity * F_ROW);
    f.set(this.f);
    this.f = f;
    const i = new Int32Array(this.capacity * ROW);
    i.set(this.i);
    this.i = i;
    const aclRefs = new Int32Array(this.capacity);
    aclRefs.set(this.aclRefs);
    this.aclRefs = aclRefs;
    const flags = new Uint8Array(this.capacity);
    flags.set(this.flags);
    this.flags = flags;
    this.values.resize(this.capacity);
    this.paths.resize(this.capacity);
    this.byPath.resizeSlots(this.capacity);
  }
}
