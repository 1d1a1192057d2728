// Client outputs never wait for a persist (issue 17: "reads must not wait for an fsync they do not
// depend on"): a reply shows only entries applied here, and an entry is applied only once it is
// committed and durable here, so ReadyDriver delivers a Ready's client outputs as it begins, and
// deliverClients hands over those that come while its persist runs, in each session's order.
import { describe, expect, it } from 'vitest';
import type { Request } from '../types.js';
import { CreateMode, OPEN_ACL_UNSAFE } from '../types.js';
import type { ClientOutput, ZabPeer } from './peer.js';
import { ReadyDriver } from './ready-driver.js';
import { Ensemble, text } from './test/ensemble.js';

const create = (path: string): Request => ({
  op: 'create',
  path,
  data: text('v'),
  acl: OPEN_ACL_UNSAFE,
  mode: CreateMode.PERSISTENT,
  ttlMs: 0,
});
const read = (path: string): Request => ({ op: 'getData', path, watch: false });

/** standalone is a serving one-voter ensemble with two sessions, and a driver of our own over it. */
function standalone(): {
  peer: ZabPeer;
  driver: ReadyDriver;
  delivered: ClientOutput[];
  seen: string[];
  a: number;
  b: number;
} {
  const ensemble = new Ensemble([1]);
  ensemble.settle();
  const a = ensemble.createSession(1);
  const b = ensemble.createSession(1);
  const peer = ensemble.peer(1);
  peer.submit(a, 1, create('/a'));
  ensemble.settle(2);
  expect(ensemble.reply(1, a, 1)?.error).toBeNull();
  const delivered: ClientOutput[] = [];
  // seen: what the host saw, in order: applied entries (by path) and replies (by xid).
  const seen: string[] = [];
  const driver = new ReadyDriver(peer, {
    send: () => {},
    deliver: (outputs) => {
      delivered.push(...outputs);
      for (const output of outputs) if (output.type === 'reply') seen.push(`reply ${output.reply.xid}`);
    },
    disconnect: () => {},
    applied: (entries) => {
      for (const entry of entries) if (entry.txn.type === 'create') seen.push(`applied ${entry.txn.path}`);
    },
  });
  return { peer, driver, delivered, seen, a, b };
}

const replyTo = (delivered: ClientOutput[], sessionId: number, xid: number) =>
  delivered.find(
    (output) => output.type === 'reply' && output.reply.sessionId === sessionId && output.reply.xid === xid,
  );

describe('ReadyDriver and client outputs', () => {
  it('answers a read that arrives while a persist runs without waiting for that persist', () => {
    const { peer, driver, delivered, a, b } = standalone();
    peer.submit(a, 2, create('/b'));
    const appending = driver.begin();
    expect(appending?.entries.map((entry) => entry.txn.type)).toEqual(['create']);
    // The fsync of /b runs; session b reads /a meanwhile.
    peer.submit(b, 1, read('/a'));
    driver.deliverClients();
    expect(replyTo(delivered, b, 1)).toMatchObject({ reply: { error: null, result: { op: 'getData' } } });
    expect(replyTo(delivered, a, 2)).toBeUndefined();
    driver.finish();
  });

  it('delivers the reply to an applied write as its Ready begins, before the entries that Ready appends are durable', () => {
    const { peer, driver, delivered, a, b } = standalone();
    peer.submit(a, 2, create('/b'));
    driver.begin();
    driver.finish();
    // /b is durable and now applied; /c arrives before the next Ready is taken.
    peer.submit(b, 1, create('/c'));
    const next = driver.begin();
    expect(next?.applied.map((entry) => entry.txn.type)).toEqual(['create']);
    expect(next?.entries.map((entry) => entry.txn.type)).toEqual(['create']);
    expect(replyTo(delivered, a, 2)).toMatchObject({ reply: { error: null, result: { op: 'create', path: '/b' } } });
    expect(replyTo(delivered, b, 1)).toBeUndefined();
    driver.finish();
  });

  it("keeps a session's order: its read waits behind its own write, and comes out after the write's reply", () => {
    const { peer, driver, delivered, a } = standalone();
    peer.submit(a, 2, create('/b'));
    driver.begin();
    peer.submit(a, 3, read('/b'));
    driver.deliverClients();
    expect(replyTo(delivered, a, 3)).toBeUndefined();
    driver.finish();
    driver.begin();
    const order = delivered.flatMap((output) => (output.type === 'reply' ? [output.reply.xid] : []));
    expect(order).toEqual([2, 3]);
    expect(replyTo(delivered, a, 3)).toMatchObject({ reply: { error: null, result: { op: 'getData' } } });
    driver.finish();
  });

  it('shows the host each applied entry once, before any reply that may show it, early or at begin', () => {
    const { peer, driver, seen, a } = standalone();
    peer.submit(a, 2, create('/b'));
    driver.begin();
    driver.finish();
    // /b is applied and its reply queued: handed over early, the entry first.
    driver.deliverClients();
    expect(seen).toEqual(['applied /b', 'reply 2']);
    peer.submit(a, 3, create('/c'));
    // The next Ready lists /b among its applied entries again; the host is not shown it twice.
    const next = driver.begin();
    expect(next?.applied.map((entry) => entry.txn.type === 'create' && entry.txn.path)).toEqual(['/b']);
    driver.finish();
    driver.begin();
    driver.finish();
    expect(seen).toEqual(['applied /b', 'reply 2', 'applied /c', 'reply 3']);
  });
});
