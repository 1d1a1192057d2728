import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { encodeFrame, FrameDecoder } from './frame.js';

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

  it('returns every frame when fed one byte at a time', () => {
    const expected = bodies(4);
    const stream = concat(expected.map((body) => encodeFrame(body)));
    const decoder = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (const byte of stream) got.push(...decoder.push(Uint8Array.of(byte)));
    expect(got.map((b) => Array.from(b))).toEqual(expected.map((b) => Array.from(b)));
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
