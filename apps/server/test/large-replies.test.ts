import type { MultiOp } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  connect,
  describeMember,
  expectHealthy,
  memberIds,
  payload,
  roles,
  startBystanders,
  startHarness,
} from './acceptance.js';
import { pipelined, type RawReply } from './raw-client.js';

// Issue 12, replies over the client frame limit (frameBytesMax, 1 MiB + 64 KiB by default): the
// request is legal, only its answer is too large. Like ZooKeeper (jute.maxbuffer on the reply),
// that one request fails with MARSHALLING_ERROR; the session, the connection and the member go on.

afterEach(cleanup);

const MIB = 1024 * 1024;

/** outcome turns a reply that never came (connection closed, timeout) into a value a test can show. */
async function outcome(reply: Promise<RawReply>): Promise<RawReply | { failed: string }> {
  try {
    return await reply;
  } catch (error) {
    // Give a member that died the time to be seen gone, so the failure message says so.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { failed: (error as Error).message };
  }
}

function errorOf(result: RawReply | { failed: string }): string | null {
  return 'failed' in result ? `no reply: ${result.failed}` : result.error;
}

describe('issue 12: a reply over the client frame limit fails alone', () => {
  it('a multiRead of two 1 MiB znodes answers MARSHALLING_ERROR on every member; the session and the ensemble keep serving', async () => {
    const harness = await startHarness();
    const { leader, followers } = await roles(harness);
    await startBystanders(harness, memberIds(harness));
    const writer = await connect(harness, leader);
    for (const [index, name] of ['/big-a', '/big-b'].entries()) {
      const data = payload(MIB, index);
      const reply = await writer.createBytes(name, data, 0, 30_000);
      expect(reply.error, `create ${name} (1 MiB, the largest legal znode)`).toBeNull();
      harness.ledger.ack(name, data);
    }
    for (const id of [...followers, leader]) {
      const client = await connect(harness, id);
      await client.sync();
      const multiRead = await outcome(
        client.multiRead(
          [
            { op: 'getData', path: '/big-a', watch: false },
            { op: 'getData', path: '/big-b', watch: false },
          ],
          15_000,
        ),
      );
      expect(errorOf(multiRead), `multiRead of 2 × 1 MiB on member ${id}\n${describeMember(harness, id)}`).toBe(
        'MARSHALLING_ERROR',
      );
      // The same session goes on: one 1 MiB znode alone fits a reply, and writes are acknowledged.
      expect(client.closed, `the session on member ${id} must keep its connection`).toBe(false);
      const alone = await client.getData('/big-a', false, 15_000);
      expect(alone.error).toBeNull();
      expect(alone.result?.op === 'getData' ? alone.result.data.length : -1).toBe(MIB);
      const path = `/after-multiRead-on-${id}`;
      const data = new TextEncoder().encode(path);
      const write = await client.createBytes(path, data, 0, 15_000);
      expect(write.error, `a write in the same session on member ${id}`).toBeNull();
      harness.ledger.ack(path, data);
    }
    await expectHealthy(harness, 'after multiRead of 2 × 1 MiB on every member');
  }, 120_000);

  it('getChildren of a znode with 100,000 children (a 1.3 MB reply) answers MARSHALLING_ERROR on every member; the session and the ensemble keep serving', async () => {
    const harness = await startHarness();
    const { leader, followers } = await roles(harness);
    await startBystanders(harness, memberIds(harness));
    const writer = await connect(harness, leader);
    await writer.create('/many', '');
    harness.ledger.ack('/many', new Uint8Array(0));
    // 100,000 children named child-000000 … child-099999 (12 bytes each), created 1,000 to a multi.
    const children = 100_000;
    const perMulti = 1_000;
    const empty = new Uint8Array(0);
    const name = (i: number) => `/many/child-${String(i).padStart(6, '0')}`;
    const replies = await pipelined(children / perMulti, 4, (batch) => {
      const ops: MultiOp[] = [];
      for (let i = batch * perMulti; i < (batch + 1) * perMulti; i++)
        ops.push({ op: 'create', path: name(i), data: empty, mode: 0, ttlMs: 0 });
      return writer.request({ op: 'multi', ops }, 60_000);
    });
    expect(replies.filter((reply) => reply.error !== null).map((reply) => reply.error)).toEqual([]);
    for (let i = 0; i < children; i++) harness.ledger.ack(name(i), empty);
    await writer.create('/few', '');
    await writer.create('/few/one', '1');
    for (const id of [...followers, leader]) {
      const client = await connect(harness, id);
      await client.sync();
      const stat = await client.exists('/many');
      expect(stat.result?.op === 'exists' ? stat.result.stat?.numChildren : -1).toBe(children);
      const listing = await outcome(client.getChildren('/many', false, 15_000));
      expect(errorOf(listing), `getChildren of 100k children on member ${id}\n${describeMember(harness, id)}`).toBe(
        'MARSHALLING_ERROR',
      );
      expect(client.closed, `the session on member ${id} must keep its connection`).toBe(false);
      const small = await client.getChildren('/few', false, 15_000);
      expect(small.error).toBeNull();
      expect(small.result?.op === 'getChildren' ? small.result.children : []).toEqual(['one']);
      const path = `/after-getChildren-on-${id}`;
      const data = new TextEncoder().encode(path);
      const write = await client.createBytes(path, data, 0, 15_000);
      expect(write.error, `a write in the same session on member ${id}`).toBeNull();
      harness.ledger.ack(path, data);
    }
    await expectHealthy(harness, 'after getChildren of 100k children on every member');
  }, 180_000);
});
