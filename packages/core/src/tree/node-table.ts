/**
 * NodeTable stores znodes as columns (one typed array per Stat field) indexed by a slot number,
 * with children kept as an intrusive doubly linked list (firstChild / nextSibling / prevSibling).
 * A znode costs about 90 bytes of columns plus its entry in the path index, instead of a JS object
 * with boxed doubles and a Set of children (measured in bench/tree.bench.ts; see README).
 *
 * Slots of deleted znodes are reused. Nothing outside the tree package sees a slot number: the
 * tree's API speaks paths.
 */

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
}

export class NodeTable {
  private capacity: number;
  /** byPath maps a path to its slot. */
  readonly byPath = new Map<string, number>();
  paths: (string | undefined)[] = [];
  data: Uint8Array[] = [];
  czxid: Float64Array;
  mzxid: Float64Array;
  pzxid: Float64Array;
  ctime: Float64Array;
  mtime: Float64Array;
  ephemeralOwner: Float64Array;
  ttlMs: Float64Array;
  // Int32Array: version counters wrap like ZooKeeper's Java ints.
  version: Int32Array;
  cversion: Int32Array;
  aversion: Int32Array;
  numChildren: Int32Array;
  parent: Int32Array;
  firstChild: Int32Array;
  nextSibling: Int32Array;
  prevSibling: Int32Array;
  flags: Uint8Array;
  private readonly freeSlots: number[] = [];
  private highWater = 0;

  constructor(initialCapacity = 64) {
    this.capacity = Math.max(8, initialCapacity);
    const n = this.capacity;
    this.czxid = new Float64Array(n);
    this.mzxid = new Float64Array(n);
    this.pzxid = new Float64Array(n);
    this.ctime = new Float64Array(n);
    this.mtime = new Float64Array(n);
    this.ephemeralOwner = new Float64Array(n);
    this.ttlMs = new Float64Array(n);
    this.version = new Int32Array(n);
    this.cversion = new Int32Array(n);
    this.aversion = new Int32Array(n);
    this.numChildren = new Int32Array(n);
    this.parent = new Int32Array(n);
    this.firstChild = new Int32Array(n);
    this.nextSibling = new Int32Array(n);
    this.prevSibling = new Int32Array(n);
    this.flags = new Uint8Array(n);
  }

  /** size is the number of znodes. */
  get size(): number {
    return this.byPath.size;
  }

  /** slotOf is the slot of a path, or -1. */
  slotOf(path: string): number {
    const slot = this.byPath.get(path);
    return slot === undefined ? NONE : slot;
  }

  isContainer(slot: number): boolean {
    return (this.flags[slot]! & FLAG_CONTAINER) !== 0;
  }

  /** insert adds a znode under `parentSlot` (-1 only for the root); the caller has checked it is absent. */
  insert(path: string, parentSlot: number, fields: NodeFields): number {
    if (this.byPath.has(path)) throw new Error(`NodeTable.insert: ${path} exists`);
    const slot = this.allocate();
    this.paths[slot] = path;
    this.data[slot] = fields.data;
    this.czxid[slot] = fields.zxid;
    this.mzxid[slot] = fields.zxid;
    this.pzxid[slot] = fields.zxid;
    this.ctime[slot] = fields.timeMs;
    this.mtime[slot] = fields.timeMs;
    this.ephemeralOwner[slot] = fields.ephemeralOwner;
    this.ttlMs[slot] = fields.ttlMs;
    this.version[slot] = 0;
    this.cversion[slot] = 0;
    this.aversion[slot] = 0;
    this.numChildren[slot] = 0;
    this.flags[slot] = FLAG_USED | (fields.container ? FLAG_CONTAINER : 0);
    this.parent[slot] = parentSlot;
    this.firstChild[slot] = NONE;
    this.prevSibling[slot] = NONE;
    if (parentSlot === NONE) {
      this.nextSibling[slot] = NONE;
    } else {
      const head = this.firstChild[parentSlot]!;
      this.nextSibling[slot] = head;
      if (head !== NONE) this.prevSibling[head] = slot;
      this.firstChild[parentSlot] = slot;
      this.numChildren[parentSlot]! += 1;
    }
    this.byPath.set(path, slot);
    return slot;
  }

  /** remove deletes a childless znode and frees its slot. */
  remove(slot: number): void {
    if (this.numChildren[slot] !== 0) throw new Error(`NodeTable.remove: ${this.paths[slot]} has children`);
    const parentSlot = this.parent[slot]!;
    const prev = this.prevSibling[slot]!;
    const next = this.nextSibling[slot]!;
    if (parentSlot !== NONE) {
      if (prev === NONE) this.firstChild[parentSlot] = next;
      else this.nextSibling[prev] = next;
      if (next !== NONE) this.prevSibling[next] = prev;
      this.numChildren[parentSlot]! -= 1;
    }
    this.byPath.delete(this.paths[slot]!);
    this.paths[slot] = undefined;
    this.data[slot] = EMPTY_DATA;
    this.flags[slot] = 0;
    this.freeSlots.push(slot);
  }

  /** childSlots lists the slots of a znode's children (unordered). */
  childSlots(slot: number): number[] {
    const out: number[] = [];
    for (let child = this.firstChild[slot]!; child !== NONE; child = this.nextSibling[child]!) out.push(child);
    return out;
  }

  private allocate(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    const n = this.capacity * 2;
    const f64 = (old: Float64Array): Float64Array => {
      const next = new Float64Array(n);
      next.set(old);
      return next;
    };
    const i32 = (old: Int32Array): Int32Array => {
      const next = new Int32Array(n);
      next.set(old);
      return next;
    };
    this.czxid = f64(this.czxid);
    this.mzxid = f64(this.mzxid);
    this.pzxid = f64(this.pzxid);
    this.ctime = f64(this.ctime);
    this.mtime = f64(this.mtime);
    this.ephemeralOwner = f64(this.ephemeralOwner);
    this.ttlMs = f64(this.ttlMs);
    this.version = i32(this.version);
    this.cversion = i32(this.cversion);
    this.aversion = i32(this.aversion);
    this.numChildren = i32(this.numChildren);
    this.parent = i32(this.parent);
    this.firstChild = i32(this.firstChild);
    this.nextSibling = i32(this.nextSibling);
    this.prevSibling = i32(this.prevSibling);
    const flags = new Uint8Array(n);
    flags.set(this.flags);
    this.flags = flags;
    this.capacity = n;
  }
}
