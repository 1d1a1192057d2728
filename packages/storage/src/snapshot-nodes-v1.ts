import { type ACL, OPEN_ACL_UNSAFE, type SnapshotNodeFields, type SnapshotSink } from '@zabkit/core';
import { throwFormat } from './snapshot-format-error.js';

/**
 * Znode records of format version 1 (read, no longer written; snapshot-nodes-v2.ts writes them now):
 *
 * node (kind 0): kind u8 | pathBytes u32 | path utf-8 | dataBytes u32 | data | czxid f64 |
 *   mzxid f64 | pzxid f64 | ctime f64 | mtime f64 | ephemeralOwner f64 | ttlMs f64 | version i32 |
 *   cversion i32 | aversion i32 | container u8
 * node with an access list (kind 3): a node record (kind 3 instead of 0) | aclRef u32. A node of
 *   kind 0 has OPEN_ACL_UNSAFE.
 */
export const KIND_NODE_V1 = 0;
export const KIND_NODE_ACL_V1 = 3;
const FIXED_BYTES = 7 * 8 + 3 * 4 + 1;

/**
 * decodeNodeV1 reads a node record at `offset` into `sink` (null: only checks it), filling
 * `fields` (a SnapshotNodeFields over `chunk`), and returns the offset after it.
 */
export function decodeNodeV1(
  chunk: Buffer,
  view: DataView,
  offset: number,
  acls: ReadonlyMap<number, readonly ACL[]>,
  sink: SnapshotSink | null,
  fields: SnapshotNodeFields,
  chunkOffset: number,
): number {
  const kind = chunk[offset];
  if (offset + 5 > chunk.length) throwFormat('torn node record', chunkOffset);
  const pathBytes = view.getUint32(offset + 1);
  const pathStart = offset + 5;
  const dataLengthAt = pathStart + pathBytes;
  if (dataLengthAt + 4 > chunk.length) throwFormat('torn node record', chunkOffset);
  const dataBytes = view.getUint32(dataLengthAt);
  const dataStart = dataLengthAt + 4;
  const fixed = dataStart + dataBytes;
  const end = fixed + FIXED_BYTES + (kind === KIND_NODE_ACL_V1 ? 4 : 0);
  if (end > chunk.length) throwFormat('torn node record', chunkOffset);
  let acl: readonly ACL[] = OPEN_ACL_UNSAFE;
  if (kind === KIND_NODE_ACL_V1) {
    const ref = view.getUint32(fixed + FIXED_BYTES);
    acl = acls.get(ref) ?? throwFormat(`node refers to access list ${ref}, not defined before it`, chunkOffset);
  }
  if (sink === null) return end;
  fields.pathSource = chunk;
  fields.pathStart = pathStart;
  fields.pathLength = pathBytes;
  fields.dataStart = dataStart;
  fields.dataLength = dataBytes;
  fields.czxid = view.getFloat64(fixed);
  fields.mzxid = view.getFloat64(fixed + 8);
  fields.pzxid = view.getFloat64(fixed + 16);
  fields.ctime = view.getFloat64(fixed + 24);
  fields.mtime = view.getFloat64(fixed + 32);
  fields.version = view.getInt32(fixed + 56);
  fields.cversion = view.getInt32(fixed + 60);
  fields.aversion = view.getInt32(fixed + 64);
  fields.ephemeralOwner = view.getFloat64(fixed + 40);
  fields.container = chunk[fixed + 68] === 1;
  fields.ttlMs = view.getFloat64(fixed + 48);
  fields.acl = acl;
  sink.node(fields);
  return end;
}
