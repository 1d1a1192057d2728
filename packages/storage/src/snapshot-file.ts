import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import {
  type ACL,
  aclKey,
  type ClusterMember,
  isOpenAcl,
  OPEN_ACL_UNSAFE,
  type Snapshot,
  type SnapshotHeader,
  type SnapshotRecord,
} from '@zabkit/core';
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
 * node with an access list (kind 3): a node record (kind 3 instead of 0) | aclRef u32. A node of
 *   kind 0 has OPEN_ACL_UNSAFE (every znode written before ACLs, and the common case since).
 * access list (kind 4): kind u8 | aclRef u32 | entries u16 | per entry: perms i32 | schemeBytes u16 |
 *   scheme utf-8 | idBytes u16 | id utf-8. It comes before the first node that refers to it; refs
 *   are local to the file (ZooKeeper's snapshot writes its ACL cache the same way, as a map of
 *   references), so each distinct list is written once however many znodes share it.
 * membership (kind 5, issue 16; core's zab/membership.ts): kind u8 | version f64 | members u16 |
 *   per member: id u32 | role u8 (0 participant, 1 observer) | addressBytes u16 | address utf-8 |
 *   clientAddressBytes u16 | clientAddress utf-8 | endpointsBytes u16 | endpoints utf-8. Only a snapshot taken after a membership change
 *   has one (first), so an ensemble that never changed writes the files it always wrote.
 * The chunk and trailer record counts count every record in the file, access lists included.
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

const ACL_REF_BYTES = 4;

/** FileRecord is what a chunk holds: a snapshot record (a node with its ACL reference, if any) or an access list. */
type FileRecord =
  | { kind: 'config'; record: SnapshotRecord & { kind: 'config' } }
  | { kind: 'session'; record: SnapshotRecord & { kind: 'session' } }
  | { kind: 'node'; record: SnapshotRecord & { kind: 'node' }; aclRef: number }
  | { kind: 'acl'; aclRef: number; acl: readonly ACL[] };

/** NO_ACL_REF marks a node of OPEN_ACL_UNSAFE, written as kind 0. */
const NO_ACL_REF = -1;

function fileRecordBytes(item: FileRecord): number {
  switch (item.kind) {
    case 'config': {
      let bytes = 1 + 8 + 2;
      for (const member of item.record.members) {
        bytes += 4 + 1 + 2 + Buffer.byteLength(member.address) + 2 + Buffer.byteLength(member.clientAddress);
        bytes += 2 + Buffer.byteLength(member.endpoints);
      }
      return bytes;
    }
    case 'session':
      return SESSION_BYTES + 1 + item.record.password.length;
    case 'node':
      return (
        NODE_FIXED_BYTES +
        Buffer.byteLength(item.record.path) +
        item.record.data.length +
        (item.aclRef === NO_ACL_REF ? 0 : ACL_REF_BYTES)
      );
    case 'acl': {
      let bytes = 1 + ACL_REF_BYTES + 2;
      for (const entry of item.acl) {
        bytes += 4 + 2 + Buffer.byteLength(entry.id.scheme) + 2 + Buffer.byteLength(entry.id.id);
      }
      return bytes;
    }
  }
}

/**
 * AclTable numbers the distinct access lists of one snapshot file as the writer meets them. The
 * tree hands out one shared array per distinct list, so the identity lookup nearly always hits.
 */
class AclTable {
  private readonly byList = new Map<readonly ACL[], number>();
  private readonly byKey = new Map<string, number>();

  /** refOf returns the list's reference and whether it is new (its definition must be written first). */
  refOf(acl: readonly ACL[]): { ref: number; added: boolean } {
    const known = this.byList.get(acl);
    if (known !== undefined) return { ref: known, added: false };
    const key = aclKey(acl);
    let ref = this.byKey.get(key);
    const added = ref === undefined;
    if (ref === undefined) {
      ref = this.byKey.size;
      this.byKey.set(key, ref);
    }
    this.byList.set(acl, ref);
    return { ref, added };
  }
}

function writeShortString(frame: Buffer, text: string, offset: number): number {
  // Core bounds ACL ids to ACL_ID_CHARS_MAX characters: at most 3 KiB of UTF-8.
  if (Buffer.byteLength(text) > 0xffff) throw new RangeError(`access list string of ${text.length} characters`);
  const bytes = frame.write(text, offset + 2, 'utf8');
  frame.writeUInt16BE(bytes, offset);
  return offset + 2 + bytes;
}

/** encodeChunk writes records into one chunk frame (payloadBytes, recordCount, records). */
function encodeChunk(items: FileRecord[], payloadBytes: number): Uint8Array {
  const frame = Buffer.allocUnsafe(8 + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  frame.writeUInt32BE(items.length, 4);
  let offset = 8;
  for (const item of items) {
    if (item.kind === 'config') {
      frame[offset] = 5;
      frame.writeDoubleBE(item.record.version, offset + 1);
      frame.writeUInt16BE(item.record.members.length, offset + 9);
      offset += 11;
      for (const member of item.record.members) {
        frame.writeUInt32BE(member.id, offset);
        frame[offset + 4] = member.role === 'observer' ? 1 : 0;
        offset = writeShortString(frame, member.address, offset + 5);
        offset = writeShortString(frame, member.clientAddress, offset);
        offset = writeShortString(frame, member.endpoints, offset);
      }
      continue;
    }
    if (item.kind === 'acl') {
      frame[offset] = 4;
      frame.writeUInt32BE(item.aclRef, offset + 1);
      frame.writeUInt16BE(item.acl.length, offset + 5);
      offset += 7;
      for (const entry of item.acl) {
        frame.writeInt32BE(entry.perms, offset);
        offset = writeShortString(frame, entry.id.scheme, offset + 4);
        offset = writeShortString(frame, entry.id.id, offset);
      }
      continue;
    }
    if (item.kind === 'session') {
      const record = item.record;
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
    const record = item.record;
    frame[offset] = item.aclRef === NO_ACL_REF ? 0 : 3;
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
    if (item.aclRef !== NO_ACL_REF) {
      frame.writeUInt32BE(item.aclRef, offset);
      offset += ACL_REF_BYTES;
    }
  }
  if (offset !== frame.length) throw new Error(`snapshot chunk size mismatch: ${offset} != ${frame.length}`);
  return frame;
}

/**
 * decodeChunk decodes `count` records from `payload`. Each znode's data is a view into the file's
 * bytes, not a copy: the tree copies values into its own store (core's tree/value-store.ts), so the
 * file's buffer goes with the records once they are restored.
 */
function decodeChunk(
  payload: Buffer,
  count: number,
  records: SnapshotRecord[],
  acls: Map<number, readonly ACL[]>,
  chunkOffset: number,
): void {
  const chunk = payload;
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
    if (kind === 4) {
      offset = decodeAcl(chunk, view, offset, acls, chunkOffset);
      continue;
    }
    if (kind === 5) {
      offset = decodeConfig(chunk, view, offset, records, chunkOffset);
      continue;
    }
    if (kind !== 0 && kind !== 3) throw new SnapshotFormatError(`unknown record kind ${kind}`, chunkOffset);
    const pathBytes = view.getUint32(offset + 1);
    const pathStart = offset + 5;
    const dataLengthAt = pathStart + pathBytes;
    if (dataLengthAt + 4 > chunk.length) throw new SnapshotFormatError('torn node record', chunkOffset);
    const dataBytes = view.getUint32(dataLengthAt);
    const dataStart = dataLengthAt + 4;
    const fixed = dataStart + dataBytes;
    const end = fixed + 69 + (kind === 3 ? ACL_REF_BYTES : 0);
    if (end > chunk.length) throw new SnapshotFormatError('torn node record', chunkOffset);
    let acl: readonly ACL[] = OPEN_ACL_UNSAFE;
    if (kind === 3) {
      const ref = view.getUint32(fixed + 69);
      acl = acls.get(ref) ?? throwFormat(`node refers to access list ${ref}, not defined before it`, chunkOffset);
    }
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
      acl,
    });
    offset = end;
  }
  if (offset !== chunk.length) throw new SnapshotFormatError('chunk has bytes after its records', chunkOffset);
}

/** decodeConfig reads a membership record (kind 5) at `offset`; returns the offset after it. */
function decodeConfig(
  chunk: Buffer,
  view: DataView,
  start: number,
  records: SnapshotRecord[],
  chunkOffset: number,
): number {
  if (start + 11 > chunk.length) throw new SnapshotFormatError('torn membership record', chunkOffset);
  const version = view.getFloat64(start + 1);
  const count = view.getUint16(start + 9);
  let offset = start + 11;
  const readString = (): string => {
    if (offset + 2 > chunk.length) throw new SnapshotFormatError('torn membership record', chunkOffset);
    const length = view.getUint16(offset);
    if (offset + 2 + length > chunk.length) throw new SnapshotFormatError('torn membership record', chunkOffset);
    const text = chunk.toString('utf8', offset + 2, offset + 2 + length);
    offset += 2 + length;
    return text;
  };
  const members: ClusterMember[] = [];
  for (let i = 0; i < count; i++) {
    if (offset + 5 > chunk.length) throw new SnapshotFormatError('torn membership record', chunkOffset);
    const id = view.getUint32(offset);
    const role = chunk[offset + 4] === 1 ? 'observer' : 'participant';
    offset += 5;
    const address = readString();
    const clientAddress = readString();
    const endpoints = readString();
    members.push({ id, role, address, clientAddress, endpoints });
  }
  records.push({ kind: 'config', version, members });
  return offset;
}

function throwFormat(message: string, offset: number): never {
  throw new SnapshotFormatError(message, offset);
}

/** decodeAcl reads an access list record (kind 4) into `acls` and returns the offset after it. */
function decodeAcl(
  chunk: Buffer,
  view: DataView,
  start: number,
  acls: Map<number, readonly ACL[]>,
  chunkOffset: number,
): number {
  if (start + 7 > chunk.length) throwFormat('torn access list record', chunkOffset);
  const ref = view.getUint32(start + 1);
  const count = view.getUint16(start + 5);
  let offset = start + 7;
  const readString = (): string => {
    if (offset + 2 > chunk.length) throwFormat('torn access list record', chunkOffset);
    const length = view.getUint16(offset);
    if (offset + 2 + length > chunk.length) throwFormat('torn access list record', chunkOffset);
    const text = chunk.toString('utf8', offset + 2, offset + 2 + length);
    offset += 2 + length;
    return text;
  };
  const acl: ACL[] = [];
  for (let i = 0; i < count; i++) {
    if (offset + 4 > chunk.length) throwFormat('torn access list record', chunkOffset);
    const perms = view.getInt32(offset);
    offset += 4;
    const scheme = readString();
    const id = readString();
    acl.push({ perms, id: { scheme, id } });
  }
  if (acls.has(ref)) throwFormat(`access list ${ref} defined twice`, chunkOffset);
  acls.set(ref, acl);
  return offset;
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
      chunkBytes += fileRecordBytes(item);
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
 * decodeSnapshot validates a whole snapshot file (header crc, file crc, chunk framing, record
 * count) and decodes it; throws an Error saying what is wrong (the caller wraps it with the file).
 */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) throw new SnapshotFormatError('too short', 0);
  if (view.getUint32(0) !== SNAPSHOT_MAGIC) throw new SnapshotFormatError('bad magic', 0);
  if (view.getUint16(4) !== SNAPSHOT_VERSION) {
    throw new SnapshotFormatError(
      `format version ${view.getUint16(4)} is not the one this release reads (${SNAPSHOT_VERSION})`,
      4,
    );
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
  const acls = new Map<number, readonly ACL[]>();
  let fileRecords = 0;
  let offset = SNAPSHOT_HEADER_BYTES;
  while (offset < trailerOffset) {
    if (offset + 8 > trailerOffset) throw new SnapshotFormatError('chunk header past the trailer', offset);
    const payloadBytes = view.getUint32(offset);
    const chunkCount = view.getUint32(offset + 4);
    const end = offset + 8 + payloadBytes;
    if (payloadBytes === 0 || end > trailerOffset) throw new SnapshotFormatError('bad chunk length', offset);
    decodeChunk(buffer.subarray(offset + 8, end), chunkCount, records, acls, offset);
    fileRecords += chunkCount;
    offset = end;
  }
  if (offset !== trailerOffset) throw new SnapshotFormatError('chunks overrun the trailer', offset);
  if (fileRecords !== recordCount) throw new SnapshotFormatError('record count mismatch', trailerOffset);
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
