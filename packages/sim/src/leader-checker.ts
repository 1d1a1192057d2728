/** LEADER_INVARIANT is the name the simulator reports a broken check under. */
export const LEADER_INVARIANT = 'one-leader-per-epoch';

/** OneLeaderChecker: at most one member is ever established as the leader of an epoch. */
export class OneLeaderChecker {
  /** leaders: epoch → id of the member established as its leader. */
  private readonly leaders = new Map<number, number>();

  /** established records that member `id` became established in `epoch`. Returns what is wrong, or null. */
  established(id: number, epoch: number): string | null {
    const other = this.leaders.get(epoch);
    if (other !== undefined && other !== id) return `servers ${other} and ${id} both established in epoch ${epoch}`;
    this.leaders.set(epoch, id);
    return null;
  }
}
