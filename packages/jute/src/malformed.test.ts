// Malformed input: every sample truncated at every byte, and lengths and counts that lie.
import { describe, expect, it } from 'vitest';
import { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest, encodeConnectResponse } from './connect.js';
import { JuteError } from './errors.js';
import {
  sampleConnectRequests,
  sampleConnectResponses,
  sampleNotifications,
  sampleReplies,
  sampleRequests,
} from './fixtures.js';
import { OP } from './op-codes.js';
import { decodeNotification, decodeReply, encodeNotification, encodeReply } from './replies.js';
import { decodeRequest, encodeRequest } from './requests.js';
import { JuteWriter } from './writer.js';

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

/** frameOf writes a RequestHeader and whatever `write` adds. */
function requestOf(op: number, write: (writer: JuteWriter) => void): Uint8Array {
  const writer = new JuteWriter();
  writer.int(1, 'xid');
  writer.int(op, 'op');
  write(writer);
  return body(writer.frame());
}

const TRUNCATED = /truncated|goes past the end|needs at least/;

describe('truncated at every byte', () => {
  it('every request sample names the field it stopped in', () => {
    let cuts = 0;
    for (const frame of sampleRequests) {
      const bytes = body(encodeRequest(frame));
      for (let cut = 0; cut < bytes.length; cut++) {
        const error = juteError(() => decodeRequest(bytes.subarray(0, cut)));
        expect(error.field).not.toBe('');
        expect(error.reason).toMatch(TRUNCATED);
        cuts++;
      }
    }
    expect(cuts).toBeGreaterThan(1000);
  });

  it('every reply sample (read as the answer to its op)', () => {
    for (const reply of sampleReplies) {
      const bytes = body(encodeReply(reply.xid, reply.zxid, reply.err, reply.response));
      for (let cut = 0; cut < bytes.length; cut++) {
        const error = juteError(() => decodeReply(bytes.subarray(0, cut), reply.op));
        expect(error.field).not.toBe('');
        expect(error.reason).toMatch(TRUNCATED);
      }
    }
  });

  it('connect requests and responses: only the readOnly byte may be missing', () => {
    for (const request of sampleConnectRequests) {
      const bytes = body(encodeConnectRequest(request));
      for (let cut = 0; cut < bytes.length; cut++) {
        if (request.readOnlySent && cut === bytes.length - 1) {
          expect(decodeConnectRequest(bytes.subarray(0, cut)).readOnlySent).toBe(false);
          continue;
        }
        expect(juteError(() => decodeConnectRequest(bytes.subarray(0, cut))).reason).toMatch(TRUNCATED);
      }
    }
    for (const { response, withReadOnly } of sampleConnectResponses) {
      const bytes = body(encodeConnectResponse(response, withReadOnly));
      for (let cut = 0; cut < bytes.length - (withReadOnly ? 1 : 0); cut++) {
        expect(juteError(() => decodeConnectResponse(bytes.subarray(0, cut))).reason).toMatch(TRUNCATED);
      }
    }
  });

  it('notifications', () => {
    for (const event of sampleNotifications) {
      const bytes = body(encodeNotification(event, event.state));
      for (let cut = 0; cut < bytes.length; cut++) {
        expect(juteError(() => decodeNotification(bytes.subarray(0, cut))).reason).toMatch(TRUNCATED);
      }
    }
  });

  it('names the innermost field: an ACL id cut short', () => {
    const bytes = body(encodeRequest(sampleRequests[1] as (typeof sampleRequests)[1]));
    // The second ACL's id ("bob:x/Y+z=") is the create2 sample's last ustring before the flags.
    const error = juteError(() => decodeRequest(bytes.subarray(0, bytes.length - 6)));
    expect(error.field).toBe('request.acl[1].id.id');
    expect(error.message).toBe('request.acl[1].id.id: length 10 goes past the end (8 bytes left)');
  });
});

describe('lengths and counts that lie', () => {
  const path = (length: number) => (w: JuteWriter) => {
    w.int(length, 'path');
    w.int(0x2f610000, 'bytes');
    w.boolean(false, 'watch');
  };

  it('a negative length other than -1', () => {
    const error = juteError(() => decodeRequest(requestOf(OP.getData, path(-2))));
    expect(error.message).toBe('request.path: negative length -2');
    expect(juteError(() => decodeRequest(requestOf(OP.getData, path(-0x8000_0000)))).field).toBe('request.path');
  });

  it('a length past the end, refused before anything is allocated', () => {
    const error = juteError(() => decodeRequest(requestOf(OP.getData, path(1_000_000))));
    expect(error.message).toBe('request.path: length 1000000 goes past the end (5 bytes left)');
  });

  it('a length over maxBufferBytes, checked before the bytes left', () => {
    const data = new Uint8Array(100);
    const bytes = body(
      encodeRequest({
        xid: 1,
        op: OP.setData,
        request: { kind: 'core', request: { op: 'setData', path: '/a', data, version: -1 } },
      }),
    );
    expect(decodeRequest(bytes, { maxBufferBytes: 100 }).op).toBe(OP.setData);
    expect(juteError(() => decodeRequest(bytes, { maxBufferBytes: 99 })).message).toBe(
      'request.data: length 100 is over the limit of 99',
    );
    const huge = requestOf(OP.getData, path(0x7fff_ffff));
    expect(juteError(() => decodeRequest(huge)).reason).toBe('length 2147483647 is over the limit of 1049600');
  });

  it('a vector count that is negative, over the limit, or more than the bytes left could hold', () => {
    const vector = (count: number) => (w: JuteWriter) => {
      w.long(0, 'relativeZxid');
      w.int(count, 'dataWatches');
      w.ustring('/a', '');
    };
    expect(juteError(() => decodeRequest(requestOf(OP.setWatches, vector(-3)))).message).toBe(
      'request.dataWatches: negative count -3',
    );
    expect(juteError(() => decodeRequest(requestOf(OP.setWatches, vector(3)))).message).toBe(
      'request.dataWatches: count 3 needs at least 12 bytes, 6 left',
    );
    expect(juteError(() => decodeRequest(requestOf(OP.setWatches, vector(0x7fff_ffff)))).reason).toMatch(
      /over the limit/,
    );
    const many = requestOf(OP.setWatches, (w) => {
      w.long(0, 'relativeZxid');
      w.vector(['/a', '/b', '/c'], 'dataWatches', (w2, p) => w2.ustring(p, ''));
      w.int(0, 'existWatches');
      w.int(0, 'childWatches');
    });
    expect(decodeRequest(many, { maxVectorLength: 3 }).op).toBe(OP.setWatches);
    expect(juteError(() => decodeRequest(many, { maxVectorLength: 2 })).message).toBe(
      'request.dataWatches: count 3 is over the limit of 2',
    );
  });

  it('a multi with more ops than the vector limit', () => {
    const frame = sampleRequests.find((r) => r.op === OP.multi) as (typeof sampleRequests)[number];
    const bytes = body(encodeRequest(frame));
    expect(juteError(() => decodeRequest(bytes, { maxVectorLength: 5 })).field).toBe('request.ops');
  });

  it('an ACL vector element cut short names its index', () => {
    const bytes = requestOf(OP.setACL, (w) => {
      w.ustring('/a', 'path');
      w.int(2, 'acl');
      w.int(31, 'perms');
      w.ustring('world', 'scheme');
      w.ustring('anyone', 'id');
      w.int(31, 'perms');
      w.int(-9, 'scheme');
      w.int(0, 'id');
      w.int(0, 'version');
    });
    expect(juteError(() => decodeRequest(bytes)).message).toBe('request.acl[1].id.scheme: negative length -9');
  });
});

describe('values outside their types', () => {
  it('a boolean byte other than 0 or 1', () => {
    const bytes = requestOf(OP.exists, (w) => {
      w.ustring('/a', 'path');
      w.int(0x0200_0000, 'watch'); // first byte 2
    });
    expect(juteError(() => decodeRequest(bytes.subarray(0, bytes.length - 3))).message).toBe(
      'request.watch: boolean byte 2 is neither 0 nor 1',
    );
  });

  it('invalid UTF-8 in a ustring: bad continuation, overlong, a surrogate, past U+10FFFF', () => {
    for (const bad of [[0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]]) {
      const bytes = requestOf(OP.sync, (w) => w.buffer(Uint8Array.from([0x2f, ...bad]), 'path'));
      expect(juteError(() => decodeRequest(bytes)).message).toBe('request.path: not valid UTF-8');
    }
  });

  it('keeps UTF-8 exactly: non-ASCII paths and a leading byte-order mark round-trip', () => {
    for (const path of ['/ü/ß', '/日本', '/😀', '\ufeff/a', `/${'é'.repeat(100)}`]) {
      const frame = { xid: 1, op: OP.sync, request: { kind: 'core' as const, request: { op: 'sync' as const, path } } };
      expect(decodeRequest(body(encodeRequest(frame)))).toEqual(frame);
    }
  });

  it('a long outside ±(2^53 - 1) names the field: a Stat zxid in a reply', () => {
    const reply = sampleReplies.find((r) => r.response.op === 'stat') as (typeof sampleReplies)[number];
    const bytes = body(encodeReply(reply.xid, reply.zxid, reply.err, reply.response)).slice();
    new DataView(bytes.buffer).setBigInt64(16 + 8, 0x7fff_ffff_ffff_ffffn); // Stat.mzxid
    expect(juteError(() => decodeReply(bytes, reply.op)).message).toBe(
      'response.stat.mzxid: long 9223372036854775807 is outside the safe integer range ±(2^53 - 1)',
    );
  });
});
