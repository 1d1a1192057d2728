import { crc32 } from 'node:zlib';
import { type ACL, type SnapshotHeader, SnapshotImage } from '@zabkit/core';
import type { FileHandle, FileSystem } from './file-system.js';
import { newerFormat, newerFormatVersion } from './format-version.js';
import {
  checkSnapshotHeader,
  checkSnapshotTrailer,
  chunkFrame,
  decodeChunk,
  SNAPSHOT_HEADER_BYTES,
  SNAPSHOT_MAGIC,
  SNAPSHOT_TRAILER_BYTES,
  SNAPSHOT_VERSION,
} from './snapshot-file.js';
import { SnapshotFormatError } from './snapshot-format-error.js';

/** SNAPSHOT_READ_BYTES: a snapshot file is read this much at a time into one buffer (grown only for a larger chunk). */
export const SNAPSHOT_READ_BYTES = 1024 * 1024;

/** RECORD_BYTES_MIN: no record of any kind or format version is shorter (an access list is 7 bytes). */
const RECORD_BYTES_MIN = 7;

/** RecoveredSnapshot is a snapshot file read whole and checked: its header and its records in a SnapshotImage. */
export interface RecoveredSnapshot {
  header: SnapshotHeader;
  records: SnapshotImage;
}

/**
 * FileWindow holds the bytes of a file from `start` to `end` in one reused buffer, reading on
 * front to back, and keeps the crc of every byte it has read.
 */
class FileWindow {
  private buffer: Buffer;
  /** start is the file offset of buffer[0]; end the offset after the last byte held. */
  private start: number;
  private end: number;
  crc: number;

  constructor(
    private readonly file: FileHandle,
    from: number,
    /** limit: bytes from here on are not read (the trailer, read on its own). */
    private readonly limit: number,
    crc: number,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.min(SNAPSHOT_READ_BYTES, Math.max(limit - from, 1)));
    this.start = from;
    this.end = from;
    this.crc = crc;
  }

  /** bytes returns the file's bytes `from` to `to` (at most `limit`), reading what is missing; `from` never goes back. */
  async bytes(from: number, to: number): Promise<Buffer> {
    if (to > this.end) await this.fill(from, to);
    return this.buffer.subarray(from - this.start, to - this.start);
  }

  /** drain reads (and checksums) whatever is left up to `limit`, without keeping it. */
  async drain(): Promise<void> {
    while (this.end < this.limit) await this.fill(this.end, Math.min(this.limit, this.end + this.buffer.length));
  }

  private async fill(from: number, to: number): Promise<void> {
    // Keep the bytes still wanted at the front (never skip bytes not read yet: each is checksummed
    // once, in order); grow only for a chunk larger than the buffer.
    const keepFrom = Math.min(from, this.end);
    const kept = this.end - keepFrom;
    if (to - keepFrom > this.buffer.length) {
      const grown = Buffer.allocUnsafe(to - keepFrom);
      this.buffer.copy(grown, 0, keepFrom - this.start, this.end - this.start);
      this.buffer = grown;
    } else if (kept > 0 && keepFrom !== this.start) {
      this.buffer.copyWithin(0, keepFrom - this.start, this.end - this.start);
    }
    this.start = keepFrom;
    let filled = kept;
    const want = Math.min(this.buffer.length, this.limit - this.start);
    while (filled < want) {
      const count = await this.file.read(this.buffer, filled, want - filled, this.start + filled);
      if (count === 0) break;
      this.crc = crc32(this.buffer.subarray(filled, filled + count), this.crc);
      filled += count;
    }
    this.end = this.start + filled;
    if (this.end < to) throw new SnapshotFormatError('file ends early', this.end);
  }
}

async function readExactly(file: FileHandle, length: number, position: number): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const count = await file.read(bytes, read, length - read, position + read);
    if (count === 0) break;
    read += count;
  }
  return bytes.subarray(0, read);
}

/**
 * readSnapshotFile reads the snapshot file at `path` once, front to back through one reused buffer
 * (never the whole file in memory: on this machine touching fresh memory costs about 3.5 ms per
 * MiB), and decodes it into a SnapshotImage as it goes, checking what decodeSnapshot checks: the
 * header and its crc, the trailer, the chunk framing, every record, the record count and the crc
 * of the whole file. The image is returned only once all of it passed; on any failure it is
 * dropped. A chunk that fails to decode still lets the rest of the file be read for its crc, so a
 * damaged file reports the crc mismatch, as decodeSnapshot does. `slotsSpare`: znodes the tree
 * built from the image will gain on top (the log entries replayed next), so its table is sized once.
 *
 * Throws NEWER_FORMAT (a StorageError) for a format version above this release's, a
 * SnapshotFormatError for a bad file.
 */
export async function readSnapshotFile(
  fileSystem: FileSystem,
  path: string,
  slotsSpare: number,
): Promise<RecoveredSnapshot> {
  const file = await fileSystem.open(path, 'r');
  try {
    const fileBytes = await file.size();
    const headerBytes = await readExactly(file, SNAPSHOT_HEADER_BYTES, 0);
    const newer = newerFormatVersion(headerBytes, SNAPSHOT_MAGIC, 2, SNAPSHOT_VERSION);
    if (newer !== null) throw newerFormat('snapshot', newer, SNAPSHOT_VERSION, path);
    const { version, header } = checkSnapshotHeader(headerBytes, fileBytes);
    const trailerOffset = fileBytes - SNAPSHOT_TRAILER_BYTES;
    const trailer = await readExactly(file, SNAPSHOT_TRAILER_BYTES, trailerOffset);
    if (trailer.length < SNAPSHOT_TRAILER_BYTES) throw new SnapshotFormatError('file ends early', trailerOffset);
    const { recordCount, crc } = checkSnapshotTrailer(trailer, trailerOffset);

    // The count is not checked before the crc at the end: bound what it may make us allocate.
    const image = new SnapshotImage(Math.min(recordCount, Math.floor(fileBytes / RECORD_BYTES_MIN)) + slotsSpare + 2);
    const window = new FileWindow(file, SNAPSHOT_HEADER_BYTES, trailerOffset, crc32(headerBytes));
    const acls = new Map<number, readonly ACL[]>();
    let failure: unknown = null;
    let fileRecords = 0;
    try {
      let offset = SNAPSHOT_HEADER_BYTES;
      while (offset < trailerOffset) {
        const frameHeader = await window.bytes(offset, Math.min(offset + 8, trailerOffset));
        const view = new DataView(frameHeader.buffer, frameHeader.byteOffset, frameHeader.byteLength);
        const { count, end } = chunkFrame(view, 0, offset, trailerOffset);
        const payload = (await window.bytes(offset, end)).subarray(8);
        decodeChunk(version, payload, count, acls, false, image, offset);
        fileRecords += count;
        offset = end;
      }
    } catch (error) {
      // Reported after the crc: a damaged file is a crc mismatch whatever its bytes decoded to.
      failure = error;
      await window.drain();
    }
    if (crc !== crc32(trailer.subarray(0, SNAPSHOT_TRAILER_BYTES - 4), window.crc)) {
      throw new SnapshotFormatError('file crc mismatch', SNAPSHOT_HEADER_BYTES);
    }
    if (failure !== null) throw failure;
    if (fileRecords !== recordCount) throw new SnapshotFormatError('record count mismatch', trailerOffset);
    return { header, records: image };
  } finally {
    await file.close();
  }
}
