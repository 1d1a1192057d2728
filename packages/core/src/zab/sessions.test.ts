import { describe, expect, it } from 'vitest';
import type { Request } from '../types.js';
import type { ReplicatedMachine } from './machine.js';
import {
  expiryDeadlineTick,
  negotiateSessionTimeoutMs,
  SessionExpiry,
  sessionTimeoutBounds,
  sessionTimeoutTicks,
} from './sessions.js';

describe('session timeouts', () => {
  it('negotiates into [min, max], 2 and 20 ticks by default', () => {
    const bounds = sessionTimeoutBounds(100);
    expect(bounds).toEqual({ sessionTimeoutMsMin: 200, sessionTimeoutMsMax: 2000 });
    expect(negotiateSessionTimeoutMs(50, bounds)).toBe(200);
    expect(negotiateSessionTimeoutMs(1000.7, bounds)).toBe(1000);
    expect(negotiateSessionTimeoutMs(60_000, bounds)).toBe(2000);
    expect(negotiateSessionTimeoutMs(Number.NaN, bounds)).toBe(200);
    expect(negotiateSessionTimeoutMs(5_000, sessionTimeoutBounds(100, 1_000, 10_000))).toBe(5_000);
  });

  it('refuses a bad tick or bounds', () => {
    expect(() => sessionTimeoutBounds(0)).toThrow(RangeError);
    expect(() => sessionTimeoutBounds(100, 900, 800)).toThrow(RangeError);
  });

  it('a session lives ceil(timeout / tick) ticks, at least one', () => {
    expect(sessionTimeoutTicks(1000, 100)).toBe(10);
    expect(sessionTimeoutTicks(1001, 100)).toBe(11);
    expect(sessionTimeoutTicks(1, 100)).toBe(1);
  });
});

describe('SessionExpiry', () => {
  function machineWith(live: Set<number>): ReplicatedMachine {
    return {
      lastAppliedZxid: 0,
      hasSession: (sessionId: number) => live.has(sessionId),
      expiredNodes: () => [],
    } as unknown as ReplicatedMachine;
  }

  it('proposes one closeSession once a session goes untouched for its timeout, and a touch renews it', () => {
    const expiry = new SessionExpiry(100, 1, 0);
    const machine = machineWith(new Set([7]));
    const proposed: [number, Request][] = [];
    const propose = (sessionId: number, request: Request) => {
      proposed.push([sessionId, request]);
      return 100 + proposed.length;
    };
    const check = (tick: number) => expiry.check(tick, tick * 100, machine, propose);
    expiry.track(7, 300, 0);
    check(1);
    check(2);
    expiry.touch(7, 2);
    // Touched in tick 2 (maybe at its very end): 300 ms have surely passed only at tick 6.
    check(3);
    check(4);
    check(5);
    expect(proposed).toEqual([]);
    check(6);
    check(7);
    // Proposed once: the second check waits for the first proposal to be applied.
    expect(proposed).toEqual([[7, { op: 'closeSession' }]]);
    expiry.closed(7);
    expect(expiry.isTracked(7)).toBe(false);
  });

  /**
   * expiredAfterMs runs a leader's ticks at the host times `tickTimesMs` (the first tick is 0),
   * with one touch at `touchMs` (between two ticks), and returns how long after the touch the
   * session of `timeoutMs` was proposed for expiry.
   */
  function expiredAfterMs(tickMs: number, timeoutMs: number, tickTimesMs: number[], touchMs: number): number {
    const expiry = new SessionExpiry(tickMs, 1, 0);
    const machine = machineWith(new Set([7]));
    let expiredAtMs: number | undefined;
    let touched = false;
    for (let tick = 1; tick < tickTimesMs.length && expiredAtMs === undefined; tick++) {
      const nowMs = tickTimesMs[tick] as number;
      if (!touched && nowMs > touchMs) {
        // The touch came in between tick - 1 and this tick.
        expiry.track(7, timeoutMs, tick - 1);
        touched = true;
      }
      expiry.check(tick, nowMs, machine, () => {
        expiredAtMs = nowMs;
        return 1;
      });
    }
    if (expiredAtMs === undefined) throw new Error('never expired');
    return expiredAtMs - touchMs;
  }

  it('never expires a session before its timeout has passed since the touch, wherever in its tick the touch fell', () => {
    for (const [tickMs, timeoutMs] of [
      [100, 300],
      [100, 250],
      [50, 1_000],
      [2_000, 3_000],
      [100, 1],
    ] as const) {
      const onTime = Array.from({ length: 200 }, (_, tick) => tick * tickMs);
      for (let touchMs = 1_000; touchMs < 1_000 + tickMs; touchMs += Math.max(1, tickMs / 10)) {
        const livedMs = expiredAfterMs(tickMs, timeoutMs, onTime, touchMs + 0.5);
        const what = `tick ${tickMs} ms, timeout ${timeoutMs} ms, touch at ${touchMs + 0.5} ms`;
        expect(livedMs, what).toBeGreaterThanOrEqual(timeoutMs);
        // …and not much after: at most one tick more than the timeout rounded up to ticks.
        expect(livedMs, what).toBeLessThanOrEqual(sessionTimeoutTicks(timeoutMs, tickMs) * tickMs + tickMs);
      }
    }
    expect(expiryDeadlineTick(5, 3)).toBe(9);
  });

  it('a host timer that fires a little early each tick does not expire a session early', () => {
    // Node's timers count whole ms: a 200 ms interval may fire after 199.4 ms.
    const early = Array.from({ length: 100 }, (_, tick) => tick * 199.4);
    for (let touchMs = 995; touchMs < 1_194; touchMs += 7) {
      expect(expiredAfterMs(200, 1_000, early, touchMs), `touch at ${touchMs} ms`).toBeGreaterThanOrEqual(1_000);
    }
  });

  it('ticks a stopped host runs at once when it wakes do not expire a session touched meanwhile', () => {
    // Ticks at 0..1 000 ms, then the host stops for 5 s; it wakes at 6 000 ms, reads a ping (the
    // touch, at 6 000.5 ms) and runs the 25 missed ticks within a ms; then ticks go on normally.
    const times = [
      ...Array.from({ length: 6 }, (_, tick) => tick * 200),
      6_000,
      ...Array.from({ length: 25 }, (_, i) => 6_001 + i * 0.01),
      ...Array.from({ length: 20 }, (_, i) => 6_200 + i * 200),
    ];
    expect(expiredAfterMs(200, 1_000, times, 6_000.5)).toBeGreaterThanOrEqual(1_000);
  });
});
