import { JuteError } from './errors.js';

/** FRAME_HEADER_BYTES is the size of the big-endian length that starts every jute frame. */
export const FRAME_HEADER_BYTES = 4;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const TWO_32 = 0x1_0000_0000;
const utf8 = new TextEncoder();

/**
 * JuteWriter builds one frame: 4 bytes reserved for the length, then the record written field by
 * field. It checks every value against its jute type (an int is a 32-bit integer, a long a safe
 * integer, a boolean a boolean, a buffer a Uint8Array) and throws a JuteError naming the field, so
 * a bad value is found by the sender, not by the client that would read it.
 */
export class JuteWriter {
  private bytes: Uint8Array;
  private view: DataView;
  private length = FRAME_HEADER_BYTES;

  constructor(capacityBytes = 256) {
    this.bytes = new Uint8Array(Math.max(capacityBytes, 16));
    this.view = new DataView(this.bytes.buffer);
  }

  int(value: number, field: string): void {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new JuteError(`${String(value)} is not a 32-bit integer`, field);
    }
    this.reserve(4);
    this.view.setInt32(this.length, value, false);
    this.length += 4;
  }

  /** long writes a safe integer as a two's-complement 64-bit big-endian long. */
  long(value: number, field: string): void {
    if (!Number.isSafeInteger(value)) throw new JuteError(`${String(value)} is not a safe integer`, field);
    this.reserve(8);
    const high = Math.floor(value / TWO_32);
    this.view.setInt32(this.length, high, false);
    this.view.setUint32(this.length + 4, value - high * TWO_32, false);
    this.length += 8;
  }

  boolean(value: boolean, field: string): void {
    if (typeof value !== 'boolean') throw new JuteError(`${String(value)} is not a boolean`, field);
    this.reserve(1);
    this.bytes[this.length] = value ? 1 : 0;
    this.length += 1;
  }

  buffer(value: Uint8Array, field: string): void {
    if (!(value instanceof Uint8Array)) throw new JuteError('not a Uint8Array', field);
    this.int(value.length, field);
    this.reserve(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  ustring(value: string, field: string): void {
    if (typeof value !== 'string') throw new JuteError(`${String(value)} is not a string`, field);
    // At most 3 bytes of UTF-8 per UTF-16 unit: room for the worst case, then the real length.
    this.reserve(4 + value.length * 3);
    const start = this.length + 4;
    let end = start;
    let i = 0;
    for (; i < value.length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x80) break;
      this.bytes[end++] = unit;
    }
    if (i < value.length) end += utf8.encodeInto(value.slice(i), this.bytes.subarray(end)).written;
    this.view.setInt32(this.length, end - start, false);
    this.length = end;
  }

  vector<T>(values: readonly T[], field: string, write: (writer: JuteWriter, value: T) => void): void {
    if (!Array.isArray(values)) throw new JuteError('not an array', field);
    this.int(values.length, field);
    for (let i = 0; i < values.length; i++) {
      try {
        write(this, values[i] as T);
      } catch (error) {
        throw JuteError.within(JuteError.within(error, `[${i}]`), field);
      }
    }
  }

  /** frame writes the body's length into the reserved header and returns the whole frame. */
  frame(): Uint8Array {
    const bodyBytes = this.length - FRAME_HEADER_BYTES;
    if (bodyBytes > INT32_MAX) throw new JuteError(`body of ${bodyBytes} bytes does not fit a frame`, 'frame');
    this.view.setInt32(0, bodyBytes, false);
    return this.bytes.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(needed, this.bytes.length * 2));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
}
