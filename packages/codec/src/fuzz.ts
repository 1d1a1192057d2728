// The frame fuzzer: random and mutated frames through FrameDecoder and every decoder. Used by
// fuzz.test.ts (a fixed seed and count in the test run) and scripts/fuzz.ts (any count). Not
// exported from the package.
import { createPrng } from '@zabkit/core';
import { clientMessage, decodeClientMessage, decodeServerMessage, serverMessage } from './client-protocol.js';
import { CodecError } from './errors.js';
import {
  sampleClientMessages,
  sampleLogEntries,
  samplePeerHandshakes,
  samplePeerMessages,
  sampleServerMessages,
  sampleSnapshotRecords,
} from './fixtures.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from './frame.js';
import { packBody, unpackBody } from './msgpack.js';
import { decodePeerHandshake, decodePeerMessage, peerHandshake, peerMessage } from './peer-protocol.js';
import { logEntry, snapshotRecord } from './records.js';
import type { FieldCodec } from './schema.js';

/** FuzzTarget is one decoder under test: its schema, for the re-encode check, and sample values. */
export interface FuzzTarget {
  name: string;
  codec: FieldCodec<unknown>;
  decode(body: Uint8Array): unknown;
  samples: unknown[];
}

export const FUZZ_TARGETS: FuzzTarget[] = [
  {
    name: 'client',
    codec: clientMessage as FieldCodec<unknown>,
    decode: decodeClientMessage,
    samples: sampleClientMessages,
  },
  {
    name: 'server',
    codec: serverMessage as FieldCodec<unknown>,
    decode: decodeServerMessage,
    samples: sampleServerMessages,
  },
  {
    name: 'peer',
    codec: peerMessage as FieldCodec<unknown>,
    decode: decodePeerMessage,
    samples: samplePeerMessages,
  },
  {
    name: 'peerHandshake',
    codec: peerHandshake as FieldCodec<unknown>,
    decode: decodePeerHandshake,
    samples: samplePeerHandshakes,
  },
  {
    name: 'logEntry',
    codec: logEntry as FieldCodec<unknown>,
    decode: (body) => logEntry.decode(unpackBody(body)),
    samples: sampleLogEntries,
  },
  {
    name: 'snapshotRecord',
    codec: snapshotRecord as FieldCodec<unknown>,
    decode: (body) => snapshotRecord.decode(unpackBody(body)),
    samples: sampleSnapshotRecords,
  },
];

export interface FuzzOptions {
  count: number;
  seed: number;
  /** frameBytesMax is kept small so that lying length prefixes hit the limit often. */
  frameBytesMax?: number;
  targets?: FuzzTarget[];
}

export interface FuzzReport {
  frames: number;
  decoded: number;
  refused: number;
  /** capacityBytesMax is the most any FrameDecoder ever held allocated. */
  capacityBytesMax: number;
}

/** FuzzFailure is a decoder that threw something other than a CodecError, or broke a property. */
export class FuzzFailure extends Error {
  constructor(
    message: string,
    readonly iteration: number,
    readonly body: Uint8Array,
  ) {
    super(`${message} (iteration ${iteration}, body ${Buffer.from(body).toString('hex').slice(0, 400)})`);
  }
}

const INTERESTING_BYTES = [
  0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc6, 0xca, 0xcb, 0xcf, 0xd3,
  0xd4, 0xd6, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
];

function collectKeys(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const item of value) collectKeys(item, into);
  else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [key, item] of Object.entries(value)) {
      into.add(key);
      collectKeys(item, into);
    }
  }
}

/** fuzzFrames runs `count` frames; throws FuzzFailure on the first decoder that misbehaves. */
export function fuzzFrames(options: FuzzOptions): FuzzReport {
  const prng = createPrng(options.seed);
  const frameBytesMax = options.frameBytesMax ?? 4096;
  const targets = options.targets ?? FUZZ_TARGETS;
  const int = (bound: number) => prng.int(bound);
  const seeds: Uint8Array[] = [];
  const seedValues: unknown[] = [];
  const seedTargets: FuzzTarget[] = [];
  const wireKeys = new Set<string>(['__proto__', 'constructor', 'prototype', 'toString', 'kind', 'op', 'type']);
  for (const target of targets) {
    for (const sample of target.samples) {
      const wire = target.codec.encode(sample);
      collectKeys(wire, wireKeys);
      seeds.push(packBody(wire));
      seedValues.push(wire);
      seedTargets.push(target);
    }
  }
  const keys = [...wireKeys];
  const report: FuzzReport = { frames: 0, decoded: 0, refused: 0, capacityBytesMax: 0 };

  const randomBytes = (length: number) => Uint8Array.from({ length }, () => int(256));
  const randomValue = (depth: number): unknown => {
    switch (int(depth > 3 ? 9 : 12)) {
      case 0:
        return int(40) - 20;
      case 1:
        return [-1, -11, -10, 0, 1, 2, 3, 4, 5, 13, 14, 16, 17, 18, 19, 20, 105, 2 ** 31, -(2 ** 31) - 1][int(19)];
      case 2:
        return [0n, 1n, -1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)][int(7)];
      case 3:
        return [0.5, Number.NaN, Number.POSITIVE_INFINITY, -0, 1e300][int(5)];
      case 4:
        return ['/', '/a', '', '__proto__', 'x'.repeat(int(40))][int(5)];
      case 5:
        return randomBytes(int(20));
      case 6:
        return [null, true, false, undefined][int(4)];
      case 7:
        return new Uint8Array(16);
      case 8:
        return keys[int(keys.length)];
      case 9:
      case 10: {
        const map: Record<string, unknown> = {};
        const size = int(8);
        for (let i = 0; i < size; i++) {
          const key = keys[int(keys.length)] as string;
          // defineProperty so that a '__proto__' key is packed as a key, not set as a prototype.
          Object.defineProperty(map, key, {
            value: randomValue(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return map;
      }
      default:
        return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    }
  };
  const mutate = (body: Uint8Array): Uint8Array => {
    let out = Uint8Array.from(body);
    const rounds = 1 + int(4);
    for (let r = 0; r < rounds; r++) {
      const at = out.length === 0 ? 0 : int(out.length);
      switch (int(7)) {
        case 0:
          if (out.length) out[at] = (out[at] as number) ^ (1 << int(8));
          break;
        case 1:
          if (out.length) out[at] = INTERESTING_BYTES[int(INTERESTING_BYTES.length)] as number;
          break;
        case 2:
          out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1 + int(8))]);
          break;
        case 3:
          out = Uint8Array.from([...out.subarray(0, at), ...randomBytes(1 + int(8)), ...out.subarray(at)]);
          break;
        case 4: {
          const end = Math.min(out.length, at + 1 + int(16));
          out = Uint8Array.from([...out.subarray(0, end), ...out.subarray(at, end), ...out.subarray(end)]);
          break;
        }
        case 5:
          out = out.subarray(0, at);
          break;
        default: {
          const other = seeds[int(seeds.length)] as Uint8Array;
          const from = int(other.length);
          out = Uint8Array.from([...out.subarray(0, at), ...other.subarray(from, from + 1 + int(24))]);
        }
      }
    }
    return out;
  };
  // Structure-aware mutation: change, drop or add one field somewhere in a valid message.
  const mutateValue = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array || int(4) === 0) {
      return randomValue(depth);
    }
    if (Array.isArray(value)) {
      const copy = [...value];
      if (copy.length === 0 || int(4) === 0) copy.push(randomValue(depth + 1));
      else {
        const at = int(copy.length);
        copy[at] = mutateValue(copy[at], depth + 1);
      }
      return copy;
    }
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const names = Object.keys(copy);
    const choice = int(5);
    if (choice === 0 && names.length) delete copy[names[int(names.length)] as string];
    else if (choice === 1) {
      const key = keys[int(keys.length)] as string;
      Object.defineProperty(copy, key, {
        value: randomValue(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (names.length) {
      const name = names[int(names.length)] as string;
      copy[name] = mutateValue(copy[name], depth + 1);
    }
    return copy;
  };
  const frame = (body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    let length = body.length;
    // Sometimes lie in the length prefix: shorter, longer, or far over the limit.
    if (int(16) === 0)
      length = [0, body.length + 1 + int(100), 0xffff_ffff, frameBytesMax + 1, int(0x7fff_ffff)][int(5)] as number;
    new DataView(out.buffer).setUint32(0, length >>> 0, false);
    out.set(body, FRAME_HEADER_BYTES);
    return out;
  };

  // Each body goes to the decoder its seed came from (where mutations reach deepest) and to one
  // other, so every decoder also sees every kind of garbage.
  const check = (body: Uint8Array, iteration: number, origin: FuzzTarget | undefined) => {
    const other = targets[int(targets.length)] as FuzzTarget;
    for (const target of origin === undefined || origin === other ? [other] : [origin, other]) {
      let decoded: unknown;
      try {
        decoded = target.decode(body);
      } catch (error) {
        if (!CodecError.isInstance(error)) {
          throw new FuzzFailure(`${target.name} threw ${String(error)}, not a CodecError`, iteration, body);
        }
        report.refused++;
        continue;
      }
      report.decoded++;
      // What the decoder accepts, the encoder must accept and reproduce.
      let again: unknown;
      try {
        again = target.decode(packBody(target.codec.encode(decoded)));
      } catch (error) {
        throw new FuzzFailure(`${target.name} accepted a value it cannot re-encode: ${String(error)}`, iteration, body);
      }
      if (JSON.stringify(again, replacer) !== JSON.stringify(decoded, replacer)) {
        throw new FuzzFailure(`${target.name} re-encoding changed the value`, iteration, body);
      }
    }
  };

  let decoder = new FrameDecoder(frameBytesMax);
  for (let iteration = 0; iteration < options.count; iteration++) {
    const strategy = int(10);
    let body: Uint8Array;
    const seed = int(seeds.length);
    let origin: FuzzTarget | undefined;
    if (strategy < 4) {
      body = mutate(seeds[seed] as Uint8Array);
      origin = seedTargets[seed];
    } else if (strategy < 7) {
      body = packBody(mutateValue(seedValues[seed], 0));
      origin = seedTargets[seed];
    } else if (strategy < 8) body = randomBytes(int(64));
    else body = packBody(randomValue(0));
    report.frames++;
    // Feed the framed bytes in random pieces, as a socket would.
    const bytes = frame(body);
    let offset = 0;
    let framed = false;
    try {
      while (offset < bytes.length) {
        const size = int(4) === 0 ? bytes.length - offset : 1 + int(bytes.length - offset);
        const frames = decoder.push(bytes.subarray(offset, offset + size));
        offset += size;
        report.capacityBytesMax = Math.max(report.capacityBytesMax, decoder.capacityBytes);
        if (decoder.capacityBytes > frameBytesMax + FRAME_HEADER_BYTES) {
          throw new FuzzFailure(`FrameDecoder holds ${decoder.capacityBytes} bytes`, iteration, body);
        }
        for (const whole of frames) {
          check(whole, iteration, origin);
          framed = true;
        }
      }
    } catch (error) {
      if (error instanceof FuzzFailure) throw error;
      if (!CodecError.isInstance(error)) throw new FuzzFailure(`FrameDecoder threw ${String(error)}`, iteration, body);
      // A bad length prefix ends the stream, as it ends the connection.
      decoder = new FrameDecoder(frameBytesMax);
      report.refused++;
    }
    // A prefix that claimed more than was sent leaves the stream mid-frame: start a new stream.
    if (decoder.bufferedBytes > 0) decoder = new FrameDecoder(frameBytesMax);
    // Decode the body directly when a lying prefix kept it from arriving whole.
    if (!framed) check(body, iteration, origin);
  }
  return report;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
  return value;
}
