import type { Zxid } from '@zabkit/core';
import { expect } from 'vitest';
import { simulationFor } from './run-seeds.js';
import type { FaultMix, SimOptions, Simulation } from './simulation.js';

// What the scenario tests share: a calm fault mix, an ensemble brought up by hand, and helpers
// that read and write through one member.

export const CALM: FaultMix = {
  delayMsMax: 2,
  breakPerSecond: 0,
  partitionPerSecond: 0,
  crashPerSecond: 0,
  pausePerSecond: 0,
  staleDeliveryRate: 0,
  fsyncMsMax: 1,
  leaderPartitionPerSecond: 0,
  longDownPerSecond: 0,
  wipeRate: 0,
  outsiderPerSecond: 0,
};

export const text = (value: string) => new TextEncoder().encode(value);
export const decode = (value: Uint8Array) => new TextDecoder().decode(value);

export async function scenario(nodes = 3, extra: Partial<SimOptions> = {}, observers = 0): Promise<Simulation> {
  const sim = await simulationFor(1, nodes, observers, { clients: 0, faults: CALM, ...extra });
  sim.stopFaults();
  await sim.waitFor('an established leader with every member serving', () => {
    const leader = sim.leaderId();
    if (leader === null) return false;
    for (let id = 1; id <= nodes + observers; id++) if (!sim.peerOf(id).isServing()) return false;
    return true;
  });
  return sim;
}

export function followers(sim: Simulation, nodes: number): number[] {
  const leader = sim.leaderId();
  return Array.from({ length: nodes }, (_, i) => i + 1).filter((id) => id !== leader);
}

/** readOn reads a path through server `id` with a fresh session there. */
export async function readOn(sim: Simulation, id: number, path: string): Promise<string | null> {
  const session = await sim.openSession(id);
  const reply = await sim.request(id, session, { op: 'getData', path, watch: false });
  if (reply.error === 'NO_NODE') return null;
  expect(reply.error).toBeNull();
  return reply.result?.op === 'getData' ? decode(reply.result.data) : null;
}

export async function writeN(sim: Simulation, id: number, count: number, prefix: string): Promise<Zxid[]> {
  const session = await sim.openSession(id);
  const zxids: Zxid[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await sim.request(id, session, {
      op: 'create',
      path: `/${prefix}-${i}`,
      data: text(`${prefix}${i}`),
      mode: 0,
      ttlMs: 0,
    });
    expect(reply.error).toBeNull();
    zxids.push(reply.zxid);
  }
  return zxids;
}

export function allCaughtUp(sim: Simulation, ids: number[]): boolean {
  const leader = sim.leaderId();
  if (leader === null) return false;
  const target = sim.peerOf(leader).status().lastAppliedZxid;
  return ids.every(
    (id) => sim.isUp(id) && sim.peerOf(id).isServing() && sim.peerOf(id).status().lastAppliedZxid >= target,
  );
}
