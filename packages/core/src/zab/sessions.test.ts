import { describe, expect, it } from 'vitest';
import type { Request } from '../types.js';
import type { ReplicatedMachine } from './machine.js';
import { negotiateSessionTimeoutMs, SessionExpiry, sessionTimeoutBounds, sessionTimeoutTicks } from './sessions.js';

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
    expiry.track(7, 300, 0);
    expiry.check(2, 0, machine, propose);
    expiry.touch(7, 2);
    expiry.check(4, 0, machine, propose);
    expect(proposed).toEqual([]);
    expiry.check(5, 0, machine, propose);
    expiry.check(6, 0, machine, propose);
    // Proposed once: the second check waits for the first proposal to be applied.
    expect(proposed).toEqual([[7, { op: 'closeSession' }]]);
    expiry.closed(7);
    expect(expiry.isTracked(7)).toBe(false);
  });
});
