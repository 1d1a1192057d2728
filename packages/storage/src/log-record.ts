import { crc32 } from 'node:zlib';
import { type LogEntry, OPEN_ACL_UNSAFE, type Txn, type Zxid } from '@zabkit/core';
import { Packr } from 'msgpackr';

/**
 * The log's on-disk layout (all integers big-endian; README "On-disk format" is the reference):
 *
 * segment header (28 bytes): magic 'ZBLG' u32 | version u16 | reserved u16 | firstZxid u64 |
 *   previousZxid u64 | crc32 of the 24 bytes before it
 * record (21 + bodyLength bytes): magic 'ZBLR' u32 | crc32 u32 | bodyLength u32 | flags u8 |
 *   zxid u64 | body
 *
 * The record crc covers everything after it (bodyLength, flags, zxid, body), so a torn length or
 * zxid is caught as surely as a torn body. Flag bit 0 marks the first record of a group-commit batch:
 * only the last batch can be torn, so a valid batch start after a bad record proves the bad record
 * was synced before, which is corruption (refuse to start), not a torn tail (truncate).
 * A zxid is written as two u32 (epoch, counter), exact for every zabkit zxid.
 */
export const SEGMENT_MAGIC = 0x5a424c47; // 'ZBLG'
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 28;
export const RECORD_MAGIC = 0x5a424c52; // 'ZBLR'
export const RECORD_HEADER_BYTES = 21;
/** RECORD_BODY_BYTES_MAX bounds one entry's body; a larger length field is corruption, not a record. */
export const RECORD_BODY_BYTES_MAX = 64 * 1024 * 1024;
const FLAG_BATCH_START = 1;
const TWO_32 = 0x1_0000_0000;

/**
 * The body is msgpack (msgpackr, plain maps: no shared record structures, so any version decodes
 * any file) of [sessionId, cxid, timeMs, txn]. Numbers above 2^32 (session ids) are written as
 * float64 by msgpackr, which is exact for the safe integers core uses.
 */
const packr = new Packr({ useRecords: false, copyBuffers: true });

/** SegmentHeader is what the first bytes of a segment file say about it. */
export interface SegmentHeader {
  firstZxid: Zxid;
  /** previousZxid is the zxid of the last entry the log held before this segment (0 for none): a later segment whose previousZxid is not its predecessor's last zxid marks a gap. */
  previousZxid: Zxid;
}

/** RecordLocation is where one record sits in a segment. */
export interface RecordLocation {
  zxid: Zxid;
  offset: number;
  bytes: number;
  batchStart: boolean;
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SEGMENT_MAGIC);
  view.setUint16(4, SEGMENT_VERSION);
  view.setUint16(6, 0);
  writeZxid(view, 8, header.firstZxid);
  writeZxid(view, 16, header.previousZxid);
  view.setUint32(24, crc32(bytes.subarray(0, 24)));
  return bytes;
}

/** decodeSegmentHeader returns the header, or null when the bytes are not a valid one. */
export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader | null {
  if (bytes.length < SEGMENT_HEADER_BYTES) return null;
  const view = viewOf(bytes);
  if (view.getUint32(0) !== SEGMENT_MAGIC || view.getUint16(4) !== SEGMENT_VERSION) return null;
  if (view.getUint32(24) !== crc32(bytes.subarray(0, 24))) return null;
  return { firstZxid: readZxid(view, 8), previousZxid: readZxid(view, 16) };
}

/** encodeRecord encodes one entry as a record without the batch-start flag. */
export function encodeRecord(entry: LogEntry): Uint8Array {
  const body = packr.pack([entry.sessionId, entry.cxid, entry.timeMs, entry.txn]);
  if (body.length > RECORD_BODY_BYTES_MAX) {
    throw new RangeError(
      `log entry 0x${entry.zxid.toString(16)} is ${body.length} bytes, above ${RECORD_BODY_BYTES_MAX}`,
    );
  }
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + body.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, RECORD_MAGIC);
  view.setUint32(8, body.length);
  bytes[12] = 0;
  writeZxid(view, 13, entry.zxid);
  bytes.set(body, RECORD_HEADER_BYTES);
  view.setUint32(4, crc32(bytes.subarray(8)));
  return bytes;
}

/** markBatchStart sets the batch-start flag of the record at `offset` of `bytes` and fixes its crc. */
export function markBatchStart(bytes: Uint8Array, offset: number): void {
  const view = viewOf(bytes);
  const end = offset + RECORD_HEADER_BYTES + view.getUint32(offset + 8);
  bytes[offset + 12] = (bytes[offset + 12] as number) | FLAG_BATCH_START;
  view.setUint32(offset + 4, crc32(bytes.subarray(offset + 8, end)));
}

/**
 * readRecordAt returns the record at `offset` when it is whole and its crc matches, else null. With
 * `checkCrc` false it only frames the record (magic, length, within the bytes): recovery's pass over
 * a segment whose crcs are checked later (README "Recovery rules").
 */
export function readRecordAt(
  bytes: Uint8Array,
  offset: number,
  checkCrc = true,
  /** view: a DataView over all of `bytes`, when the caller reads many records from them. */
  view: DataView = viewOf(bytes),
): RecordLocation | null {
  if (offset + RECORD_HEADER_BYTES > bytes.length) return null;
  if (view.getUint32(offset) !== RECORD_MAGIC) return null;
  const bodyLength = view.getUint32(offset + 8);
  if (bodyLength > RECORD_BODY_BYTES_MAX) return null;
  const end = offset + RECORD_HEADER_BYTES + bodyLength;
  if (end > bytes.length) return null;
  if (checkCrc && view.getUint32(offset + 4) !== crc32(bytes.subarray(offset + 8, end))) return null;
  return {
    zxid: readZxid(view, offset + 13),
    offset,
    bytes: end - offset,
    batchStart: ((bytes[offset + 12] as number) & FLAG_BATCH_START) !== 0,
  };
}

/**
 * decodeRecordEntry decodes the entry of a record that readRecordAt accepted. Its byte arrays are
 * copies of their own (plain Uint8Arrays): nothing refers to `bytes` afterwards.
 */
export function decodeRecordEntry(bytes: Uint8Array, location: RecordLocation): LogEntry {
  const body = bytes.subarray(location.offset + RECORD_HEADER_BYTES, location.offset + location.bytes);
  const [sessionId, cxid, timeMs, txn] = packr.unpack(body) as [number, number, number, Txn];
  return { zxid: location.zxid, sessionId, cxid, timeMs, txn: upgradeTxn(plainBytes(txn)) };
}

const NO_PASSWORD = new Uint8Array(0);

/**
 * upgradeTxn fills in what a record written by an older version lacks: a createSession from
 * before session passwords were replicated gets an empty password (that session cannot be resumed;
 * core's zab/sessions.ts); a create from before ACLs gets OPEN_ACL_UNSAFE.
 */
function upgradeTxn(txn: Txn): Txn {
  if (txn.type === 'createSession' && !(txn.password instanceof Uint8Array)) return { ...txn, password: NO_PASSWORD };
  // A create from before ACLs (issue 14) has none: every znode was open then.
  if (txn.type === 'create' && txn.acl === undefined) return { ...txn, acl: OPEN_ACL_UNSAFE };
  if (txn.type === 'multi' && txn.txns.some((op) => op.type === 'create' && op.acl === undefined)) {
    return {
      ...txn,
      txns: txn.txns.map((op) => (op.type === 'create' && op.acl === undefined ? { ...op, acl: OPEN_ACL_UNSAFE } : op)),
    };
  }
  return txn;
}

/**
 * plainBytes turns the Buffers msgpackr decodes into plain Uint8Arrays (same memory), so a decoded
 * entry equals the one appended, as MemoryStorage returns it.
 */
export function plainBytes<T>(value: T): T {
  if (value instanceof Uint8Array) {
    return (
      value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    ) as T;
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) value[index] = plainBytes(value[index]);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = plainBytes(record[key]);
  }
  return value;
}

/**
 * SegmentScan is a segment read front to back: its header (null if invalid), its whole records in
 * order, and where the first bad bytes start (null if the file ends exactly after a record).
 */
export interface SegmentScan {
  header: SegmentHeader | null;
  records: RecordLocation[];
  badOffset: number | null;
}

/**
 * scanSegment reads records until the end or the first record that is torn or fails its crc (with
 * `checkCrc` false: that cannot be framed; the header's crc is always checked).
 */
export function scanSegment(bytes: Uint8Array, checkCrc = true): SegmentScan {
  const header = decodeSegmentHeader(bytes);
  if (header === null) return { header, records: [], badOffset: bytes.length === 0 ? null : 0 };
  const records: RecordLocation[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < bytes.length) {
    const record = readRecordAt(bytes, offset, checkCrc);
    if (record === null) return { header, records, badOffset: offset };
    records.push(record);
    offset += record.bytes;
  }
  return { header, records, badOffset: null };
}

/**
 * findRecordsAfter finds every valid record that starts after `offset`, trying every byte position
 * (the bad bytes say nothing about where the next record starts). Only used on the recovery path.
 */
export function findRecordsAfter(bytes: Uint8Array, offset: number): RecordLocation[] {
  const found: RecordLocation[] = [];
  const view = viewOf(bytes);
  for (let position = offset + 1; position + RECORD_HEADER_BYTES <= bytes.length; position++) {
    if (view.getUint32(position) !== RECORD_MAGIC) continue;
    const record = readRecordAt(bytes, position);
    if (record !== null) found.push(record);
  }
  return found;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function writeZxid(view: DataView, offset: number, zxid: Zxid): void {
  view.setUint32(offset, Math.floor(zxid / TWO_32));
  view.setUint32(offset + 4, zxid % TWO_32);
}

export function readZxid(view: DataView, offset: number): Zxid {
  return view.getUint32(offset) * TWO_32 + view.getUint32(offset + 4);
}
