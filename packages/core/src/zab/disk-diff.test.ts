import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../types.js';
import { makeZxid } from '../zxid.js';
import { History } from './history.js';
import { staticConfig } from './membership.js';
import { Outbox } from './outbox.js';
import { planSync } from './sync-stream.js';
import { Ensemble, text } from './test/ensemble.js';
import { TrimmedZxids } from './trimmed-zxids.js';

const config = staticConfig([1], []);

function entry(zxid: number): LogEntry {
  return { zxid, sessionId: 1, cxid: 0, timeMs: 0, txn: { type: 'delete', path: `/n${zxid}` } };
}

/** historyOf is a History rooted at `base` holding `zxids`, all applied, trimmed to `keep` entries. */
function historyOf(base: number, zxids: number[], keep: number): History {
  const log = new History(base, config, zxids.map(entry), new Outbox(10, 1 << 20), keep, 1 << 30);
  log.trim(() => zxids.at(-1) as number);
  return log;
}

describe('TrimmedZxids', () => {
  it('keeps consecutive zxids as runs and answers holds, countAfter and next across them', () => {
    const trimmed = new TrimmedZxids(makeZxid(1, 3), 1 << 20);
    for (let counter = 4; counter <= 9; counter++) trimmed.add(makeZxid(1, counter), 10);
    for (let counter = 1; counter <= 5; counter++) trimmed.add(makeZxid(2, counter), 10);
    expect(trimmed.holds(makeZxid(1, 3))).toBe(true);
    expect(trimmed.holds(makeZxid(1, 2))).toBe(false);
    expect(trimmed.holds(makeZxid(1, 9))).toBe(true);
    expect(trimmed.holds(makeZxid(1, 10))).toBe(false);
    expect(trimmed.holds(makeZxid(2, 5))).toBe(true);
    expect(trimmed.countAfter(makeZxid(1, 3))).toBe(11);
    expect(trimmed.countAfter(makeZxid(1, 7))).toBe(7);
    expect(trimmed.countAfter(makeZxid(2, 5))).toBe(0);
    expect(trimmed.next(makeZxid(1, 9))).toBe(makeZxid(2, 1));
    expect(trimmed.next(makeZxid(1, 5))).toBe(makeZxid(1, 6));
    expect(trimmed.next(makeZxid(2, 5))).toBeNull();
    expect(trimmed.last()).toBe(makeZxid(2, 5));
    expect(trimmed.bytesAfter(makeZxid(1, 9))).toBe(50);
    expect(() => trimmed.add(makeZxid(2, 5), 10)).toThrow(/not above/);
    trimmed.reset(makeZxid(2, 5));
    expect(trimmed.holds(makeZxid(1, 5))).toBe(false);
    expect(trimmed.holds(makeZxid(2, 5))).toBe(true);
    expect(trimmed.countAfter(0)).toBe(0);
  });
});

describe('TrimmedZxids keeps only the last bytesMax bytes', () => {
  it('cuts pieces at bytesMax/64, bounds bytesAfter from above by one piece, and raises the floor past what is too old', () => {
    // 6,400 bytes at most: pieces of 100 bytes, ten entries of 10 bytes each.
    const trimmed = new TrimmedZxids(0, 6_400);
    for (let counter = 1; counter <= 1_000; counter++) trimmed.add(makeZxid(1, counter), 10);
    // 10,000 bytes were trimmed; the oldest pieces went, so that what is left above the oldest piece is under 6,400.
    expect(trimmed.floor).toBe(makeZxid(1, 360));
    expect(trimmed.holds(makeZxid(1, 359))).toBe(false);
    expect(trimmed.holds(makeZxid(1, 360))).toBe(true);
    expect(trimmed.holds(makeZxid(1, 361))).toBe(true);
    expect(trimmed.countAfter(makeZxid(1, 360))).toBe(640);
    expect(trimmed.bytesAfter(makeZxid(1, 360))).toBe(6_400);
    // Inside a piece: the whole piece counts (at most 100 bytes over the truth, 50 here).
    expect(trimmed.bytesAfter(makeZxid(1, 995))).toBe(100);
    expect(trimmed.bytesAfter(makeZxid(1, 1_000))).toBe(0);
  });
});

describe('planSync offers a DIFF from disk', () => {
  const zxids = [1, 2, 3, 4, 5, 6, 7, 8].map((counter) => makeZxid(1, counter));

  it('to a learner whose last zxid was trimmed, while what it lacks is within the factor', () => {
    const log = historyOf(0, zxids, 2);
    expect(log.base).toBe(makeZxid(1, 6));
    expect(planSync(log, makeZxid(1, 8), makeZxid(1, 2), { factor: 1, znodes: 6, bytesMax: 1 << 30 })).toEqual({
      mode: 'DIFF',
      truncZxid: 0,
      from: makeZxid(1, 2),
    });
    // It lacks 6 entries: more than 0.5 × 6 znodes.
    expect(planSync(log, makeZxid(1, 8), makeZxid(1, 2), { factor: 0.5, znodes: 6, bytesMax: 1 << 30 }).mode).toBe(
      'SNAP',
    );
    // Off by default.
    expect(planSync(log, makeZxid(1, 8), makeZxid(1, 2)).mode).toBe('SNAP');
  });

  it('not past historyBytesMax bytes: the learner would hold them all in memory until NEWLEADER', () => {
    const log = historyOf(0, zxids, 2);
    const lacking = log.trimmed.bytesAfter(makeZxid(1, 2)) + log.bytes;
    const plan = (bytesMax: number) =>
      planSync(log, makeZxid(1, 8), makeZxid(1, 2), { factor: 100, znodes: 100, bytesMax }).mode;
    expect(plan(lacking)).toBe('DIFF');
    expect(plan(lacking - 1)).toBe('SNAP');
  });

  it('never below the floor the history was rooted at, nor for a zxid the history does not hold', () => {
    const log = historyOf(makeZxid(1, 2), zxids.slice(2), 2);
    // (1,1) is below the floor: the log on disk there may be an older history.
    expect(planSync(log, makeZxid(1, 8), makeZxid(1, 1), { factor: 100, znodes: 100, bytesMax: 1 << 30 }).mode).toBe(
      'SNAP',
    );
    expect(planSync(log, makeZxid(1, 8), makeZxid(1, 2), { factor: 100, znodes: 100, bytesMax: 1 << 30 }).mode).toBe(
      'DIFF',
    );
    // (0,7) is no entry of ours (a learner's own uncommitted one from an old epoch).
    const gap = historyOf(0, [makeZxid(1, 1), makeZxid(1, 2), makeZxid(3, 1), makeZxid(3, 2), makeZxid(3, 3)], 1);
    expect(planSync(gap, makeZxid(3, 3), makeZxid(2, 7), { factor: 100, znodes: 100, bytesMax: 1 << 30 }).mode).toBe(
      'SNAP',
    );
    expect(planSync(gap, makeZxid(3, 3), makeZxid(1, 2), { factor: 100, znodes: 100, bytesMax: 1 << 30 }).mode).toBe(
      'DIFF',
    );
  });
});

describe('a follower behind the in-memory history catches up from the leader disk', () => {
  /** behind: a follower stopped while 300 creates commit, then restarted; `failReads` answers every LogRead with null. */
  function behind(options: { diskDiffFactor: number }, failReads = false) {
    const ensemble = new Ensemble([1, 2, 3], [], new Map(), { historyEntriesMax: 20, ...options });
    ensemble.logReadsFail = failReads;
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const session = ensemble.createSession(leader);
    ensemble.stop(follower);
    for (let xid = 1; xid <= 300; xid++) {
      ensemble
        .peer(leader)
        .submit(session, xid, { op: 'create', path: `/n${xid}`, data: text('x'), mode: 0, ttlMs: 0 });
    }
    ensemble.settle(3);
    expect(ensemble.reply(leader, session, 300)?.error).toBeNull();
    expect(ensemble.peer(leader).history().length).toBeLessThanOrEqual(21);
    const from = ensemble.readies.length;
    ensemble.restart(follower);
    ensemble.settle(60);
    const readies = ensemble.readies.slice(from);
    const modes = readies.flatMap(({ ready }) =>
      ready.messages.flatMap(({ message }) => (message.type === 'sync' ? [message.mode] : [])),
    );
    return { ensemble, leader, follower, modes, readies };
  }

  it('by DIFF: the leader reads what it trimmed from its log and streams it', () => {
    const { ensemble, leader, follower, modes } = behind({ diskDiffFactor: 10 });
    expect(modes).toEqual(['DIFF']);
    expect(ensemble.logReadsAnswered).toBeGreaterThan(0);
    expect(ensemble.peer(follower).stateDigest()).toBe(ensemble.peer(leader).stateDigest());
    expect(ensemble.peer(follower).status().lastLoggedZxid).toBe(ensemble.peer(leader).status().lastLoggedZxid);
  });

  it('by SNAP when it lacks more than the factor allows', () => {
    const { ensemble, leader, follower, modes } = behind({ diskDiffFactor: 0.5 });
    expect(modes).toEqual(['SNAP']);
    expect(ensemble.logReadsAnswered).toBe(0);
    expect(ensemble.peer(follower).stateDigest()).toBe(ensemble.peer(leader).stateDigest());
  });

  it('by SNAP after a read fails: the leader drops the learner and stops offering its disk below its base', () => {
    const { ensemble, leader, follower, modes, readies } = behind({ diskDiffFactor: 10 }, true);
    expect(modes).toEqual(['DIFF', 'SNAP']);
    expect(readies.some(({ id, ready }) => id === leader && ready.disconnect.includes(follower))).toBe(true);
    expect(ensemble.peer(follower).stateDigest()).toBe(ensemble.peer(leader).stateDigest());
    expect(ensemble.peer(follower).status().established).toBe(true);
  });
});
