import { describe, expect, it } from 'vitest';
import {
  deriveLimits,
  LIMIT_DEFAULTS,
  LimitsError,
  multiResultBytesMax,
  peerSendQueueBytesMax,
  requestLimitError,
  writeRequestBytesMax,
} from './limits.js';
import { OPEN_ACL_UNSAFE } from './types.js';
import { logEntryBytes } from './wire-size.js';

describe('deriveLimits', () => {
  it('derives the entry and peer frame limits from the client frame limit', () => {
    const limits = deriveLimits();
    expect(limits.dataBytesMax).toBe(LIMIT_DEFAULTS.dataBytesMax);
    expect(limits.entryBytesMax).toBe(2 * limits.clientFrameBytesMax);
    expect(limits.peerFrameBytesMax).toBeGreaterThan(limits.entryBytesMax);
    expect(limits.batchBytesTarget).toBeLessThan(limits.peerFrameBytesMax);
  });

  it('one entry of the largest legal write fits an entry, and so a peer frame', () => {
    const limits = deriveLimits({ dataBytesMax: 200_000, pathBytesMax: 300, clientFrameBytesMax: 210_000 });
    const path = `/${'p'.repeat(299)}`;
    const bytes = logEntryBytes({
      zxid: 2 ** 53 - 1,
      sessionId: 2 ** 53 - 1,
      cxid: -1,
      timeMs: 2 ** 53 - 1,
      txn: {
        type: 'create',
        path,
        data: new Uint8Array(limits.dataBytesMax),
        ephemeralOwner: 2 ** 53 - 1,
        container: false,
        ttlMs: 2 ** 40,
        parentCversion: -1,
        acl: OPEN_ACL_UNSAFE,
      },
    });
    expect(bytes).toBeLessThanOrEqual(limits.entryBytesMax);
  });

  it('refuses, in one line, a client frame that cannot carry a write of dataBytesMax at pathBytesMax', () => {
    const settings = { dataBytesMax: 1_000_000, pathBytesMax: 4096, clientFrameBytesMax: 1_000_000 };
    expect(() => deriveLimits(settings)).toThrow(LimitsError);
    expect(() => deriveLimits(settings)).toThrow(
      `frameBytesMax (1000000) cannot carry a write of dataBytesMax (1000000) at a path of pathBytesMax (4096): it must be at least ${writeRequestBytesMax(settings)}`,
    );
    expect(() => deriveLimits({ watchesPerSessionMax: -1 })).toThrow(
      'watchesPerSessionMax must be a non-negative integer',
    );
  });

  it('sizes a peer send queue for proposals, forwards, a sync window and a few frames', () => {
    const limits = deriveLimits();
    expect(peerSendQueueBytesMax(limits, 1000)).toBe(
      limits.proposalBytesInflightMax + 1000 + limits.syncWindowBytes + 4 * limits.peerFrameBytesMax,
    );
  });
});

describe('requestLimitError (pathBytesMax)', () => {
  const limits = { pathBytesMax: 10 };
  it('refuses any request naming a path over the limit, counted in UTF-8 bytes', () => {
    expect(requestLimitError({ op: 'getData', path: '/123456789', watch: false }, limits)).toBeNull();
    expect(requestLimitError({ op: 'getData', path: '/1234567890', watch: false }, limits)).toBe('INVALID_PATH');
    // 5 characters, 11 bytes.
    expect(requestLimitError({ op: 'exists', path: '/éééé€', watch: false }, limits)).toBe('INVALID_PATH');
    expect(
      requestLimitError(
        {
          op: 'multi',
          ops: [
            { op: 'check', path: '/a', version: -1 },
            { op: 'delete', path: '/very/long/path', version: -1 },
          ],
        },
        limits,
      ),
    ).toBe('INVALID_PATH');
    expect(
      requestLimitError(
        {
          op: 'setWatches',
          relativeZxid: 0,
          dataWatches: [],
          existWatches: [],
          childWatches: ['/a'],
          persistentWatches: [],
          persistentRecursiveWatches: ['/far/too/long'],
        },
        limits,
      ),
    ).toBe('INVALID_PATH');
    expect(requestLimitError({ op: 'getEphemerals', prefixPath: '/a/b/c/d/e/f' }, limits)).toBe('INVALID_PATH');
    expect(requestLimitError({ op: 'closeSession' }, limits)).toBeNull();
  });
});

describe('multiResultBytesMax', () => {
  it('grows with the ops, and with created paths and their sequence suffix', () => {
    const small = multiResultBytesMax([{ op: 'check', path: '/a', version: 1 }]);
    const created = multiResultBytesMax([{ op: 'create', path: '/abc', data: new Uint8Array(0), mode: 2, ttlMs: 0 }]);
    expect(created - small).toBeGreaterThanOrEqual(4 + 10);
  });
});
