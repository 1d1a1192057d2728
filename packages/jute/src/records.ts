// The records shared by requests and replies (zookeeper.jute `module org.apache.zookeeper.data`):
// Stat, ACL with its Id, ClientInfo, and vectors of ustrings.
import type { ACL, Stat } from '@zabkit/core';
import { JuteError } from './errors.js';
import type { JuteReader } from './reader.js';
import type { JuteWriter } from './writer.js';

/** STAT_BYTES: a Stat is 6 longs and 5 ints, always 68 bytes. */
export const STAT_BYTES = 6 * 8 + 5 * 4;
/** The least bytes an element can take, for checking a vector's count against the bytes left. */
export const USTRING_BYTES_MIN = 4;
export const ACL_BYTES_MIN = 4 + 4 + 4;
export const CLIENT_INFO_BYTES_MIN = 4 + 4;

/** readRecord runs `read` for a nested record and prefixes any error with the record's field name. */
export function readRecord<T>(reader: JuteReader, field: string, read: (reader: JuteReader) => T): T {
  try {
    return read(reader);
  } catch (error) {
    throw JuteError.within(error, field);
  }
}

/** writeRecord is readRecord's twin for encoding. */
export function writeRecord<T>(
  writer: JuteWriter,
  value: T,
  field: string,
  write: (writer: JuteWriter, value: T) => void,
): void {
  if (value === null || typeof value !== 'object') throw new JuteError('not a record', field);
  try {
    write(writer, value);
  } catch (error) {
    throw JuteError.within(error, field);
  }
}

/** readStat reads ZooKeeper's Stat, whose jute field order is core's Stat field order. */
export function readStat(reader: JuteReader): Stat {
  return {
    czxid: reader.long('czxid'),
    mzxid: reader.long('mzxid'),
    ctime: reader.long('ctime'),
    mtime: reader.long('mtime'),
    version: reader.int('version'),
    cversion: reader.int('cversion'),
    aversion: reader.int('aversion'),
    ephemeralOwner: reader.long('ephemeralOwner'),
    dataLength: reader.int('dataLength'),
    numChildren: reader.int('numChildren'),
    pzxid: reader.long('pzxid'),
  };
}

export function writeStat(writer: JuteWriter, stat: Stat): void {
  writer.long(stat.czxid, 'czxid');
  writer.long(stat.mzxid, 'mzxid');
  writer.long(stat.ctime, 'ctime');
  writer.long(stat.mtime, 'mtime');
  writer.int(stat.version, 'version');
  writer.int(stat.cversion, 'cversion');
  writer.int(stat.aversion, 'aversion');
  writer.long(stat.ephemeralOwner, 'ephemeralOwner');
  writer.int(stat.dataLength, 'dataLength');
  writer.int(stat.numChildren, 'numChildren');
  writer.long(stat.pzxid, 'pzxid');
}

/** readAcl reads one ACL {int perms; Id id {ustring scheme; ustring id}}. */
export function readAcl(reader: JuteReader): ACL {
  const perms = reader.int('perms');
  const id = readRecord(reader, 'id', (r) => ({ scheme: r.ustring('scheme'), id: r.ustring('id') }));
  return { perms, id };
}

export function writeAcl(writer: JuteWriter, acl: ACL): void {
  if (acl === null || typeof acl !== 'object') throw new JuteError('not a record', '');
  writer.int(acl.perms, 'perms');
  writeRecord(writer, acl.id, 'id', (w, id) => {
    w.ustring(id.scheme, 'scheme');
    w.ustring(id.id, 'id');
  });
}

export function readAclVector(reader: JuteReader, field: string): ACL[] {
  return reader.vector(field, ACL_BYTES_MIN, readAcl);
}

export function writeAclVector(writer: JuteWriter, acl: readonly ACL[], field: string): void {
  writer.vector(acl, field, writeAcl);
}

export function readStringVector(reader: JuteReader, field: string): string[] {
  return reader.vector(field, USTRING_BYTES_MIN, (r) => r.ustring(''));
}

export function writeStringVector(writer: JuteWriter, values: readonly string[], field: string): void {
  writer.vector(values, field, (w, value) => w.ustring(value, ''));
}
