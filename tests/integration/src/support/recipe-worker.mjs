// recipe-worker: one client process for the recipe fault tests (recipes-faults: leadership-cuts.test.ts,
// lock-faults.test.ts). Run as `node recipe-worker.mjs <mode> <config JSON>`; it imports the built
// @zabkit/client, so the client must be built (turbo builds it before the integration tests).
// It reports on stdout, one event a line, `kind arg…`, times in ms on the clock shared by every
// process of the machine (performance.timeOrigin + performance.now()); stdout is a pipe, written
// synchronously, so a line printed before a kill -9 is not lost. Commands arrive on stdin.
//
// Modes:
// - election: a LeaderElection participant; `leader t`, `notLeader t`, and `act t` every few ms
//   while `isLeader` is true. A participant whose session expires starts again on a new client.
// - counter: loops: acquire the Lock (`acquired t`), read the counter, `try v`, set v (no version),
//   `inc v version`, release.
// - holder: acquires the Lock (`holding token`), then every 10 ms checks `isHeld` and, if held, does
//   a guarded write of its fencing token to the test's resource (HTTP); the first time it finds the
//   lock not held after holding it, it sends one probe write with the old token (`probe status`).
// - acquirer: `count` acquires with small random timeouts while another process holds the lock,
//   then waits for the cleanup of the abandoned waiters (`done …`), then serves `acquire <ms>` commands.
import { createInterface } from 'node:readline';
import { connect, ZabError } from '@zabkit/client';
import { LeaderElection, Lock } from '@zabkit/client/recipes';

const [mode, configText] = process.argv.slice(2);
const config = JSON.parse(configText ?? '{}');
const now = () => performance.timeOrigin + performance.now();
const report = (...words) => process.stdout.write(`${words.join(' ')}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const describe = (error) =>
  ZabError.isInstance(error)
    ? error.code
    : `${error?.name ?? 'Error'}:${String(error?.message ?? error).replaceAll(' ', '_')}`;

process.on('unhandledRejection', (error) => report('unhandled', describe(error)));

/** open connects, retrying until it succeeds (a connect through a cut proxy hangs until healed). */
async function open() {
  for (;;) {
    try {
      const client = await connect(config.connectString, {
        sessionTimeoutMs: config.sessionTimeoutMs,
        connectTimeoutMs: 30_000,
      });
      for (const event of ['disconnected', 'reconnected', 'expired']) {
        client.on(event, () => report(`client-${event}`, now()));
      }
      return client;
    } catch (error) {
      report('connect-failed', describe(error));
      await sleep(100);
    }
  }
}

/** on subscribes to a recipe event if the recipe has events (the Lock got them with issue 18). */
function on(recipe, event, listener) {
  if (typeof recipe.on === 'function') recipe.on(event, listener);
}

async function election() {
  let current;
  setInterval(() => {
    if (current?.isLeader) report('act', now());
  }, 3);
  for (;;) {
    const client = await open();
    const options = config.policy === undefined ? {} : { connectionStatePolicy: config.policy };
    const participant = new LeaderElection(client, config.path, config.name, options);
    participant.on('leader', () => report('leader', now()));
    participant.on('notLeader', () => report('notLeader', now()));
    participant.on('error', (error) => report('error', describe(error)));
    const ended = new Promise((resolve) => client.on('expired', resolve));
    try {
      await participant.start();
      current = participant;
      report('joined', client.sessionId, now());
    } catch (error) {
      report('start-failed', describe(error));
    }
    await ended;
    report('expired', now());
    await client.close().catch(() => {});
  }
}

async function counter() {
  const decoder = new TextDecoder();
  for (;;) {
    const client = await open();
    report('session', client.sessionId);
    while (client.state !== 'EXPIRED' && client.state !== 'CLOSED') {
      const lock = new Lock(client, config.lockPath);
      try {
        await lock.acquire({ timeoutMs: 10_000 });
        report('acquired', now());
        const { data } = await client.get(config.counterPath);
        const next = Number(decoder.decode(data)) + 1;
        report('try', next);
        // No version: only the lock keeps two increments from reading the same value.
        const stat = await client.set(config.counterPath, String(next));
        report('inc', next, stat.version);
      } catch (error) {
        report('error', describe(error));
        await sleep(20);
      } finally {
        await lock.release().catch((error) => report('release-failed', describe(error)));
      }
    }
    await client.close().catch(() => {});
  }
}

async function holder() {
  const client = await open();
  const lock = new Lock(client, config.lockPath);
  for (const event of ['suspended', 'reconnected', 'lost']) on(lock, event, () => report(`lock-${event}`, now()));
  await lock.acquire();
  // Without lock.fencingToken (before issue 18) the writes carry the znode's czxid, so the rest of
  // the test still runs; the test fails on the `holding none` line.
  const offered = lock.fencingToken;
  const token = typeof offered === 'bigint' ? offered : (await client.exists(lock.nodePath)).czxid;
  report('holding', typeof offered === 'bigint' ? offered : 'none', lock.nodePath, now());
  const write = async (probe, checkedAt) => {
    const body = JSON.stringify({ who: config.name, token: String(token), checkedAt, sentAt: now(), probe });
    const response = await fetch(config.resourceUrl, { method: 'POST', body });
    await response.arrayBuffer();
    return response.status;
  };
  let last = now();
  for (;;) {
    await sleep(10);
    const t = now();
    // A gap in this loop is a pause (SIGSTOP): reported so that failures can be read against it.
    if (t - last > 500) report('woke', t, Math.round(t - last));
    last = t;
    if (lock.isHeld) {
      try {
        await write(false, t);
      } catch (error) {
        report('write-failed', describe(error));
      }
    } else {
      report('notHeld', t);
      // What a holder that ignored isHeld would do: the resource must refuse its old token.
      // Retried if the request itself fails (a connection the pause left stale): that is not a write.
      for (let attempt = 1; ; attempt++) {
        try {
          report('probe', await write(true, t));
          break;
        } catch (error) {
          report('write-failed', describe(error));
          if (attempt === 3) throw error;
        }
      }
      break;
    }
  }
  setInterval(() => {}, 1_000);
}

/** mulberry32: a small seeded PRNG, so a run's timeouts can be replayed from its seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function acquirer() {
  const client = await open();
  // How long a create takes here, so that the timeouts drawn below straddle it.
  const latencies = [];
  for (let i = 0; i < 10; i++) {
    const started = now();
    const path = await client.create(`${config.lockPath}-probe-`, '', { mode: 'EPHEMERAL_SEQUENTIAL' });
    latencies.push(now() - started);
    await client.delete(path);
  }
  latencies.sort((a, b) => a - b);
  report('create-latency-ms', latencies[5].toFixed(2));
  const random = prng(config.seed);
  const outcomes = {};
  const cleanups = [];
  const timeouts = [];
  for (let i = 0; i < config.count; i++) {
    // A quarter of a millisecond to a few create latencies; every tenth is exactly 1.5.
    const timeoutMs = i % 10 === 0 ? 1.5 : (25 + Math.round(random() * 2_475)) / 100;
    timeouts.push(timeoutMs);
    const lock = new Lock(client, config.lockPath);
    let outcome;
    try {
      await lock.acquire({ timeoutMs });
      outcome = 'acquired';
      await lock.release();
    } catch (error) {
      outcome = describe(error).split(':')[0];
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (typeof lock.whenCleanedUp === 'function') cleanups.push(lock.whenCleanedUp());
  }
  report('outcomes', JSON.stringify(outcomes));
  const belowLatency = timeouts.filter((timeoutMs) => timeoutMs < latencies[5]).length;
  report('timeouts', `${Math.min(...timeouts)}..${Math.max(...timeouts)}`, belowLatency);
  const started = now();
  await Promise.all(cleanups);
  report('done', cleanups.length > 0 ? 'whenCleanedUp' : 'no-cleanup-api', (now() - started).toFixed(1));
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, argument] = line.split(' ');
    if (command !== 'acquire') continue;
    const lock = new Lock(client, config.lockPath);
    const started = now();
    try {
      await lock.acquire({ timeoutMs: Number(argument) });
      report('acquired', (now() - started).toFixed(1));
      await lock.release();
    } catch (error) {
      report(
        'acquire-failed',
        describe(error),
        (now() - started).toFixed(1),
        String(error?.message).replaceAll(' ', '_'),
      );
    }
  }
}

const modes = { election, counter, holder, acquirer };
if (!(mode in modes)) throw new Error(`recipe-worker: unknown mode ${mode}`);
modes[mode]().catch((error) => {
  report('fatal', describe(error), String(error?.message).replaceAll(' ', '_'));
  process.exitCode = 1;
});
