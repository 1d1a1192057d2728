import { describe, expect, it } from 'vitest';
import { SessionTracker } from './session-tracker.js';

describe('SessionTracker (the live sessions the pipeline checks)', () => {
  it('answers checkSession as ZooKeeper: live, closing, unknown', () => {
    const tracker = new SessionTracker();
    expect(tracker.checkSession(7)).toBe('UNKNOWN_SESSION');
    tracker.addSession(7, 1000);
    expect(tracker.isLive(7)).toBe(true);
    expect(tracker.timeoutMsOf(7)).toBe(1000);
    tracker.setClosing(7);
    expect(tracker.checkSession(7)).toBe('SESSION_EXPIRED');
    tracker.setClosing(7, false);
    expect(tracker.isLive(7)).toBe(true);
    tracker.removeSession(7);
    expect(tracker.checkSession(7)).toBe('UNKNOWN_SESSION');
    expect(tracker.size).toBe(0);
  });

  it('refuses a non-positive timeout', () => {
    expect(() => new SessionTracker().addSession(1, 0)).toThrow(RangeError);
  });
});
