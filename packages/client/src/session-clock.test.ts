import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect, type ZabClient } from './client.js';
import { ZabError } from './errors.js';
import { sessionClock } from './heartbeats.js';
import { FakeEnsemble } from './testing/fake-ensemble.js';
import { waitFor } from './testing/wait.js';

// A process that was paused (SIGSTOP, a long GC, a blocked event loop) wakes with its timers and
// its sockets' data queued in any order. These tests pause the client for real (Atomics.wait
// blocks the whole process, the in-process ensemble included), or move its session clock
// forward, so that a frame arrives before any timer could notice the pause.

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(size: number): Promise<FakeEnsemble> {
  const ensemble = await FakeEnsemble.start(size);
  cleanups.push(() => ensemble.stop());
  return ensemble;
}

async function open(connectString: string, sessionTimeoutMs: number): Promise<ZabClient> {
  const client = await connect(connectString, { sessionTimeoutMs, connectTimeoutMs: 5_000, serverOrder: 'inOrder' });
  cleanups.push(() => client.close());
  return client;
}

/** record logs the client's connection events, in order. */
function record(client: ZabClient): string[] {
  const log: string[] = [];
  client.on('disconnected', ({ reason }) => log.push(`disconnected: ${reason}`));
  client.on('reconnected', () => log.push('reconnected'));
  client.on('expired', ({ reason }) => log.push(`expired: ${reason}`));
  return log;
}

/** block stops this whole process for `ms`, as SIGSTOP or a long GC would. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** pause moves the session clock `ms` forward, as if the process had been stopped for that long and no timer had run yet. */
function pause(ms: number): void {
  const now = performance.now.bind(performance);
  vi.spyOn(sessionClock, 'now').mockImplementation(() => now() + ms);
}

/** flushed waits for microtasks only: the frames written are in the kernel, none was read yet. */
async function flushed(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('the clock check after a pause', () => {
  it('blocked past the read timeout, `state` reads DISCONNECTED at once, then the same session resumes', async () => {
    const ensemble = await start(1);
    const client = await open(ensemble.connectString, 1_500);
    const sessionId = client.sessionId;
    const log = record(client);
    expect(client.state).toBe('CONNECTED');
    block(1_200); // more than the read timeout (1 000 ms), less than the session timeout
    expect(client.state).toBe('DISCONNECTED');
    expect(log).toEqual([
      expect.stringMatching(
        /^disconnected: stale connection: nothing heard .* for \d+ ms, more than the read timeout \(1000 ms\)/,
      ),
    ]);
    await client.waitForState('CONNECTED', { timeoutMs: 5_000 });
    expect(log.slice(1)).toEqual(['reconnected']);
    expect(client.sessionId).toBe(sessionId);
    expect(await client.exists('/')).not.toBeNull();
  });

  it('blocked past the whole timeout, `state` reads EXPIRED at once, and a reply that waited in the socket is not delivered', async () => {
    const ensemble = await start(1);
    const client = await open(ensemble.connectString, 1_500);
    const log = record(client);
    const member = ensemble.members[0]!;
    member.holdReplies = true;
    const framesBefore = ensemble.frames.length;
    const reading = client.get('/');
    const settled: string[] = [];
    reading.then(
      () => settled.push('resolved'),
      () => settled.push('rejected'),
    );
    await waitFor(() => ensemble.frames.length > framesBefore, 'the getData to reach the member');
    member.releaseReplies();
    await flushed(); // the reply is written to the client's socket, not read
    block(2_250);
    expect(client.state).toBe('EXPIRED');
    expect(log).toEqual([expect.stringMatching(/^expired: no server answered within the session timeout \(1500 ms\)/)]);
    const error = await rejection(reading);
    expect(ZabError.isInstance(error, 'SESSION_EXPIRED')).toBe(true);
    expect(settled).toEqual(['rejected']);
    expect(client.sessionMsLeft).toBe(0);
    expect(ZabError.isInstance(await rejection(client.exists('/')), 'SESSION_EXPIRED')).toBe(true);
  });

  it('a frame that arrives while the clock says stale is dropped with its connection: no watch, no reply until the resume', async () => {
    // A long timeout, so no timer (pings every 10 s, read timeout 20 s) runs during the test:
    // only the frames can notice the pause.
    const ensemble = await start(2);
    const [first, second] = ensemble.members as [FakeEnsemble['members'][0], FakeEnsemble['members'][0]];
    const client = await open(`127.0.0.1:${first.port}`, 30_000);
    // The session clock is the process's: the writer's read timeout (40 s) outlasts the pause.
    const writer = await open(`127.0.0.1:${second.port}`, 60_000);
    await writer.create('/w', 'one');
    const log = record(client);
    const watched = client.get('/w', { watch: (event) => log.push(`watch ${event.type} ${event.path}`) });
    await watched;

    first.holdReplies = true;
    const framesBefore = ensemble.frames.length;
    const reading = client.get('/w');
    reading.catch(() => {});
    await waitFor(() => ensemble.frames.length > framesBefore, 'the getData to reach the member');
    pause(25_000); // past the read timeout, within the session timeout
    await writer.set('/w', 'two'); // the data watch event is on its way to the client
    first.releaseReplies(); // and so is the held reply

    const error = await rejection(reading);
    expect(ZabError.isInstance(error, 'CONNECTION_LOSS')).toBe(true);
    expect((error as ZabError).message).toMatch(/stale connection/);
    await waitFor(() => log.includes('reconnected') && log.length >= 3, 'the resume and the watch');
    // The watch fires once, after the resume: setWatches with the zxid the client had seen
    // (the dropped event did not advance it) makes the server send it again.
    expect(log).toEqual([
      expect.stringMatching(/^disconnected: stale connection: nothing heard from 127\.0\.0\.1:\d+ for \d+ ms/),
      'reconnected',
      'watch NODE_DATA_CHANGED /w',
    ]);
    expect(client.state).toBe('CONNECTED');
    expect(new TextDecoder().decode((await client.get('/w')).data)).toBe('two');
  });

  it('sessionMsLeft counts down from the last answer; `state` and waitForState follow the read timeout and the timeout', async () => {
    const ensemble = await start(1);
    const client = await open(ensemble.connectString, 30_000);
    await client.exists('/');
    const fresh = client.sessionMsLeft;
    expect(fresh).toBeGreaterThan(29_000);
    expect(fresh).toBeLessThanOrEqual(30_000);
    pause(15_000); // half the timeout: still CONNECTED (the read timeout is 20 s)
    expect(client.state).toBe('CONNECTED');
    expect(client.sessionMsLeft).toBeLessThanOrEqual(fresh - 15_000 + 5);
    expect(client.sessionMsLeft).toBeGreaterThan(14_000);
    const log = record(client);
    vi.restoreAllMocks();
    pause(21_000); // past the read timeout
    let connected = false;
    const waiting = client.waitForState('CONNECTED').then(() => {
      connected = true;
    });
    expect(connected).toBe(false);
    expect(log).toEqual([expect.stringMatching(/^disconnected: stale connection/)]);
    expect(client.sessionMsLeft).toBeLessThan(9_100);
    await waiting;
    expect(log).toEqual([expect.stringMatching(/^disconnected: stale connection/), 'reconnected']);
    // The resume confirmed the session: the count starts again from its connect request.
    expect(client.sessionMsLeft).toBeGreaterThan(29_000);
    vi.restoreAllMocks();
    pause(31_000 + 21_000);
    expect(client.state).toBe('EXPIRED');
    expect(client.sessionMsLeft).toBe(0);
  });
});
