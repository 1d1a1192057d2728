import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  connect,
  describeMember,
  expectHealthy,
  type Harness,
  memberIds,
  payload,
  roles,
  startBystanders,
  startHarness,
  zxidOf,
} from './acceptance.js';
import { pipelined, type RawReply, until } from './raw-client.js';

// Issue 12, peer messages over the peer frame limit (frameBytesMax + dataBytesMax, 2.1 MiB by
// default): legal writes that the leader batches into one PROPOSAL frame, and the DIFF or SNAP of a
// learner that comes back behind. Each must reach the learners however large the batch; no member
// may exit over it.

afterEach(cleanup);

const KIB = 1024;

/**
 * catchUp waits until member `id` has applied what the leader has, and fails at once if a member
 * process is gone (no point waiting for a learner whose leader exited).
 */
async function catchUp(harness: Harness, id: number, leader: number, what: string): Promise<void> {
  try {
    await until(
      what,
      async () => {
        for (const member of harness.ensemble.members)
          if (member.pid === null) throw new Error(`member ${member.id} exited while ${what}`);
        const [mine, theirs] = [await zxidOf(harness, id), await zxidOf(harness, leader)];
        return mine !== undefined && mine === theirs;
      },
      30_000,
    );
  } catch (error) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    throw new Error(
      `${(error as Error).message}\n${memberIds(harness)
        .map((member) => describeMember(harness, member))
        .join('\n')}`,
    );
  }
}

/** syncLines: the leader's 'synchronizing a learner' log lines (they name DIFF, TRUNC or SNAP). */
function syncLines(harness: Harness): string[] {
  return harness.logs.filter((line) => line.includes('synchronizing a learner'));
}

async function settled(replies: Promise<RawReply>[]): Promise<string[]> {
  const results = await Promise.allSettled(replies);
  return results.map((result) =>
    result.status === 'rejected' ? `no reply: ${(result.reason as Error).message}` : (result.value.error ?? 'ok'),
  );
}

describe('issue 12: peer frames', () => {
  it('8 pipelined setData of 900 KB to the leader all succeed (five bursts), and every member stays up', async () => {
    // A 5 s sync limit, as in resource-limits.test.ts: a CI run with simulations beside it starved
    // the leader for 7–8 ticks at a time and it lost its quorum on the test ensemble's 1 s limit,
    // failing a write with CONNECTION_LOSS — a timing limit, not the frame handling tested here.
    const harness = await startHarness({ syncLimitTicks: 100 });
    const { leader, followers } = await roles(harness);
    await startBystanders(harness, followers);
    const client = await connect(harness, leader);
    const count = 8;
    for (let i = 0; i < count; i++) await client.create(`/large-${i}`, '');
    // Whether the leader batches several of them into one PROPOSAL depends on how the bytes arrive
    // against its fsync: five bursts make a batch over the peer frame limit near certain today.
    for (let burst = 0; burst < 5; burst++) {
      // All 8 leave at once, without waiting for a reply: the leader proposes them together.
      const values = Array.from({ length: count }, (_, i) => payload(900_000, 100 * burst + i));
      const outcomes = await settled(values.map((data, i) => client.setData(`/large-${i}`, data, -1, 30_000)));
      if (outcomes.some((outcome) => outcome !== 'ok')) await new Promise((resolve) => setTimeout(resolve, 500));
      expect(
        outcomes,
        `burst ${burst}: 8 × 900 KB setData through the leader\n${describeMember(harness, leader)}`,
      ).toEqual(Array(count).fill('ok'));
      for (let i = 0; i < count; i++) harness.ledger.ack(`/large-${i}`, values[i] as Uint8Array);
    }
    await expectHealthy(harness, 'after 5 bursts of 8 pipelined 900 KB setData');
  }, 120_000);

  it('a follower stopped while 600 writes of 5 KB commit catches up after its restart (a 3 MB DIFF)', async () => {
    const harness = await startHarness();
    const { leader, followers } = await roles(harness);
    const [behind, other] = followers as [number, number];
    await startBystanders(harness, [leader, other]);
    const client = await connect(harness, leader);
    await client.create('/diff', '');
    await harness.ensemble.stop(behind);
    const writes = 600;
    const values = Array.from({ length: writes }, (_, i) => payload(5 * 1000, i));
    const replies = await pipelined(writes, 32, (i) =>
      client.createBytes(`/diff/n-${i}`, values[i] as Uint8Array, 0, 30_000),
    );
    expect(replies.filter((reply) => reply.error !== null).map((reply) => reply.error)).toEqual([]);
    for (let i = 0; i < writes; i++) harness.ledger.ack(`/diff/n-${i}`, values[i] as Uint8Array);
    const syncsBefore = syncLines(harness).length;
    await harness.ensemble.restart(behind);
    await catchUp(harness, behind, leader, `member ${behind} catches up with leader ${leader}`);
    console.log(`learner sync: ${syncLines(harness).slice(syncsBefore).join(' | ')}`);
    await expectHealthy(harness, `after member ${behind} came back 600 × 5 KB behind`);
  }, 120_000);

  it('with 50 entries kept in memory, a follower 600 writes of 5 KB behind catches up by a DIFF read from the leader log on disk', async () => {
    // Without the DIFF from disk, a learner past the 50 entries in memory could only get a SNAP.
    const harness = await startHarness({ historyEntriesMax: 50, diskDiffFactor: 10 });
    const { leader, followers } = await roles(harness);
    const [behind, other] = followers as [number, number];
    await startBystanders(harness, [leader, other]);
    const client = await connect(harness, leader);
    await client.create('/disk', '');
    await harness.ensemble.stop(behind);
    const writes = 600;
    const values = Array.from({ length: writes }, (_, i) => payload(5 * 1000, 3_000 + i));
    const replies = await pipelined(writes, 32, (i) =>
      client.createBytes(`/disk/n-${i}`, values[i] as Uint8Array, 0, 30_000),
    );
    expect(replies.filter((reply) => reply.error !== null).map((reply) => reply.error)).toEqual([]);
    for (let i = 0; i < writes; i++) harness.ledger.ack(`/disk/n-${i}`, values[i] as Uint8Array);
    const syncsBefore = syncLines(harness).length;
    await harness.ensemble.restart(behind);
    await catchUp(harness, behind, leader, `member ${behind} catches up with leader ${leader}`);
    const syncs = syncLines(harness).slice(syncsBefore);
    console.log(`learner sync: ${syncs.join(' | ')}`);
    expect(syncs.length).toBeGreaterThan(0);
    expect(syncs.every((line) => line.includes('DIFF'))).toBe(true);
    expect(harness.logs.some((line) => line.includes('reading the log for a DIFF failed'))).toBe(false);
    await expectHealthy(harness, `after member ${behind} came back 600 × 5 KB behind a 50-entry history`);
  }, 120_000);

  it('a follower wiped and restarted into a tree of 1,200 znodes of 4 KiB catches up by SNAP', async () => {
    // A short history, so the leader cannot DIFF from zero: the wiped learner must take a SNAP.
    const harness = await startHarness({ historyEntriesMax: 100 });
    const { leader, followers } = await roles(harness);
    const [wiped, other] = followers as [number, number];
    await startBystanders(harness, [leader, other]);
    const client = await connect(harness, leader);
    await client.create('/snap', '');
    const znodes = 1_200;
    const values = Array.from({ length: znodes }, (_, i) => payload(4 * KIB, 7_000 + i));
    const replies = await pipelined(znodes, 32, (i) =>
      client.createBytes(`/snap/n-${i}`, values[i] as Uint8Array, 0, 30_000),
    );
    expect(replies.filter((reply) => reply.error !== null).map((reply) => reply.error)).toEqual([]);
    for (let i = 0; i < znodes; i++) harness.ledger.ack(`/snap/n-${i}`, values[i] as Uint8Array);
    await harness.ensemble.stop(wiped);
    const syncsBefore = syncLines(harness).length;
    await harness.ensemble.restart(wiped, { wipe: true });
    await catchUp(harness, wiped, leader, `wiped member ${wiped} catches up with leader ${leader}`);
    const syncs = syncLines(harness).slice(syncsBefore);
    console.log(`learner sync: ${syncs.join(' | ')}`);
    expect(syncs.some((line) => line.includes('SNAP'))).toBe(true);
    await expectHealthy(harness, `after wiped member ${wiped} rejoined a 4.9 MB tree`);
  }, 120_000);
});
