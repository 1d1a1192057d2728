import type { LogEntry, Zxid } from '@zabkit/core';
import type { FileSystem } from './file-system.js';
import { FileWindow } from './file-window.js';
import {
  decodeRecordEntry,
  decodeSegmentHeader,
  RECORD_BODY_BYTES_MAX,
  RECORD_HEADER_BYTES,
  type RecordLocation,
  readRecordAt,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
  viewOf,
} from './log-record.js';

/** StreamedSegment is a segment read whole and found intact: every record framed, and crc-checked unless deferred. */
export interface StreamedSegment {
  header: SegmentHeader;
  records: RecordLocation[];
  sizeBytes: number;
  /** entries are the decoded entries with a zxid above the `decodeAbove` asked for, in order. */
  entries: LogEntry[];
}

/** NotWhole: the window met the end of the file early (the caller reads the file whole instead). */
class NotWhole extends Error {}

/**
 * readSegmentOnce reads the segment at `path` front to back through one reused buffer
 * (file-window.ts), framing every record and checking its crc (`checkCrc`: false for a segment
 * whose crcs recovery defers), and decodes the entries above `decodeAbove` as it goes (only from
 * records whose crc it checked). So recovery reads the log without
 * holding it whole in fresh memory, and each segment once. Returns null when the segment is not
 * simply intact (a header that fails, a newer format, a bad or torn record, a file that ends early):
 * the caller then reads it whole and applies the recovery rules to it, as before.
 */
export async function readSegmentOnce(
  fileSystem: FileSystem,
  path: string,
  checkCrc: boolean,
  decodeAbove: Zxid,
): Promise<StreamedSegment | null> {
  const file = await fileSystem.open(path, 'r');
  try {
    const sizeBytes = await file.size();
    const window = new FileWindow(file, 0, sizeBytes, null, () => {
      throw new NotWhole();
    });
    if (sizeBytes < SEGMENT_HEADER_BYTES) return null;
    const header = decodeSegmentHeader(await window.bytes(0, SEGMENT_HEADER_BYTES));
    if (header === null) return null;
    const records: RecordLocation[] = [];
    const entries: LogEntry[] = [];
    let offset = SEGMENT_HEADER_BYTES;
    let buffer = window.array;
    let view = viewOf(buffer);
    while (offset < sizeBytes) {
      if (offset + RECORD_HEADER_BYTES > sizeBytes) return null;
      // The record is read in place in the window's buffer: no await, no view, unless a refill is due.
      if (!window.holds(offset + RECORD_HEADER_BYTES)) await window.load(offset, offset + RECORD_HEADER_BYTES);
      let at = offset - window.base;
      const bodyBytes = window.array.readUInt32BE(at + 8);
      const end = offset + RECORD_HEADER_BYTES + bodyBytes;
      if (bodyBytes > RECORD_BODY_BYTES_MAX || end > sizeBytes) return null;
      if (!window.holds(end)) {
        await window.load(offset, end);
        at = offset - window.base;
      }
      if (window.array !== buffer) {
        buffer = window.array;
        view = viewOf(buffer);
      }
      const record = readRecordAt(buffer, at, checkCrc, view);
      if (record === null) return null;
      if (checkCrc && record.zxid > decodeAbove) entries.push(decodeRecordEntry(buffer, record));
      // readRecordAt located it in the buffer; the index keeps its offset in the file.
      record.offset = offset;
      records.push(record);
      offset += record.bytes;
    }
    return { header, records, sizeBytes, entries };
  } catch (error) {
    if (error instanceof NotWhole) return null;
    throw error;
  } finally {
    await file.close();
  }
}
