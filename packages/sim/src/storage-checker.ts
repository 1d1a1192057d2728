import { formatZxid, type RecoveredState, type Zxid } from '@zabkit/core';
import { digestOf } from './digest.js';
import type { MemberStorage } from './member-storage.js';

/** RECOVERY_INVARIANT is the name the simulator reports a broken check under. */
export const RECOVERY_INVARIANT = 'recovery-keeps-what-was-durable';

/**
 * checkRecovery holds what a restarted member's FileStorage recovered to what the host was told
 * before the crash (TigerBeetle's storage_checker): every entry and epoch confirmed durable is
 * back, and nothing comes back that was never written — a torn or half-written record is never
 * served. Recovery may keep unsynced writes that happened to reach the disk, so entries past the
 * durable end must each be exactly one the member wrote; a truncation begun before the crash may
 * have removed what it discards. Returns what is wrong, or null.
 */
export function checkRecovery(id: number, recovered: RecoveredState, storage: MemberStorage): string | null {
  const durable = storage.durableState();
  const written = storage.writtenEpochs();
  const snapshotZxid = recovered.snapshot?.header.zxid ?? 0;
  const what = `server ${id} recovered`;
  for (const name of ['acceptedEpoch', 'currentEpoch'] as const) {
    const value = recovered.epochs[name];
    if (value < durable[name]) return `${what} ${name} ${value}, below the durable ${durable[name]}`;
    if (value > Math.max(written[name], durable[name])) {
      return `${what} ${name} ${value}, never written (highest written ${written[name]})`;
    }
  }
  const present = new Set<Zxid>();
  let previous = snapshotZxid;
  for (const entry of recovered.entries) {
    if (entry.zxid <= previous) {
      return `${what} ${formatZxid(entry.zxid)} after ${formatZxid(previous)}: out of order`;
    }
    previous = entry.zxid;
    present.add(entry.zxid);
    const mine = storage.writtenEntry(entry.zxid);
    if (mine === undefined) return `${what} ${formatZxid(entry.zxid)}, which it never wrote`;
    // Past the durable end only unsynced writes can have come back: each must be whole.
    if (entry.zxid > durable.lastZxid && digestOf(entry) !== digestOf(mine)) {
      return `${what} ${formatZxid(entry.zxid)} different from what it wrote (a torn record served)`;
    }
  }
  // A truncation the member asked for and crashed during may have taken effect: what it discards
  // may be gone (Zab discards it anyway), and nothing below it.
  const truncating = storage.truncatingAfter();
  const kept = (zxid: Zxid) => truncating === null || zxid <= truncating;
  for (const zxid of durable.zxids) {
    if (zxid > snapshotZxid && !present.has(zxid) && kept(zxid)) {
      return `${what} without ${formatZxid(zxid)}, which its storage had confirmed durable`;
    }
  }
  const last = Math.max(previous, snapshotZxid);
  const durableEnd = truncating === null ? durable.lastZxid : Math.min(durable.lastZxid, truncating);
  if (last < durableEnd) {
    return `${what} up to ${formatZxid(last)}, short of the durable ${formatZxid(durableEnd)}`;
  }
  return null;
}
