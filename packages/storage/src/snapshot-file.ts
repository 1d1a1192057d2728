import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import {
  type ACL,
  isOpenAcl,
  type Snapshot,
  type SnapshotHeader,
  type SnapshotNodeFields,
  type SnapshotRecord,
  type SnapshotSink,
} from '@zabkit/core';
import { type FileSystem, writeFully } from './file-system.js';
import { readZxid, writeZxid } from './log-record.js';
import { SnapshotFormatError } from './snapshot-format-error.js';
import { decodeNodeV1, KIND_NODE_ACL_V1, KIND_NODE_V1 } from './snapshot-nodes-v1.js';
import {
  emptyNodeFields,
  KIND_NODE_ACL_V2,
  KIND_NODE_V2,
  NodeV2Reader,
  NodeV2Writer,
  nodeV2BytesMax,
} from './snapshot-nodes-v2.js';
import {
  AclTable,
  decodeAcl,
  decodeConfig,
  decodeSession,
  encodeOtherRecord,
  type FileRecord,
  KIND_ACL,
  KIND_CONFIG,
  KIND_SESSION,
  KIND_SESSION_V1,
  NO_ACL_REF,
  otherRecordBytes,
} from './snapshot-records.js';

export { SnapshotFormatError } from './snapshot-format-error.js';

/**
 * A snapshot file (big-endian; README "On-disk format"):
 *
 * header (28 bytes): magic 'ZBSN' u32 | version u16 | reserved u16 | zxid u64 | timeMs f64 |
 *   crc32 of the 24 bytes before it
 * chunks: payloadBytes u32 (> 0) | recordCount u32 | payload: recordCount records
 * trailer (20 bytes): 0 u32 (end of chunks) | magic 'ZBSE' u32 | recordCount u64 |
 *   crc32 of every byte of the file before it
 *
 * Records are a hand-rolled binary layout, not msgpack: decoding a million msgpack records took
 * about 3.4 s here, version 1's layout about a third of that (README "Choices"). Znodes are
 * snapshot-nodes-v2.ts's records in version 2 (written now) and snapshot-nodes-v1.ts's in version 1
 * (still read); sessions, access lists and the membership are snapshot-records.ts's in both. The
 * chunk and trailer record counts count every record in the file, access lists included.
 */
export const SNAPSHOT_MAGIC = 0x5a42534e; // 'ZBSN'
export const SNAPSHOT_END_MAGIC = 0x5a425345; // 'ZBSE'
/** SNAPSHOT_VERSION is the format version written; every version from 1 up to it is read. */
export const SNAPSHOT_VERSION = 2;
export const SNAPSHOT_HEADER_BYTES = 28;
export const SNAPSHOT_TRAILER_BYTES = 20;
/** SNAPSHOT_CHUNK_BYTES_TARGET: records are encoded and written in chunks of about this size, yielding to the event loop between chunks. */
export const SNAPSHOT_CHUNK_BYTES_TARGET = 256 * 1024;
const TWO_32 = 0x1_0000_0000;

/** fileRecordBytesMax bounds a record's encoded size. */
function fileRecordBytesMax(item: FileRecord): number {
  if (item.kind !== 'node') return otherRecordBytes(item);
  return nodeV2BytesMax(Buffer.byteLength(item.record.path), item.record.data.length);
}

/** encodeChunk writes records into one chunk frame (payloadBytes, recordCount, records) of version 2. */
function encodeChunk(items: FileRecord[], payloadBytesMax: number): Uint8Array {
  const frame = Buffer.allocUnsafe(8 + payloadBytesMax);
  const nodes = new NodeV2Writer();
  let offset = 8;
  for (const item of items) {
    offset =
      item.kind === 'node'
        ? nodes.write(frame, offset, item.record, item.aclRef)
        : encodeOtherRecord(frame, item, offset);
  }
  if (offset > frame.length) throw new Error(`snapshot chunk overran its bound: ${offset} > ${frame.length}`);
  frame.writeUInt32BE(offset - 8, 0);
  frame.writeUInt32BE(items.length, 4);
  return frame.subarray(0, offset);
}

/**
 * decodeChunk decodes the `count` records of one chunk's `payload` (format `version`) into `sink`,
 * or with `sink` null only checks them, and returns how many snapshot records it held (access list
 * definitions are not records). Node data reaches the sink as a range of `payload`: a sink copies
 * what it keeps. `acls` collects the access list definitions on the first pass over a file
 * (`aclsKnown` false) and is read on later ones.
 */
export function decodeChunk(
  version: number,
  payload: Buffer,
  count: number,
  acls: Map<number, readonly ACL[]>,
  aclsKnown: boolean,
  sink: SnapshotSink | null,
  chunkOffset: number,
): number {
  const chunk = payload;
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const nodes = version >= 2 ? new NodeV2Reader(chunk, chunkOffset) : null;
  const fieldsV1 = version >= 2 || sink === null ? null : emptyNodeFields(chunk);
  let records = 0;
  let offset = 0;
  for (let index = 0; index < count; index++) {
    if (offset >= chunk.length) throw new SnapshotFormatError('chunk ends before its records', chunkOffset);
    const kind = chunk[offset];
    if (nodes !== null && (kind === KIND_NODE_V2 || kind === KIND_NODE_ACL_V2)) {
      offset = nodes.read(offset, acls, sink);
      records++;
    } else if (nodes === null && (kind === KIND_NODE_V1 || kind === KIND_NODE_ACL_V1)) {
      offset = decodeNodeV1(chunk, view, offset, acls, sink, fieldsV1 as SnapshotNodeFields, chunkOffset);
      records++;
    } else if (kind === KIND_SESSION_V1 || kind === KIND_SESSION) {
      offset = decodeSession(chunk, view, offset, sink, chunkOffset);
      records++;
    } else if (kind === KIND_ACL) {
      offset = decodeAcl(chunk, view, offset, acls, chunkOffset, aclsKnown);
    } else if (kind === KIND_CONFIG) {
      offset = decodeConfig(chunk, view, offset, sink, chunkOffset);
      records++;
    } else {
      throw new SnapshotFormatError(`unknown record kind ${kind} in format version ${version}`, chunkOffset);
    }
  }
  if (offset !== chunk.length) throw new SnapshotFormatError('chunk has bytes after its records', chunkOffset);
  return records;
}

/** recordCollector is a SnapshotSink that appends record objects to `out`, each node's data a view into the chunk. */
export function recordCollector(out: SnapshotRecord[]): SnapshotSink {
  return {
    node(fields) {
      const { source, dataStart, dataLength, pathSource, pathStart, pathLength } = fields;
      out.push({
        kind: 'node',
        path: Buffer.from(pathSource.buffer, pathSource.byteOffset + pathStart, pathLength).toString('utf8'),
        data: new Uint8Array(source.buffer, source.byteOffset + dataStart, dataLength),
        czxid: fields.czxid,
        mzxid: fields.mzxid,
        pzxid: fields.pzxid,
        ctime: fields.ctime,
        mtime: fields.mtime,
        version: fields.version,
        cversion: fields.cversion,
        aversion: fields.aversion,
        ephemeralOwner: fields.ephemeralOwner,
        container: fields.container,
        ttlMs: fields.ttlMs,
        acl: fields.acl,
      });
    },
    record(record) {
      out.push(record);
    },
  };
}

/**
 * checkSnapshotHeader checks a snapshot's first SNAPSHOT_HEADER_BYTES bytes (magic, a version this
 * release reads, crc) given the file's size, and returns the version and header.
 */
export function checkSnapshotHeader(bytes: Uint8Array, fileBytes: number): { version: number; header: SnapshotHeader } {
  if (fileBytes < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) throw new SnapshotFormatError('too short', 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== SNAPSHOT_MAGIC) throw new SnapshotFormatError('bad magic', 0);
  const version = view.getUint16(4);
  if (version < 1 || version > SNAPSHOT_VERSION) {
    throw new SnapshotFormatError(
      `format version ${version} is not one this release reads (1 to ${SNAPSHOT_VERSION})`,
      4,
    );
  }
  if (view.getUint32(24) !== crc32(bytes.subarray(0, 24))) throw new SnapshotFormatError('header crc mismatch', 0);
  return { version, header: { zxid: readZxid(view, 8), timeMs: view.getFloat64(16) } };
}

/**
 * checkSnapshotTrailer checks that a snapshot's last SNAPSHOT_TRAILER_BYTES bytes, at
 * `trailerOffset`, are a trailer (a torn or truncated file has none) and returns the record count
 * and file crc it holds.
 */
export function checkSnapshotTrailer(trailer: Uint8Array, trailerOffset: number): { recordCount: number; crc: number } {
  const view = new DataView(trailer.buffer, trailer.byteOffset, trailer.byteLength);
  if (view.getUint32(0) !== 0 || view.getUint32(4) !== SNAPSHOT_END_MAGIC) {
    throw new SnapshotFormatError('no trailer (torn or truncated)', trailerOffset);
  }
  return { recordCount: readZxid(view, 8), crc: view.getUint32(16) };
}

/**
 * chunkFrame reads the chunk frame at `offset` (payloadBytes, recordCount) from the 8 bytes of
 * `frameHeader`, checking that its payload is not empty and ends by `trailerOffset`.
 */
export function chunkFrame(
  frameHeader: DataView,
  at: number,
  offset: number,
  trailerOffset: number,
): { payloadBytes: number; count: number; end: number } {
  if (offset + 8 > trailerOffset) throw new SnapshotFormatError('chunk header past the trailer', offset);
  const payloadBytes = frameHeader.getUint32(at);
  const count = frameHeader.getUint32(at + 4);
  const end = offset + 8 + payloadBytes;
  if (payloadBytes === 0 || end > trailerOffset) throw new SnapshotFormatError('bad chunk length', offset);
  return { payloadBytes, count, end };
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
  // chunkBytes bounds the chunk (varints are usually shorter): chunks come out somewhat under the target.
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
    let snapshotRecords = 0;
    let chunk: FileRecord[] = [];
    let chunkBytes = 0;
    const aclTable = new AclTable();
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const frame = encodeChunk(chunk, chunkBytes);
      recordCount += chunk.length;
      chunk = [];
      chunkBytes = 0;
      await write(frame);
      await yieldToEventLoop();
    };
    const add = (item: FileRecord): void => {
      chunk.push(item);
      chunkBytes += fileRecordBytesMax(item);
    };
    const take = (record: SnapshotRecord): void => {
      snapshotRecords++;
      if (record.kind === 'session') {
        add({ kind: 'session', record });
        return;
      }
      if (record.kind === 'config') {
        add({ kind: 'config', record });
        return;
      }
      if (isOpenAcl(record.acl)) {
        add({ kind: 'node', record, aclRef: NO_ACL_REF });
        return;
      }
      const { ref, added } = aclTable.refOf(record.acl);
      if (added) add({ kind: 'acl', aclRef: ref, acl: record.acl });
      add({ kind: 'node', record, aclRef: ref });
    };
    if (Symbol.asyncIterator in records) {
      for await (const record of records) {
        take(record);
        if (chunkBytes >= chunkBytesTarget) await flush();
      }
    } else {
      for (const record of records) {
        take(record);
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
    return snapshotRecords;
  } finally {
    await file.close();
  }
}

/**
 * decodeSnapshot validates a whole snapshot file held in memory (header crc, file crc, chunk
 * framing, every record, record count) and returns its header and its records, which decode again,
 * chunk by chunk, each time they are iterated; a format error is thrown here, never later from the
 * iteration. For backups, inspection and tests: FileStorage recovers through snapshot-read.ts,
 * which reads a file once into a SnapshotImage. Throws a SnapshotFormatError saying what is wrong
 * (the caller wraps it with the file).
 */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const { version, header } = checkSnapshotHeader(bytes.subarray(0, SNAPSHOT_HEADER_BYTES), bytes.length);
  const trailerOffset = bytes.length - SNAPSHOT_TRAILER_BYTES;
  const { recordCount, crc } = checkSnapshotTrailer(bytes.subarray(trailerOffset), trailerOffset);
  if (crc !== crc32(bytes.subarray(0, bytes.length - 4))) {
    throw new SnapshotFormatError('file crc mismatch', SNAPSHOT_HEADER_BYTES);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: { start: number; end: number; count: number }[] = [];
  const acls = new Map<number, readonly ACL[]>();
  let fileRecords = 0;
  let snapshotRecords = 0;
  let offset = SNAPSHOT_HEADER_BYTES;
  while (offset < trailerOffset) {
    const { count, end } = chunkFrame(view, offset, offset, trailerOffset);
    snapshotRecords += decodeChunk(version, buffer.subarray(offset + 8, end), count, acls, false, null, offset);
    chunks.push({ start: offset + 8, end, count });
    fileRecords += count;
    offset = end;
  }
  if (fileRecords !== recordCount) throw new SnapshotFormatError('record count mismatch', trailerOffset);
  const records = {
    length: snapshotRecords,
    *[Symbol.iterator](): Generator<SnapshotRecord> {
      for (const chunk of chunks) {
        const out: SnapshotRecord[] = [];
        const payload = buffer.subarray(chunk.start, chunk.end);
        decodeChunk(version, payload, chunk.count, acls, true, recordCollector(out), chunk.start - 8);
        yield* out;
      }
    },
  };
  return { header, records };
}
