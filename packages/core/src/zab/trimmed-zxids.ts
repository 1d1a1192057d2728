import { formatZxid, type Zxid } from '../zxid.js';
import { assert } from './invariant.js';

/**
 * TrimmedZxids are the zxids of the entries trimmed from a member's in-memory history since
 * `floor`, the history's base when it was last rooted (a recovered snapshot, or a SNAP installed).
 * Every one of them was durable before it was trimmed, and the log on disk holds them in the same
 * order from `floor` on: what a leader may stream to a learner behind its in-memory history as a
 * DIFF read from disk (ZooKeeper's sync from the txnlog). Log entries below `floor` may come from
 * an older history (a SNAP jumps over them), so they are never offered.
 *
 * Zxids are kept as runs of consecutive numbers: a leader numbers its proposals one after another,
 * so a history is one run per epoch (or a few), however many entries it holds.
 */
export class TrimmedZxids {
  /** floor: the base the history was rooted at; the trimmed zxids are above it. */
  floor: Zxid;
  private readonly starts: Zxid[] = [];
  private readonly ends: Zxid[] = [];

  constructor(floor: Zxid) {
    this.floor = floor;
  }

  /** last is the highest trimmed zxid, or `floor` when none is held. */
  last(): Zxid {
    return this.ends.at(-1) ?? this.floor;
  }

  /** add records one trimmed zxid, above every one held. */
  add(zxid: Zxid): void {
    const last = this.last();
    assert(zxid > last, () => `trimmed ${formatZxid(zxid)} not above ${formatZxid(last)}`);
    const runs = this.ends.length;
    if (runs > 0 && zxid === last + 1) this.ends[runs - 1] = zxid;
    else {
      this.starts.push(zxid);
      this.ends.push(zxid);
    }
  }

  /** reset forgets every trimmed zxid: the history is rooted at `floor` now (or the disk can no longer be trusted below it). */
  reset(floor: Zxid): void {
    this.floor = floor;
    this.starts.length = 0;
    this.ends.length = 0;
  }

  /** holds tells whether `zxid` is the floor or a trimmed zxid: the disk log continues our history after it. */
  holds(zxid: Zxid): boolean {
    return zxid === this.floor || this.runOf(zxid) !== -1;
  }

  /** countAfter counts the trimmed zxids above `zxid`. */
  countAfter(zxid: Zxid): number {
    let count = 0;
    for (let run = this.ends.length - 1; run >= 0; run--) {
      const end = this.ends[run] as Zxid;
      if (end <= zxid) break;
      count += end - Math.max(this.starts[run] as Zxid, zxid + 1) + 1;
    }
    return count;
  }

  /** next is the lowest trimmed zxid above `zxid`, or null when none is. */
  next(zxid: Zxid): Zxid | null {
    for (let run = 0; run < this.ends.length; run++) {
      if ((this.ends[run] as Zxid) > zxid) return Math.max(this.starts[run] as Zxid, zxid + 1);
    }
    return null;
  }

  private runOf(zxid: Zxid): number {
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
