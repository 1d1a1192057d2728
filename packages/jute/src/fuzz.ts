// The jute fuzzer: random and mutated frames through JuteFrameDecoder and every decoder. Used by
// fuzz.test.ts (a fixed seed and count in the test run) and scripts/fuzz.ts (any count). Not
// exported from the package.
import { createPrng } from '@zabkit/core';
import { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest, encodeConnectResponse } from './connect.js';
import { JuteError } from './errors.js';
import {
  sampleConnectRequests,
  sampleConnectResponses,
  sampleNotifications,
  sampleReplies,
  sampleRequests,
} from './fixtures.js';
import { JuteFrameDecoder } from './frame.js';
import { OP } from './op-codes.js';
import { decodeNotification, decodeReply, encodeNotification, encodeReply } from './replies.js';
import { decodeRequest, encodeRequest } from './requests.js';
import { FRAME_HEADER_BYTES } from './writer.js';

/**
 * FuzzTarget is one decoder under test. `decode` may throw only JuteError; what it accepts,
 * `reencode` must write again as a frame, and decoding that frame must give an equal value.
 * `context` is what a reply decoder needs besides the body (the op code that asked).
 */
export interface FuzzTarget {
  name: string;
  decode(body: Uint8Array, context: number): unknown;
  reencode(value: unknown, context: number): Uint8Array;
}

const REPLY_OPS = [...new Set(Object.values(OP))].filter((op) => op !== OP.notification && op !== OP.error);

export const FUZZ_TARGETS: FuzzTarget[] = [
  {
    name: 'connectRequest',
    decode: (body) => decodeConnectRequest(body),
    reencode: (value) => encodeConnectRequest(value as ReturnType<typeof decodeConnectRequest>),
  },
  {
    name: 'request',
    decode: (body) => decodeRequest(body),
    reencode: (value) => encodeRequest(value as ReturnType<typeof decodeRequest>),
  },
  {
    name: 'reply',
    decode: (body, op) => decodeReply(body, op),
    reencode: (value, _op) => {
      const reply = value as ReturnType<typeof decodeReply>;
      return encodeReply(reply.xid, reply.zxid, reply.err, reply.response ?? { op: 'empty' });
    },
  },
  {
    name: 'connectResponse',
    decode: (body) => decodeConnectResponse(body),
    reencode: (value) => {
      const response = value as ReturnType<typeof decodeConnectResponse>;
      return encodeConnectResponse(response, response.readOnlySent);
    },
  },
  {
    name: 'notification',
    decode: (body) => decodeNotification(body),
    reencode: (value) => {
      const event = value as ReturnType<typeof decodeNotification>;
      return encodeNotification(event, event.state);
    },
  },
];

interface Seed {
  body: Uint8Array;
  target: FuzzTarget;
  context: number;
}

function targetNamed(name: string): FuzzTarget {
  return FUZZ_TARGETS.find((target) => target.name === name) as FuzzTarget;
}

/** fuzzSeeds are the sample messages, encoded: the starting points of the mutations. */
export function fuzzSeeds(): Seed[] {
  const body = (frame: Uint8Array) => frame.subarray(FRAME_HEADER_BYTES);
  return [
    ...sampleConnectRequests.map((r) => ({
      body: body(encodeConnectRequest(r)),
      target: targetNamed('connectRequest'),
      context: 0,
    })),
    ...sampleRequests.map((r) => ({ body: body(encodeRequest(r)), target: targetNamed('request'), context: 0 })),
    ...sampleReplies.map((r) => ({
      body: body(encodeReply(r.xid, r.zxid, r.err, r.response)),
      target: targetNamed('reply'),
      context: r.op,
    })),
    ...sampleConnectResponses.map((r) => ({
      body: body(encodeConnectResponse(r.response, r.withReadOnly)),
      target: targetNamed('connectResponse'),
      context: 0,
    })),
    ...sampleNotifications.map((n) => ({
      body: body(encodeNotification(n, n.state)),
      target: targetNamed('notification'),
      context: 0,
    })),
  ];
}

export interface FuzzOptions {
  count: number;
  seed: number;
  /** frameBytesMax is kept small so that lying length prefixes hit the limit often. */
  frameBytesMax?: number;
}

export interface FuzzReport {
  frames: number;
  /** decoded: bodies a decoder accepted (each then re-encoded and decoded to the same value). */
  decoded: number;
  /** refused: bodies a decoder refused with JuteError, plus streams the frame decoder refused. */
  refused: number;
  /** byTarget: decoded and refused per decoder. */
  byTarget: Record<string, { decoded: number; refused: number }>;
  /** capacityBytesMax is the most any JuteFrameDecoder ever held allocated. */
  capacityBytesMax: number;
}

/** FuzzFailure is a decoder that threw something other than a JuteError, or broke a property. */
export class FuzzFailure extends Error {
  constructor(
    message: string,
    readonly iteration: number,
    readonly body: Uint8Array,
  ) {
    super(`${message} (iteration ${iteration}, body ${hex(body).slice(0, 400)})`);
  }
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

// Values that make lengths, counts, op codes and booleans interesting when written as an int32.
const INTERESTING_INTS = [
  0,
  1,
  2,
  3,
  4,
  8,
  9,
  16,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x1_0000,
  0x10_0400,
  0x10_0401,
  0x7fff_ffff,
  -1,
  -2,
  -4,
  -8,
  -10,
  -11,
  -0x8000_0000,
  0x20_0000,
  -0x20_0000,
  ...Object.values(OP),
];
const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xc0, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xfe, 0xff];

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** equal compares decoded values structurally (Uint8Array by content). */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((item, i) => equal(item, b[i]));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => equal((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** fuzzFrames runs `count` frames; throws FuzzFailure on the first decoder that misbehaves. */
export function fuzzFrames(options: FuzzOptions): FuzzReport {
  const prng = createPrng(options.seed);
  const frameBytesMax = options.frameBytesMax ?? 4096;
  const int = (bound: number) => prng.int(bound);
  const seeds = fuzzSeeds();
  const report: FuzzReport = {
    frames: 0,
    decoded: 0,
    refused: 0,
    byTarget: Object.fromEntries(FUZZ_TARGETS.map((t) => [t.name, { decoded: 0, refused: 0 }])),
    capacityBytesMax: 0,
  };

  const randomBytes = (length: number) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = int(256);
    return out;
  };
  const int32 = (value: number) => {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setInt32(0, value | 0, false);
    return out;
  };
  const mutate = (body: Uint8Array): Uint8Array => {
    let out: Uint8Array = body.slice();
    // Half the time one small change, so that mutants often stay valid and reach deep fields.
    const rounds = int(2) === 0 ? 1 : 2 + int(3);
    for (let r = 0; r < rounds; r++) {
      const at = out.length === 0 ? 0 : int(out.length);
      switch (int(9)) {
        case 0:
          if (out.length) out[at] = (out[at] as number) ^ (1 << int(8));
          break;
        case 1:
          if (out.length) out[at] = INTERESTING_BYTES[int(INTERESTING_BYTES.length)] as number;
          break;
        case 2:
        case 3: {
          // Overwrite an int at a 4-byte boundary or anywhere: where lengths, counts and op codes live.
          const where = int(2) === 0 ? at - (at % 4) : at;
          const value =
            int(4) === 0
              ? out.length - where - 4 + int(9) - 4
              : (INTERESTING_INTS[int(INTERESTING_INTS.length)] as number);
          out = concat(out.subarray(0, where), int32(value), out.subarray(Math.min(out.length, where + 4)));
          break;
        }
        case 4:
          out = concat(out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + int(8))));
          break;
        case 5:
          out = concat(out.subarray(0, at), randomBytes(1 + int(8)), out.subarray(at));
          break;
        case 6: {
          const end = Math.min(out.length, at + 1 + int(16));
          out = concat(out.subarray(0, end), out.subarray(at, end), out.subarray(end));
          break;
        }
        case 7:
          out = out.slice(0, at);
          break;
        default: {
          const other = (seeds[int(seeds.length)] as Seed).body;
          const from = int(other.length);
          out = concat(out.subarray(0, at), other.subarray(from, from + 1 + int(32)));
        }
      }
    }
    return out;
  };
  const frame = (body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    let length = body.length;
    // Sometimes lie in the length prefix: shorter, longer, negative, or far over the limit.
    if (int(16) === 0) {
      length = [0, body.length + 1 + int(100), -1, -0x8000_0000, frameBytesMax + 1, 0x7fff_ffff, int(body.length + 1)][
        int(7)
      ] as number;
    }
    new DataView(out.buffer).setInt32(0, length | 0, false);
    out.set(body, FRAME_HEADER_BYTES);
    return out;
  };

  const check = (body: Uint8Array, iteration: number, target: FuzzTarget, context: number) => {
    const counts = report.byTarget[target.name] as { decoded: number; refused: number };
    let decoded: unknown;
    try {
      decoded = target.decode(body, context);
    } catch (error) {
      if (!JuteError.isInstance(error)) {
        throw new FuzzFailure(`${target.name} threw ${String(error)}, not a JuteError`, iteration, body);
      }
      if (typeof error.field !== 'string' || error.message === '') {
        throw new FuzzFailure(`${target.name} threw a JuteError without a field`, iteration, body);
      }
      report.refused++;
      counts.refused++;
      return;
    }
    report.decoded++;
    counts.decoded++;
    // What the decoder accepts, the encoder must write again, and reading that back gives the same value.
    let again: unknown;
    try {
      again = target.decode(target.reencode(decoded, context).subarray(FRAME_HEADER_BYTES), context);
    } catch (error) {
      throw new FuzzFailure(`${target.name} accepted a value it cannot re-encode: ${String(error)}`, iteration, body);
    }
    if (!equal(again, decoded)) throw new FuzzFailure(`${target.name} re-encoding changed the value`, iteration, body);
  };

  let frames: Uint8Array[] = [];
  const newDecoder = () => new JuteFrameDecoder((body) => frames.push(body), { frameBytesMax });
  let decoder = newDecoder();
  for (let iteration = 0; iteration < options.count; iteration++) {
    const strategy = int(10);
    const seed = seeds[int(seeds.length)] as Seed;
    let target = seed.target;
    let context = seed.context;
    let body: Uint8Array;
    if (strategy < 7) body = mutate(seed.body);
    else if (strategy < 9) {
      // A well-formed header in front of garbage, so every op's reader sees garbage.
      target = FUZZ_TARGETS[int(FUZZ_TARGETS.length)] as FuzzTarget;
      const op = REPLY_OPS[int(REPLY_OPS.length)] as number;
      context = op;
      const header = target.name === 'request' ? concat(int32(int(50) - 10), int32(op)) : new Uint8Array(0);
      body = concat(header, randomBytes(int(80)));
    } else body = randomBytes(int(64));
    // Sometimes read a reply as the answer to another op than its own.
    if (target.name === 'reply' && int(8) === 0) context = REPLY_OPS[int(REPLY_OPS.length)] as number;
    report.frames++;
    // Feed the framed bytes in random pieces, as a socket would.
    const bytes = frame(body);
    let offset = 0;
    let framed = false;
    frames = [];
    try {
      while (offset < bytes.length) {
        const size = int(4) === 0 ? bytes.length - offset : 1 + int(bytes.length - offset);
        decoder.push(bytes.subarray(offset, offset + size));
        offset += size;
        report.capacityBytesMax = Math.max(report.capacityBytesMax, decoder.capacityBytes);
        if (decoder.capacityBytes > frameBytesMax + FRAME_HEADER_BYTES) {
          throw new FuzzFailure(`JuteFrameDecoder holds ${decoder.capacityBytes} bytes`, iteration, body);
        }
        for (const whole of frames) {
          check(whole, iteration, target, context);
          framed = true;
        }
        frames = [];
      }
    } catch (error) {
      if (error instanceof FuzzFailure) throw error;
      if (!JuteError.isInstance(error)) {
        throw new FuzzFailure(`JuteFrameDecoder threw ${String(error)}`, iteration, body);
      }
      // A bad length prefix ends the stream, as it ends the connection.
      decoder = newDecoder();
      report.refused++;
    }
    // A prefix that claimed more than was sent leaves the stream mid-frame: start a new stream.
    if (decoder.bufferedBytes > 0) decoder = newDecoder();
    // Decode the body directly when a lying prefix kept it from arriving whole.
    if (!framed) check(body, iteration, target, context);
  }
  return report;
}
