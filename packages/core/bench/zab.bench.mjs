// Zab benchmark: committed transactions/s of a 3-member ensemble of the core alone, driven in one
// process with no I/O (persistence and delivery are immediate). This is the ceiling a server built
// on @zabkit/core can reach. Runs on the built package; prints medians of several runs.
import { createPrng, createTreeMachine, ZabPeer } from '../dist/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WRITES = Number(process.env.BENCH_WRITES ?? 200_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 1_000);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function run() {
  const voters = [1, 2, 3];
  const prng = createPrng(1);
  const peers = new Map();
  for (const id of voters) {
    peers.set(
      id,
      new ZabPeer(
        { id, voters, random: prng.fork(), machine: createTreeMachine({ tickMs: 50 }), tickMs: 50 },
        { epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: null, entries: [] },
      ),
    );
  }
  const inbox = [];
  let head = 0;
  const replies = { count: 0, sessionCreated: null };
  const drain = () => {
    for (;;) {
      let progressed = false;
      for (const [id, peer] of peers) {
        while (peer.hasReady()) {
          progressed = true;
          const ready = peer.ready();
          for (const message of ready.messages) inbox.push({ from: id, to: message.to, message: message.message });
          for (const output of ready.toClients) {
            if (output.type === 'reply') replies.count++;
            else if (output.type === 'sessionCreated') replies.sessionCreated = output.sessionId;
          }
          peer.advance();
        }
      }
      while (head < inbox.length) {
        progressed = true;
        const next = inbox[head++];
        peers.get(next.to).step(next.from, next.message);
      }
      if (head > 100_000) {
        inbox.splice(0, head);
        head = 0;
      }
      if (!progressed) return;
    }
  };
  let now = 0;
  for (let i = 0; i < 40; i++) {
    drain();
    now += 50;
    for (const peer of peers.values()) peer.tick(now);
  }
  const leader = [...peers.values()].find((peer) => peer.status().role === 'leading' && peer.status().established);
  if (!leader) throw new Error('no leader elected');
  leader.submitCreateSession(30_000, new Uint8Array(16));
  drain();
  const session = replies.sessionCreated;
  leader.submit(session, 1, { op: 'create', path: '/k', data: new Uint8Array(0), mode: 0, ttlMs: 0 });
  drain();
  const data = new Uint8Array(1024);
  const before = replies.count;
  const started = performance.now();
  let xid = 2;
  let lastTick = started;
  while (replies.count - before < WRITES) {
    while (xid - 2 - (replies.count - before) < IN_FLIGHT && xid - 2 < WRITES) {
      leader.submit(session, xid++, { op: 'setData', path: '/k', data, version: -1 });
    }
    drain();
    // Keep the ensemble's clocks moving (pings, session touches) as a real host would.
    if (performance.now() - lastTick > 50) {
      lastTick = performance.now();
      now += 50;
      for (const peer of peers.values()) peer.tick(now);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return WRITES / seconds;
}

const rates = [];
for (let i = 0; i < RUNS; i++) rates.push(run());
console.log(
  `3-member ensemble, setData 1 KiB, ${IN_FLIGHT} in flight, ${WRITES} writes: median ${Math.round(median(rates)).toLocaleString('en-US')} committed/s (runs: ${rates.map((r) => Math.round(r)).join(', ')})`,
);
