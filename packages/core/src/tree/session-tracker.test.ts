import { describe, expect, it } from 'vitest';
import { makeSessionId, SessionTracker } from './session-tracker.js';

describe('makeSessionId', () => {
  it('packs server id, epoch and counter into a safe integer, distinct across servers and epochs', () => {
    const max = makeSessionId(255, 0x1fff, 0xffff_ffff);
    expect(max).toBe(Number.MAX_SAFE_INTEGER);
    expect(Number.isSafeInteger(max)).toBe(true);
    const ids = new Set([
      makeSessionId(1, 1, 0),
      makeSessionId(2, 1, 0),
      makeSessionId(1, 2, 0),
      makeSessionId(1, 1, 1),
    ]);
    expect(ids.size).toBe(4);
    expect(() => makeSessionId(0, 1, 0)).toThrow(RangeError);
    expect(() => makeSessionId(256, 1, 0)).toThrow(RangeError);
    expect(() => makeSessionId(1, 1, 2 ** 32)).toThrow(RangeError);
  });
});

describe('SessionTracker', () => {
  it('negotiates timeouts within [2, 20] × tickMs by default (ZooKeeper min/maxSessionTimeout)', () => {
    const tracker = new SessionTracker({ serverId: 1, epoch: 1, tickMs: 100 });
    expect(tracker.negotiateTimeout(50)).toBe(200);
    expect(tracker.negotiateTimeout(1000)).toBe(1000);
    expect(tracker.negotiateTimeout(60_000)).toBe(2000);
    const custom = new SessionTracker({
      serverId: 1,
      epoch: 1,
      tickMs: 100,
      sessionTimeoutMsMin: 500,
      sessionTimeoutMsMax: 800,
    });
    expect(custom.createSession(10).timeoutMs).toBe(500);
    expect(
      () =>
        new SessionTracker({ serverId: 1, epoch: 1, tickMs: 100, sessionTimeoutMsMin: 900, sessionTimeoutMsMax: 800 }),
    ).toThrow(RangeError);
  });

  it('expires a session after ceil(timeout / tickMs) ticks without a touch; touch renews it', () => {
    const tracker = new SessionTracker({ serverId: 3, epoch: 7, tickMs: 100 });
    const { sessionId } = tracker.createSession(250); // 3 ticks
    expect(sessionId).toBe(makeSessionId(3, 7, 0));
    expect(tracker.tick()).toEqual([]);
    expect(tracker.tick()).toEqual([]);
    expect(tracker.touch(sessionId)).toBe(true); // renewed at tick 2: now expires at tick 5
    expect(tracker.tick()).toEqual([]);
    expect(tracker.tick()).toEqual([]);
    expect(tracker.tick()).toEqual([sessionId]);
    expect(tracker.checkSession(sessionId)).toBe('SESSION_EXPIRED');
    expect(tracker.touch(sessionId)).toBe(false);
    tracker.removeSession(sessionId);
    expect(tracker.checkSession(sessionId)).toBe('UNKNOWN_SESSION');
  });

  it('returns every session expiring on one tick, in id order, and never twice', () => {
    const tracker = new SessionTracker({ serverId: 1, epoch: 1, tickMs: 10 });
    const ids = [tracker.createSession(20).sessionId, tracker.createSession(20).sessionId];
    const long = tracker.createSession(200).sessionId;
    tracker.tick();
    expect(tracker.tick()).toEqual(ids);
    for (let i = 0; i < 30; i++) expect(tracker.tick()).not.toContain(ids[0]);
    expect(tracker.checkSession(long)).toBe('SESSION_EXPIRED');
  });

  it('a new leader tracks the tree sessions with a full timeout; ids skip ones in use', () => {
    const tracker = new SessionTracker({ serverId: 1, epoch: 2, tickMs: 100 });
    tracker.addSession(makeSessionId(1, 2, 0), 1000);
    expect(tracker.createSession(1000).sessionId).toBe(makeSessionId(1, 2, 1));
    for (let i = 0; i < 9; i++) expect(tracker.tick()).toEqual([]);
    expect(tracker.tick()).toHaveLength(2);
  });

  it('closing sessions do not expire again; setClosing(false) revives with a full timeout', () => {
    const tracker = new SessionTracker({ serverId: 1, epoch: 1, tickMs: 100 });
    const { sessionId } = tracker.createSession(200);
    tracker.setClosing(sessionId);
    expect(tracker.tick()).toEqual([]);
    expect(tracker.tick()).toEqual([]);
    tracker.setClosing(sessionId, false);
    expect(tracker.isLive(sessionId)).toBe(true);
    tracker.tick();
    expect(tracker.tick()).toEqual([sessionId]);
  });
});
