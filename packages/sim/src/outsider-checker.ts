import { type ACL, formatZxid, type LogEntry, type MultiTxnOp, type SnapshotRecord } from '@zabkit/core';
import { OUTSIDER_CXID_MIN, OUTSIDER_DATA, OUTSIDER_PATH, OUTSIDER_USER } from './outsider.js';

/** OUTSIDER_INVARIANT is the name the simulator reports a broken check under. */
export const OUTSIDER_INVARIANT = 'outsider-ignored';

const MARK = new TextEncoder().encode(OUTSIDER_DATA);

/**
 * checkEntryNotFromOutsider: no committed entry is the outsider's (outsider.ts marks all it
 * forges): not its cxids, paths, values or access lists. Returns what is wrong, or null.
 */
export function checkEntryNotFromOutsider(entry: LogEntry): string | null {
  const what = `committed ${formatZxid(entry.zxid)} (session ${entry.sessionId} xid ${entry.cxid})`;
  if (entry.cxid >= OUTSIDER_CXID_MIN) return `${what} carries one of the outsider's cxids`;
  const txn = entry.txn;
  const ops: (MultiTxnOp | typeof txn)[] = txn.type === 'multi' ? txn.txns : [txn];
  for (const op of ops) {
    if ('path' in op && op.path.startsWith(OUTSIDER_PATH)) return `${what} touches ${op.path}, the outsider's`;
    if ('data' in op && marked(op.data)) return `${what} writes the outsider's value to ${op.path}`;
    if ('acl' in op && grantsOutsider(op.acl)) return `${what} sets an access list granting the outsider on ${op.path}`;
  }
  return null;
}

/**
 * checkTreeNotFromOutsider: a member's tree holds nothing of the outsider's (what a forged SNAP or
 * sync would have installed without any entry being applied). Returns what is wrong, or null.
 */
export function checkTreeNotFromOutsider(id: number, records: Iterable<SnapshotRecord>): string | null {
  for (const record of records) {
    if (record.kind !== 'node') continue;
    if (record.path.startsWith(OUTSIDER_PATH) || marked(record.data) || grantsOutsider(record.acl)) {
      return `server ${id} holds ${record.path}, written by the outsider`;
    }
  }
  return null;
}

function marked(data: Uint8Array): boolean {
  if (data.length < MARK.length) return false;
  for (let i = 0; i < MARK.length; i++) if (data[i] !== MARK[i]) return false;
  return true;
}

function grantsOutsider(acl: readonly ACL[]): boolean {
  return acl.some((entry) => entry.id.id.startsWith(`${OUTSIDER_USER}:`));
}
