import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ZabClient } from '@zabkit/client';
import { Lock } from '@zabkit/client/recipes';
import { type Ensemble, startEnsemble } from '@zabkit/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { now, Worker, waitFor } from './support/processes.js';

// Issue 18: Lock under real faults, with each client in its own process (so kill -9 and SIGSTOP
// hit a real client): a counter no fault makes lose an update, a holder paused past its session
// that must not act as a holder when it wakes (and whose token a guarded resource refuses), and
// timed-out acquires that leave no znode behind.

const SESSION_TIMEOUT_MS = 2_000;

let ensemble: Ensemble;
const workers: Worker[] = [];
const clients: ZabClient[] = [];

beforeAll(async () => {
  ensemble = await startEnsemble({ size: 3, dir: mkdtempSync(join(tmpdir(), 'zabkit-it-lock-faults-')) });
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.kill()));
  for (const client of clients) await client.close().catch(() => {});
  await ensemble?.close();
}, 30_000);

async function open(): Promise<ZabClient> {
  const client = await connect(ensemble.connectString, { sessionTimeoutMs: 6_000, connectTimeoutMs: 20_000 });
  clients.push(client);
  return client;
}

function spawnWorker(name: string, mode: string, config: Record<string, unknown>): Worker {
  const worker = new Worker(name, mode, {
    connectString: ensemble.connectString,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    ...config,
  });
  workers.push(worker);
  return worker;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('Lock under kill -9 and SIGSTOP of members and clients', () => {
  it('a counter incremented under the lock by client processes loses no update', async () => {
    const admin = await open();
    await admin.create('/faults-counter', '0');
    const config = { lockPath: '/faults-locks/counter', counterPath: '/faults-counter' };
    let spawned = 0;
    const lockers = [0, 1, 2].map(() => spawnWorker(`counter-${spawned++}`, 'counter', config));
    const all = [...lockers];
    const acked = () => all.reduce((sum, worker) => sum + worker.of('inc').length, 0);
    const progress = async (what: string, increments = 5) => {
      const from = acked();
      await waitFor(() => acked() >= from + increments, `${increments} increments after ${what}`, 30_000);
    };
    await progress('the start');
    const faults: string[] = [];

    // Members: kill -9 one at a time (the leader first), restart it, wait until the ensemble is whole.
    const killMember = async (which: 'leader' | 'follower') => {
      const leader = await ensemble.waitForLeader();
      const victim = which === 'leader' ? leader : ensemble.members.find((member) => member.id !== leader)!.id;
      await ensemble.kill(victim);
      faults.push(`kill -9 member ${victim} (${which})`);
      await progress(`killing member ${victim}`);
      await ensemble.restart(victim);
      await ensemble.waitForLeader();
    };
    // Clients: each fault hits a process just after it acquired the lock (its read is in flight):
    // SIGSTOP past the session timeout (it wakes expired, about to write), or kill -9 and replace.
    const justAcquired = (worker: Worker) =>
      worker.waitForLine((line) => line.kind === 'acquired', `${worker.name} to acquire`, 30_000, worker.lines.length);
    const pauseClient = async (index: number, ms: number) => {
      const worker = lockers[index]!;
      await justAcquired(worker);
      worker.pause();
      faults.push(`SIGSTOP ${worker.name} for ${ms} ms`);
      await sleep(ms);
      worker.resume();
      await progress(`resuming ${worker.name}`);
    };
    const killClient = async (index: number) => {
      const worker = lockers[index]!;
      await justAcquired(worker);
      await worker.kill();
      faults.push(`kill -9 ${worker.name}`);
      const replacement = spawnWorker(`counter-${spawned++}`, 'counter', config);
      lockers[index] = replacement;
      all.push(replacement);
      await progress(`killing ${worker.name}`);
    };

    await killMember('leader');
    await pauseClient(0, SESSION_TIMEOUT_MS * 1.5);
    await killClient(1);
    await killMember('follower');
    await pauseClient(2, SESSION_TIMEOUT_MS / 2); // shorter than the session: it comes back holding what it held
    await killClient(0);
    await killMember('leader');
    await pauseClient(1, SESSION_TIMEOUT_MS * 2);
    await progress('the last fault', 10);
    await Promise.all(lockers.map((worker) => worker.kill()));

    await admin.sync('/faults-counter');
    const { data, stat } = await admin.get('/faults-counter');
    const counter = Number(text(data));
    const incs = all.flatMap((worker) =>
      worker.of('inc').map((line) => ({ worker, value: Number(line.args[0]), version: Number(line.args[1]) })),
    );
    const tried = all.flatMap((worker) => worker.of('try').map((line) => Number(line.args[0])));
    const ackedValues = new Set(incs.map((inc) => inc.value));
    const unacked = tried.length - incs.length;
    const errors: Record<string, number> = {};
    for (const line of all.flatMap((worker) => worker.of('error')))
      errors[line.args[0]!] = (errors[line.args[0]!] ?? 0) + 1;
    console.log(
      `lock counter: ${incs.length} increments acknowledged by ${all.length} processes, ${unacked} unacknowledged, ` +
        `counter ${counter}, version ${stat.version}; sections failed ${JSON.stringify(errors)}; faults: ${faults.join(', ')}`,
    );
    // Every set, acknowledged or not, bumps the znode's version; every increment that read the
    // value the one before it wrote bumps the value too. A lost update bumps only the version.
    expect(stat.version).toBe(counter);
    // No two acknowledged increments wrote the same value, and each wrote the version it read + 1.
    expect(ackedValues.size).toBe(incs.length);
    expect(
      incs
        .filter((inc) => inc.version !== inc.value)
        .map((inc) => `${inc.worker.name} wrote ${inc.value} as version ${inc.version}`),
    ).toEqual([]);
    // The counter is every acknowledged increment, plus some of those whose reply a fault ate.
    expect(counter).toBeGreaterThanOrEqual(incs.length);
    expect(counter - incs.length).toBeLessThanOrEqual(unacked);
    expect(incs.length).toBeGreaterThanOrEqual(60);
  }, 120_000);

  it('a holder paused past its session does not write as the holder when it wakes, and its old token is refused', async () => {
    // The resource: remembers the highest fencing token and refuses writes with a lower one.
    const writes: {
      who: string;
      token: bigint;
      checkedAt: number;
      sentAt: number;
      arrivedAt: number;
      probe: boolean;
      accepted: boolean;
    }[] = [];
    let highest = -1n;
    const server: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const arrivedAt = now();
        const write = JSON.parse(body) as {
          who: string;
          token: string;
          checkedAt: number;
          sentAt: number;
          probe: boolean;
        };
        const token = /^\d+$/.test(write.token) ? BigInt(write.token) : -2n;
        const accepted = token >= highest;
        if (accepted) highest = token;
        writes.push({ ...write, token, arrivedAt, accepted });
        response.writeHead(accepted ? 200 : 409).end();
      });
    });
    // Keep idle connections longer than any pause, so a woken holder's request is not refused by a closed socket.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    const resourceUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/write`;
    const rounds: string[] = [];
    const viewer = await open();
    try {
      for (const [round, pauseMs] of [
        SESSION_TIMEOUT_MS * 1.5,
        SESSION_TIMEOUT_MS * 2.25,
        SESSION_TIMEOUT_MS * 3,
      ].entries()) {
        const config = { lockPath: `/faults-locks/fenced-${round}`, resourceUrl };
        const holder = spawnWorker(`holder-${round}`, 'holder', config);
        const holding = await holder.waitForLine((line) => line.kind === 'holding', 'the lock');
        await waitFor(() => writes.some((write) => write.who === holder.name), `${holder.name}'s first write`);
        const successor = spawnWorker(`successor-${round}`, 'holder', config);
        // The successor queues behind the holder before the pause (its znode exists).
        await waitFor(async () => (await viewer.children(config.lockPath)).length === 2, 'the successor to queue');
        const pausedAt = now();
        holder.pause();
        const successorHolding = await successor.waitForLine(
          (line) => line.kind === 'holding',
          `${successor.name} to take the lock`,
          pauseMs + 10_000,
        );
        await waitFor(
          () => writes.some((write) => write.who === successor.name && write.accepted),
          `${successor.name}'s first write`,
        ).catch((error: Error) => {
          throw new Error(`${error.message}; ${successor.name}: ${successor.tail()}; ${holder.name}: ${holder.tail()}`);
        });
        const successorFirstAt = writes.find((write) => write.who === successor.name && write.accepted)!.arrivedAt;
        await sleep(Math.max(0, pausedAt + pauseMs - now()));
        const resumedAt = now();
        holder.resume();
        const probe = await holder.waitForLine((line) => line.kind === 'probe', `${holder.name} to find the lock lost`);
        const old = writes.filter((write) => write.who === holder.name);
        // Writes of the old holder that reached the resource after its successor's first write:
        // at most one sent before the pause (in flight when it stopped), refused by its token.
        const late = old.filter((write) => write.arrivedAt >= successorFirstAt && !write.probe);
        // Writes it decided on after waking: each is a check of isHeld that returned true while stale.
        const actedAfterWaking = old.filter((write) => write.checkedAt >= resumedAt && !write.probe);
        const probes = old.filter((write) => write.probe);
        rounds.push(
          `paused ${pauseMs} ms: token ${holding.args[0]} → ${successorHolding.args[0]}, successor wrote ${Math.round(successorFirstAt - pausedAt)} ms into the pause; ` +
            `after waking: ${actedAfterWaking.length} writes as holder, ${late.length} late writes, probe ${probe.args[0]} ` +
            `${Math.round(Number(holder.of('notHeld')[0]?.args[0]) - resumedAt)} ms after SIGCONT`,
        );
        expect(
          actedAfterWaking.map(
            (write) => `${write.accepted ? 'accepted' : 'refused'} +${Math.round(write.checkedAt - resumedAt)} ms`,
          ),
        ).toEqual([]);
        expect(late.filter((write) => write.accepted)).toEqual([]);
        expect(late.length).toBeLessThanOrEqual(1);
        // The fencing tokens: a bigint each, higher at the hand-over; the old one is refused.
        expect(holding.args[0]).toMatch(/^\d+$/);
        expect(successorHolding.args[0]).toMatch(/^\d+$/);
        expect(BigInt(successorHolding.args[0]!)).toBeGreaterThan(BigInt(holding.args[0]!));
        expect(probes.map((write) => [write.token, write.accepted])).toEqual([[BigInt(holding.args[0]!), false]]);
        expect(probe.args[0]).toBe('409');
        await Promise.all([holder.kill(), successor.kill()]);
      }
    } finally {
      console.log(`fenced holder: ${rounds.join('; ')}`);
      server.close();
    }
  }, 90_000);

  it('200 acquires that time out (fractional ms, some while their create is in flight) leave no znode behind', async () => {
    const holderClient = await open();
    const lockPath = '/faults-locks/timeouts';
    const held = new Lock(holderClient, lockPath);
    await held.acquire();
    const viewer = await open();
    // The directory's cversion rises with each child created (not deleted, as in ZooKeeper): it
    // counts the acquires whose create reached the ensemble.
    const cversionBefore = (await viewer.exists(lockPath))!.cversion;
    const seed = Math.floor(Math.random() * 2 ** 31);
    const acquirer = spawnWorker('acquirer', 'acquirer', { lockPath, count: 200, seed });
    const done = await acquirer.waitForLine(
      (line) => line.kind === 'done',
      'the 200 acquires and their cleanup',
      60_000,
    );
    const outcomes = JSON.parse(acquirer.of('outcomes')[0]!.args[0]!) as Record<string, number>;
    const listed = async () => {
      await viewer.sync(lockPath);
      return viewer.children(lockPath);
    };
    // Without an API to await the cleanup, give the abandoned creates a deadline to be cleaned up.
    if (done.args[0] === 'no-cleanup-api') {
      await waitFor(async () => (await listed()).length === 1, 'the abandoned waiters to be deleted', 10_000).catch(
        () => {},
      );
    }
    const left = await listed();
    const created = (await viewer.exists(lockPath))!.cversion - cversionBefore;
    const [range, belowLatency] = acquirer.of('timeouts')[0]?.args ?? [];
    console.log(
      `timed-out acquires (seed ${seed}): outcomes ${JSON.stringify(outcomes)}, timeouts ${range} ms (${belowLatency} below the ` +
        `median create latency ${acquirer.of('create-latency-ms')[0]?.args[0]} ms), ${created} creates reached the ensemble, ` +
        `cleanup ${done.args.join(' ')} ms, znodes left ${left.length - 1}`,
    );
    expect(outcomes).toEqual({ TimeoutError: 200 });
    // Both sides were exercised: creates that were abandoned after they reached the ensemble
    // (in flight or waiting), and timeouts that fired before theirs could have completed.
    expect(created).toBeGreaterThanOrEqual(20);
    expect(Number(belowLatency)).toBeGreaterThanOrEqual(20);
    expect(left).toEqual([held.nodePath!.slice(lockPath.length + 1)]);
    // Nothing queues ahead of the next acquirer: it gets the lock as soon as the holder lets go.
    await held.release();
    acquirer.send('acquire 5000');
    const acquired = await acquirer.waitForLine(
      (line) => line.kind === 'acquired' || line.kind === 'acquire-failed',
      'the acquire after the release',
    );
    expect(acquired.text).toMatch(/^acquired /);
  }, 90_000);
});
