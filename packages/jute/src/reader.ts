import { JuteError } from './errors.js';

/**
 * JuteLimits bound what one decoded body may ask the decoder to allocate, on top of the body's own
 * size (every length is also checked against the bytes left, before anything is allocated).
 */
export interface JuteLimits {
  /** maxBufferBytes caps one buffer or ustring (ZooKeeper's jute.maxbuffer + 1 KiB); default {@link MAX_BUFFER_BYTES_DEFAULT}. */
  maxBufferBytes?: number;
  /** maxVectorLength caps the element count of one vector and the op count of one multi; default {@link MAX_VECTOR_LENGTH_DEFAULT}. */
  maxVectorLength?: number;
}

/** MAX_BUFFER_BYTES_DEFAULT: 1 MiB (jute.maxbuffer's default order) plus the 1 KiB ZooKeeper adds when it checks a length. */
export const MAX_BUFFER_BYTES_DEFAULT = 1024 * 1024 + 1024;
/** MAX_VECTOR_LENGTH_DEFAULT: far above any real vector (a Java client batches SetWatches at 128 KiB of paths). */
export const MAX_VECTOR_LENGTH_DEFAULT = 1024 * 1024;

// fatal: invalid UTF-8 is refused, not replaced; ignoreBOM: a leading U+FEFF is data, not dropped.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// Short ASCII strings (nearly every path) are decoded without a TextDecoder call.
const ASCII_FAST_BYTES_MAX = 64;

/**
 * JuteReader reads jute's binary encoding from one body: big-endian ints and longs, one-byte
 * booleans, int-length-prefixed buffers, ustrings and vectors. Each read names its field; the
 * records that call it prefix their own names with {@link JuteError.within}, so an error names
 * the whole path. It copies every buffer it returns, so a decoded value never pins the frame.
 */
export class JuteReader {
  private offset = 0;
  private readonly view: DataView;
  private readonly maxBufferBytes: number;
  private readonly maxVectorLength: number;

  constructor(
    readonly bytes: Uint8Array,
    limits: JuteLimits = {},
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxBufferBytes = limits.maxBufferBytes ?? MAX_BUFFER_BYTES_DEFAULT;
    this.maxVectorLength = limits.maxVectorLength ?? MAX_VECTOR_LENGTH_DEFAULT;
  }

  /** remaining is how many bytes of the body are left to read. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  int(field: string): number {
    this.need(4, field);
    const value = this.view.getInt32(this.offset, false);
    this.offset += 4;
    return value;
  }

  /** long reads a jute long; zabkit's ids, zxids and times are safe integers, so anything outside ±(2^53 - 1) is refused. */
  long(field: string): number {
    this.need(8, field);
    const high = this.view.getInt32(this.offset, false);
    const low = this.view.getUint32(this.offset + 4, false);
    this.offset += 8;
    // Exact whenever the result is a safe integer: |high| < 2^21 then, and the sum stays below 2^53.
    const value = high * 0x1_0000_0000 + low;
    if (!Number.isSafeInteger(value)) {
      const exact = (BigInt(high) << 32n) | BigInt(low);
      throw new JuteError(`long ${exact} is outside the safe integer range ±(2^53 - 1)`, field);
    }
    return value;
  }

  /** boolean reads one byte that must be 0 or 1 (what every ZooKeeper client writes). */
  boolean(field: string): boolean {
    this.need(1, field);
    const value = this.bytes[this.offset] as number;
    if (value > 1) throw new JuteError(`boolean byte ${value} is neither 0 nor 1`, field);
    this.offset += 1;
    return value === 1;
  }

  /** buffer reads an int length (-1 is null, read as empty) and a copy of that many bytes. */
  buffer(field: string): Uint8Array {
    const length = this.length(field);
    if (length <= 0) return new Uint8Array(0);
    const value = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /**
   * ustring reads an int length (-1 is null, read as '') and that many bytes of UTF-8. Invalid
   * UTF-8 is refused (ZooKeeper would substitute U+FFFD; no client writes it).
   */
  ustring(field: string): string {
    const length = this.length(field);
    if (length <= 0) return '';
    const start = this.offset;
    const end = start + length;
    this.offset = end;
    if (length <= ASCII_FAST_BYTES_MAX) {
      let ascii = '';
      let i = start;
      for (; i < end; i++) {
        const byte = this.bytes[i] as number;
        if (byte >= 0x80) break;
        ascii += String.fromCharCode(byte);
      }
      if (i === end) return ascii;
    }
    try {
      return utf8.decode(this.bytes.subarray(start, end));
    } catch {
      throw new JuteError('not valid UTF-8', field);
    }
  }

  /**
   * vector reads an int count (-1 is null, read as empty) and that many elements. The count is
   * checked against the limit and against the bytes left (each element needs at least
   * `elementBytesMin`) before any element is read.
   */
  vector<T>(field: string, elementBytesMin: number, read: (reader: JuteReader) => T): T[] {
    const count = this.int(field);
    if (count < -1) throw new JuteError(`negative count ${count}`, field);
    if (count > this.maxVectorLength) {
      throw new JuteError(`count ${count} is over the limit of ${this.maxVectorLength}`, field);
    }
    if (count * elementBytesMin > this.remaining) {
      throw new JuteError(
        `count ${count} needs at least ${count * elementBytesMin} bytes, ${this.remaining} left`,
        field,
      );
    }
    const values: T[] = [];
    for (let i = 0; i < count; i++) {
      try {
        values.push(read(this));
      } catch (error) {
        throw JuteError.within(JuteError.within(error, `[${i}]`), field);
      }
    }
    return values;
  }

  /** checkCount applies the vector limit to a count that is not a vector's (the ops of a multi). */
  checkCount(count: number, field: string): void {
    if (count > this.maxVectorLength) {
      throw new JuteError(`more than ${this.maxVectorLength} entries`, field);
    }
  }

  /** end refuses bytes after the last field: a body is exactly its record. */
  end(field = 'body'): void {
    if (this.offset !== this.bytes.length) {
      throw new JuteError(`${this.bytes.length - this.offset} bytes after the end of the record`, field);
    }
  }

  private length(field: string): number {
    const length = this.int(field);
    if (length < -1) throw new JuteError(`negative length ${length}`, field);
    if (length > this.maxBufferBytes) {
      throw new JuteError(`length ${length} is over the limit of ${this.maxBufferBytes}`, field);
    }
    if (length > this.remaining) {
      throw new JuteError(`length ${length} goes past the end (${this.remaining} bytes left)`, field);
    }
    return length;
  }

  private need(bytes: number, field: string): void {
    if (this.remaining < bytes) {
      throw new JuteError(`truncated: needs ${bytes} bytes, ${this.remaining} left`, field);
    }
  }
}
