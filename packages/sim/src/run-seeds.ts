import { createTreeMachine } from '@zabkit/core';
import { SIM_TIMEOUTS } from './liveness.js';
import { type SimOptions, type SimResult, Simulation, SimViolation } from './simulation.js';

/** SeedRunOptions: what `pnpm sim` takes. */
export interface SeedRunOptions {
  firstSeed: number;
  seeds: number;
  nodes: number;
  observers: number;
  safetyMs?: number;
  /** membership: membership changes on, with `spares` servers outside the configuration (SimOptions). */
  membership?: boolean;
  spares?: number;
  /** unsafeMembershipRule: a deliberately wrong rule, for the test that it is caught. */
  unsafeMembershipRule?: SimOptions['unsafeMembershipRule'];
  commitQuorumCheck?: boolean;
  /** historyEntriesMax: entries each member keeps in memory (SimOptions; default 200). */
  historyEntriesMax?: number;
  /** diskDiffFactor: every member's (SimOptions; default by seed). */
  diskDiffFactor?: number;
  onProgress?: (done: number, total: number, result: SimResult) => void;
}

/** simulationFor builds the standard simulation of one seed: a real DataTree under every member. */
export function simulationFor(
  seed: number,
  nodes: number,
  observers: number,
  extra: Partial<SimOptions> = {},
): Simulation {
  return new Simulation({
    seed,
    nodes,
    observers,
    // The machine gets the members' own limits object: one set of limits per member, as the server.
    makeMachine: (limits) =>
      createTreeMachine({
        tickMs: SIM_TIMEOUTS.tickMs,
        sessionTimeoutMsMin: 1_000,
        sessionTimeoutMsMax: 10_000,
        limits,
      }),
    ...extra,
  });
}

/** runSeeds runs consecutive seeds and stops at the first violation, which it returns. */
export async function runSeeds(
  options: SeedRunOptions,
): Promise<{ results: SimResult[]; violation: SimViolation | null }> {
  const results: SimResult[] = [];
  for (let i = 0; i < options.seeds; i++) {
    const seed = options.firstSeed + i;
    try {
      const result = await simulationFor(seed, options.nodes, options.observers, {
        ...(options.safetyMs !== undefined && { safetyMs: options.safetyMs }),
        ...(options.membership === true && { membership: true }),
        ...(options.spares !== undefined && { spares: options.spares }),
        ...(options.unsafeMembershipRule !== undefined && { unsafeMembershipRule: options.unsafeMembershipRule }),
        ...(options.commitQuorumCheck === false && { commitQuorumCheck: false }),
        ...(options.historyEntriesMax !== undefined && { historyEntriesMax: options.historyEntriesMax }),
        ...(options.diskDiffFactor !== undefined && { diskDiffFactor: options.diskDiffFactor }),
      }).run();
      results.push(result);
      options.onProgress?.(i + 1, options.seeds, result);
    } catch (error) {
      if (error instanceof SimViolation) return { results, violation: error };
      // An assertion inside the protocol (ZabInvariantError) is a violation too: report it with its seed.
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return { results, violation: new SimViolation(seed, 'assertion', message, []) };
    }
  }
  return { results, violation: null };
}
