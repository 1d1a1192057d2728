import type { LogEntry, RecoveredState, SnapshotRecord, Zxid } from '@zabkit/core';
import { createPrng, makeZxid, zxidCounter, zxidEpoch } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { openFileStorage } from './file-storage.js';
import { SimulatedDisk } from './simulated-disk.js';
import { entry, snapshotRecords } from './storage-contract.test-suite.js';

const SEED = Number(process.env.ZABKIT_STORAGE_SEED ?? 0x5eed_0006);
const ITERATIONS = Number(process.env.ZABKIT_STORAGE_POWER_LOSSES ?? 500);

function recordsFor(zxid: Zxid): SnapshotRecord[] {
  return snapshotRecords((zxid % 13) + 1, zxid % 1000);
}

async function* slowly<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) {
    await new Promise((resolve) => setImmediate(resolve));
    yield item;
  }
}

/**
 * Model is what the workload knows: every version of every entry it issued, which entry followed
 * which (so a recovered log must be a chain of issued successions, never a spliced one), what was
 * acknowledged (must survive) and what an acknowledged truncation removed (must not come back).
 */
class Model {
  /** variants: zxid -> the variants issued for it (a zxid lost in a crash is issued again with another). */
  readonly variants = new Map<Zxid, Set<number>>();
  readonly successors = new Map<Zxid, Set<Zxid>>();
  /** issuedLog is the log as it will be once every issued call has run. */
  issuedLog: Zxid[] = [];
  /** required: acknowledged entries no issued truncation may remove, with their variant. */
  readonly required = new Map<Zxid, number>();
  readonly forbidden = new Set<Zxid>();
  truncations: { sequence: number; zxid: Zxid }[] = [];
  sequence = 0;
  ackedSnapshotZxid: Zxid | null = null;
  issuedSnapshotZxid = 0;
  /** nextEpoch, after a truncation, is the epoch the next append starts (as after TRUNC). */
  nextEpoch: number | null = null;
  ackedEpoch = 0;
  issuedEpoch = 0;
  pendingTruncations = 0;

  /** reset starts a new life from what recovery returned (all of it is durable now). */
  reset(state: RecoveredState): void {
    const base = state.snapshot?.header.zxid ?? 0;
    this.issuedLog = [base, ...state.entries.map((item) => item.zxid)].filter((zxid) => zxid !== 0);
    this.required.clear();
    this.forbidden.clear();
    this.truncations = [];
    this.variants.clear();
    this.successors.clear();
    let previous = base;
    for (const item of state.entries) {
      this.issue(previous, item.zxid, item.cxid - zxidCounter(item.zxid) * 3);
      this.required.set(item.zxid, item.cxid - zxidCounter(item.zxid) * 3);
      previous = item.zxid;
    }
    this.ackedSnapshotZxid = state.snapshot?.header.zxid ?? null;
    this.issuedSnapshotZxid = this.ackedSnapshotZxid ?? 0;
    this.nextEpoch = null;
    this.ackedEpoch = state.epochs.acceptedEpoch;
    this.issuedEpoch = state.epochs.acceptedEpoch;
  }

  issue(previous: Zxid, zxid: Zxid, variant: number): void {
    const set = this.variants.get(zxid) ?? new Set<number>();
    set.add(variant);
    this.variants.set(zxid, set);
    const next = this.successors.get(previous) ?? new Set<Zxid>();
    next.add(zxid);
    this.successors.set(previous, next);
  }

  check(state: RecoveredState, label: string): void {
    expect(state.epochs.acceptedEpoch, `${label}: epochs`).toBeGreaterThanOrEqual(this.ackedEpoch);
    expect(state.epochs.acceptedEpoch, `${label}: epochs`).toBeLessThanOrEqual(this.issuedEpoch);
    const base = state.snapshot?.header.zxid ?? 0;
    if (state.snapshot !== null) {
      expect([...state.snapshot.records], `${label}: snapshot records`).toEqual(recordsFor(base));
    }
    if (this.ackedSnapshotZxid !== null) {
      expect(base, `${label}: acknowledged snapshot`).toBeGreaterThanOrEqual(this.ackedSnapshotZxid);
    }
    let previous = base;
    for (const item of state.entries) {
      const variant = item.cxid - zxidCounter(item.zxid) * 3;
      expect(this.variants.get(item.zxid)?.has(variant), `${label}: 0x${item.zxid.toString(16)} was issued`).toBe(true);
      expect(item, `${label}: intact`).toEqual(entry(zxidEpoch(item.zxid), zxidCounter(item.zxid), variant));
      expect(this.successors.get(previous)?.has(item.zxid), `${label}: 0x${item.zxid.toString(16)} follows`).toBe(true);
      expect(this.forbidden.has(item.zxid), `${label}: truncated 0x${item.zxid.toString(16)} is back`).toBe(false);
      previous = item.zxid;
    }
    const present = new Map(state.entries.map((item) => [item.zxid, item.cxid - zxidCounter(item.zxid) * 3]));
    for (const [zxid, variant] of this.required) {
      if (zxid <= base) continue;
      expect(present.get(zxid), `${label}: acknowledged 0x${zxid.toString(16)} survives`).toBe(variant);
    }
  }
}

describe('FileStorage under simulated power loss', () => {
  it(`keeps every acknowledged write and never splices the log (seed ${SEED}, ${ITERATIONS} power losses)`, async () => {
    console.log(`power-loss test seed: ${SEED} (ZABKIT_STORAGE_SEED to replay)`);
    const random = createPrng(SEED);
    const model = new Model();
    let disk = new SimulatedDisk();
    let truncatedTails = 0;
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const label = `seed ${SEED} iteration ${iteration}`;
      const logger = {
        warn: (message: string) => {
          if (message.startsWith('truncating')) truncatedTails++;
        },
      };
      const storage = await openFileStorage({
        dir: '/data',
        fileSystem: disk,
        logger,
        segmentBytesMax: 400 + random.int(800),
        snapshotRetainCount: 1 + random.int(3),
      });
      const state = await storage.load();
      model.check(state, label);
      model.reset(state);

      disk.freezeAfter(random.int(100));
      const pending: Promise<unknown>[] = [];
      // Calls fail once the disk freezes; that is expected and only what resolved counts.
      const track = (promise: Promise<unknown>): void => {
        pending.push(promise.catch(() => undefined));
      };
      for (let step = 0; step < 40; step++) {
        const choice = random.next();
        const last = model.issuedLog.at(-1) ?? 0;
        if (choice < 0.6) {
          const count = 1 + random.int(5);
          const batch: LogEntry[] = [];
          let previous = last;
          for (let index = 0; index < count; index++) {
            const zxid =
              model.nextEpoch !== null ? makeZxid(model.nextEpoch, 1) : previous === 0 ? makeZxid(1, 1) : previous + 1;
            model.nextEpoch = null;
            const item = entry(zxidEpoch(zxid), zxidCounter(zxid), iteration % 7);
            model.issue(previous, zxid, iteration % 7);
            batch.push(item);
            previous = zxid;
          }
          model.issuedLog.push(...batch.map((item) => item.zxid));
          const sequence = model.sequence++;
          track(
            storage.append(batch).then(() => {
              for (const item of batch) {
                const removed = model.truncations.some((cut) => cut.sequence > sequence && cut.zxid < item.zxid);
                if (!removed) model.required.set(item.zxid, iteration % 7);
              }
            }),
          );
        } else if (choice < 0.7) {
          // Zab never truncates below a snapshot (snapshots hold only committed transactions).
          const candidates = model.issuedLog.filter((zxid) => zxid >= model.issuedSnapshotZxid);
          if (candidates.length === 0) continue;
          const zxid = candidates[random.int(candidates.length)] as Zxid;
          const removed = model.issuedLog.filter((value) => value > zxid);
          model.issuedLog = model.issuedLog.filter((value) => value <= zxid);
          const epochMax = Math.max(...[...model.variants.keys()].map(zxidEpoch), zxidEpoch(last));
          model.nextEpoch = epochMax + 1;
          for (const value of [...model.required.keys()]) if (value > zxid) model.required.delete(value);
          model.truncations.push({ sequence: model.sequence++, zxid });
          model.pendingTruncations++;
          track(
            storage.truncateAfter(zxid).then(() => {
              model.pendingTruncations--;
              for (const value of removed) model.forbidden.add(value);
            }),
          );
        } else if (choice < 0.8) {
          const zxid = [...model.required.keys()].sort((a, b) => a - b).at(-1);
          if (zxid === undefined || model.pendingTruncations > 0) continue;
          model.issuedSnapshotZxid = Math.max(model.issuedSnapshotZxid, zxid);
          const records = recordsFor(zxid);
          track(
            storage.saveSnapshot({ zxid, timeMs: zxid }, random.next() < 0.5 ? records : slowly(records)).then(() => {
              model.ackedSnapshotZxid = Math.max(model.ackedSnapshotZxid ?? 0, zxid);
            }),
          );
        } else if (choice < 0.85) {
          const epoch = ++model.issuedEpoch;
          track(
            storage.saveEpochs({ acceptedEpoch: epoch, currentEpoch: epoch }).then(() => {
              model.ackedEpoch = Math.max(model.ackedEpoch, epoch);
            }),
          );
        } else {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await Promise.allSettled(pending);
      disk = disk.crash(random);
    }
    // The fault model must actually have torn tails, or the test proves less than it says.
    console.log(`torn tails truncated: ${truncatedTails}`);
    expect(truncatedTails).toBeGreaterThan(10);
  }, 60_000);
});
