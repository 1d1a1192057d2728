import { crc32 } from 'node:zlib';
import type { FileHandle } from './file-system.js';

/** FILE_WINDOW_BYTES: a FileWindow reads this much at a time (its buffer grows only for a larger piece asked for). */
export const FILE_WINDOW_BYTES = 1024 * 1024;

/**
 * FileWindow reads a file front to back through one reused buffer, holding the bytes from `start`
 * to `end`, and keeps the crc of every byte it read (each once, in order: crc null skips it). A
 * whole file read into fresh memory costs about 3.5 ms per MiB on this machine, and the first pass
 * over it as much again; a window of a megabyte is touched once.
 */
export class FileWindow {
  private buffer: Buffer;
  /** start is the file offset of buffer[0]; end the offset after the last byte held. */
  private start: number;
  private end: number;
  crc: number | null;

  constructor(
    private readonly file: FileHandle,
    from: number,
    /** limit: bytes from here on are not read (a snapshot's trailer, read on its own). */
    private readonly limit: number,
    crc: number | null,
    /** endsEarly throws the caller's error for a file shorter than it was said to be, at `offset`. */
    private readonly endsEarly: (offset: number) => never,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.min(FILE_WINDOW_BYTES, Math.max(limit - from, 1)));
    this.start = from;
    this.end = from;
    this.crc = crc;
  }

  /** bytes returns the file's bytes `from` to `to` (at most `limit`), reading what is missing; `from` never goes back. */
  async bytes(from: number, to: number): Promise<Buffer> {
    if (to > this.end) await this.fill(from, to);
    return this.buffer.subarray(from - this.start, to - this.start);
  }

  /**
   * holds tells whether the bytes up to `to` are already in the buffer: then {@link array} at
   * offset minus {@link base} reads them with no wait and no view (a segment frames a record per
   * hundred bytes or so; an await and a view each cost more than the record).
   */
  holds(to: number): boolean {
    return to <= this.end;
  }

  /** load makes the buffer hold the file's bytes `from` to `to`, as {@link bytes} does, without a view. */
  async load(from: number, to: number): Promise<void> {
    if (to > this.end) await this.fill(from, to);
  }

  /** array is the buffer: the file's byte at offset `o` (held, see {@link holds}) is `array[o - base]`. */
  get array(): Buffer {
    return this.buffer;
  }

  /** base is the file offset of `array[0]`. */
  get base(): number {
    return this.start;
  }

  /** drain reads (and checksums) whatever is left up to `limit`, without keeping it. */
  async drain(): Promise<void> {
    while (this.end < this.limit) await this.fill(this.end, Math.min(this.limit, this.end + this.buffer.length));
  }

  private async fill(from: number, to: number): Promise<void> {
    // Keep the bytes still wanted at the front (never skip bytes not read yet: each is checksummed
    // once, in order); grow only for a chunk larger than the buffer.
    const keepFrom = Math.min(from, this.end);
    const kept = this.end - keepFrom;
    if (to - keepFrom > this.buffer.length) {
      const grown = Buffer.allocUnsafe(to - keepFrom);
      this.buffer.copy(grown, 0, keepFrom - this.start, this.end - this.start);
      this.buffer = grown;
    } else if (kept > 0 && keepFrom !== this.start) {
      this.buffer.copyWithin(0, keepFrom - this.start, this.end - this.start);
    }
    this.start = keepFrom;
    let filled = kept;
    const want = Math.min(this.buffer.length, this.limit - this.start);
    while (filled < want) {
      const count = await this.file.read(this.buffer, filled, want - filled, this.start + filled);
      if (count === 0) break;
      if (this.crc !== null) this.crc = crc32(this.buffer.subarray(filled, filled + count), this.crc);
      filled += count;
    }
    this.end = this.start + filled;
    if (this.end < to) this.endsEarly(this.end);
  }
}
