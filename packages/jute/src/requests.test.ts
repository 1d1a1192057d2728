import { describe, expect, it } from 'vitest';
import { JuteError } from './errors.js';
import { sampleRequests } from './fixtures.js';
import { OP } from './op-codes.js';
import { decodeRequest, encodeRequest, isKnownRequestOp, type JuteRequestFrame, peekHeader } from './requests.js';
import { JuteWriter } from './writer.js';

const body = (frame: Uint8Array) => frame.subarray(4);

/** frameOf writes a RequestHeader and whatever `write` adds, for bodies encodeRequest would not produce. */
function frameOf(xid: number, op: number, write: (writer: JuteWriter) => void = () => {}): Uint8Array {
  const writer = new JuteWriter();
  writer.int(xid, 'xid');
  writer.int(op, 'op');
  write(writer);
  return body(writer.frame());
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

describe('request frames', () => {
  it('samples cover every op code decodeRequest knows', () => {
    const known = Object.values(OP).filter(isKnownRequestOp);
    expect(new Set(sampleRequests.map((frame) => frame.op))).toEqual(new Set(known));
    expect(known).toHaveLength(30);
  });

  it.each(sampleRequests.map((frame) => [frame.op, frame] as const))('round-trips op %i', (_, frame) => {
    const encoded = encodeRequest(frame);
    expect(new DataView(encoded.buffer, encoded.byteOffset).getInt32(0)).toBe(encoded.length - 4);
    expect(decodeRequest(body(encoded))).toEqual(frame);
    expect(peekHeader(body(encoded))).toEqual({ xid: frame.xid, op: frame.op });
  });

  it('maps every create op onto core create: flags into mode, ttl only for createTTL', () => {
    for (const op of [OP.create, OP.create2, OP.createContainer]) {
      const bytes = frameOf(1, op, (w) => {
        w.ustring('/x', 'path');
        w.buffer(new Uint8Array(0), 'data');
        w.int(0, 'acl');
        w.int(9, 'flags'); // not a CreateMode: core answers BAD_ARGUMENTS, the decoder passes it on
      });
      expect(decodeRequest(bytes).request).toEqual({
        kind: 'core',
        request: { op: 'create', path: '/x', data: new Uint8Array(0), mode: 9, ttlMs: 0, acl: [] },
      });
    }
  });

  it('reads deleteContainer (a bare path buffer) as delete with version -1', () => {
    const bytes = frameOf(3, OP.deleteContainer, (w) => w.buffer(new TextEncoder().encode('/box'), 'path'));
    expect(decodeRequest(bytes).request).toEqual({
      kind: 'core',
      request: { op: 'delete', path: '/box', version: -1 },
    });
  });

  it('reads a null, blank or "/" getEphemerals prefix as "/" (all of them), as ZooKeeper', () => {
    const prefixes = [
      (w: JuteWriter) => w.int(-1, 'prefixPath'),
      (w: JuteWriter) => w.ustring('', 'prefixPath'),
      (w: JuteWriter) => w.ustring('  ', 'prefixPath'),
      (w: JuteWriter) => w.ustring(' / ', 'prefixPath'),
    ];
    for (const write of prefixes) {
      expect(decodeRequest(frameOf(4, OP.getEphemerals, write)).request).toEqual({
        kind: 'core',
        request: { op: 'getEphemerals', prefixPath: '/' },
      });
    }
    const scoped = frameOf(4, OP.getEphemerals, (w) => w.ustring('/app', 'prefixPath'));
    expect(decodeRequest(scoped).request).toEqual({
      kind: 'core',
      request: { op: 'getEphemerals', prefixPath: '/app' },
    });
  });

  it('reads null vectors as empty and setWatches (op 101) with empty persistent lists', () => {
    const bytes = frameOf(-8, OP.setWatches, (w) => {
      w.long(5, 'relativeZxid');
      w.int(-1, 'dataWatches');
      w.int(0, 'existWatches');
      w.int(1, 'childWatches');
      w.ustring('/c', '');
    });
    expect(decodeRequest(bytes).request).toEqual({
      kind: 'core',
      request: {
        op: 'setWatches',
        relativeZxid: 5,
        dataWatches: [],
        existWatches: [],
        childWatches: ['/c'],
        persistentWatches: [],
        persistentRecursiveWatches: [],
      },
    });
  });

  it('ends a multi at the first header with done set, whatever its type and err (as ZooKeeper)', () => {
    const bytes = frameOf(5, OP.multi, (w) => {
      w.int(OP.delete, 'type');
      w.boolean(false, 'done');
      w.int(-1, 'err');
      w.ustring('/a', 'path');
      w.int(3, 'version');
      w.int(0, 'type');
      w.boolean(true, 'done');
      w.int(0, 'err');
    });
    expect(decodeRequest(bytes)).toEqual({
      xid: 5,
      op: OP.multi,
      request: { kind: 'core', request: { op: 'multi', ops: [{ op: 'delete', path: '/a', version: 3 }] } },
      multiOps: [OP.delete],
    });
    const empty = frameOf(5, OP.multi, (w) => {
      w.int(-1, 'type');
      w.boolean(true, 'done');
      w.int(-1, 'err');
    });
    expect(decodeRequest(empty)).toEqual({
      xid: 5,
      op: OP.multi,
      request: { kind: 'core', request: { op: 'multi', ops: [] } },
      multiOps: [],
    });
  });

  it('refuses an op that cannot be inside a multi or multiRead, naming it', () => {
    const readInMulti = frameOf(5, OP.multi, (w) => {
      w.int(OP.check, 'type');
      w.boolean(false, 'done');
      w.int(-1, 'err');
      w.ustring('/a', 'path');
      w.int(0, 'version');
      w.int(OP.getData, 'type');
      w.boolean(false, 'done');
      w.int(-1, 'err');
      w.ustring('/a', 'path');
      w.boolean(false, 'watch');
    });
    expect(juteError(() => decodeRequest(readInMulti)).field).toBe('request.ops[1].type');
    const writeInMultiRead = frameOf(5, OP.multiRead, (w) => {
      w.int(OP.delete, 'type');
      w.boolean(false, 'done');
      w.int(-1, 'err');
    });
    expect(juteError(() => decodeRequest(writeInMultiRead)).field).toBe('request.ops[0].type');
  });

  it('names the field inside a multi op', () => {
    const bytes = frameOf(5, OP.multi, (w) => {
      for (let i = 0; i < 2; i++) {
        w.int(OP.check, 'type');
        w.boolean(false, 'done');
        w.int(-1, 'err');
        w.ustring('/a', 'path');
        w.int(0, 'version');
      }
      w.int(OP.create, 'type');
      w.boolean(false, 'done');
      w.int(-1, 'err');
      w.int(-7, 'path');
    });
    const error = juteError(() => decodeRequest(bytes));
    expect(error.field).toBe('request.ops[2].path');
    expect(error.message).toBe('request.ops[2].path: negative length -7');
  });

  it('refuses an unknown op code with field "op"; peekHeader still reads the xid for the UNIMPLEMENTED reply', () => {
    for (const op of [0, 10, 23, 99, 108, -1, -10, 0x7fff_ffff]) {
      const bytes = frameOf(77, op, (w) => w.ustring('/a', 'path'));
      const error = juteError(() => decodeRequest(bytes));
      expect(error.field).toBe('op');
      expect(error.reason).toBe(`unknown op code ${op}`);
      expect(peekHeader(bytes)).toEqual({ xid: 77, op });
    }
    expect(juteError(() => peekHeader(new Uint8Array(7))).field).toBe('op');
  });

  it('refuses bytes after the record', () => {
    const ping = frameOf(-2, OP.ping, (w) => w.int(0, 'extra'));
    expect(juteError(() => decodeRequest(ping)).field).toBe('body');
  });

  it('encodes multi ops as a Java client does when no op codes are given', () => {
    const frame: JuteRequestFrame = {
      xid: 9,
      op: OP.multi,
      request: {
        kind: 'core',
        request: {
          op: 'multi',
          ops: [
            { op: 'create', path: '/p', data: new Uint8Array(0), mode: 0, ttlMs: 0 },
            { op: 'create', path: '/c', data: new Uint8Array(0), mode: 4, ttlMs: 0 },
            { op: 'create', path: '/t', data: new Uint8Array(0), mode: 5, ttlMs: 100 },
          ],
        },
      },
    };
    const decoded = decodeRequest(body(encodeRequest(frame)));
    expect(decoded.multiOps).toEqual([OP.create, OP.createContainer, OP.createTTL]);
    expect(decoded.request).toEqual({
      kind: 'core',
      request: {
        op: 'multi',
        ops: [
          { op: 'create', path: '/p', data: new Uint8Array(0), mode: 0, ttlMs: 0, acl: [] },
          { op: 'create', path: '/c', data: new Uint8Array(0), mode: 4, ttlMs: 0, acl: [] },
          { op: 'create', path: '/t', data: new Uint8Array(0), mode: 5, ttlMs: 100, acl: [] },
        ],
      },
    });
  });

  it('refuses to encode a request under an op code that cannot carry it', () => {
    const getData = { kind: 'core' as const, request: { op: 'getData' as const, path: '/a', watch: false } };
    expect(juteError(() => encodeRequest({ xid: 1, op: OP.create, request: getData })).field).toBe('request');
    expect(juteError(() => encodeRequest({ xid: 1, op: OP.ping, request: getData })).field).toBe('request');
    expect(juteError(() => encodeRequest({ xid: 1, op: 55, request: getData })).field).toBe('op');
    const persistent = {
      kind: 'core' as const,
      request: {
        op: 'setWatches' as const,
        relativeZxid: 0,
        dataWatches: [],
        existWatches: [],
        childWatches: [],
        persistentWatches: ['/p'],
        persistentRecursiveWatches: [],
      },
    };
    expect(juteError(() => encodeRequest({ xid: -8, op: OP.setWatches, request: persistent })).field).toBe(
      'request.persistentWatches',
    );
    const versioned = { kind: 'core' as const, request: { op: 'delete' as const, path: '/a', version: 2 } };
    expect(juteError(() => encodeRequest({ xid: 1, op: OP.deleteContainer, request: versioned })).field).toBe(
      'request.version',
    );
  });

  it('refuses to encode values outside their jute types, naming the field', () => {
    const create = (patch: Record<string, unknown>) => ({
      xid: 1,
      op: OP.create2,
      request: {
        kind: 'core' as const,
        request: { op: 'create' as const, path: '/a', data: new Uint8Array(0), mode: 0 as const, ttlMs: 0, ...patch },
      },
    });
    expect(juteError(() => encodeRequest(create({ mode: 2 ** 31 }) as JuteRequestFrame)).field).toBe('request.mode');
    expect(juteError(() => encodeRequest(create({ ttlMs: 5 }) as JuteRequestFrame)).field).toBe('request.ttlMs');
    expect(juteError(() => encodeRequest(create({ path: 7 }) as JuteRequestFrame)).field).toBe('request.path');
    expect(juteError(() => encodeRequest(create({ data: 'x' }) as JuteRequestFrame)).field).toBe('request.data');
    expect(
      juteError(() =>
        encodeRequest(create({ acl: [{ perms: 1, id: { scheme: 'world', id: null } }] }) as JuteRequestFrame),
      ).field,
    ).toBe('request.acl[0].id.id');
    expect(juteError(() => encodeRequest({ ...create({}), xid: 1.5 } as JuteRequestFrame)).field).toBe('xid');
  });
});
