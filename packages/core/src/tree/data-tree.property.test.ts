import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ErrorCode, LogEntry, MultiOp, MultiResult, SnapshotRecord, WriteRequest } from '../types.js';
import { DataTree } from './data-tree.js';
import { bytes, Leader } from './test/harness.js';
import { NaiveModel, sortedRecords } from './test/naive-model.js';

// Paths the generators draw from: nested enough for NOT_EMPTY, NO_NODE and ephemeral parents,
// plus the reserved subtree.
const PATHS = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/zookeeper', '/zookeeper/q'];
const SEQUENTIAL_PREFIXES = ['/a/s-', '/b/', '/s-'];

const version = fc.constantFrom(-1, -1, 0, 1, 2);
const data = fc.constantFrom('', 'x', 'hello', 'zab');
const createOp = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    path: fc.constantFrom(...PATHS),
    data,
    mode: fc.constantFrom(0, 0, 1, 4, 5),
  }),
  fc.record({
    op: fc.constant('create' as const),
    path: fc.constantFrom(...SEQUENTIAL_PREFIXES),
    data,
    mode: fc.constantFrom(2, 3, 6),
  }),
);
const multiOp = fc.oneof(
  createOp,
  fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...PATHS), version }),
  fc.record({ op: fc.constant('setData' as const), path: fc.constantFrom(...PATHS), data, version }),
  fc.record({ op: fc.constant('check' as const), path: fc.constantFrom(...PATHS), version }),
);
type GenOp = typeof multiOp extends fc.Arbitrary<infer T> ? T : never;

const request = fc.oneof(
  { weight: 8, arbitrary: multiOp.filter((op) => op.op !== 'check') },
  { weight: 2, arbitrary: fc.array(multiOp, { maxLength: 4 }).map((ops) => ({ op: 'multi' as const, ops })) },
  { weight: 1, arbitrary: fc.constant({ op: 'closeSession' as const }) },
);
const command = fc.record({ session: fc.integer({ min: 0, max: 2 }), request, applyAfter: fc.boolean() });
type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

function toOp(op: GenOp): MultiOp {
  switch (op.op) {
    case 'create':
      return {
        op: 'create',
        path: op.path,
        data: bytes(op.data),
        mode: op.mode as 0,
        ttlMs: op.mode >= 5 ? 60_000 : 0,
      };
    case 'setData':
      return { op: 'setData', path: op.path, data: bytes(op.data), version: op.version };
    default:
      return op;
  }
}

function toRequest(generated: Command['request']): WriteRequest {
  if (generated.op === 'closeSession') return generated;
  if (generated.op === 'multi') return { op: 'multi', ops: generated.ops.map(toOp) };
  return toOp(generated) as WriteRequest;
}

const sameSessionError = (code: ErrorCode | null) => (code === 'SESSION_EXPIRED' ? 'UNKNOWN_SESSION' : code);

/** structure lists every znode with its Stat and children: what records leave implicit. */
function structure(tree: DataTree): string[] {
  return sortedRecords(tree.snapshotRecords()).flatMap((record) => {
    if (record.kind !== 'node') return [];
    const children = tree.getChildren(record.path);
    return [`${record.path} ${JSON.stringify(tree.stat(record.path))} ${JSON.stringify(children)}`];
  });
}

describe('property: pipeline + tree equal a naive serial model', () => {
  it('gives the same results and the same tree for random request sequences, with proposals outstanding', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 40 }), (commands) => {
        const leader = new Leader();
        const model = new NaiveModel();
        const sessions = [leader.session(), leader.session(), leader.session()];
        for (const id of sessions) model.createSession(id, leader.tree.sessionTimeoutMs(id)!);
        let pending: { entry: LogEntry; expected: ReturnType<NaiveModel['write']> }[] = [];
        const applyPending = () => {
          for (const { entry, expected } of pending) {
            const { error, result } = leader.apply(entry);
            expect(sameSessionError(error)).toBe(sameSessionError(expected.error));
            if (error === null && result?.op === 'create') expect(result.path).toBe(expected.paths[0]);
            if (error === null && result?.op === 'multi') {
              const created = (result as MultiResult).results.map((r) => (r.op === 'create' ? r.path : null));
              expect(created).toEqual(expected.paths);
            }
          }
          pending = [];
          expect(sortedRecords(leader.tree.snapshotRecords())).toEqual(model.records());
          expect(leader.pipeline.outstandingCount).toBe(0);
        };
        for (const { session, request: generated, applyAfter } of commands) {
          const sessionId = sessions[session]!;
          const req = toRequest(generated);
          leader.timeMs += 1;
          const entry = leader.propose(sessionId, req);
          pending.push({ entry, expected: model.write(sessionId, req, entry.zxid, entry.timeMs) });
          if (applyAfter) applyPending();
        }
        applyPending();
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: fuzzy snapshot plus replay equals the live tree', () => {
  it('for a snapshot started at any point and read while transactions apply', () => {
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 40 }),
        fc.nat(40),
        fc.array(fc.nat(3), { minLength: 1, maxLength: 8 }),
        (commands, start, pulls) => {
          const leader = new Leader();
          const sessions = [leader.session(), leader.session(), leader.session()];
          const run = (c: Command) => {
            leader.timeMs += 1;
            leader.write(sessions[c.session]!, toRequest(c.request));
          };
          const before = Math.min(start, commands.length);
          commands.slice(0, before).forEach(run);
          const header = leader.tree.snapshotHeader(leader.timeMs);
          const iterator = leader.tree.snapshotRecords();
          const records: SnapshotRecord[] = [];
          const pull = (count: number) => {
            for (let i = 0; i < count; i++) {
              const next = iterator.next();
              if (next.done) return;
              records.push(next.value);
            }
          };
          commands.slice(before).forEach((c, i) => {
            pull(pulls[i % pulls.length]!);
            run(c);
          });
          pull(Number.POSITIVE_INFINITY);
          const restored = DataTree.fromSnapshot(header, records);
          for (const entry of leader.log) if (entry.zxid > header.zxid) restored.applyTxn(entry);
          expect(restored.lastProcessedZxid).toBe(leader.tree.lastProcessedZxid);
          expect(structure(restored)).toEqual(structure(leader.tree));
          expect([...restored.snapshotRecords()]).toEqual([...leader.tree.snapshotRecords()]);
          for (const id of sessions) expect(restored.ephemeralsOf(id)).toEqual(leader.tree.ephemeralsOf(id));
          expect(restored.expiredNodes(leader.timeMs + 120_000)).toEqual(
            leader.tree.expiredNodes(leader.timeMs + 120_000),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
