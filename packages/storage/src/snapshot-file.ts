import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import type { Snapshot, SnapshotHeader, SnapshotRecord } from '@zabkit/core';
import { Packr } from 'msgpackr';
import { type FileSystem, writeFully } from './file-system.js';
import { readZxid, writeZxid } from './log-record.js';

/**
 * A snapshot file (big-endian; README "On-disk format"):
 *
 * header (28 bytes): magic 'ZBSN' u32 | version u16 | reserved u16 | zxid u64 | timeMs f64 |
 *   crc32 of the 24 bytes before it
 * chunks: payloadBytes u32 (> 0) | recordCount u32 | payload: msgpack array of record tuples
 * trailer (20 bytes): 0 u32 (end of chunks) | magic 'ZBSE' u32 | recordCount u64 |
 *   crc32 of every byte of the file before it
 *
 * Records are tuples, not maps, to keep a million-znode snapshot small and quick to decode:
 * node [0, path, data, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion,
 * ephemeralOwner, container, ttlMs]; session [1, sessionId, timeoutMs].
 */
export const SNAPSHOT_MAGIC = 0x5a42534e; // 'ZBSN'
export const SNAPSHOT_END_MAGIC = 0x5a425345; // 'ZBSE'
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 28;
export const SNAPSHOT_TRAILER_BYTES = 20;
/** SNAPSHOT_CHUNK_BYTES_TARGET: records are packed and written in chunks of about this size, yielding to the event loop between chunks. */
export const SNAPSHOT_CHUNK_BYTES_TARGET = 256 * 1024;
const TWO_32 = 0x1_0000_0000;

// copyBuffers: a znode's data must not keep the whole snapshot file's buffer alive.
const packr = new Packr({ useRecords: false, copyBuffers: true });

type NodeTuple = [
  0,
  string,
  Uint8Array,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  boolean,
  number,
];
type SessionTuple = [1, number, number];

function toTuple(record: SnapshotRecord): NodeTuple | SessionTuple {
  if (record.kind === 'session') return [1, record.sessionId, record.timeoutMs];
  return [
    0,
    record.path,
    record.data,
    record.czxid,
    record.mzxid,
    record.pzxid,
    record.ctime,
    record.mtime,
    record.version,
    record.cversion,
    record.aversion,
    record.ephemeralOwner,
    record.container,
    record.ttlMs,
  ];
}

function fromTuple(tuple: NodeTuple | SessionTuple): SnapshotRecord {
  if (tuple[0] === 1) return { kind: 'session', sessionId: tuple[1], timeoutMs: tuple[2] };
  if (tuple[0] !== 0 || tuple.length !== 14) throw new Error(`unknown snapshot record kind ${String(tuple[0])}`);
  return {
    kind: 'node',
    path: tuple[1],
    data: new Uint8Array(tuple[2].buffer, tuple[2].byteOffset, tuple[2].byteLength),
    czxid: tuple[3],
    mzxid: tuple[4],
    pzxid: tuple[5],
    ctime: tuple[6],
    mtime: tuple[7],
    version: tuple[8],
    cversion: tuple[9],
    aversion: tuple[10],
    ephemeralOwner: tuple[11],
    container: tuple[12],
    ttlMs: tuple[13],
  };
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
    let chunk: (NodeTuple | SessionTuple)[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const payload = packr.pack(chunk);
      const frame = new Uint8Array(8 + payload.length);
      const view = new DataView(frame.buffer);
      view.setUint32(0, payload.length);
      view.setUint32(4, chunk.length);
      frame.set(payload, 8);
      recordCount += chunk.length;
      chunk = [];
      chunkBytes = 0;
      await write(frame);
      await yieldToEventLoop();
    };
    const add = async (record: SnapshotRecord): Promise<void> => {
      chunk.push(toTuple(record));
      chunkBytes += record.kind === 'node' ? 64 + record.path.length + record.data.length : 24;
      if (chunkBytes >= chunkBytesTarget) await flush();
    };
    if (Symbol.asyncIterator in records) {
      for await (const record of records) await add(record);
    } else {
      for (const record of records) {
        chunk.push(toTuple(record));
        chunkBytes += record.kind === 'node' ? 64 + record.path.length + record.data.length : 24;
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
  const header: SnapshotHeader = { zxid: readZxid(view, 8), timeMs: view.getFloat64(16) };
  const records: SnapshotRecord[] = [];
  let offset = SNAPSHOT_HEADER_BYTES;
  while (offset < trailerOffset) {
    if (offset + 8 > trailerOffset) throw new SnapshotFormatError('chunk header past the trailer', offset);
    const payloadBytes = view.getUint32(offset);
    const chunkCount = view.getUint32(offset + 4);
    const end = offset + 8 + payloadBytes;
    if (payloadBytes === 0 || end > trailerOffset) throw new SnapshotFormatError('bad chunk length', offset);
    const tuples = packr.unpack(bytes.subarray(offset + 8, end)) as (NodeTuple | SessionTuple)[];
    if (!Array.isArray(tuples) || tuples.length !== chunkCount) throw new SnapshotFormatError('bad chunk', offset);
    for (const tuple of tuples) records.push(fromTuple(tuple));
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
