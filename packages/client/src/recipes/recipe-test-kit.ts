import { afterEach } from 'vitest';
import { connect, type ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import { FakeEnsemble, type FakeMember } from '../testing/fake-ensemble.js';
import { waitFor } from '../testing/wait.js';

/**
 * The recipe tests' shared kit (imported by the *.test.ts files next to it, never by the package):
 * a FakeEnsemble and clients that are stopped after each test, and {@link abortAtEveryPoint}.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];

/** useRecipeKit registers the after-each teardown in the calling test file. */
export function useRecipeKit(): void {
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
}

/** later runs `cleanup` after the current test. */
export function later(cleanup: () => Promise<unknown> | unknown): void {
  cleanups.push(cleanup);
}

export async function ensemble(size: number): Promise<FakeEnsemble> {
  const started = await FakeEnsemble.start(size);
  later(() => started.stop());
  return started;
}

export async function open(connectString: string, sessionTimeoutMs = 2_000): Promise<ZabClient> {
  const client = await connect(connectString, { sessionTimeoutMs, connectTimeoutMs: 3_000 });
  later(() => client.close());
  return client;
}

/** only is the connect string of one member, so a test knows where a client's requests go. */
export const only = (member: FakeMember): string => `127.0.0.1:${member.port}`;

/** childrenOf lists a znode's children after a sync ([] if it does not exist). */
export async function childrenOf(client: ZabClient, path: string): Promise<string[]> {
  try {
    await client.sync('/');
    return await client.children(path);
  } catch (error) {
    if (ZabError.isInstance(error, 'NO_NODE')) return [];
    throw error;
  }
}

/** seededDelays draws abort delays from a seeded PRNG (xorshift32): -1 means "in the same turn". */
export function seededDelays(seed: number, maxMs: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state % (maxMs + 2)) - 1;
  };
}

/** abortAfter aborts `controller` after `delayMs` (-1: in a microtask of the current turn). */
export function abortAfter(controller: AbortController, delayMs: number): void {
  if (delayMs < 0) queueMicrotask(() => controller.abort(new Error('aborted at once')));
  else setTimeout(() => controller.abort(new Error(`aborted after ${delayMs} ms`)), delayMs);
}

/**
 * abortAtEveryPoint runs `start(signal)` once per request it sends, all its requests on `member`:
 * with the member holding every reply, it lets the requests before the k-th through one at a
 * time, waits until the k-th has reached the server, aborts there, then lets the replies go. The
 * last run is aborted after its last request was answered (while it waits, or after it finished).
 * `check` gets each run's outcome and the request ops the server had received when it aborted.
 * Returns the number of points.
 */
export async function abortAtEveryPoint(
  fake: FakeEnsemble,
  member: FakeMember,
  start: (signal: AbortSignal) => Promise<unknown>,
  check: (k: number, outcome: unknown, opsBeforeAbort: string[]) => Promise<void>,
): Promise<number> {
  for (let k = 0; ; k++) {
    const controller = new AbortController();
    const base = fake.frames.length;
    member.holdReplies = true;
    let settled = false;
    const run = start(controller.signal).then(
      (value) => value,
      (error: unknown) => error,
    );
    void run.finally(() => {
      settled = true;
    });
    let reached = true;
    for (let sent = 0; sent <= k; sent++) {
      const arrived = await waitFor(
        () => {
          if (fake.frames.length > base + sent || settled) return true;
          // Let the replies to the requests before this one through (a reply exists only once its
          // request committed, so release again on every poll until the next request comes).
          if (sent > 0) {
            member.releaseReplies();
            member.holdReplies = true;
          }
          return false;
        },
        `request ${sent}`,
        2_000,
      ).then(
        () => fake.frames.length > base + sent,
        () => false,
      );
      if (!arrived) {
        reached = false;
        break;
      }
    }
    const opsBeforeAbort = fake.frames.slice(base).map((frame) => frame.request.op);
    controller.abort(new Error(`aborted at point ${k}`));
    member.releaseReplies();
    await check(k, await run, opsBeforeAbort);
    if (!reached) return k + 1;
  }
}
