// Session passwords (issue 14): the member a client asks draws a random password, the leader puts
// it in the createSession transaction, and every replica then holds it, so a resume is checked the
// same on any member, after a restart and after a member is rebuilt by sync. A wrong password and a
// session that is not live get the same answer (undefined), so probing ids tells nothing.
import { describe, expect, it } from 'vitest';
import { SESSION_PASSWORD_BYTES, samePassword } from './sessions.js';
import { Ensemble } from './test/ensemble.js';

const password = Uint8Array.from({ length: SESSION_PASSWORD_BYTES }, (_, i) => (i * 53 + 7) % 256);

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] as number) ^ 0x01;
  return copy;
}

describe('session passwords', () => {
  it('are replicated: every member resumes with the password and refuses any other', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const sessionId = ensemble.createSession(follower, password);
    ensemble.settle(5);
    for (const id of [1, 2, 3]) {
      const peer = ensemble.peer(id);
      expect(peer.resumableSession(sessionId, password)).toBe(peer.sessionTimeoutMs(sessionId));
      expect(peer.sessionTimeoutMs(sessionId)).toBeGreaterThan(0);
      for (let index = 0; index < SESSION_PASSWORD_BYTES; index++) {
        expect(peer.resumableSession(sessionId, flipped(password, index))).toBeUndefined();
      }
      expect(peer.resumableSession(sessionId, new Uint8Array(SESSION_PASSWORD_BYTES))).toBeUndefined();
      expect(peer.resumableSession(sessionId, password.subarray(0, 15))).toBeUndefined();
      expect(peer.resumableSession(sessionId, new Uint8Array(0))).toBeUndefined();
      // Not live: the same answer as a wrong password.
      expect(peer.resumableSession(sessionId + 1, password)).toBeUndefined();
    }
  });

  it('survive a restart from the log and a member rebuilt from nothing by sync', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const sessionId = ensemble.createSession(leader, password);
    ensemble.settle(5);
    const [restarted, wiped] = ensemble.restartFollowers(leader, sessionId);
    for (const id of [restarted, wiped]) {
      expect(ensemble.peer(id).status().phase).toBe('broadcast');
      expect(ensemble.peer(id).resumableSession(sessionId, password)).toBeGreaterThan(0);
      expect(ensemble.peer(id).resumableSession(sessionId, flipped(password, 3))).toBeUndefined();
    }
  });
});

describe('samePassword', () => {
  it('matches only the same bytes; an empty stored password (a session from before passwords) matches nothing', () => {
    expect(samePassword(password, password.slice())).toBe(true);
    expect(samePassword(password, flipped(password, 15))).toBe(false);
    expect(samePassword(password, new Uint8Array([...password, 0]))).toBe(false);
    expect(samePassword(new Uint8Array(0), new Uint8Array(0))).toBe(false);
    expect(samePassword(new Uint8Array(0), password)).toBe(false);
  });
});
