import { type ACL, aclKey, type ClusterMember, type SnapshotRecord, type SnapshotSink } from '@zabkit/core';
import { throwFormat } from './snapshot-format-error.js';

/**
 * The records of a snapshot file other than znodes, the same in every format version (README
 * "On-disk format"; snapshot-file.ts has the whole layout):
 *
 * session (kind 2): kind u8 | sessionId f64 | timeoutMs f64 | passwordBytes u8 | password
 * session without a password (kind 1, written before passwords were replicated; read, never
 *   written): kind u8 | sessionId f64 | timeoutMs f64. It reads as an empty password: that session
 *   cannot be resumed (core's zab/sessions.ts).
 * access list (kind 4): kind u8 | aclRef u32 | entries u16 | per entry: perms i32 | schemeBytes u16 |
 *   scheme utf-8 | idBytes u16 | id utf-8. It comes before the first node that refers to it; refs
 *   are local to the file (ZooKeeper's snapshot writes its ACL cache the same way, as a map of
 *   references), so each distinct list is written once however many znodes share it.
 * membership (kind 5, issue 16; core's zab/membership.ts): kind u8 | version f64 | members u16 |
 *   per member: id u32 | role u8 (0 participant, 1 observer) | addressBytes u16 | address utf-8 |
 *   clientAddressBytes u16 | clientAddress utf-8 | endpointsBytes u16 | endpoints utf-8.
 */

export const KIND_SESSION_V1 = 1;
export const KIND_SESSION = 2;
export const KIND_ACL = 4;
export const KIND_CONFIG = 5;

const SESSION_BYTES = 1 + 8 + 8;
const SESSION_PASSWORD_BYTES_MAX = 255;
const NO_PASSWORD = new Uint8Array(0);

/** FileRecord is what a chunk holds: a snapshot record (a node with its ACL reference, if any) or an access list. */
export type FileRecord =
  | { kind: 'config'; record: SnapshotRecord & { kind: 'config' } }
  | { kind: 'session'; record: SnapshotRecord & { kind: 'session' } }
  | { kind: 'node'; record: SnapshotRecord & { kind: 'node' }; aclRef: number }
  | { kind: 'acl'; aclRef: number; acl: readonly ACL[] };

/** NO_ACL_REF marks a node of OPEN_ACL_UNSAFE. */
export const NO_ACL_REF = -1;

/** otherRecordBytes is the size of a record that is not a node. */
export function otherRecordBytes(item: Exclude<FileRecord, { kind: 'node' }>): number {
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
    case 'acl': {
      let bytes = 1 + 4 + 2;
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
export class AclTable {
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
  if (Buffer.byteLength(text) > 0xffff) throw new RangeError(`snapshot string of ${text.length} characters`);
  const bytes = frame.write(text, offset + 2, 'utf8');
  frame.writeUInt16BE(bytes, offset);
  return offset + 2 + bytes;
}

/** encodeOtherRecord writes a record that is not a node at `offset`; returns the offset after it. */
export function encodeOtherRecord(frame: Buffer, item: Exclude<FileRecord, { kind: 'node' }>, start: number): number {
  let offset = start;
  if (item.kind === 'config') {
    frame[offset] = KIND_CONFIG;
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
    return offset;
  }
  if (item.kind === 'acl') {
    frame[offset] = KIND_ACL;
    frame.writeUInt32BE(item.aclRef, offset + 1);
    frame.writeUInt16BE(item.acl.length, offset + 5);
    offset += 7;
    for (const entry of item.acl) {
      frame.writeInt32BE(entry.perms, offset);
      offset = writeShortString(frame, entry.id.scheme, offset + 4);
      offset = writeShortString(frame, entry.id.id, offset);
    }
    return offset;
  }
  const record = item.record;
  if (record.password.length > SESSION_PASSWORD_BYTES_MAX) {
    throw new RangeError(`session password of ${record.password.length} bytes`);
  }
  frame[offset] = KIND_SESSION;
  frame.writeDoubleBE(record.sessionId, offset + 1);
  frame.writeDoubleBE(record.timeoutMs, offset + 9);
  frame[offset + SESSION_BYTES] = record.password.length;
  frame.set(record.password, offset + SESSION_BYTES + 1);
  return offset + SESSION_BYTES + 1 + record.password.length;
}

/** decodeSession reads a session record (kind 1 or 2) at `offset` into `sink`; returns the offset after it. */
export function decodeSession(
  chunk: Buffer,
  view: DataView,
  offset: number,
  sink: SnapshotSink | null,
  chunkOffset: number,
): number {
  const kind = chunk[offset];
  if (offset + SESSION_BYTES + (kind === KIND_SESSION ? 1 : 0) > chunk.length) {
    throwFormat('torn session record', chunkOffset);
  }
  const passwordBytes = kind === KIND_SESSION ? (chunk[offset + SESSION_BYTES] as number) : 0;
  const passwordStart = offset + SESSION_BYTES + (kind === KIND_SESSION ? 1 : 0);
  if (passwordStart + passwordBytes > chunk.length) throwFormat('torn session record', chunkOffset);
  sink?.record({
    kind: 'session',
    sessionId: view.getFloat64(offset + 1),
    timeoutMs: view.getFloat64(offset + 9),
    password:
      passwordBytes === 0 ? NO_PASSWORD : new Uint8Array(chunk.subarray(passwordStart, passwordStart + passwordBytes)),
  });
  return passwordStart + passwordBytes;
}

/**
 * RecordReader walks one access list or membership record: bounds-checked reads that throw the
 * record's "torn" error, and the u16-length-prefixed strings writeShortString writes.
 */
class RecordReader {
  constructor(
    private readonly chunk: Buffer,
    private readonly view: DataView,
    public offset: number,
    private readonly torn: string,
    private readonly chunkOffset: number,
  ) {}

  /** need checks that `bytes` more bytes are in the chunk. */
  need(bytes: number): void {
    if (this.offset + bytes > this.chunk.length) throwFormat(this.torn, this.chunkOffset);
  }

  string(): string {
    this.need(2);
    const start = this.offset + 2;
    const end = start + this.view.getUint16(this.offset);
    if (end > this.chunk.length) throwFormat(this.torn, this.chunkOffset);
    this.offset = end;
    return this.chunk.toString('utf8', start, end);
  }
}

/** decodeConfig reads a membership record (kind 5) at `offset` into `sink`; returns the offset after it. */
export function decodeConfig(
  chunk: Buffer,
  view: DataView,
  start: number,
  sink: SnapshotSink | null,
  chunkOffset: number,
): number {
  const reader = new RecordReader(chunk, view, start, 'torn membership record', chunkOffset);
  reader.need(11);
  const version = view.getFloat64(start + 1);
  const count = view.getUint16(start + 9);
  reader.offset += 11;
  const members: ClusterMember[] = [];
  for (let i = 0; i < count; i++) {
    reader.need(5);
    const id = view.getUint32(reader.offset);
    const role = chunk[reader.offset + 4] === 1 ? 'observer' : 'participant';
    reader.offset += 5;
    const address = reader.string();
    const clientAddress = reader.string();
    const endpoints = reader.string();
    members.push({ id, role, address, clientAddress, endpoints });
  }
  sink?.record({ kind: 'config', version, members });
  return reader.offset;
}

/**
 * decodeAcl reads an access list record (kind 4) into `acls` and returns the offset after it. A
 * file's lists are read once, by the pass that validates it; later passes find them defined
 * (`redefine`) and skip them.
 */
export function decodeAcl(
  chunk: Buffer,
  view: DataView,
  start: number,
  acls: Map<number, readonly ACL[]>,
  chunkOffset: number,
  redefine: boolean,
): number {
  const reader = new RecordReader(chunk, view, start, 'torn access list record', chunkOffset);
  reader.need(7);
  const ref = view.getUint32(start + 1);
  const count = view.getUint16(start + 5);
  reader.offset += 7;
  const acl: ACL[] = [];
  for (let i = 0; i < count; i++) {
    reader.need(4);
    const perms = view.getInt32(reader.offset);
    reader.offset += 4;
    const scheme = reader.string();
    const id = reader.string();
    acl.push({ perms, id: { scheme, id } });
  }
  const offset = reader.offset;
  if (redefine) return offset;
  if (acls.has(ref)) throwFormat(`access list ${ref} defined twice`, chunkOffset);
  acls.set(ref, acl);
  return offset;
}
