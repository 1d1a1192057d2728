import { formatZxid, type Zxid } from '../zxid.js';
import { assert } from './invariant.js';

/** SEGMENTS_PER_BYTES_MAX: runs are cut into pieces of at most bytesMax / this, so bytesAfter errs by one piece at most. */
const SEGMENTS_PER_BYTES_MAX = 64;

/**
 * TrimmedZxids are the zxids of the entries trimmed from a member's in-memory history since
 * `floor`, the history's base when it was last rooted (a recovered snapshot, or a SNAP installed).
 * Every one of them was durable before it was trimmed, and the log on disk holds them in the same
 * order from `floor` on: what a leader may stream to a learner behind its in-memory history as a
 * DIFF read from disk (ZooKeeper's sync from the txnlog). Log entries below `floor` may come from
 * an older history (a SNAP jumps over them), so they are never offered.
 *
 * Zxids are kept as pieces of consecutive numbers with their encoded bytes: a leader numbers its
 * proposals one after another, so a piece ends only at an epoch's end or once it holds bytesMax/64
 * bytes. Only the last `bytesMax` bytes are kept (older pieces are dropped and the floor rises past
 * them): a learner further behind lacks more than a DIFF may carry, since it holds a whole DIFF in
 * memory until NEWLEADER (learner.ts), and gets a SNAP.
 */
export class TrimmedZxids {
  /** floor: the zxid the disk log continues our history after; the trimmed zxids are above it. */
  floor: Zxid;
  private readonly starts: Zxid[] = [];
  private readonly ends: Zxid[] = [];
  private readonly bytes: number[] = [];
  private totalBytes = 0;
  private readonly pieceBytesMax: number;

  constructor(
    floor: Zxid,
    private readonly bytesMax: number,
  ) {
    this.floor = floor;
    this.pieceBytesMax = Math.max(1, Math.floor(bytesMax / SEGMENTS_PER_BYTES_MAX));
  }

  /** last is the highest trimmed zxid, or `floor` when none is held. */
  last(): Zxid {
    return this.ends.at(-1) ?? this.floor;
  }

  /** add records one trimmed zxid of `bytes` encoded bytes, above every one held. */
  add(zxid: Zxid, bytes: number): void {
    const last = this.last();
    assert(zxid > last, () => `trimmed ${formatZxid(zxid)} not above ${formatZxid(last)}`);
    const pieces = this.ends.length;
    if (pieces > 0 && zxid === last + 1 && (this.bytes[pieces - 1] as number) < this.pieceBytesMax) {
      this.ends[pieces - 1] = zxid;
      this.bytes[pieces - 1] = (this.bytes[pieces - 1] as number) + bytes;
    } else {
      this.starts.push(zxid);
      this.ends.push(zxid);
      this.bytes.push(bytes);
    }
    this.totalBytes += bytes;
    // A zxid in the oldest piece lacks at least everything after that piece: past bytesMax, never offered.
    while (this.ends.length > 1 && this.totalBytes - (this.bytes[0] as number) >= this.bytesMax) {
      this.floor = this.ends.shift() as Zxid;
      this.starts.shift();
      this.totalBytes -= this.bytes.shift() as number;
    }
  }

  /** reset forgets every trimmed zxid: the history is rooted at `floor` now (or the disk can no longer be trusted below it). */
  reset(floor: Zxid): void {
    this.floor = floor;
    this.starts.length = 0;
    this.ends.length = 0;
    this.bytes.length = 0;
    this.totalBytes = 0;
  }

  /** holds tells whether `zxid` is the floor or a trimmed zxid: the disk log continues our history after it. */
  holds(zxid: Zxid): boolean {
    return zxid === this.floor || this.pieceOf(zxid) !== -1;
  }

  /** countAfter counts the trimmed zxids above `zxid`. */
  countAfter(zxid: Zxid): number {
    let count = 0;
    for (let piece = this.ends.length - 1; piece >= 0; piece--) {
      const end = this.ends[piece] as Zxid;
      if (end <= zxid) break;
      count += end - Math.max(this.starts[piece] as Zxid, zxid + 1) + 1;
    }
    return count;
  }

  /**
   * bytesAfter bounds the encoded bytes of the trimmed entries above `zxid` from above: the pieces
   * after it, and the whole of the piece it falls in (over by at most one piece, bytesMax/64).
   */
  bytesAfter(zxid: Zxid): number {
    let bytes = 0;
    for (let piece = this.ends.length - 1; piece >= 0; piece--) {
      if ((this.ends[piece] as Zxid) <= zxid) break;
      bytes += this.bytes[piece] as number;
    }
    return bytes;
  }

  /** next is the lowest trimmed zxid above `zxid`, or null when none is. */
  next(zxid: Zxid): Zxid | null {
    for (let piece = 0; piece < this.ends.length; piece++) {
      if ((this.ends[piece] as Zxid) > zxid) return Math.max(this.starts[piece] as Zxid, zxid + 1);
    }
    return null;
  }

  private pieceOf(zxid: Zxid): number {
    let low = 0;
    let high = this.ends.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (zxid < (this.starts[middle] as Zxid)) high = middle - 1;
      else if (zxid > (this.ends[middle] as Zxid)) low = middle + 1;
      else return middle;
    }
    return -1;
  }
}
