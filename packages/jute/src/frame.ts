import { JuteError } from './errors.js';
import { FRAME_HEADER_BYTES } from './writer.js';

/**
 * FRAME_BYTES_MAX_DEFAULT: the largest frame body a JuteFrameDecoder accepts by default, 1 MiB of
 * znode data (jute.maxbuffer) plus 64 KiB for the path, ACL and headers around it.
 */
export const FRAME_BYTES_MAX_DEFAULT = 1024 * 1024 + 64 * 1024;

// The first buffer for an incomplete frame: small frames that straddle two reads fit without growing.
const BUFFER_BYTES_MIN = 256;
const EMPTY = new Uint8Array(0);

/**
 * JuteFrameBudget is told about every buffer a JuteFrameDecoder allocates and frees, so that the
 * decoders of many connections can share one bound on the memory their incomplete frames hold.
 */
export interface JuteFrameBudget {
  /** reserve is called before the decoder grows its buffer by `bytes`; to refuse, throw (push rethrows it). */
  reserve(bytes: number): void;
  /** release is called when the decoder drops a buffer of `bytes`. */
  release(bytes: number): void;
}

export interface JuteFrameDecoderOptions {
  /** frameBytesMax: the largest body accepted; default {@link FRAME_BYTES_MAX_DEFAULT}. */
  frameBytesMax?: number;
  budget?: JuteFrameBudget;
}

/**
 * JuteFrameDecoder turns a byte stream into frame bodies: a 4-byte big-endian signed length, then
 * that many bytes. It knows nothing of sockets: feed it chunks split anywhere with
 * {@link JuteFrameDecoder.push}; it calls `onFrame` with each whole body, in order.
 *
 * A negative length or one over `frameBytesMax` throws a JuteError (field `frame`) before any of
 * the body is kept (a ZooKeeper four-letter word such as `ruok` arrives as a length of ~1.9 GB and
 * is refused so). Memory: a frame that arrives whole inside a chunk is passed on as a view of the
 * chunk and costs nothing here; only an incomplete frame is buffered, in a buffer that grows with
 * what has arrived (from 256 bytes, doubling), never with what the prefix merely declares, and is
 * handed out as the body when the frame completes. So the decoder holds at most one frame and its
 * header, and nothing between frames.
 *
 * A body may be a view of the pushed chunk: decode it (the decoders copy what they keep) before
 * the chunk is reused. After a throw, from the length check or from `onFrame`, the rest of that
 * chunk is dropped and the stream is broken: close the connection (or {@link JuteFrameDecoder.reset}).
 */
export class JuteFrameDecoder {
  readonly frameBytesMax: number;
  private readonly budget: JuteFrameBudget | undefined;
  // buffer holds the incomplete frame, header included, from index 0; EMPTY when there is none.
  private buffer: Uint8Array = EMPTY;
  private buffered = 0;

  constructor(
    private readonly onFrame: (body: Uint8Array) => void,
    options: JuteFrameDecoderOptions = {},
  ) {
    this.frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    this.budget = options.budget;
  }

  /** bufferedBytes is how many bytes of an incomplete frame are held (0 between frames). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** capacityBytes is how many bytes the decoder has allocated: 0 between frames, never more than one frame and its header. */
  get capacityBytes(): number {
    return this.buffer.length;
  }

  /** push adds a chunk and calls `onFrame` for each frame it completes. Throws JuteError for a bad length. */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.buffered === 0 && chunk.length - offset >= FRAME_HEADER_BYTES) {
        // Fast path: nothing buffered and a whole frame sits in the chunk.
        const length = this.readLength(chunk, offset);
        const end = offset + FRAME_HEADER_BYTES + length;
        if (end <= chunk.length) {
          offset = end;
          this.onFrame(chunk.subarray(end - length, end));
          continue;
        }
      }
      const take = Math.min(this.bytesWanted(), chunk.length - offset);
      this.append(chunk.subarray(offset, offset + take));
      offset += take;
      if (this.buffered < FRAME_HEADER_BYTES) continue;
      const length = this.readLength(this.buffer, 0);
      if (this.buffered < FRAME_HEADER_BYTES + length) continue;
      // The frame is complete: its buffer becomes the body, and the decoder starts empty again.
      const body = this.buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
      this.reset();
      this.onFrame(body);
    }
  }

  /** reset drops an incomplete frame and gives its buffer back (to the budget too). */
  reset(): void {
    const capacity = this.buffer.length;
    this.buffer = EMPTY;
    this.buffered = 0;
    if (capacity > 0) this.budget?.release(capacity);
  }

  private bytesWanted(): number {
    if (this.buffered < FRAME_HEADER_BYTES) return FRAME_HEADER_BYTES - this.buffered;
    return FRAME_HEADER_BYTES + this.readLength(this.buffer, 0) - this.buffered;
  }

  private readLength(bytes: Uint8Array, offset: number): number {
    const length =
      ((bytes[offset] as number) << 24) |
      ((bytes[offset + 1] as number) << 16) |
      ((bytes[offset + 2] as number) << 8) |
      (bytes[offset + 3] as number);
    if (length < 0) throw new JuteError(`negative frame length ${length}`, 'frame');
    if (length > this.frameBytesMax) {
      throw new JuteError(`frame of ${length} bytes is over the limit of ${this.frameBytesMax}`, 'frame');
    }
    return length;
  }

  private append(bytes: Uint8Array): void {
    const needed = this.buffered + bytes.length;
    if (needed > this.buffer.length) {
      // Grow with what has arrived, never to what the prefix merely declares: a client that sends
      // the header of a 1 MiB frame and stops costs 256 bytes, not 1 MiB.
      const ceiling =
        this.buffered >= FRAME_HEADER_BYTES
          ? FRAME_HEADER_BYTES + this.readLength(this.buffer, 0)
          : FRAME_HEADER_BYTES + this.frameBytesMax;
      const size = Math.max(needed, Math.min(Math.max(this.buffer.length * 2, BUFFER_BYTES_MIN), ceiling));
      this.budget?.reserve(size - this.buffer.length);
      const next = new Uint8Array(size);
      next.set(this.buffer.subarray(0, this.buffered), 0);
      this.buffer = next;
    }
    this.buffer.set(bytes, this.buffered);
    this.buffered = needed;
  }
}
