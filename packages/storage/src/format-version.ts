import { StorageError } from './storage-error.js';

/**
 * Every file FileStorage writes starts with its magic (u32) and its format version (u16 in log
 * segments and snapshots, u32 in the epochs file), and every later format must keep them there:
 * so a release tells a file of a format it does not know yet (written by a later release, after a
 * downgrade) from a damaged one, and refuses it instead of repairing it. A newer newest log
 * segment whose records this release cannot even find must not be taken for one whose creation
 * was cut short and removed; a newer snapshot must not be skipped as corrupt.
 */
export function newerFormatVersion(
  bytes: Uint8Array,
  magic: number,
  versionBytes: 2 | 4,
  known: number,
): number | null {
  if (bytes.length < 4 + versionBytes) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) return null;
  const version = versionBytes === 2 ? view.getUint16(4) : view.getUint32(4);
  return version > known ? version : null;
}

/** newerFormat is the NEWER_FORMAT refusal of a file whose format version is above what this release reads. */
export function newerFormat(what: string, version: number, known: number, file: string): StorageError {
  return new StorageError(
    'NEWER_FORMAT',
    `${what} format version ${version} is newer than this release reads (${known}): a later zabkit release wrote it; run that release, or seed this member from a snapshot this release can read (server README "Rolling upgrade")`,
    { file, offset: 4 },
  );
}
