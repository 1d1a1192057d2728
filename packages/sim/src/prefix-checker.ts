import { formatZxid, type LogEntry, logEntryBytes, type Zxid } from '@zabkit/core';
import { digestOf } from './digest.js';

/** PREFIX_INVARIANT is the name the simulator reports a broken check under. */
export const PREFIX_INVARIANT = 'committed-prefix';

/**
 * CommittedPrefixChecker holds the committed histories of all members to prefixes of one another:
 * an applied zxid is the same transaction everywhere, after the same predecessor. It also keeps
 * the committed history's size (the liveness bound grows with what a sync may stream).
 */
export class CommittedPrefixChecker {
  /** digests: zxid → fingerprint of the transaction committed under it. */
  private readonly digests = new Map<Zxid, string>();
  /** predecessors: zxid → the zxid applied just before it where it was first applied. */
  private readonly predecessors = new Map<Zxid, Zxid>();
  /** committedBytes: the encoded size of every committed entry. */
  committedBytes = 0;

  /** committed is how many distinct transactions were applied somewhere. */
  get committed(): number {
    return this.digests.size;
  }

  /**
   * observe checks `entry`, applied by member `id` right after `lastApplied`; `firstSeen` runs the
   * first time any member applies it. Returns what is wrong, or null.
   */
  observe(id: number, lastApplied: Zxid, entry: LogEntry, firstSeen: (entry: LogEntry) => void): string | null {
    const digest = digestOf(entry);
    const known = this.digests.get(entry.zxid);
    if (known !== undefined && known !== digest)
      return `${formatZxid(entry.zxid)} applied as two different transactions`;
    const previous = this.predecessors.get(entry.zxid);
    if (previous !== undefined && previous !== lastApplied && lastApplied !== 0) {
      return `server ${id} applied ${formatZxid(entry.zxid)} after ${formatZxid(lastApplied)}, elsewhere after ${formatZxid(previous)}`;
    }
    if (previous === undefined) this.predecessors.set(entry.zxid, lastApplied);
    if (known === undefined) {
      this.digests.set(entry.zxid, digest);
      this.committedBytes += logEntryBytes(entry);
      firstSeen(entry);
    }
    return null;
  }
}
