import { describe, expect, it } from 'vitest';
import { encodeConnectRequest } from './connect.js';
import { JuteError } from './errors.js';
import { sampleConnectRequests, sampleReplies, sampleRequests } from './fixtures.js';
import { FRAME_BYTES_MAX_DEFAULT, type JuteFrameBudget, JuteFrameDecoder } from './frame.js';
import { encodeNotification, encodeReply } from './replies.js';
import { decodeRequest, encodeRequest } from './requests.js';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, length);
  return bytes;
}

/** collecting returns a decoder and the copies of the bodies it handed out. */
function collecting(options?: ConstructorParameters<typeof JuteFrameDecoder>[1]) {
  const bodies: Uint8Array[] = [];
  const decoder = new JuteFrameDecoder((body) => bodies.push(body.slice()), options);
  return { decoder, bodies };
}

function juteError(run: () => unknown): JuteError {
  try {
    run();
  } catch (error) {
    if (JuteError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a JuteError');
}

// A client's whole conversation: connect, every request; and a server's: every reply, a notification.
const frames = [
  ...sampleConnectRequests.map(encodeConnectRequest),
  ...sampleRequests.map(encodeRequest),
  ...sampleReplies.map((r) => encodeReply(r.xid, r.zxid, r.err, r.response)),
  encodeNotification({ type: 1, path: '/a' }),
];
const stream = concat(frames);
const expected = frames.map((frame) => Array.from(frame.subarray(4)));

describe('JuteFrameDecoder', () => {
  it('hands out every frame whole when the stream is split at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { decoder, bodies } = collecting();
      decoder.push(stream.subarray(0, cut));
      decoder.push(stream.subarray(cut));
      expect(bodies.map((b) => Array.from(b))).toEqual(expected);
      expect(decoder.bufferedBytes).toBe(0);
      expect(decoder.capacityBytes).toBe(0);
    }
  }, 30_000); // thousands of splits: past vitest's 5 s on a CI machine running simulations beside it

  it('hands out each sample frame whole when it is split at every pair of offsets', () => {
    for (const frame of frames.slice(0, 12)) {
      for (let a = 0; a <= frame.length; a++) {
        for (let b = a; b <= frame.length; b += 3) {
          const { decoder, bodies } = collecting();
          decoder.push(frame.subarray(0, a));
          decoder.push(frame.subarray(a, b));
          decoder.push(frame.subarray(b));
          expect(bodies).toHaveLength(1);
          expect(bodies[0]).toEqual(frame.subarray(4));
        }
      }
    }
  }, 30_000);

  it('works byte by byte, and the bodies decode', () => {
    const { decoder, bodies } = collecting();
    const requests = concat(sampleRequests.map(encodeRequest));
    for (let i = 0; i < requests.length; i++) decoder.push(requests.subarray(i, i + 1));
    expect(bodies.map((body) => decodeRequest(body))).toEqual(sampleRequests);
  });

  it('passes an empty body on (the decoders refuse it)', () => {
    const { decoder, bodies } = collecting();
    decoder.push(header(0));
    expect(bodies).toEqual([new Uint8Array(0)]);
  });

  it('refuses a negative length, and one over the limit, before keeping any of the body', () => {
    for (const length of [-1, -0x8000_0000]) {
      const { decoder, bodies } = collecting();
      const error = juteError(() => decoder.push(concat([header(length), new Uint8Array(10)])));
      expect(error.field).toBe('frame');
      expect(error.reason).toBe(`negative frame length ${length}`);
      expect(bodies).toEqual([]);
    }
    const { decoder } = collecting({ frameBytesMax: 100 });
    decoder.push(header(100).subarray(0, 2));
    expect(juteError(() => decoder.push(concat([header(101).subarray(2), new Uint8Array(50)]))).message).toBe(
      'frame: frame of 101 bytes is over the limit of 100',
    );
    expect(decoder.capacityBytes).toBeLessThanOrEqual(256);
  });

  it('refuses a four-letter word (ruok) as a length far over the default limit', () => {
    const { decoder } = collecting();
    expect(decoder.frameBytesMax).toBe(FRAME_BYTES_MAX_DEFAULT);
    expect(juteError(() => decoder.push(new TextEncoder().encode('ruok'))).reason).toBe(
      `frame of 1920298859 bytes is over the limit of ${FRAME_BYTES_MAX_DEFAULT}`,
    );
  });

  it('grows with what arrives, not with what the prefix declares', () => {
    const { decoder, bodies } = collecting();
    decoder.push(header(1024 * 1024));
    decoder.push(new Uint8Array(10));
    expect(decoder.capacityBytes).toBe(256);
    const chunk = new Uint8Array(64 * 1024);
    let sent = 10;
    while (sent < 1024 * 1024) {
      const size = Math.min(chunk.length, 1024 * 1024 - sent);
      decoder.push(chunk.subarray(0, size));
      sent += size;
      expect(decoder.capacityBytes).toBeLessThanOrEqual(Math.max(256, 2 * (sent + 4)));
      expect(decoder.capacityBytes).toBeLessThanOrEqual(4 + 1024 * 1024);
    }
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.length).toBe(1024 * 1024);
    expect(decoder.capacityBytes).toBe(0);
  });

  it('keeps its budget equal to what it allocated, and gives it all back, split at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut += 7) {
      let held = 0;
      const budget: JuteFrameBudget = {
        reserve: (bytes) => {
          held += bytes;
        },
        release: (bytes) => {
          held -= bytes;
        },
      };
      const { decoder, bodies } = collecting({ budget });
      decoder.push(stream.subarray(0, cut));
      expect(held).toBe(decoder.capacityBytes);
      decoder.push(stream.subarray(cut));
      expect(bodies).toHaveLength(frames.length);
      expect(held).toBe(0);
    }
  });

  it('a budget that refuses stops the push before anything is allocated', () => {
    const budget: JuteFrameBudget = {
      reserve: () => {
        throw new Error('over budget');
      },
      release: () => {},
    };
    const { decoder } = collecting({ budget });
    expect(() => decoder.push(header(10).subarray(0, 3))).toThrow('over budget');
    expect(decoder.capacityBytes).toBe(0);
  });

  it('reset drops an incomplete frame', () => {
    const { decoder, bodies } = collecting();
    decoder.push(concat([header(10), new Uint8Array(3)]));
    expect(decoder.bufferedBytes).toBe(7);
    decoder.reset();
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(concat([header(1), new Uint8Array([9])]));
    expect(bodies).toEqual([new Uint8Array([9])]);
  });
});
