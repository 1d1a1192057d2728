import { crc32 } from 'node:zlib';
import { type ACL, type SnapshotHeader, SnapshotImage } from '@zabkit/core';
import type { FileHandle, FileSystem } from './file-system.js';
import { FILE_WINDOW_BYTES, FileWindow } from './file-window.js';
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
export const SNAPSHOT_READ_BYTES = FILE_WINDOW_BYTES;

/** RECORD_BYTES_MIN: no record of any kind or format version is shorter (an access list is 7 bytes). */
const RECORD_BYTES_MIN = 7;

/** RecoveredSnapshot is a snapshot file read whole and checked: its header and its records in a SnapshotImage. */
export interface RecoveredSnapshot {
  header: SnapshotHeader;
  records: SnapshotImage;
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
    const window = new FileWindow(file, SNAPSHOT_HEADER_BYTES, trailerOffset, crc32(headerBytes), (offset) => {
      throw new SnapshotFormatError('file ends early', offset);
    });
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
    if (crc !== crc32(trailer.subarray(0, SNAPSHOT_TRAILER_BYTES - 4), window.crc as number)) {
      throw new SnapshotFormatError('file crc mismatch', SNAPSHOT_HEADER_BYTES);
    }
    if (failure !== null) throw failure;
    if (fileRecords !== recordCount) throw new SnapshotFormatError('record count mismatch', trailerOffset);
    return { header, records: image };
  } finally {
    await file.close();
  }
}
