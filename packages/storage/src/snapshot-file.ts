import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import type { Snapshot, SnapshotHeader, SnapshotRecord } from '@zabkit/core';
import { type FileSystem, writeFully } from './file-system.js';
import { readZxid, writeZxid } from './log-record.js';

/**
 * A snapshot file (big-endian; README "On-disk format"):
 *
 * header (28 bytes): magic 'ZBSN' u32 | version u16 | reserved u16 | zxid u64 | timeMs f64 |
 *   crc32 of the 24 bytes before it
 * chunks: payloadBytes u32 (> 0) | recordCount u32 | payload: recordCount records
 * trailer (20 bytes): 0 u32 (end of chunks) | magic 'ZBSE' u32 | recordCount u64 |
 *   crc32 of every byte of the file before it
 *
 * A record is a hand-rolled binary layout, not msgpack: decoding a million msgpack records took
 * about 3.4 s here, this layout about a third of that (README "Choices").
 * node (kind 0): kind u8 | pathBytes u32 | path utf-8 | dataBytes u32 | data | czxid f64 |
 *   mzxid f64 | pzxid f64 | ctime f64 | mtime f64 | ephemeralOwner f64 | ttlMs f64 | version i32 |
 *   cversion i32 | aversion i32 | container u8
 * session (kind 2): kind u8 | sessionId f64 | timeoutMs f64 | passwordBytes u8 | password
 * session without a password (kind 1, written before passwords were replicated; read, never
 *   written): kind u8 | sessionId f64 | timeoutMs f64. It reads as an empty password: that session
 *   cannot be resumed (core's zab/sessions.ts).
 * Zxids and session ids are safe integers, exact as f64.
 */
export const SNAPSHOT_MAGIC = 0x5a42534e; // 'ZBSN'
export const SNAPSHOT_END_MAGIC = 0x5a425345; // 'ZBSE'
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 28;
export const SNAPSHOT_TRAILER_BYTES = 20;
/** SNAPSHOT_CHUNK_BYTES_TARGET: records are encoded and written in chunks of about this size, yielding to the event loop between chunks. */
export const SNAPSHOT_CHUNK_BYTES_TARGET = 256 * 1024;
const TWO_32 = 0x1_0000_0000;
const NODE_FIXED_BYTES = 1 + 4 + 4 + 7 * 8 + 3 * 4 + 1;
const SESSION_BYTES = 1 + 8 + 8;
const SESSION_PASSWORD_BYTES_MAX = 255;
const NO_PASSWORD = new Uint8Array(0);

function recordBytes(record: SnapshotRecord): number {
  return record.kind === 'session'
    ? SESSION_BYTES + 1 + record.password.length
    : NODE_FIXED_BYTES + Buffer.byteLength(record.path) + record.data.length;
}

/** encodeChunk writes records into one chunk frame (payloadBytes, recordCount, records). */
function encodeChunk(records: SnapshotRecord[], payloadBytes: number): Uint8Array {
  const frame = Buffer.allocUnsafe(8 + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  frame.writeUInt32BE(records.length, 4);
  let offset = 8;
  for (const record of records) {
    if (record.kind === 'session') {
      if (record.password.length > SESSION_PASSWORD_BYTES_MAX) {
        throw new RangeError(`session password of ${record.password.length} bytes`);
      }
      frame[offset] = 2;
      frame.writeDoubleBE(record.sessionId, offset + 1);
      frame.writeDoubleBE(record.timeoutMs, offset + 9);
      frame[offset + SESSION_BYTES] = record.password.length;
      frame.set(record.password, offset + SESSION_BYTES + 1);
      offset += SESSION_BYTES + 1 + record.password.length;
      continue;
    }
    frame[offset] = 0;
    const pathBytes = frame.write(record.path, offset + 5, 'utf8');
    frame.writeUInt32BE(pathBytes, offset + 1);
    offset += 5 + pathBytes;
    frame.writeUInt32BE(record.data.length, offset);
    frame.set(record.data, offset + 4);
    offset += 4 + record.data.length;
    frame.writeDoubleBE(record.czxid, offset);
    frame.writeDoubleBE(record.mzxid, offset + 8);
    frame.writeDoubleBE(record.pzxid, offset + 16);
    frame.writeDoubleBE(record.ctime, offset + 24);
    frame.writeDoubleBE(record.mtime, offset + 32);
    frame.writeDoubleBE(record.ephemeralOwner, offset + 40);
    frame.writeDoubleBE(record.ttlMs, offset + 48);
    frame.writeInt32BE(record.version, offset + 56);
    frame.writeInt32BE(record.cversion, offset + 60);
    frame.writeInt32BE(record.aversion, offset + 64);
    frame[offset + 68] = record.container ? 1 : 0;
    offset += 69;
  }
  if (offset !== frame.length) throw new Error(`snapshot chunk size mismatch: ${offset} != ${frame.length}`);
  return frame;
}

/**
 * decodeChunk decodes `count` records from `payload`. Each znode's data is a view into one copy of
 * the chunk, so a loaded tree pins chunks (about 256 KiB) rather than the whole file.
 */
function decodeChunk(payload: Buffer, count: number, records: SnapshotRecord[], chunkOffset: number): void {
  const chunk = Buffer.from(payload);
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let offset = 0;
  for (let index = 0; index < count; index++) {
    if (offset >= chunk.length) throw new SnapshotFormatError('chunk ends before its records', chunkOffset);
    const kind = chunk[offset];
    if (kind === 1 || kind === 2) {
      if (offset + SESSION_BYTES + (kind === 2 ? 1 : 0) > chunk.length) {
        throw new SnapshotFormatError('torn session record', chunkOffset);
      }
      const passwordBytes = kind === 2 ? (chunk[offset + SESSION_BYTES] as number) : 0;
      const passwordStart = offset + SESSION_BYTES + (kind === 2 ? 1 : 0);
      if (passwordStart + passwordBytes > chunk.length)
        throw new SnapshotFormatError('torn session record', chunkOffset);
      records.push({
        kind: 'session',
        sessionId: view.getFloat64(offset + 1),
        timeoutMs: view.getFloat64(offset + 9),
        password:
          passwordBytes === 0
            ? NO_PASSWORD
            : new Uint8Array(chunk.subarray(passwordStart, passwordStart + passwordBytes)),
      });
      offset = passwordStart + passwordBytes;
      continue;
    }
    if (kind !== 0) throw new SnapshotFormatError(`unknown record kind ${kind}`, chunkOffset);
    const pathBytes = view.getUint32(offset + 1);
    const pathStart = offset + 5;
    const dataLengthAt = pathStart + pathBytes;
    if (dataLengthAt + 4 > chunk.length) throw new SnapshotFormatError('torn node record', chunkOffset);
    const dataBytes = view.getUint32(dataLengthAt);
    const dataStart = dataLengthAt + 4;
    const fixed = dataStart + dataBytes;
    if (fixed + 69 > chunk.length) throw new SnapshotFormatError('torn node record', chunkOffset);
    records.push({
      kind: 'node',
      path: chunk.toString('utf8', pathStart, dataLengthAt),
      data: new Uint8Array(chunk.buffer, chunk.byteOffset + dataStart, dataBytes),
      czxid: view.getFloat64(fixed),
      mzxid: view.getFloat64(fixed + 8),
      pzxid: view.getFloat64(fixed + 16),
      ctime: view.getFloat64(fixed + 24),
      mtime: view.getFloat64(fixed + 32),
      version: view.getInt32(fixed + 56),
      cversion: view.getInt32(fixed + 60),
      aversion: view.getInt32(fixed + 64),
      ephemeralOwner: view.getFloat64(fixed + 40),
      container: chunk[fixed + 68] === 1,
      ttlMs: view.getFloat64(fixed + 48),
    });
    offset = fixed + 69;
  }
  if (offset !== chunk.length) throw new SnapshotFormatError('chunk has bytes after its records', chunkOffset);
}

function encodeHeader(header: SnapshotHeader): Uint8Array {
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SNAPSHOT_MAGIC);
  view.setUint16(4, SNAPSHOT_VERSION);
  writeZxid(view, 8, header.zxid);
  view.setFloat64(16, header.timeMs);
  view.setUint32(24, crc32(bytes.subarray(0, 24)));
  return bytes;
}

/**
 * writeSnapshotFile streams `records` into `path` (which must not be the final name: the caller
 * renames it after this resolves) in chunks, yielding to the event loop after each chunk so a live
 * server keeps serving while a fuzzy snapshot is taken. The file is fsynced before this resolves.
 * Returns the number of records written.
 */
export async function writeSnapshotFile(
  fileSystem: FileSystem,
  path: string,
  header: SnapshotHeader,
  records: Iterable<SnapshotRecord> | AsyncIterable<SnapshotRecord>,
  chunkBytesTarget = SNAPSHOT_CHUNK_BYTES_TARGET,
): Promise<number> {
  const file = await fileSystem.open(path, 'w');
  try {
    let position = 0;
    let checksum = 0;
    const write = async (bytes: Uint8Array): Promise<void> => {
      await writeFully(file, bytes, position);
      checksum = crc32(bytes, checksum);
      position += bytes.length;
    };
    await write(encodeHeader(header));

    let recordCount = 0;
    let chunk: SnapshotRecord[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const frame = encodeChunk(chunk, chunkBytes);
      recordCount += chunk.length;
      chunk = [];
      chunkBytes = 0;
      await write(frame);
      await yieldToEventLoop();
    };
    if (Symbol.asyncIterator in records) {
      for await (const record of records) {
        chunk.push(record);
        chunkBytes += recordBytes(record);
        if (chunkBytes >= chunkBytesTarget) await flush();
      }
    } else {
      for (const record of records) {
        chunk.push(record);
        chunkBytes += recordBytes(record);
        if (chunkBytes >= chunkBytesTarget) await flush();
      }
    }
    await flush();

    const trailer = new Uint8Array(SNAPSHOT_TRAILER_BYTES);
    const view = new DataView(trailer.buffer);
    view.setUint32(0, 0);
    view.setUint32(4, SNAPSHOT_END_MAGIC);
    view.setUint32(8, Math.floor(recordCount / TWO_32));
    view.setUint32(12, recordCount % TWO_32);
    view.setUint32(16, crc32(trailer.subarray(0, 16), checksum));
    await write(trailer);
    await file.datasync();
    return recordCount;
  } finally {
    await file.close();
  }
}

/**
 * decodeSnapshot validates a whole snapshot file (header crc, file crc, chunk framing, record
 * count) and decodes it; throws an Error saying what is wrong (the caller wraps it with the file).
 */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) throw new SnapshotFormatError('too short', 0);
  if (view.getUint32(0) !== SNAPSHOT_MAGIC || view.getUint16(4) !== SNAPSHOT_VERSION) {
    throw new SnapshotFormatError('bad magic or version', 0);
  }
  if (view.getUint32(24) !== crc32(bytes.subarray(0, 24))) throw new SnapshotFormatError('header crc mismatch', 0);
  const trailerOffset = bytes.length - SNAPSHOT_TRAILER_BYTES;
  if (view.getUint32(trailerOffset) !== 0 || view.getUint32(trailerOffset + 4) !== SNAPSHOT_END_MAGIC) {
    throw new SnapshotFormatError('no trailer (torn or truncated)', trailerOffset);
  }
  if (view.getUint32(bytes.length - 4) !== crc32(bytes.subarray(0, bytes.length - 4))) {
    throw new SnapshotFormatError('file crc mismatch', SNAPSHOT_HEADER_BYTES);
  }
  const recordCount = readZxid(view, trailerOffset + 8);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header: SnapshotHeader = { zxid: readZxid(view, 8), timeMs: view.getFloat64(16) };
  const records: SnapshotRecord[] = [];
  let offset = SNAPSHOT_HEADER_BYTES;
  while (offset < trailerOffset) {
    if (offset + 8 > trailerOffset) throw new SnapshotFormatError('chunk header past the trailer', offset);
    const payloadBytes = view.getUint32(offset);
    const chunkCount = view.getUint32(offset + 4);
    const end = offset + 8 + payloadBytes;
    if (payloadBytes === 0 || end > trailerOffset) throw new SnapshotFormatError('bad chunk length', offset);
    decodeChunk(buffer.subarray(offset + 8, end), chunkCount, records, offset);
    offset = end;
  }
  if (offset !== trailerOffset) throw new SnapshotFormatError('chunks overrun the trailer', offset);
  if (records.length !== recordCount) throw new SnapshotFormatError('record count mismatch', trailerOffset);
  return { header, records };
}

/** SnapshotFormatError says what is wrong with a snapshot file and from which byte offset. */
export class SnapshotFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}
