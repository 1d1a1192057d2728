import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WatchEvent } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { RawClient, until } from './raw-client.js';

// Real `zabkit-server` processes on loopback (the built dist/bin.js). A session must live at least
// its negotiated timeout after the last frame its client sent: a client counts on that to know
// how long its ephemerals (a lock, a leadership) surely stand (ZooKeeper's ExpiryQueue rounds the
// deadline up for the same reason). Long ticks make a deadline rounded the wrong way show: with
// 200 ms ticks, counting from the start of the tick of the last touch expires up to 200 ms early.

const TICK_MS = 200;
/** Timeouts a whole number of ticks (1 000) and not (1 100, 1 500 = 7.5 ticks). */
const TIMEOUTS_MS = [1_000, 1_100, 1_500];
const SESSIONS_PER_MEMBER = 16;

const running: Ensemble[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(running.splice(0).map((ensemble) => ensemble.close()));
});

function address(ensemble: Ensemble, id: number): string {
  const member = ensemble.members.find((m) => m.id === id);
  if (!member) throw new Error(`no member ${id}`);
  return `${member.host}:${member.clientPort}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

interface Probe {
  path: string;
  member: number;
  timeoutMs: number;
  how: 'silent' | 'closed';
  /** lastSentMs: when the client sent its last frame (performance.now): the server touched the session after it. */
  lastSentMs: number;
  goneMs?: number;
}

describe('session expiry (real processes)', () => {
  it('no session expires before its negotiated timeout after its last frame, on any member', async () => {
    const ensemble = await startEnsemble({
      size: 3,
      dir: mkdtempSync(join(tmpdir(), 'zabkit-expiry-')),
      config: { tickMs: TICK_MS, sessionTimeoutMsMin: 400, initLimitTicks: 20, syncLimitTicks: 10 },
    });
    running.push(ensemble);
    const leader = await ensemble.waitForLeader();

    // One watcher per member, on the member of the sessions it watches: it sees their ephemerals
    // as soon as their creates are answered, and learns each deletion when that member applies it.
    const probes = new Map<string, Probe>();
    const watchers = new Map<number, RawClient>();
    for (const id of [1, 2, 3]) {
      const watcher = await RawClient.connect(address(ensemble, id), undefined, 30_000);
      clients.push(watcher);
      watcher.startPinging(1_000);
      // Time each deletion event as it arrives.
      const push = watcher.events.push.bind(watcher.events);
      watcher.events.push = (...events: WatchEvent[]) => {
        const now = performance.now();
        for (const event of events) {
          const probe = probes.get(event.path);
          if (probe !== undefined && probe.goneMs === undefined) probe.goneMs = now;
        }
        return push(...events);
      };
      watchers.set(id, watcher);
    }

    const started = performance.now();
    const runs: Promise<void>[] = [];
    for (const member of [1, 2, 3]) {
      for (let i = 0; i < SESSIONS_PER_MEMBER; i++) {
        runs.push(
          (async () => {
            const timeoutMs = TIMEOUTS_MS[i % TIMEOUTS_MS.length] as number;
            const how = i % 2 === 0 ? 'silent' : 'closed';
            const path = `/e-${member}-${i}`;
            const client = await RawClient.connect(address(ensemble, member), undefined, timeoutMs);
            clients.push(client);
            expect(client.timeoutMs).toBe(timeoutMs);
            const created = await client.request({ op: 'create', path, data: new Uint8Array(), mode: 1, ttlMs: 0 });
            expect(created.error).toBeNull();
            const watched = await (watchers.get(member) as RawClient).exists(path, true);
            expect(watched.result?.op === 'exists' && watched.result.stat !== null).toBe(true);
            // The last frame goes at a random moment within a tick.
            await sleep(Math.random() * TICK_MS);
            const probe: Probe = { path, member, timeoutMs, how, lastSentMs: performance.now() };
            probes.set(path, probe);
            const last = await client.exists('/');
            expect(last.error).toBeNull();
            // Then the client goes silent with its connection open, or its connection goes (as at a kill -9).
            if (how === 'closed') client.close();
          })(),
        );
      }
    }
    await Promise.all(runs);
    await until(
      'every ephemeral to be deleted by expiry',
      () => [...probes.values()].every((p) => p.goneMs !== undefined),
      10_000,
    );
    const totalMs = performance.now() - started;

    const lived = [...probes.values()].map((probe) => ({
      ...probe,
      livedMs: (probe.goneMs as number) - probe.lastSentMs,
      marginMs: (probe.goneMs as number) - probe.lastSentMs - probe.timeoutMs,
    }));
    const margins = lived.map((p) => p.marginMs).sort((a, b) => a - b);
    const ratios = lived.map((p) => p.livedMs / p.timeoutMs).sort((a, b) => a - b);
    const summary = (values: number[], digits: number) =>
      `min ${(values[0] as number).toFixed(digits)}, median ${quantile(values, 0.5).toFixed(digits)}, max ${(values.at(-1) as number).toFixed(digits)}`;
    console.log(
      `session expiry: ${lived.length} sessions (leader ${leader}, tick ${TICK_MS} ms, timeouts ${TIMEOUTS_MS.join('/')} ms, ` +
        `${totalMs.toFixed(0)} ms in all); ms lived past the timeout since the last frame sent: ${summary(margins, 1)}; ` +
        `lived / timeout: ${summary(ratios, 3)}`,
    );
    for (const member of [1, 2, 3]) {
      const own = lived
        .filter((p) => p.member === member)
        .map((p) => p.marginMs)
        .sort((a, b) => a - b);
      console.log(`  on member ${member}${member === leader ? ' (leader)' : ''}: ${summary(own, 1)}`);
    }
    const early = lived.filter((p) => p.marginMs < 0);
    expect(
      early.map((p) => `${p.path} (${p.how}, ${p.timeoutMs} ms): gone ${p.livedMs.toFixed(1)} ms after its last frame`),
    ).toEqual([]);
  }, 60_000);
});
