import { formatZxid, type Zxid, zxidEpoch } from '@zabkit/core';

/** ACKED_WRITE_INVARIANT is the name the simulator reports a broken check under. */
export const ACKED_WRITE_INVARIANT = 'acked-write-survives';

/**
 * AckedWriteChecker: every write acknowledged to a client is in the history of every leader of a
 * later epoch. (A leader of an older epoch may complete its establishment late, after a pause, from
 * acks given before the newer epoch began: it still holds everything committed before its own epoch.)
 */
export class AckedWriteChecker {
  private readonly acked: Zxid[] = [];

  /** acknowledged records a write a client was told succeeded. */
  acknowledged(zxid: Zxid): void {
    this.acked.push(zxid);
  }

  /** established checks a leader just established in `epoch`. Returns what is wrong, or null. */
  established(id: number, epoch: number, hasLogged: (zxid: Zxid) => boolean): string | null {
    for (const zxid of this.acked) {
      if (zxidEpoch(zxid) >= epoch) continue;
      if (!hasLogged(zxid)) return `leader ${id} of epoch ${epoch} lacks acknowledged ${formatZxid(zxid)}`;
    }
    return null;
  }
}
