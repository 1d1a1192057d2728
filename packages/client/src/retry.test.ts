import type { Request } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type ZabClient } from './client.js';
import { ZabError } from './errors.js';
import { combineSignal } from './recipes/lock.js';
import { isRetryable, RetryPolicy, retrying } from './retry.js';
import { FakeEnsemble } from './testing/fake-ensemble.js';
import { waitFor } from './testing/wait.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Parameters<typeof connect>[1] = {}) {
  const ensemble = await FakeEnsemble.start(1);
  cleanups.push(() => ensemble.stop());
  const client = await connect(ensemble.connectString, {
    sessionTimeoutMs: 3_000,
    connectTimeoutMs: 3_000,
    ...options,
  });
  cleanups.push(() => client.close());
  return { ensemble, client, member: ensemble.members[0]! };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const loss = () => new ZabError('CONNECTION_LOSS', { op: 'getData', path: '/a' });

/** lostAfterSent sends `call`, lets the member apply it with its reply held, then drops the connection. */
async function lostAfterSent<T>(
  ensemble: FakeEnsemble,
  client: ZabClient,
  call: () => Promise<T>,
): Promise<{ pending: Promise<T> }> {
  const member = ensemble.members[0]!;
  member.holdReplies = true;
  const framesBefore = ensemble.frames.length;
  const pending = call();
  pending.catch(() => {});
  await waitFor(() => ensemble.frames.length > framesBefore, 'the request to reach the member');
  await new Promise((resolve) => setTimeout(resolve, 50)); // applied (a write commits in a few ms)
  member.holdReplies = false; // the held reply is never sent: the connection goes first
  member.dropConnections();
  expect(client.state === 'CONNECTED' || client.state === 'DISCONNECTED').toBe(true);
  return { pending }; // wrapped: an async function would wait for it
}

describe('RetryPolicy', () => {
  it('waits with full jitter under a capped exponential', () => {
    const policy = new RetryPolicy({ delayMsBase: 100, delayMsMax: 1_000, attemptsMax: 10, elapsedMsMax: 60_000 });
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6].map((n) => Math.round(policy.delayMs(n, top)))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(policy.delayMs(3, () => 0)).toBe(0);
    expect(policy.delayMs(3, () => 0.5)).toBe(200);
    expect(policy.delayMs(2_000, top)).toBeLessThanOrEqual(1_000);
  });

  it('stops at attemptsMax tries, or when a retry would start past elapsedMsMax', () => {
    const policy = new RetryPolicy({ attemptsMax: 3, elapsedMsMax: 1_000, delayMsBase: 100 });
    const half = () => 0.5;
    expect(policy.nextDelayMs(1, 0, half)).toBe(50);
    expect(policy.nextDelayMs(2, 0, half)).toBe(100);
    expect(policy.nextDelayMs(3, 0, half)).toBeUndefined();
    expect(policy.nextDelayMs(1, 949, half)).toBe(50);
    expect(policy.nextDelayMs(1, 951, half)).toBeUndefined();
  });

  it('takes true for the defaults, false for none, and refuses bad options', () => {
    expect(RetryPolicy.of(false)).toBeUndefined();
    expect(RetryPolicy.of(undefined)).toBeUndefined();
    expect(RetryPolicy.of(true)).toMatchObject({
      attemptsMax: 4,
      elapsedMsMax: 30_000,
      delayMsBase: 100,
      delayMsMax: 5_000,
    });
    expect(RetryPolicy.of({ attemptsMax: 2, delayMsBase: 2.5 })).toMatchObject({ attemptsMax: 2, delayMsBase: 2.5 });
    expect(() => new RetryPolicy({ attemptsMax: 0 })).toThrow(RangeError);
    expect(() => new RetryPolicy({ attemptsMax: 1.5 })).toThrow(RangeError);
    expect(() => new RetryPolicy({ delayMsMax: -1 })).toThrow(RangeError);
    expect(() => new RetryPolicy({ elapsedMsMax: Number.NaN })).toThrow(RangeError);
  });
});

describe('isRetryable', () => {
  it('retries reads, sync and versioned writes; never creates, unversioned writes or session requests', () => {
    const bytes = new Uint8Array();
    const cases: [Request, boolean][] = [
      [{ op: 'getData', path: '/a', watch: true }, true],
      [{ op: 'exists', path: '/a', watch: false }, true],
      [{ op: 'getChildren', path: '/a', watch: false }, true],
      [{ op: 'getACL', path: '/a' }, true],
      [{ op: 'getEphemerals', prefixPath: '/' }, true],
      [{ op: 'sync', path: '/' }, true],
      [{ op: 'setData', path: '/a', data: bytes, version: 0 }, true],
      [{ op: 'setData', path: '/a', data: bytes, version: -1 }, false],
      [{ op: 'delete', path: '/a', version: 3 }, true],
      [{ op: 'delete', path: '/a', version: -1 }, false],
      [{ op: 'setACL', path: '/a', acl: [], version: 0 }, true],
      [{ op: 'setACL', path: '/a', acl: [], version: -1 }, false],
      [{ op: 'create', path: '/a', data: bytes, mode: 0, ttlMs: 0 }, false],
      [{ op: 'closeSession' }, false],
      [
        {
          op: 'multi',
          ops: [
            { op: 'check', path: '/a', version: 1 },
            { op: 'setData', path: '/b', data: bytes, version: 2 },
            { op: 'delete', path: '/c', version: 0 },
          ],
        },
        true,
      ],
      [{ op: 'multi', ops: [{ op: 'setData', path: '/b', data: bytes, version: -1 }] }, false],
      [{ op: 'multi', ops: [{ op: 'create', path: '/b', data: bytes, mode: 0, ttlMs: 0 }] }, false],
    ];
    for (const [request, retryable] of cases) expect(isRetryable(request), JSON.stringify(request)).toBe(retryable);
  });
});

describe('retrying', () => {
  const policy = new RetryPolicy({ attemptsMax: 3, delayMsBase: 1 });

  it('tries again after CONNECTION_LOSS only, and says how many tries a failure took', async () => {
    let tries = 0;
    expect(
      await retrying(
        policy,
        async () => {
          if (++tries < 3) throw loss();
          return 'ok';
        },
        { random: Math.random },
      ),
    ).toBe('ok');
    expect(tries).toBe(3);

    tries = 0;
    const exhausted = await rejection(
      retrying(
        policy,
        async () => {
          tries++;
          throw loss();
        },
        { random: Math.random },
      ),
    );
    expect(tries).toBe(3);
    expect(ZabError.isInstance(exhausted, 'CONNECTION_LOSS')).toBe(true);
    expect((exhausted as ZabError).attempts).toBe(3);
    expect((exhausted as ZabError).message).toBe(
      'CONNECTION_LOSS: the connection to the server was lost before the reply arrived, after 3 tries (getData /a)',
    );

    tries = 0;
    const other = await rejection(
      retrying(
        policy,
        async () => {
          tries++;
          throw new ZabError('NO_NODE');
        },
        { random: Math.random },
      ),
    );
    expect(tries).toBe(1);
    expect((other as ZabError).attempts).toBeUndefined();
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const slow = new RetryPolicy({ attemptsMax: 5, delayMsBase: 60_000, delayMsMax: 60_000, elapsedMsMax: 600_000 });
    const pending = retrying(
      slow,
      async () => {
        throw loss();
      },
      { random: () => 0.5, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('stop')), 10);
    expect(await rejection(pending)).toEqual(new Error('stop'));
  });
});

describe('call options', () => {
  it('timeoutMs rejects with OPERATION_TIMEOUT naming the call, fractions included, and later calls stay matched', async () => {
    const { client, member } = await setup();
    await client.create('/a', 'x');
    member.holdReplies = true;
    const started = performance.now();
    const error = await rejection(client.get('/a', { timeoutMs: 40.5 }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(40.5);
    expect(ZabError.isInstance(error, 'OPERATION_TIMEOUT')).toBe(true);
    expect(error).toMatchObject({
      op: 'getData',
      path: '/a',
      message: 'OPERATION_TIMEOUT: no reply within 40.5 ms (getData /a)',
    });
    expect(ZabError.isInstance(await rejection(client.sync('/', { timeoutMs: 0 })), 'OPERATION_TIMEOUT')).toBe(true);
    const next = client.exists('/a', { timeoutMs: 5_000 });
    member.releaseReplies();
    expect((await next)?.version).toBe(0);
  });

  it('every timeout takes a fraction; a timeout that is not a number >= 0 is a RangeError', async () => {
    const ensemble = await FakeEnsemble.start(1);
    cleanups.push(() => ensemble.stop());
    const client = await connect(ensemble.connectString, { sessionTimeoutMs: 1_500.5, connectTimeoutMs: 2_500.5 });
    cleanups.push(() => client.close());
    expect(client.sessionTimeoutMs).toBe(1_501); // a fraction is asked for rounded up
    expect(await client.exists('/', { timeoutMs: 1_000.25 })).not.toBeNull();
    await client.waitForState('CONNECTED', { timeoutMs: 1.5 });
    const waiting = await rejection(client.waitForState('EXPIRED', { timeoutMs: 1.5 }));
    expect(ZabError.isInstance(waiting, 'OPERATION_TIMEOUT')).toBe(true);
    expect(await client.addAuth('digest', 'u:p', { timeoutMs: 2_000.5 })).toBeUndefined();
    expect(await rejection(client.get('/', { timeoutMs: -1 }))).toBeInstanceOf(RangeError);
    expect(await rejection(client.get('/', { timeoutMs: Number.NaN }))).toBeInstanceOf(RangeError);
    expect(await client.exists('/', { timeoutMs: Number.POSITIVE_INFINITY })).not.toBeNull();
    // The recipes' timeouts (Lock.acquire, LeaderElection.start) go through combineSignal.
    const signal = combineSignal({ timeoutMs: 1.5 }) as AbortSignal;
    await waitFor(() => signal.aborted, 'the 1.5 ms signal to abort', 1_000);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect(() => combineSignal({ timeoutMs: -2 })).toThrow(RangeError);
  });

  it('retries a read across a connection loss, but not an unversioned write or a create', async () => {
    const { ensemble, client } = await setup({ retry: { delayMsBase: 10 } });
    await client.create('/r', 'x');
    const { pending: read } = await lostAfterSent(ensemble, client, () => client.get('/r'));
    expect(new TextDecoder().decode((await read).data)).toBe('x');

    const { pending: write } = await lostAfterSent(ensemble, client, () => client.set('/r', 'y'));
    expect(ZabError.isInstance(await rejection(write), 'CONNECTION_LOSS')).toBe(true);
    const { pending: create } = await lostAfterSent(ensemble, client, () => client.create('/c', 'x'));
    const createError = await rejection(create);
    expect(ZabError.isInstance(createError, 'CONNECTION_LOSS')).toBe(true);
    expect((createError as ZabError).attempts).toBeUndefined();
    // Both took effect: the lost reply did not say so, which is why they are not retried.
    await client.waitForState('CONNECTED', { timeoutMs: 5_000 });
    expect(new TextDecoder().decode((await client.get('/r')).data)).toBe('y');
    expect(await client.exists('/c')).not.toBeNull();
  });

  it('a versioned write retried after it took effect fails with BAD_VERSION and `attempts`: the caller reads to tell', async () => {
    const { ensemble, client } = await setup();
    await client.create('/v', 'x');
    const { pending: write } = await lostAfterSent(ensemble, client, () =>
      client.set('/v', 'mine', { version: 0, retry: { delayMsBase: 10 } }),
    );
    const error = await rejection(write);
    expect(ZabError.isInstance(error, 'BAD_VERSION')).toBe(true);
    expect((error as ZabError).attempts).toBe(2);
    const { data, stat } = await client.get('/v');
    expect(new TextDecoder().decode(data)).toBe('mine');
    expect(stat.version).toBe(1);
  });

  it('without a policy (the default) a call fails with CONNECTION_LOSS; a call can turn the client policy off', async () => {
    const { ensemble, client } = await setup();
    await client.create('/d', 'x');
    const { pending: read } = await lostAfterSent(ensemble, client, () => client.get('/d'));
    expect(ZabError.isInstance(await rejection(read), 'CONNECTION_LOSS')).toBe(true);
    await client.waitForState('CONNECTED', { timeoutMs: 5_000 });

    const retrying = await setup({ retry: true });
    const { pending: off } = await lostAfterSent(retrying.ensemble, retrying.client, () =>
      retrying.client.get('/', { retry: false }),
    );
    expect(ZabError.isInstance(await rejection(off), 'CONNECTION_LOSS')).toBe(true);
  });

  it('the call timeout bounds the retries and their waits', async () => {
    const { ensemble, client } = await setup({
      retry: { delayMsBase: 60_000, delayMsMax: 60_000, elapsedMsMax: 120_000 },
      random: () => 0.99,
    });
    const started = performance.now();
    const { pending: read } = await lostAfterSent(ensemble, client, () =>
      client.get('/', { timeoutMs: 400, retry: undefined }),
    );
    const error = await rejection(read);
    expect(ZabError.isInstance(error, 'OPERATION_TIMEOUT')).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
