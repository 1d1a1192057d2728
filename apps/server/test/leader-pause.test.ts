import { TransportError } from '@zabkit/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addressOf,
  cleanup,
  describeMember,
  expectAllRunning,
  expectHealthy,
  type Harness,
  memberIds,
  sleep,
  startHarness,
} from './acceptance.js';
import { PeerNetwork } from './peer-network.js';
import { RawClient, type RawReply } from './raw-client.js';

// Issue 12, a leader frozen (SIGSTOP, as a long GC pause or a VM stall would) or cut off the network
// for 2 to 3 s, again and again, on the ensemble defaults (tickMs 50, syncLimitTicks 20: followers
// give up on a silent leader after 1 s). The followers elect a new leader; the old one, back, must
// join it rather than unsettle it. After each SIGCONT (or heal), writes must succeed again within
// WRITE_RECOVERY_MS_MAX, well under the 6 s session timeout; a client writing back to back may go
// without an acknowledged write for no longer than the longest outage plus WRITE_RECOVERY_MS_MAX
// (a client on the frozen leader waits for it: it hears nothing until the leader runs again); and
// no session may expire: a client that reconnects as ZooKeeper clients do keeps its session id and
// its ephemeral znode.

const sessions: ResilientSession[] = [];
const networks: PeerNetwork[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  await cleanup();
  for (const network of networks.splice(0)) network.close();
});

/** SESSION_TIMEOUT_MS: the clients' session timeout. */
const SESSION_TIMEOUT_MS = 6_000;
/**
 * WRITE_RECOVERY_MS_MAX: after SIGCONT, a write must be acknowledged within this. Measured here:
 * at most 104 ms over 20 rounds once a resumed member catches up its missed ticks (1,115 ms
 * before: the old leader served for syncLimit more ticks); 1.5 s leaves room for a loaded CI machine.
 */
const WRITE_RECOVERY_MS_MAX = 1_500;
/** SERVING_MS_MAX: after SIGCONT, every member must be established under one leader within this. */
const SERVING_MS_MAX = 10_000;

/**
 * ResilientSession is one session kept alive across connections, as a ZooKeeper client keeps it: it
 * pings every second, and when its connection closes it reconnects (session id and password, its
 * last seen zxid) to the members in turn until one accepts. A SESSION_EXPIRED refusal is recorded:
 * the session is gone.
 */
class ResilientSession {
  client: RawClient | null;
  expired: string | null = null;
  reconnects = 0;
  lastZxidSeen = 0;
  private closing = false;
  private connecting: Promise<void> | null = null;
  private nextMember: number;

  /** sessionId and password are the session's, from its first connection. */
  readonly sessionId: number;
  private readonly password: Uint8Array;

  private constructor(
    readonly harness: Harness,
    client: RawClient,
    memberId: number,
    readonly ephemeralPath: string,
  ) {
    this.client = client;
    this.sessionId = client.sessionId;
    this.password = client.password;
    this.nextMember = memberId;
    this.watch(client);
  }

  static async start(harness: Harness, memberId: number): Promise<ResilientSession> {
    const client = await RawClient.connect(addressOf(harness, memberId), undefined, SESSION_TIMEOUT_MS);
    const ephemeralPath = `/session-0x${client.sessionId.toString(16)}`;
    await client.create(ephemeralPath, 'alive', 1);
    const session = new ResilientSession(harness, client, memberId, ephemeralPath);
    sessions.push(session);
    return session;
  }

  private watch(client: RawClient): void {
    client.startPinging(1_000);
    client.onClose(() => {
      if (this.client === client) this.client = null;
      if (!this.closing) void this.reconnect();
    });
  }

  private reconnect(): Promise<void> {
    if (this.connecting === null) {
      this.connecting = this.reconnectLoop().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async reconnectLoop(): Promise<void> {
    const ids = memberIds(this.harness);
    while (!this.closing && this.expired === null && this.client === null) {
      const id = ids[this.nextMember % ids.length] as number;
      this.nextMember++;
      try {
        const client = await RawClient.connect(
          addressOf(this.harness, id),
          { sessionId: this.sessionId, password: this.password },
          SESSION_TIMEOUT_MS,
          { connectTimeoutMs: 1_000, lastZxidSeen: this.lastZxidSeen },
        );
        if (this.closing) {
          client.close();
          return;
        }
        this.reconnects++;
        this.client = client;
        this.watch(client);
        if (client.closed) this.client = null;
      } catch (error) {
        if (TransportError.isInstance(error) && error.reason === 'SESSION_EXPIRED') {
          this.expired = `member ${id} refused the session: ${error.message}`;
          return;
        }
        await sleep(50);
      }
    }
  }

  /** write creates `path` through whatever connection the session has, waiting for one if needed. */
  async write(path: string, data: Uint8Array, timeoutMs: number): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    while (this.client === null || this.client.closed) {
      if (this.expired !== null) throw new Error(`session expired: ${this.expired}`);
      if (Date.now() > deadline) throw new Error('no connection');
      await sleep(20);
    }
    const reply = await this.client.createBytes(path, data, 0, Math.max(1, deadline - Date.now()));
    if (reply.zxid > this.lastZxidSeen) this.lastZxidSeen = reply.zxid;
    return reply;
  }

  /** expectAlive: never expired, the same session id on its current connection, and its ephemeral still its own. */
  async expectAlive(when: string): Promise<void> {
    expect(this.expired, `${when}: session 0x${this.sessionId.toString(16)} expired`).toBeNull();
    const deadline = Date.now() + 10_000;
    while ((this.client === null || this.client.closed) && Date.now() < deadline) await sleep(20);
    const client = this.client;
    expect(client, `${when}: session 0x${this.sessionId.toString(16)} has no connection`).not.toBeNull();
    expect(client?.sessionId).toBe(this.sessionId);
    const reply = await (client as RawClient).exists(this.ephemeralPath, false, 5_000);
    expect(reply.error, `${when}: exists of ${this.ephemeralPath}`).toBeNull();
    expect(
      reply.result?.op === 'exists' ? reply.result.stat?.ephemeralOwner : undefined,
      `${when}: ${this.ephemeralPath} must still be owned by session 0x${this.sessionId.toString(16)}`,
    ).toBe(this.sessionId);
  }

  close(): void {
    this.closing = true;
    this.client?.close();
  }
}

interface Round {
  round: number;
  leader: number;
  outageMs: number;
  /** writeMs: from the SIGCONT (or heal) until a write through the session was acknowledged (null: not within 15 s). */
  writeMs: number | null;
  /** servingMs: from the SIGCONT (or heal) until every member was established under one leader. */
  servingMs: number | null;
  newLeader: number | null;
  attempts: number;
  /** stepDowns: other members that led and went back to looking during the round (the reported symptom). */
  stepDowns: number;
}

/** Disturbance takes the leader away (SIGSTOP, or a network cut) and brings it back. */
interface Disturbance {
  name: string;
  /** back names the moment the leader returns, for the output. */
  back: string;
  start(leader: number): void;
  end(leader: number): void;
}

/**
 * runRounds takes the leader away for 2.0 to 3.0 s, `count` times, while a client writes back to
 * back, and asserts what must hold after each round and at the end (see the file comment).
 */
async function runRounds(harness: Harness, count: number, disturbance: Disturbance): Promise<void> {
  const { ensemble } = harness;
  const probe = await ResilientSession.start(harness, 1);
  const others = [await ResilientSession.start(harness, 2), await ResilientSession.start(harness, 3)];
  for (const session of [probe, ...others])
    harness.ledger.ack(session.ephemeralPath, new TextEncoder().encode('alive'));
  const rounds: Round[] = [];
  // Ordinary load throughout: one more session writes back to back (each write given 1 s), and the
  // longest stretch without an acknowledged write is recorded.
  const loader = others[0] as ResilientSession;
  let loading = true;
  let loadWrites = 0;
  let lastLoadAck = Date.now();
  let longestGapMs = 0;
  const load = (async () => {
    while (loading) {
      const path = `/load-${loadWrites++}`;
      const data = new TextEncoder().encode(path);
      try {
        const reply = await loader.write(path, data, 1_000);
        if (reply.error === null) {
          harness.ledger.ack(path, data);
          const now = Date.now();
          longestGapMs = Math.max(longestGapMs, now - lastLoadAck);
          lastLoadAck = now;
        }
      } catch {
        await sleep(10);
      }
    }
  })();
  for (let round = 0; round < count; round++) {
    const leader = await ensemble.waitForLeader(SERVING_MS_MAX);
    // 2.0 to 3.0 s, spread over the rounds.
    const outageMs = 2_000 + ((round * 379) % 1_001);
    const logsAtStart = harness.logs.length;
    disturbance.start(leader);
    await sleep(outageMs);
    disturbance.end(leader);
    const backAt = Date.now();
    const entry: Round = {
      round,
      leader,
      outageMs,
      writeMs: null,
      servingMs: null,
      newLeader: null,
      attempts: 0,
      stepDowns: 0,
    };
    rounds.push(entry);
    // Writes, each given 1 s, until one is acknowledged (wait up to 15 s to see how long it takes).
    while (Date.now() - backAt < 15_000) {
      entry.attempts++;
      const path = `/round-${round}-write-${entry.attempts}`;
      const data = new TextEncoder().encode(path);
      try {
        const reply = await probe.write(path, data, 1_000);
        if (reply.error === null) {
          entry.writeMs = Date.now() - backAt;
          harness.ledger.ack(path, data);
          break;
        }
      } catch {
        // no connection or no reply within 1 s: try again
      }
      if (probe.expired !== null) break;
    }
    try {
      entry.newLeader = await ensemble.waitForLeader(SERVING_MS_MAX);
      entry.servingMs = Date.now() - backAt;
    } catch {
      // recorded as null
    }
    entry.stepDowns = harness.logs
      .slice(logsAtStart)
      .filter((line) => !line.startsWith(`${leader} `) && line.includes('"from":"leading"')).length;
    console.log(
      `${disturbance.name} round ${round}: leader ${leader} away ${outageMs} ms; write acknowledged ` +
        `${entry.writeMs ?? 'NOT'} ms after ${disturbance.back} (${entry.attempts} attempts); all serving after ` +
        `${entry.servingMs ?? 'NOT'} ms under leader ${entry.newLeader}; ${entry.stepDowns} step-downs of another leader`,
    );
    if (probe.expired !== null || entry.servingMs === null) break;
    await expectAllRunning(harness, `round ${round}`);
    await sleep(500);
  }
  loading = false;
  await load;
  const writeTimes = rounds.map((r) => r.writeMs);
  console.log(
    `${disturbance.name}: write recovery after ${disturbance.back} by round (ms): ${writeTimes.map((ms) => ms ?? 'NOT').join(', ')}; ` +
      `worst ${Math.max(...writeTimes.map((ms) => ms ?? Number.POSITIVE_INFINITY))} ms; ` +
      `reconnects per session: ${[probe, ...others].map((s) => s.reconnects).join(', ')}; ` +
      `load writes sent ${loadWrites}, longest stretch without an acknowledged load write ${longestGapMs} ms`,
  );
  const expiredLines = harness.logs.filter((line) => line.includes('"msg":"session expired"'));
  expect(expiredLines, 'no session may expire').toEqual([]);
  for (const session of [probe, ...others]) await session.expectAlive(`after ${rounds.length} rounds`);
  expect(
    rounds,
    `all ${count} rounds must run\n${memberIds(harness)
      .map((id) => describeMember(harness, id))
      .join('\n')}`,
  ).toHaveLength(count);
  const slow = rounds.filter((r) => r.writeMs === null || r.writeMs > WRITE_RECOVERY_MS_MAX);
  expect(
    slow.map((r) => `round ${r.round}: ${r.writeMs ?? 'no write within 15 s'}`),
    `after each ${disturbance.back} a write must be acknowledged within ${WRITE_RECOVERY_MS_MAX} ms`,
  ).toEqual([]);
  const unsettled = rounds.filter((r) => r.servingMs === null);
  expect(
    unsettled.map((r) => r.round),
    `every member serving within ${SERVING_MS_MAX} ms of ${disturbance.back}`,
  ).toEqual([]);
  const longestOutageMs = Math.max(...rounds.map((r) => r.outageMs));
  expect(
    longestGapMs,
    `the longest stretch without an acknowledged load write (longest outage ${longestOutageMs} ms + ${WRITE_RECOVERY_MS_MAX} ms)`,
  ).toBeLessThanOrEqual(longestOutageMs + WRITE_RECOVERY_MS_MAX);
  await expectHealthy(harness, `after ${count} rounds of ${disturbance.name}`);
}

describe('issue 12: a leader frozen or cut off', () => {
  it(`the leader SIGSTOPped for 2–3 s, 20 times: after each SIGCONT writes succeed within ${WRITE_RECOVERY_MS_MAX} ms and no session expires`, async () => {
    const harness = await startHarness();
    await runRounds(harness, 20, {
      name: 'SIGSTOP',
      back: 'SIGCONT',
      start: (leader) => harness.ensemble.pause(leader),
      end: (leader) => harness.ensemble.resume(leader),
    });
  }, 420_000);

  it(`the leader cut off the network for 2–3 s, 8 times: after each heal writes succeed within ${WRITE_RECOVERY_MS_MAX} ms and no session expires`, async () => {
    const harness = await startHarness();
    // Every member-to-member connection through the test process, so the leader can be cut off
    // while it keeps running (its clients still reach it).
    const network = await PeerNetwork.install(harness.ensemble);
    networks.push(network);
    await runRounds(harness, 8, {
      name: 'cut off',
      back: 'heal',
      start: (leader) => network.isolate(leader, true),
      end: (leader) => network.isolate(leader, false),
    });
  }, 240_000);
});
