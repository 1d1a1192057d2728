import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, type FrameDecoderBudget } from './frame.js';

function bodies(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: i * 7 }, (_, j) => (i + j) & 0xff));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** recordingBudget keeps the net bytes a decoder reserved, and refuses past `bytesMax`. */
function recordingBudget(bytesMax = Number.POSITIVE_INFINITY) {
  const budget = {
    bytes: 0,
    reserves: 0,
    reserve(bytes: number) {
      if (budget.bytes + bytes > bytesMax) throw new Error(`refused ${bytes} bytes`);
      budget.bytes += bytes;
      budget.reserves++;
    },
    release(bytes: number) {
      budget.bytes -= bytes;
    },
  } satisfies FrameDecoderBudget & Record<string, unknown>;
  return budget;
}

/** header is the 4-byte length prefix of a frame whose body is `length` bytes. */
function header(length: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

describe('FrameDecoder', () => {
  it('returns every frame whole when the stream is split at every byte offset', () => {
    const expected = bodies(6);
    const stream = concat(expected.map((body) => encodeFrame(body)));
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const got = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(got.map((b) => Array.from(b))).toEqual(expected.map((b) => Array.from(b)));
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('keeps its budget equal to what it allocated, and gives it all back, split at every offset', () => {
    // Sizes that take the buffer through its first allocation, several doublings and an empty body.
    const expected = [0, 1, 255, 300, 2_000, 3].map((size, i) =>
      Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) & 0xff),
    );
    const stream = concat(expected.map((body) => encodeFrame(body)));
    for (let cut = 0; cut <= stream.length; cut++) {
      const budget = recordingBudget();
      const decoder = new FrameDecoder(8_192, budget);
      const first = decoder.push(stream.subarray(0, cut));
      expect(budget.bytes).toBe(decoder.capacityBytes);
      // Whatever is held is one incomplete frame, in a buffer no bigger than twice what arrived.
      expect(decoder.capacityBytes).toBeLessThanOrEqual(Math.max(256, 2 * decoder.bufferedBytes));
      const got = [...first, ...decoder.push(stream.subarray(cut))];
      expect(got).toHaveLength(expected.length);
      for (const [i, body] of got.entries()) {
        if (!Buffer.from(body).equals(expected[i] as Uint8Array)) throw new Error(`frame ${i} differs at cut ${cut}`);
      }
      expect(decoder.capacityBytes).toBe(0);
      expect(budget.bytes).toBe(0);
    }
  }, 30_000);

  it('allocates for what has arrived, not for the length a prefix declares', () => {
    const budget = recordingBudget();
    const decoder = new FrameDecoder(2 * 1024 * 1024, budget);
    const length = 1_000_000;
    const body = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
    const stream = concat([header(length), body]);
    // The header of a 1,000,000-byte frame and 10 bytes of it: one small buffer, not a megabyte.
    expect(decoder.push(stream.subarray(0, FRAME_HEADER_BYTES + 10))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(FRAME_HEADER_BYTES + 10);
    expect(decoder.incompleteFrameBytes).toBe(FRAME_HEADER_BYTES + length);
    expect(decoder.capacityBytes).toBe(256);
    // Fed in 64 KiB reads, the buffer stays within twice what arrived and never passes the frame.
    let offset = FRAME_HEADER_BYTES + 10;
    let frames: Uint8Array[] = [];
    while (offset < stream.length) {
      frames = decoder.push(stream.subarray(offset, offset + 65_536));
      offset += 65_536;
      expect(budget.bytes).toBe(decoder.capacityBytes);
      if (frames.length === 0) {
        expect(decoder.capacityBytes).toBeLessThanOrEqual(2 * decoder.bufferedBytes);
        expect(decoder.capacityBytes).toBeLessThanOrEqual(FRAME_HEADER_BYTES + length);
      }
    }
    expect(frames).toHaveLength(1);
    expect(Buffer.from(frames[0]!).equals(Buffer.from(body))).toBe(true);
    // Once the frame is out, the decoder holds nothing.
    expect(decoder.capacityBytes).toBe(0);
    expect(decoder.incompleteFrameBytes).toBe(0);
    expect(budget.bytes).toBe(0);
  });

  it('gives back the big buffer when a frame completes with the next one already begun', () => {
    const budget = recordingBudget();
    const decoder = new FrameDecoder(1024 * 1024, budget);
    const big = new Uint8Array(500_000).fill(1);
    const stream = concat([encodeFrame(big), encodeFrame(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))]);
    decoder.push(stream.subarray(0, 400_000));
    expect(decoder.capacityBytes).toBeGreaterThanOrEqual(400_000);
    // The rest of the big frame and 6 bytes of the next one arrive in one chunk.
    const frames = decoder.push(stream.subarray(400_000, FRAME_HEADER_BYTES + big.length + 6));
    expect(frames.map((f) => f.length)).toEqual([big.length]);
    expect(decoder.bufferedBytes).toBe(6);
    expect(decoder.capacityBytes).toBe(256);
    expect(budget.bytes).toBe(256);
    expect(Array.from(decoder.push(stream.subarray(FRAME_HEADER_BYTES + big.length + 6))[0]!)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    expect(budget.bytes).toBe(0);
  });

  it('allocates nothing when its budget refuses, and rethrows the refusal', () => {
    const budget = recordingBudget(1_000);
    const decoder = new FrameDecoder(1024 * 1024, budget);
    const stream = encodeFrame(new Uint8Array(5_000));
    decoder.push(stream.subarray(0, 600));
    expect(decoder.capacityBytes).toBe(600);
    // Growing to 1,200 bytes would pass the budget of 1,000: refused, the buffer stays as it was.
    expect(() => decoder.push(stream.subarray(600, 700))).toThrow('refused 600 bytes');
    expect(decoder.capacityBytes).toBe(600);
    expect(budget.bytes).toBe(600);
    decoder.reset();
    expect(decoder.capacityBytes).toBe(0);
    expect(decoder.bufferedBytes).toBe(0);
    expect(budget.bytes).toBe(0);
  });

  it('costs nothing for frames that arrive whole', () => {
    const budget = recordingBudget();
    const decoder = new FrameDecoder(1024 * 1024, budget);
    const frames = decoder.push(concat(bodies(20).map((body) => encodeFrame(body))));
    expect(frames).toHaveLength(20);
    expect(budget.reserves).toBe(0);
    expect(decoder.capacityBytes).toBe(0);
  });

  it('returns every frame when fed one byte at a time', () => {
    const expected = bodies(4);
    const stream = concat(expected.map((body) => encodeFrame(body)));
    const decoder = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (const byte of stream) got.push(...decoder.push(Uint8Array.of(byte)));
    expect(got.map((b) => Array.from(b))).toEqual(expected.map((b) => Array.from(b)));
    expect(decoder.capacityBytes).toBe(0);
  });

  it('refuses a length prefix over the limit before buffering the body', () => {
    const decoder = new FrameDecoder(1024);
    const header = Uint8Array.of(0, 0, 0x04, 0x01);
    expect(() => decoder.push(header)).toThrow(CodecError);
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(4);
  });

  it('refuses to encode a body over the limit', () => {
    expect(() => encodeFrame(new Uint8Array(2048), 1024)).toThrow(/over the limit/);
  });
});
