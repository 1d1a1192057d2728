// Data tree benchmark: applies/s of setData (1 KiB) and of create-sequential on a tree of 1 M
// znodes, and heap bytes per znode. Runs on the built package (`pnpm --filter @zabkit/core bench`
// builds first); needs `node --expose-gc`. Prints medians of several runs; asserts nothing.
import { CreateMode, DataTree, makeZxid, OPEN_ACL_UNSAFE, RequestPipeline, SessionTracker } from '../dist/index.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const gc = globalThis.gc;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ZNODES = 1_000_000;
const FANOUT = 1000;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const now = () => performance.now();
const memory = () => {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, external: usage.arrayBuffers };
};

let counter = 0;
const nextZxid = () => makeZxid(1, ++counter);
const entry = (txn) => ({ zxid: nextZxid(), sessionId: 0, cxid: 0, timeMs: 1_700_000_000_000 + counter, txn });
const createTxn = (path, data, parentCversion) => ({
  type: 'create',
  path,
  data,
  ephemeralOwner: 0,
  container: false,
  ttlMs: 0,
  parentCversion,
  acl: OPEN_ACL_UNSAFE,
});
const nodePath = (i) => `/b/p${Math.floor(i / FANOUT)}/n${i % FANOUT}`;

/** buildTree applies creates for `/b`, FANOUT parents and ZNODES leaves, each with `dataFor(i)`. */
function buildTree(dataFor) {
  const tree = new DataTree();
  tree.applyTxn(entry(createTxn('/b', new Uint8Array(0), 1)));
  for (let p = 0; p < ZNODES / FANOUT; p++) tree.applyTxn(entry(createTxn(`/b/p${p}`, new Uint8Array(0), p + 1)));
  for (let i = 0; i < ZNODES; i++) tree.applyTxn(entry(createTxn(nodePath(i), dataFor(i), (i % FANOUT) + 1)));
  return tree;
}

function report(name, values, unit) {
  const shown = values.map((v) => Math.round(v).toLocaleString('en-US')).join(', ');
  console.log(`${name}: median ${Math.round(median(values)).toLocaleString('en-US')} ${unit}  (runs: ${shown})`);
}

// ---------------------------------------------------------------------------------------------
// 1. Heap and array buffers per znode: 1 M znodes of 100 B (the tree copies each value into its
//    slabs, so the arrays handed to it are garbage once applied).
{
  const before = memory();
  const tree = buildTree(() => new Uint8Array(100));
  const after = memory();
  const total = (after.heap + after.external - before.heap - before.external) / ZNODES;
  console.log(`znodes: ${tree.nodeCount.toLocaleString('en-US')} (1 M leaves of 100 B under 1,000 parents)`);
  console.log(
    `heap + array buffers per znode: ${total.toFixed(0)} B (heap ${((after.heap - before.heap) / ZNODES).toFixed(0)} B)`,
  );
}

// ---------------------------------------------------------------------------------------------
// 2. setData 1 KiB on a tree of 1 M znodes (apply only; txns prepared up front). Each txn's data
//    is its own view into a received buffer, as a decoded request's is: one array shared by every
//    txn would let a tree that keeps the arrays it is given skip the copy a server always pays.
const received = new Uint8Array(64 * 1024 * 1024).fill(7);
const receivedView = (i) => received.subarray((i * 1024) % received.length, ((i * 1024) % received.length) + 1024);
const tree = buildTree(() => new Uint8Array(0));
{
  const OPS = 1_000_000;
  const results = [];
  for (let run = 0; run < RUNS; run++) {
    const entries = new Array(OPS);
    for (let i = 0; i < OPS; i++) {
      const k = (i * 7919) % ZNODES;
      entries[i] = entry({ type: 'setData', path: nodePath(k), data: receivedView(i), version: run + 1 });
    }
    gc();
    const started = now();
    for (let i = 0; i < OPS; i++) tree.applyTxn(entries[i]);
    results.push(OPS / ((now() - started) / 1000));
  }
  report('applyTxn setData 1 KiB, 1 M-znode tree', results, 'applies/s');
}

// ---------------------------------------------------------------------------------------------
// 3. create-sequential on the same tree: the leader path (prepare + noteProposed + apply +
//    noteApplied) and apply alone.
{
  const OPS = 200_000;
  const tracker = new SessionTracker();
  const pipeline = new RequestPipeline(tree, tracker);
  // The leader names a session by the zxid of its createSession (core's zab/sessions.ts).
  const session = pipeline.prepareCreateSession(makeZxid(1, counter + 1), 10_000, new Uint8Array(16));
  const sessionEntry = entry(session);
  pipeline.noteProposed(sessionEntry.zxid, session);
  tree.applyTxn(sessionEntry);
  pipeline.noteApplied(sessionEntry.zxid);
  const request = {
    op: 'create',
    path: '/b/p7/seq-',
    data: receivedView(0),
    mode: CreateMode.PERSISTENT_SEQUENTIAL,
    ttlMs: 0,
  };
  const applyOnly = [];
  const leaderPath = [];
  for (let run = 0; run < RUNS; run++) {
    const entries = new Array(OPS);
    gc();
    let started = now();
    for (let i = 0; i < OPS; i++) {
      const txn = pipeline.prepare(session.sessionId, i, request, 0);
      const e = entry(txn);
      pipeline.noteProposed(e.zxid, txn);
      tree.applyTxn(e);
      pipeline.noteApplied(e.zxid);
      entries[i] = e;
    }
    leaderPath.push(OPS / ((now() - started) / 1000));
    // Apply alone: replay the same creates on a copy-free path by deleting them, then re-applying.
    for (let i = 0; i < OPS; i++) tree.applyTxn(entry({ type: 'delete', path: entries[i].txn.path }));
    const replay = entries.map((e) => entry(e.txn));
    gc();
    started = now();
    for (let i = 0; i < OPS; i++) tree.applyTxn(replay[i]);
    applyOnly.push(OPS / ((now() - started) / 1000));
    for (let i = 0; i < OPS; i++) tree.applyTxn(entry({ type: 'delete', path: entries[i].txn.path }));
  }
  report('applyTxn create-sequential 1 KiB, 1 M-znode tree', applyOnly, 'applies/s');
  report('prepare + apply create-sequential (leader path)', leaderPath, 'ops/s');
}
