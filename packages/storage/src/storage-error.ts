const MARKER = Symbol.for('@zabkit/storage.StorageError');

/**
 * StorageErrorCode names every expected failure of FileStorage; codes are stable (callers branch on
 * them, operators grep for them).
 * - CORRUPT_LOG: a log segment has a bad header or a bad record before its tail; `file` and `offset` say where.
 * - CORRUPT_SNAPSHOT: a snapshot file fails validation and no older snapshot can stand in for it.
 * - CORRUPT_EPOCHS: the epochs file fails its checksum (it is written atomically, so this is not a torn write).
 * - NEWER_FORMAT: a file of a format version above what this release reads (a later release wrote
 *   it: a downgrade across a format change); `file` says which. Nothing is repaired or removed.
 * - LOG_GAP: the log has a hole after the snapshot it must be replayed onto (or inside a readFrom range).
 * - LOG_COMPACTED: readFrom asked for entries older than the oldest the log still holds.
 * - APPEND_OUT_OF_ORDER: an appended zxid is not above the last one in the log.
 * - INVALID_ARGUMENT: an argument is not what the contract allows (a zxid that is not one, a bad option).
 * - IO_FAILED: a write or fsync failed; the storage refuses all further work (after a failed fsync the
 *   page cache can no longer be trusted, PostgreSQL's "fsyncgate"), restart to recover from the disk.
 * - CLOSED: a method was called after close().
 * - NOT_LOADED: a method other than load() was called before load().
 */
export type StorageErrorCode =
  | 'CORRUPT_LOG'
  | 'CORRUPT_SNAPSHOT'
  | 'CORRUPT_EPOCHS'
  | 'NEWER_FORMAT'
  | 'LOG_GAP'
  | 'LOG_COMPACTED'
  | 'APPEND_OUT_OF_ORDER'
  | 'INVALID_ARGUMENT'
  | 'IO_FAILED'
  | 'CLOSED'
  | 'NOT_LOADED';

/** StorageError is every expected failure of this package: a stable `code`, and the file and byte offset when one is to blame. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** file is the path of the file at fault, when there is one. */
  readonly file: string | undefined;
  /** offset is the byte offset in `file` where the fault starts, when known. */
  readonly offset: number | undefined;
  readonly [MARKER] = true;

  constructor(
    code: StorageErrorCode,
    message: string,
    options: { file?: string; offset?: number; cause?: unknown } = {},
  ) {
    const where =
      options.file === undefined
        ? ''
        : ` (${options.file}${options.offset === undefined ? '' : ` at offset ${options.offset}`})`;
    super(`${code}: ${message}${where}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.code = code;
    this.file = options.file;
    this.offset = options.offset;
  }

  /** isInstance recognises a StorageError also across two copies of this package. */
  static isInstance(value: unknown): value is StorageError {
    return typeof value === 'object' && value !== null && MARKER in value;
  }
}
