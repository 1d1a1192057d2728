import { CodecError } from './errors.js';

/** FRAME_HEADER_BYTES is the size of the big-endian length prefix of every frame. */
export const FRAME_HEADER_BYTES = 4;
/** FRAME_BYTES_MAX_DEFAULT: 1 MiB of znode data (ZooKeeper's jute.maxbuffer) plus 64 KiB of headroom. */
export const FRAME_BYTES_MAX_DEFAULT = 1024 * 1024 + 64 * 1024;

// The first buffer for an incomplete frame: small frames that straddle two reads fit without growing.
const BUFFER_BYTES_MIN = 256;
const EMPTY = new Uint8Array(0);

/** encodeFrame prefixes a body with its 4-byte big-endian length. */
export function encodeFrame(body: Uint8Array, frameBytesMax = FRAME_BYTES_MAX_DEFAULT): Uint8Array {
  if (body.length > frameBytesMax) {
    throw new CodecError(`frame of ${body.length} bytes is over the limit of ${frameBytesMax}`, 'frame');
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * FrameDecoderBudget is told about every buffer a FrameDecoder allocates and frees, so that many
 * decoders can share one bound on the memory their incomplete frames hold (a listener's budget).
 */
export interface FrameDecoderBudget {
  /**
   * reserve is called before the decoder grows its buffer by `bytes` (net: the new size minus the
   * old). To refuse, throw: `push` rethrows that error and nothing is allocated.
   */
  reserve(bytes: number): void;
  /** release is called when the decoder drops a buffer of `bytes`. */
  release(bytes: number): void;
}

/**
 * FrameDecoder turns a byte stream into whole frame bodies. It knows nothing of sockets: feed it
 * chunks split anywhere with {@link FrameDecoder.push}.
 *
 * Memory: frames that arrive whole inside a chunk are returned as views of the chunk and cost
 * nothing here. Only an incomplete frame is buffered, and its buffer grows with what has arrived,
 * not with what the length prefix declares: it starts at 256 bytes and doubles, never past the
 * declared frame, so it is at most max(256, 2 × bytes received) and at most one frame and its
 * header. A length prefix over the limit throws a CodecError before any of the body is kept. When
 * the frame completes, the buffer is handed out as that frame's body and the decoder holds nothing
 * until the next incomplete frame: a connection between frames costs 0 bytes here.
 */
export class FrameDecoder {
  // buffer holds the incomplete frame, header included, from index 0; EMPTY when there is none.
  private buffer: Uint8Array = EMPTY;
  private buffered = 0;

  constructor(
    readonly frameBytesMax = FRAME_BYTES_MAX_DEFAULT,
    private readonly budget?: FrameDecoderBudget,
  ) {}

  /** bufferedBytes is how many bytes of an incomplete frame are held (0 between frames). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** capacityBytes is how many bytes the decoder has allocated: 0 between frames; never more than one frame and its header. */
  get capacityBytes(): number {
    return this.buffer.length;
  }

  /**
   * incompleteFrameBytes is the whole size (header included) that the incomplete frame declared,
   * once its 4-byte header has arrived; 0 when no frame is pending or its header is not complete.
   */
  get incompleteFrameBytes(): number {
    if (this.buffered < FRAME_HEADER_BYTES) return 0;
    return FRAME_HEADER_BYTES + this.readLength(this.buffer, 0);
  }

  /**
   * push adds a chunk and returns the bodies of the frames it completes, in order. It throws a
   * CodecError for a length prefix over the limit, or what the budget threw when it refused an
   * allocation; after a throw the stream is broken: {@link FrameDecoder.reset} or drop the decoder.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.buffered === 0 && chunk.length - offset >= FRAME_HEADER_BYTES) {
        // Fast path: nothing buffered and a whole frame sits in the chunk.
        const length = this.readLength(chunk, offset);
        if (chunk.length - offset - FRAME_HEADER_BYTES >= length) {
          frames.push(chunk.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length));
          offset += FRAME_HEADER_BYTES + length;
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
      frames.push(this.buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
      this.reset();
    }
    return frames;
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
      ((bytes[offset] as number) * 0x100_0000 +
        ((bytes[offset + 1] as number) << 16) +
        ((bytes[offset + 2] as number) << 8) +
        (bytes[offset + 3] as number)) >>>
      0;
    if (length > this.frameBytesMax) {
      throw new CodecError(`frame of ${length} bytes is over the limit of ${this.frameBytesMax}`, 'frame');
    }
    return length;
  }

  private append(bytes: Uint8Array): void {
    const needed = this.buffered + bytes.length;
    if (needed > this.buffer.length) {
      // Grow with what has arrived, never to what the prefix merely declares: a peer that sends
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
