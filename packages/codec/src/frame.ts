import { CodecError } from './errors.js';

/** FRAME_HEADER_BYTES is the size of the big-endian length prefix of every frame. */
export const FRAME_HEADER_BYTES = 4;
/** FRAME_BYTES_MAX_DEFAULT: 1 MiB of znode data (ZooKeeper's jute.maxbuffer) plus 64 KiB of headroom. */
export const FRAME_BYTES_MAX_DEFAULT = 1024 * 1024 + 64 * 1024;

const BUFFER_BYTES_KEPT = 64 * 1024;

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
 * FrameDecoder turns a byte stream into whole frame bodies. It knows nothing of sockets: feed it
 * chunks split anywhere with {@link FrameDecoder.push}. It never buffers more than one frame's
 * limit: a length prefix over the limit throws a CodecError before any of the body is kept.
 */
export class FrameDecoder {
  private buffer: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;

  constructor(readonly frameBytesMax = FRAME_BYTES_MAX_DEFAULT) {}

  /** bufferedBytes is how many bytes of an incomplete frame are held. */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  /** capacityBytes is how many bytes the decoder has allocated; never more than one frame and its header. */
  get capacityBytes(): number {
    return this.buffer.length;
  }

  /** push adds a chunk and returns the bodies of the frames it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.length || this.end - this.start >= FRAME_HEADER_BYTES) {
      // Fast path: nothing buffered and a whole frame sits in the chunk.
      if (this.end === this.start && chunk.length - offset >= FRAME_HEADER_BYTES) {
        const length = this.readLength(chunk, offset);
        if (chunk.length - offset - FRAME_HEADER_BYTES >= length) {
          frames.push(chunk.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length));
          offset += FRAME_HEADER_BYTES + length;
          continue;
        }
      }
      if (offset < chunk.length) {
        const need = this.bytesWanted();
        const take = Math.min(need, chunk.length - offset);
        this.append(chunk.subarray(offset, offset + take));
        offset += take;
      }
      const buffered = this.end - this.start;
      if (buffered < FRAME_HEADER_BYTES) break;
      const length = this.readLength(this.buffer, this.start);
      if (buffered < FRAME_HEADER_BYTES + length) {
        if (offset >= chunk.length) break;
        continue;
      }
      const body = this.buffer.slice(this.start + FRAME_HEADER_BYTES, this.start + FRAME_HEADER_BYTES + length);
      frames.push(body);
      this.start += FRAME_HEADER_BYTES + length;
      if (this.start === this.end) {
        this.start = 0;
        this.end = 0;
        // Give back a buffer grown for one large frame instead of holding it per connection.
        if (this.buffer.length > BUFFER_BYTES_KEPT) this.buffer = new Uint8Array(0);
      }
    }
    return frames;
  }

  private bytesWanted(): number {
    const buffered = this.end - this.start;
    if (buffered < FRAME_HEADER_BYTES) return FRAME_HEADER_BYTES - buffered;
    return FRAME_HEADER_BYTES + this.readLength(this.buffer, this.start) - buffered;
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
    if (this.buffer.length - this.end < bytes.length) {
      const buffered = this.end - this.start;
      const size = Math.max(
        buffered + bytes.length,
        Math.min(this.buffer.length * 2, this.frameBytesMax + FRAME_HEADER_BYTES),
        256,
      );
      const next = new Uint8Array(size);
      next.set(this.buffer.subarray(this.start, this.end), 0);
      this.buffer = next;
      this.start = 0;
      this.end = buffered;
    }
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }
}
