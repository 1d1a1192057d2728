import { type Socket, connect as tcpConnect } from 'node:net';
import { CLIENT_PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage } from '@zabkit/codec';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addressOf,
  cleanup,
  connect,
  describeMember,
  expectHealthy,
  type Harness,
  mb,
  memberIds,
  pidOf,
  roles,
  rssBytes,
  sleep,
  startBystanders,
  startHarness,
} from './acceptance.js';
import { pipelined, RawClient } from './raw-client.js';

// Issue 12, memory a client can make a member hold: partial frames parked on many connections, and
// watches without end from one session. A member must bound both (a member-wide budget of partial
// frame bytes, `partialFrameBytesMax`, 64 MiB by default, with a frame completion deadline
// `frameTimeoutMs`; a per-session watch limit `watchesPerSessionMax`, 65,536 by default, past which
// the watching read fails with QUOTA_EXCEEDED), keep serving everyone else, and give the memory back.
// The tests use the defaults: they set none of those keys.

const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await cleanup();
});

const MB = 1_000_000;

/** Parked is one raw connection holding a partial frame on a member. */
interface Parked {
  socket: Socket;
  /** closedByServer: the member closed it (as it should once over its budget or deadline). */
  closedByServer: boolean;
}

/** handshake opens a raw socket and, if `session`, completes the ConnectRequest/ConnectResponse handshake. */
function openRaw(harness: Harness, id: number, session: boolean): Promise<Parked> {
  const [host, port] = addressOf(harness, id).split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port: Number(port) });
    sockets.push(socket);
    const parked: Parked = { socket, closedByServer: false };
    socket.on('error', () => undefined);
    socket.once('close', () => {
      parked.closedByServer = true;
    });
    const timer = setTimeout(() => reject(new Error('no connect response within 10 s')), 10_000);
    socket.once('connect', () => {
      if (!session) {
        clearTimeout(timer);
        resolve(parked);
        return;
      }
      socket.write(
        encodeClientMessage({
          kind: 'connectRequest',
          protocolVersion: CLIENT_PROTOCOL_VERSION,
          lastZxidSeen: 0,
          timeoutMs: 30_000,
          sessionId: 0,
          password: new Uint8Array(16),
          readOnly: false,
        }),
      );
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 4) return;
        const length = received.readUInt32BE(0);
        if (received.length < 4 + length) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const message = decodeServerMessage(received.subarray(4, 4 + length));
        if (message.kind !== 'connectResponse') reject(new Error(`connect answered with ${message.kind}`));
        else resolve(parked);
      };
      socket.on('data', onData);
    });
  });
}

/** park writes a frame header announcing `announced` bytes and `written` bytes of its body, and holds the socket. */
function park(parked: Parked, announced: number, body: Buffer): Promise<void> {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(announced, 0);
  return new Promise((resolve) => {
    if (parked.socket.destroyed) {
      resolve();
      return;
    }
    parked.socket.write(header);
    parked.socket.write(body, () => resolve());
    parked.socket.once('close', () => resolve());
  });
}

/** RssSampler samples a process's RSS every 100 ms and keeps the peak. */
class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }
  sample(): number {
    try {
      const rss = rssBytes(this.pid);
      if (rss > this.peak) this.peak = rss;
      return rss;
    } catch {
      return 0;
    }
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** expectServes: a new session on member `id` is accepted and gets a write and a read answered, all within `withinMs`. */
async function expectServes(harness: Harness, id: number, tag: string, withinMs: number): Promise<number> {
  const started = Date.now();
  const path = `/serves-${tag}`;
  const data = new TextEncoder().encode(tag);
  let problem: string | null = null;
  try {
    const client = await RawClient.connect(addressOf(harness, id), undefined, 10_000, { connectTimeoutMs: withinMs });
    try {
      const write = await client.createBytes(path, data, 0, withinMs);
      if (write.error !== null) problem = `the write failed with ${write.error}`;
      else {
        harness.ledger.ack(path, data);
        const read = await client.getData(path, false, withinMs);
        if (read.error !== null) problem = `the read failed with ${read.error}`;
      }
    } finally {
      client.close();
    }
  } catch (error) {
    problem = (error as Error).message;
  }
  const tookMs = Date.now() - started;
  expect(problem, `member ${id} must serve a new client ${tag} (took ${tookMs} ms)`).toBeNull();
  expect(
    tookMs,
    `member ${id} must accept a new client and answer a write and a read ${tag} within ${withinMs} ms`,
  ).toBeLessThan(withinMs);
  return tookMs;
}

describe('issue 12: what one client can make a member hold', () => {
  it('300 connections parking a partial frame of 1,000,000 bytes: the member keeps serving and keeps no more memory than its budget admits', async () => {
    // The test ensemble's sync limit is 1 s (20 ticks of 50 ms). On a loaded 2-core CI machine, the
    // test process pumping 300 MB at the member left it (or its leader) without a turn for longer,
    // and the follower went LOOKING, closing the bystanders: a timing limit, not the memory budget
    // this test is about. 5 s here, still far below a production syncLimit.
    const harness = await startHarness({ syncLimitTicks: 100 });
    const { followers } = await roles(harness);
    const target = followers[0] as number;
    await startBystanders(harness, memberIds(harness));
    const pid = pidOf(harness, target) as number;
    await expectServes(harness, target, 'before', 5_000);
    await sleep(1_000);
    const baseline = rssBytes(pid);
    const sampler = new RssSampler(pid);
    // 200 sessions (handshake done, then a request frame left incomplete) and 100 connections that
    // never finish their ConnectRequest frame: 300 frames announced at 1,000,000 bytes, each held
    // 1,000 bytes short of complete.
    const announced = 1_000_000;
    const body = Buffer.alloc(announced - 1_000, 0x61);
    const parked: Parked[] = [];
    for (let i = 0; i < 300; i++) parked.push(await openRaw(harness, target, i < 200));
    await pipelined(parked.length, 16, (i) => park(parked[i] as Parked, announced, body));
    // Let the member read what the kernel holds for it.
    await sleep(2_000);
    const heldRss = sampler.sample();
    const closedWhileParked = parked.filter((p) => p.closedByServer).length;
    const servesMs = await expectServes(harness, target, 'while-parked', 5_000);
    await expectServesOnBystanders(harness);
    for (const p of parked) p.socket.destroy();
    // Bounds. Without the budget, 300 parked frames take RSS to baseline + 350 MB, and the allocator
    // keeps it after they close. With the 64 MiB budget, what is parked (about 67 frames) and what
    // reading cost take it to baseline + 92 … 131 MB (five CI runs; the peak up to + 140 MB), and
    // the allocator keeps that too, for minutes (nothing allocates meanwhile to make V8 collect).
    // So the member may keep what its budget admitted, not more: after the sockets close, RSS must
    // be within the same bound as the peak, baseline + 160 MB, within 15 s. (A bound of + 128 MB
    // failed one CI run in five at + 130 MB, while showing nothing the + 160 MB bound does not.)
    const boundBytes = baseline + 160 * MB;
    const deadline = Date.now() + 15_000;
    let afterRss = rssBytes(pid);
    while (afterRss > boundBytes && Date.now() < deadline) {
      await sleep(250);
      afterRss = rssBytes(pid);
    }
    sampler.stop();
    console.log(
      `member ${target} RSS: baseline ${mb(baseline)}, while parked ${mb(heldRss)} (peak ${mb(sampler.peak)}), ` +
        `after the sockets closed ${mb(afterRss)}; ${closedWhileParked} of 300 closed by the member while parked; ` +
        `a write and read while parked took ${servesMs} ms`,
    );
    expect(
      afterRss,
      `member ${target}'s RSS 15 s after the parked sockets closed must be within baseline ${mb(baseline)} + 160 MB\n${describeMember(harness, target)}`,
    ).toBeLessThanOrEqual(boundBytes);
    expect(
      sampler.peak,
      `member ${target}'s peak RSS while 300 partial frames were parked must stay within baseline ${mb(baseline)} + 160 MB ` +
        '(a 64 MiB partial-frame budget, and what reading costs)',
    ).toBeLessThanOrEqual(baseline + 160 * MB);
    await expectHealthy(harness, 'after 300 parked partial frames');
  }, 120_000);

  it('100,000 watches from one session: past 65,536 the watching read fails with QUOTA_EXCEEDED, the member keeps serving and its RSS stays bounded', async () => {
    const harness = await startHarness();
    const { followers } = await roles(harness);
    const target = followers[0] as number;
    await startBystanders(harness, memberIds(harness));
    const pid = pidOf(harness, target) as number;
    const watcher = await connect(harness, target);
    watcher.startPinging(1_000);
    await sleep(1_000);
    const baseline = rssBytes(pid);
    // A registry-like path of 59 bytes; exists leaves a watch whether or not the znode exists.
    const path = (i: number) => `/services/payments/instances/region-eu-west/instance-${String(i).padStart(6, '0')}`;
    const limit = 65_536;
    const total = 100_000;
    const first = await pipelined(limit, 1_000, (i) => watcher.exists(path(i), true, 30_000));
    const firstErrors = first.filter((reply) => reply.error !== null).map((reply) => reply.error);
    await sleep(1_000);
    const atLimitRss = rssBytes(pid);
    const rest = await pipelined(total - limit, 1_000, (i) => watcher.exists(path(limit + i), true, 30_000));
    const restCodes = new Map<string, number>();
    for (const reply of rest) restCodes.set(reply.error ?? 'ok', (restCodes.get(reply.error ?? 'ok') ?? 0) + 1);
    await sleep(1_000);
    const afterRss = rssBytes(pid);
    const watches = (await harness.ensemble.status(target))?.watches;
    console.log(
      `member ${target} RSS: baseline ${mb(baseline)}, after ${limit} watches ${mb(atLimitRss)}, ` +
        `after ${total} attempts ${mb(afterRss)}; watches registered ${watches}; ` +
        `replies past the limit: ${[...restCodes].map(([code, count]) => `${code} × ${count}`).join(', ')}`,
    );
    expect(firstErrors.slice(0, 5), `the first ${limit} watches must be accepted`).toEqual([]);
    expect([...restCodes], `each watching read past ${limit} must fail with QUOTA_EXCEEDED`).toEqual([
      ['QUOTA_EXCEEDED', total - limit],
    ]);
    // Refused watches register nothing: exactly the limit is held (RSS alone is too noisy to show
    // that: GC timing moved it by up to 11 MB over the refused attempts from one run to the next).
    expect(watches, `member ${target} must hold exactly ${limit} watches of one session`).toBe(limit);
    // Bound: 65,536 watches of 59-byte paths cost about 45-50 MB.
    expect(afterRss, `RSS after ${total} watch attempts within baseline ${mb(baseline)} + 96 MB`).toBeLessThanOrEqual(
      baseline + 96 * MB,
    );
    // The session still works: a plain read, a write, and one of its accepted watches fires.
    expect(watcher.closed).toBe(false);
    expect((await watcher.exists('/', false, 5_000)).error).toBeNull();
    const writer = await connect(harness, target);
    await writer.create('/services', '');
    await writer.create('/services/payments', '');
    await writer.create('/services/payments/instances', '');
    await writer.create('/services/payments/instances/region-eu-west', '');
    await writer.create(path(0), 'up');
    for (const created of [
      '/services',
      '/services/payments',
      '/services/payments/instances',
      '/services/payments/instances/region-eu-west',
    ])
      harness.ledger.ack(created, new Uint8Array(0));
    harness.ledger.ack(path(0), new TextEncoder().encode('up'));
    await watcher.sync();
    await sleep(200);
    expect(watcher.events.map((event) => event.path)).toContain(path(0));
    await expectServes(harness, target, 'after-watches', 5_000);
    await expectHealthy(harness, 'after 100,000 watch attempts');
  }, 120_000);
});

/** expectServesOnBystanders: every bystander still gets a write answered. */
async function expectServesOnBystanders(harness: Harness): Promise<void> {
  for (const bystander of harness.bystanders) await bystander.expectUnaffected('while partial frames are parked');
}
