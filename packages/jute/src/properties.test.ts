// Property tests (fast-check): any bytes into any decoder give a value or a JuteError, and
// generated requests and replies round-trip.
import type { ACL, Stat } from '@zabkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeConnectRequest, decodeConnectResponse } from './connect.js';
import { JuteError } from './errors.js';
import { OP } from './op-codes.js';
import { decodeNotification, decodeReply, encodeReply, type JuteMultiResult, type JuteResponse } from './replies.js';
import { decodeRequest, encodeRequest, type JuteRequestFrame } from './requests.js';

function onlyJuteError(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    return JuteError.isInstance(error);
  }
}

const OPS = [...new Set(Object.values(OP))];
const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const long = fc.oneof(
  fc.maxSafeInteger(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 32, -(2 ** 32)),
);
const path = fc.oneof(
  fc.constantFrom('/', '/a', '/a/b', ''),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const data = fc.uint8Array({ maxLength: 40 });
const acl: fc.Arbitrary<ACL> = fc.record({
  perms: int32,
  id: fc.record({ scheme: fc.constantFrom('world', 'digest', 'ip', ''), id: fc.string({ maxLength: 12 }) }),
});
const stat: fc.Arbitrary<Stat> = fc.record({
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: long,
  dataLength: int32,
  numChildren: int32,
  pzxid: long,
});
const create = (ttl: boolean) =>
  fc.record({
    op: fc.constant('create' as const),
    path,
    data,
    mode: int32 as fc.Arbitrary<0>,
    ttlMs: ttl ? long : fc.constant(0),
    acl: fc.array(acl, { maxLength: 3 }),
  });

const requestFrame: fc.Arbitrary<JuteRequestFrame> = fc
  .oneof(
    fc.tuple(int32, fc.constantFrom(OP.create, OP.create2, OP.createContainer), create(false)),
    fc.tuple(int32, fc.constant(OP.createTTL), create(true)),
    fc.tuple(
      int32,
      fc.constant(OP.setData),
      fc.record({ op: fc.constant('setData' as const), path, data, version: int32 }),
    ),
    fc.tuple(int32, fc.constant(OP.delete), fc.record({ op: fc.constant('delete' as const), path, version: int32 })),
    fc.tuple(
      int32,
      fc.constantFrom(OP.getChildren, OP.getChildren2),
      fc.record({ op: fc.constant('getChildren' as const), path, watch: fc.boolean() }),
    ),
    fc.tuple(
      int32,
      fc.constant(OP.setWatches2),
      fc.record({
        op: fc.constant('setWatches' as const),
        relativeZxid: long,
        dataWatches: fc.array(path, { maxLength: 3 }),
        existWatches: fc.array(path, { maxLength: 3 }),
        childWatches: fc.array(path, { maxLength: 3 }),
        persistentWatches: fc.array(path, { maxLength: 3 }),
        persistentRecursiveWatches: fc.array(path, { maxLength: 3 }),
      }),
    ),
    fc.tuple(
      int32,
      fc.constant(OP.multi),
      fc.record({
        op: fc.constant('multi' as const),
        ops: fc.array(
          fc.oneof(
            create(false),
            fc.record({ op: fc.constant('check' as const), path, version: int32 }),
            fc.record({ op: fc.constant('delete' as const), path, version: int32 }),
          ),
          { maxLength: 4 },
        ),
      }),
    ),
  )
  .map(([xid, op, request]) => {
    if (request.op === 'multi') {
      return { xid, op, request: { kind: 'core' as const, request }, multiOps: request.ops.map(multiOpCode) };
    }
    return { xid, op, request: { kind: 'core' as const, request } };
  });

function multiOpCode(op: { op: string }): number {
  return op.op === 'create' ? OP.create2 : op.op === 'check' ? OP.check : OP.delete;
}

const multiResult: fc.Arbitrary<JuteMultiResult> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), path }),
  fc.record({ op: fc.constant('create2' as const), path, stat }),
  fc.constant({ op: 'delete' as const }),
  fc.record({ op: fc.constant('setData' as const), stat }),
  fc.record({ op: fc.constant('error' as const), err: int32 }),
);
const reply: fc.Arbitrary<[number, JuteResponse]> = fc.oneof(
  fc.tuple(fc.constant(OP.getData), fc.record({ op: fc.constant('getData' as const), data, stat })),
  fc.tuple(fc.constant(OP.getACL), fc.record({ op: fc.constant('getACL' as const), acl: fc.array(acl), stat })),
  fc.tuple(
    fc.constant(OP.getChildren2),
    fc.record({ op: fc.constant('getChildren2' as const), children: fc.array(path), stat }),
  ),
  fc.tuple(fc.constant(OP.multi), fc.record({ op: fc.constant('multi' as const), results: fc.array(multiResult) })),
);

describe('properties', () => {
  it('any bytes into any decoder: a value or a JuteError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...OPS), (bytes, op) => {
        expect(onlyJuteError(() => decodeRequest(bytes))).toBe(true);
        expect(onlyJuteError(() => decodeReply(bytes, op))).toBe(true);
        expect(onlyJuteError(() => decodeConnectRequest(bytes))).toBe(true);
        expect(onlyJuteError(() => decodeConnectResponse(bytes))).toBe(true);
        expect(onlyJuteError(() => decodeNotification(bytes))).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('any known op header followed by any bytes: a value or a JuteError', () => {
    fc.assert(
      fc.property(int32, fc.constantFrom(...OPS), fc.uint8Array({ maxLength: 120 }), (xid, op, rest) => {
        const bytes = new Uint8Array(8 + rest.length);
        new DataView(bytes.buffer).setInt32(0, xid);
        new DataView(bytes.buffer).setInt32(4, op);
        bytes.set(rest, 8);
        expect(onlyJuteError(() => decodeRequest(bytes))).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('generated requests round-trip', () => {
    fc.assert(
      fc.property(requestFrame, (frame) => {
        expect(decodeRequest(encodeRequest(frame).subarray(4))).toEqual(frame);
      }),
      { numRuns: 1_000 },
    );
  });

  it('generated replies round-trip', () => {
    fc.assert(
      fc.property(int32, long, reply, (xid, zxid, [op, response]) => {
        expect(decodeReply(encodeReply(xid, zxid, 0, response).subarray(4), op)).toEqual({
          xid,
          zxid,
          err: 0,
          response,
        });
      }),
      { numRuns: 1_000 },
    );
  });
});
