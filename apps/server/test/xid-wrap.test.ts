import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, connect, describeMember, expectHealthy, roles, startBystanders, startHarness } from './acceptance.js';
import { XID_MAX } from './raw-client.js';

// Issue 12, xid wrap-around: a ZooKeeper client's xid counts up to 2^31-1 and then starts again at
// 1. A member must not take the session's writes after the wrap for late duplicates of the ones
// before it (the leader drops forwards whose xid is not above the last it saw): each write of the
// session must still be answered, through a follower as through the leader.

afterEach(cleanup);

describe('issue 12: xid wrap-around', () => {
  it('a session whose xids cross 2^31-1 → 1 on a follower keeps getting replies to its writes', async () => {
    const harness = await startHarness();
    const { leader, followers } = await roles(harness);
    const follower = followers[0] as number;
    await startBystanders(harness, [leader, ...followers]);
    const client = await connect(harness, follower);
    client.startPinging(1_000);
    await client.create('/wrap', '');
    harness.ledger.ack('/wrap', new Uint8Array(0));
    client.setNextXid(XID_MAX - 2);
    const sent: { xid: number; outcome: string }[] = [];
    // 3 writes before the wrap (xids 2^31-3, 2^31-2, 2^31-1), then 20 after it (xids 1 … 20), each
    // waited for; from the sixth on, a read after every fifth.
    for (let i = 0; i < 23; i++) {
      const xid = client.peekXid();
      const path = `/wrap/w-${i}`;
      const data = new TextEncoder().encode(`xid ${xid}`);
      let outcome: string;
      try {
        const reply = await client.createBytes(path, data, 0, 5_000);
        outcome = reply.error ?? 'ok';
        if (reply.error === null) harness.ledger.ack(path, data);
      } catch (error) {
        outcome = `no reply: ${(error as Error).message}`;
      }
      sent.push({ xid, outcome });
      if (outcome !== 'ok') break;
      if (i >= 5 && i % 5 === 0) expect((await client.getData(path, false, 5_000)).error).toBeNull();
    }
    console.log(`writes by xid: ${sent.map(({ xid, outcome }) => `${xid}:${outcome}`).join(' ')}`);
    // The first four writes carried 2^31-3, 2^31-2, 2^31-1 and then 1 (reads come later).
    expect(sent.slice(0, 4).map(({ xid }) => xid)).toEqual(
      [XID_MAX - 2, XID_MAX - 1, XID_MAX, 1].slice(0, sent.length),
    );
    expect(
      sent.filter(({ outcome }) => outcome !== 'ok'),
      `writes of the wrapped session through follower ${follower}\n${describeMember(harness, leader)}`,
    ).toEqual([]);
    expect(sent).toHaveLength(23);
    // The same session keeps working afterwards, through the same follower.
    expect(client.closed).toBe(false);
    const after = await client.createBytes('/wrap/after', new TextEncoder().encode('after'), 0, 5_000);
    expect(after.error).toBeNull();
    harness.ledger.ack('/wrap/after', new TextEncoder().encode('after'));
    await expectHealthy(harness, 'after the xid wrap-around');
  }, 90_000);
});
