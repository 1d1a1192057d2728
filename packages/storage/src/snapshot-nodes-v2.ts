import {
  type ACL,
  OPEN_ACL_UNSAFE,
  type SnapshotNodeFields,
  type SnapshotRecord,
  type SnapshotSink,
} from '@zabkit/core';
import { throwFormat } from './snapshot-format-error.js';

/**
 * Znode records of format version 2 (issue 17: 192 bytes per 100-byte znode in version 1; about
 * 125 here). Integers are LEB128 varints (`v`, at most 8 bytes, never above 2^53 - 1) or zigzag
 * varints of int32s (`z`):
 *
 * node (kind 6, OPEN_ACL_UNSAFE; kind 7, with an access list): kind u8 | flags u8 |
 *   prefixBytes v | suffixBytes v | suffix | dataBytes v | data | stat | aclRef v (kind 7 only)
 * The path is the first prefixBytes bytes of the previous node record's path in the same chunk
 * (0 for the first in a chunk) followed by the suffix: children come sorted after their parent,
 * so siblings share most of their path. Each chunk decodes on its own.
 * flags: bit 0 container; bit 1 stat written raw.
 * stat, compact (the usual case): czxid v | mzxid - czxid v | pzxid - czxid v | ctime v |
 *   mtime - ctime v | ephemeralOwner v | ttlMs v | version z | cversion z | aversion z
 * stat, raw (a value the compact form cannot hold exactly: negative, fractional or out of order):
 *   czxid f64 | mzxid f64 | pzxid f64 | ctime f64 | mtime f64 | ephemeralOwner f64 | ttlMs f64 |
 *   version i32 | cversion i32 | aversion i32 (big-endian, as version 1)
 */
export const KIND_NODE_V2 = 6;
export const KIND_NODE_ACL_V2 = 7;
const FLAG_CONTAINER = 1;
const FLAG_RAW = 2;
const VARINT_BYTES_MAX = 8;
/** NODE_FIXED_BYTES_MAX bounds a node record's bytes beside its path and data. */
const NODE_FIXED_BYTES_MAX = 2 + 3 * VARINT_BYTES_MAX + 7 * VARINT_BYTES_MAX + 3 * 5 + VARINT_BYTES_MAX;

/** nodeV2BytesMax bounds the encoded size of a node record with a path of `pathBytes` UTF-8 bytes. */
export function nodeV2BytesMax(pathBytes: number, dataBytes: number): number {
  return NODE_FIXED_BYTES_MAX + pathBytes + dataBytes;
}

function writeVarint(frame: Uint8Array, start: number, value: number): number {
  let at = start;
  let rest = value;
  if (rest < 0x8000_0000) {
    while (rest >= 0x80) {
      frame[at++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    frame[at++] = rest;
    return at;
  }
  while (rest >= 0x80) {
    frame[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  frame[at++] = rest;
  return at;
}

/** emptyNodeFields is a SnapshotNodeFields over `source` for a decoder to fill again for each node. */
export function emptyNodeFields(source: Uint8Array): SnapshotNodeFields {
  return {
    source,
    pathSource: source,
    pathStart: 0,
    pathLength: 0,
    dataStart: 0,
    dataLength: 0,
    czxid: 0,
    mzxid: 0,
    pzxid: 0,
    ctime: 0,
    mtime: 0,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0,
    container: false,
    ttlMs: 0,
    acl: OPEN_ACL_UNSAFE,
  };
}

function zigzag(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function isInt32(value: number): boolean {
  return (value | 0) === value;
}

/** compactStat tells whether the compact stat holds the record's fields exactly. */
function compactStat(record: SnapshotRecord & { kind: 'node' }): boolean {
  return (
    isCount(record.czxid) &&
    isCount(record.mzxid) &&
    record.mzxid >= record.czxid &&
    isCount(record.pzxid) &&
    record.pzxid >= record.czxid &&
    isCount(record.ctime) &&
    isCount(record.mtime) &&
    record.mtime >= record.ctime &&
    isCount(record.ephemeralOwner) &&
    isCount(record.ttlMs) &&
    isInt32(record.version) &&
    isInt32(record.cversion) &&
    isInt32(record.aversion)
  );
}

/**
 * NodeV2Writer encodes node records into one chunk, remembering the previous path's bytes. Use one
 * per chunk.
 */
export class NodeV2Writer {
  private previous = Buffer.allocUnsafe(256);
  private previousBytes = 0;
  private current = Buffer.allocUnsafe(256);

  /** write encodes `record` at `start` of `frame` and returns the offset after it. */
  write(frame: Buffer, start: number, record: SnapshotRecord & { kind: 'node' }, aclRef: number): number {
    const pathBytes = Buffer.byteLength(record.path);
    if (this.current.length < pathBytes) this.current = Buffer.allocUnsafe(pathBytes * 2);
    this.current.write(record.path, 0, 'utf8');
    const shared = Math.min(pathBytes, this.previousBytes);
    let prefix = 0;
    while (prefix < shared && this.current[prefix] === this.previous[prefix]) prefix++;
    const compact = compactStat(record);
    let at = start;
    frame[at++] = aclRef < 0 ? KIND_NODE_V2 : KIND_NODE_ACL_V2;
    frame[at++] = (record.container ? FLAG_CONTAINER : 0) | (compact ? 0 : FLAG_RAW);
    at = writeVarint(frame, at, prefix);
    at = writeVarint(frame, at, pathBytes - prefix);
    this.current.copy(frame, at, prefix, pathBytes);
    at += pathBytes - prefix;
    at = writeVarint(frame, at, record.data.length);
    frame.set(record.data, at);
    at += record.data.length;
    if (compact) {
      at = writeVarint(frame, at, record.czxid);
      at = writeVarint(frame, at, record.mzxid - record.czxid);
      at = writeVarint(frame, at, record.pzxid - record.czxid);
      at = writeVarint(frame, at, record.ctime);
      at = writeVarint(frame, at, record.mtime - record.ctime);
      at = writeVarint(frame, at, record.ephemeralOwner);
      at = writeVarint(frame, at, record.ttlMs);
      at = writeVarint(frame, at, zigzag(record.version));
      at = writeVarint(frame, at, zigzag(record.cversion));
      at = writeVarint(frame, at, zigzag(record.aversion));
    } else {
      frame.writeDoubleBE(record.czxid, at);
      frame.writeDoubleBE(record.mzxid, at + 8);
      frame.writeDoubleBE(record.pzxid, at + 16);
      frame.writeDoubleBE(record.ctime, at + 24);
      frame.writeDoubleBE(record.mtime, at + 32);
      frame.writeDoubleBE(record.ephemeralOwner, at + 40);
      frame.writeDoubleBE(record.ttlMs, at + 48);
      frame.writeInt32BE(record.version, at + 56);
      frame.writeInt32BE(record.cversion, at + 60);
      frame.writeInt32BE(record.aversion, at + 64);
      at += 68;
    }
    if (aclRef >= 0) at = writeVarint(frame, at, aclRef);
    const swap = this.previous;
    this.previous = this.current;
    this.current = swap;
    this.previousBytes = pathBytes;
    return at;
  }
}

/**
 * NodeV2Reader decodes the node records of one chunk (use one per chunk) into a sink. With the sink
 * null it only checks them (bounds, varints, prefixes, access list references) without building
 * anything: a pass that validates a file before anything is restored from it.
 */
export class NodeV2Reader {
  private path = Buffer.allocUnsafe(256);
  private pathBytes = 0;
  private at = 0;
  /** fields is handed to the sink for every node (SnapshotSink: the sink copies what it keeps). */
  private readonly fields: SnapshotNodeFields;

  constructor(
    private readonly chunk: Buffer,
    private readonly chunkOffset: number,
  ) {
    this.fields = emptyNodeFields(chunk);
  }

  /** read decodes the node record at `start` into `sink` and returns the offset after it. */
  read(start: number, acls: ReadonlyMap<number, readonly ACL[]>, sink: SnapshotSink | null): number {
    const chunk = this.chunk;
    if (start + 2 > chunk.length) this.torn();
    const kind = chunk[start]!;
    const flags = chunk[start + 1]!;
    this.at = start + 2;
    const prefix = this.varint();
    const suffix = this.varint();
    if (prefix > this.pathBytes) throwFormat('node path prefix longer than the previous path', this.chunkOffset);
    const suffixStart = this.at;
    if (suffixStart + suffix > chunk.length) this.torn();
    const pathBytes = prefix + suffix;
    // The pass that only checks needs the path's length, not its bytes.
    if (sink !== null) {
      if (this.path.length < pathBytes) {
        const grown = Buffer.allocUnsafe(pathBytes * 2);
        this.path.copy(grown, 0, 0, prefix);
        this.path = grown;
      }
      chunk.copy(this.path, prefix, suffixStart, suffixStart + suffix);
    }
    this.pathBytes = pathBytes;
    this.at = suffixStart + suffix;
    const dataBytes = this.varint();
    const dataStart = this.at;
    if (dataStart + dataBytes > chunk.length) this.torn();
    this.at = dataStart + dataBytes;
    const fields = this.fields;
    if ((flags & FLAG_RAW) === 0) {
      const czxid = this.varint();
      fields.czxid = czxid;
      fields.mzxid = czxid + this.varint();
      fields.pzxid = czxid + this.varint();
      const ctime = this.varint();
      fields.ctime = ctime;
      fields.mtime = ctime + this.varint();
      fields.ephemeralOwner = this.varint();
      fields.ttlMs = this.varint();
      fields.version = this.zigzag();
      fields.cversion = this.zigzag();
      fields.aversion = this.zigzag();
      if (
        fields.mzxid > Number.MAX_SAFE_INTEGER ||
        fields.pzxid > Number.MAX_SAFE_INTEGER ||
        fields.mtime > Number.MAX_SAFE_INTEGER
      ) {
        throwFormat('node stat past 2^53', this.chunkOffset);
      }
    } else {
      const fixed = this.at;
      if (fixed + 68 > chunk.length) this.torn();
      fields.czxid = chunk.readDoubleBE(fixed);
      fields.mzxid = chunk.readDoubleBE(fixed + 8);
      fields.pzxid = chunk.readDoubleBE(fixed + 16);
      fields.ctime = chunk.readDoubleBE(fixed + 24);
      fields.mtime = chunk.readDoubleBE(fixed + 32);
      fields.ephemeralOwner = chunk.readDoubleBE(fixed + 40);
      fields.ttlMs = chunk.readDoubleBE(fixed + 48);
      fields.version = chunk.readInt32BE(fixed + 56);
      fields.cversion = chunk.readInt32BE(fixed + 60);
      fields.aversion = chunk.readInt32BE(fixed + 64);
      this.at = fixed + 68;
    }
    let acl: readonly ACL[] = OPEN_ACL_UNSAFE;
    if (kind === KIND_NODE_ACL_V2) {
      const ref = this.varint();
      acl = acls.get(ref) ?? throwFormat(`node refers to access list ${ref}, not defined before it`, this.chunkOffset);
    }
    if (sink !== null) {
      fields.pathSource = this.path;
      fields.pathStart = 0;
      fields.pathLength = pathBytes;
      fields.dataStart = dataStart;
      fields.dataLength = dataBytes;
      fields.container = (flags & FLAG_CONTAINER) !== 0;
      fields.acl = acl;
      sink.node(fields);
    }
    return this.at;
  }

  private varint(): number {
    const chunk = this.chunk;
    let at = this.at;
    if (at >= chunk.length) this.torn();
    let byte = chunk[at++]!;
    if (byte < 0x80) {
      this.at = at;
      return byte;
    }
    let value = byte & 0x7f;
    let scale = 0x80;
    for (let length = 1; ; length++) {
      if (length === VARINT_BYTES_MAX) throwFormat('varint longer than 8 bytes', this.chunkOffset);
      if (at >= chunk.length) this.torn();
      byte = chunk[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 0x80;
    }
    if (value > Number.MAX_SAFE_INTEGER) throwFormat('varint past 2^53', this.chunkOffset);
    this.at = at;
    return value;
  }

  private zigzag(): number {
    const value = this.varint();
    if (value > 0xffff_ffff) throwFormat('int32 field out of range', this.chunkOffset);
    return (value >>> 1) ^ -(value & 1);
  }

  private torn(): never {
    throwFormat('torn node record', this.chunkOffset);
  }
}
