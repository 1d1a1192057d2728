import { ERROR_CODE_NUMBERS, type ErrorCode } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { errorCodeOfJute, juteErrorCode } from './error-codes.js';
import { JuteError } from './errors.js';
import { sampleNotifications, sampleReplies, sampleStat } from './fixtures.js';
import { OP } from './op-codes.js';
import { decodeNotification, decodeReply, encodeNotification, encodeReply, type JuteResponse } from './replies.js';

const body = (frame: Uint8Array) => frame.subarray(4);

function juteError(run: () => unknown): JuteError {
  try {
    run();
  } catch (error) {
    if (JuteError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a JuteError');
}

describe('reply frames', () => {
  it('samples cover every response kind', () => {
    const kinds: JuteResponse['op'][] = [
      'create',
      'create2',
      'stat',
      'getData',
      'getACL',
      'getChildren',
      'getChildren2',
      'sync',
      'getEphemerals',
      'getAllChildrenNumber',
      'whoAmI',
      'multi',
      'multiRead',
      'addWatch',
      'sasl',
      'empty',
    ];
    expect(new Set(sampleReplies.map((r) => r.response.op))).toEqual(new Set(kinds));
  });

  it.each(sampleReplies.map((r) => [r.op, r.response.op, r] as const))('round-trips op %i: %s', (_, __, reply) => {
    const decoded = decodeReply(body(encodeReply(reply.xid, reply.zxid, reply.err, reply.response)), reply.op);
    expect(decoded).toEqual({
      xid: reply.xid,
      zxid: reply.zxid,
      err: reply.err,
      response: reply.err === 0 ? reply.response : null,
    });
  });

  it('decodes a reply of every op code that has one, and refuses one that has none', () => {
    for (const op of Object.values(OP)) {
      const empty = body(encodeReply(1, 2, -6, { op: 'empty' }));
      if (op === OP.notification || op === OP.error || op === OP.createSession) {
        expect(juteError(() => decodeReply(empty, op)).field).toBe('op');
      } else {
        expect(decodeReply(empty, op).err).toBe(-6);
      }
    }
  });

  it('writes a multi body even with an error in the header, and reads it back', () => {
    const response: JuteResponse = { op: 'multi', results: [{ op: 'error', err: -101 }] };
    const decoded = decodeReply(body(encodeReply(3, 4, -101, response)), OP.multi);
    expect(decoded).toEqual({ xid: 3, zxid: 4, err: -101, response });
  });

  it('names the field of a value it cannot encode', () => {
    const badStat = { ...sampleStat, version: 2 ** 40 };
    expect(juteError(() => encodeReply(1, 1, 0, { op: 'stat', stat: badStat } as unknown as JuteResponse)).field).toBe(
      'response.stat.version',
    );
    expect(juteError(() => encodeReply(1, 2 ** 53, 0, { op: 'empty' })).field).toBe('zxid');
    expect(
      juteError(() =>
        encodeReply(1, 1, 0, { op: 'multi', results: [{ op: 'check' }, { op: 'nope' }] } as unknown as JuteResponse),
      ).field,
    ).toBe('response.results[1].op');
    expect(
      juteError(() => encodeReply(1, 1, 0, { op: 'getChildren', children: ['a', 3] } as unknown as JuteResponse)).field,
    ).toBe('response.children[1]');
  });

  it('refuses a multi result type that is not a result', () => {
    const bytes = new Uint8Array([
      ...[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0],
      ...[0, 0, 0, OP.sync, 0, 0, 0, 0, 0],
    ]);
    expect(juteError(() => decodeReply(bytes, OP.multi)).field).toBe('response.results[0].type');
  });
});

describe('notifications', () => {
  it.each(sampleNotifications.map((n) => [n.type, n] as const))('round-trips event type %i', (_, event) => {
    expect(decodeNotification(body(encodeNotification(event, event.state)))).toEqual({
      type: event.type,
      state: event.state,
      path: event.path,
      zxid: event.zxid ?? -1,
    });
  });

  it('takes core’s WatchEvent as it is (its zxid goes in the header, as ZooKeeper 3.9)', () => {
    const frame = encodeNotification({ type: 2, path: '/gone', zxid: 0x1_0000_0002 });
    expect(decodeNotification(body(frame))).toEqual({ type: 2, state: 3, path: '/gone', zxid: 0x1_0000_0002 });
  });

  it('refuses a reply that is not a notification', () => {
    expect(juteError(() => decodeNotification(body(encodeReply(5, 1, 0, { op: 'empty' })))).field).toBe('xid');
  });
});

describe('juteErrorCode', () => {
  it('is core’s number for every code ZooKeeper knows, BAD_ARGUMENTS and CONNECTION_LOSS for the two it does not', () => {
    for (const [code, number] of Object.entries(ERROR_CODE_NUMBERS) as [ErrorCode, number][]) {
      if (code === 'INVALID_PATH') expect(juteErrorCode(code)).toBe(-8);
      else if (code === 'NOT_LEADER') expect(juteErrorCode(code)).toBe(-4);
      else {
        expect(juteErrorCode(code)).toBe(number);
        expect(errorCodeOfJute(number)).toBe(code);
      }
    }
    expect(juteErrorCode('NO_NODE')).toBe(-101);
    expect(juteErrorCode('NODE_EXISTS')).toBe(-110);
    expect(juteErrorCode('SESSION_EXPIRED')).toBe(-112);
    expect(errorCodeOfJute(0)).toBeUndefined();
    expect(errorCodeOfJute(-200)).toBeUndefined();
  });
});
