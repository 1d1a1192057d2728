/**
 * The byte limits of a member, in one place: what the configuration sets, what follows from it,
 * and the checks that keep every request, reply, entry and peer message inside them. The server
 * sizes its frame decoders and send queues from {@link deriveLimits}; core bounds what it emits
 * with the same numbers; the simulator enforces them on its network. A configuration in which the
 * largest legal entry could not travel is refused by {@link deriveLimits} with one line.
 */
import type { ErrorCode, MultiOp, MultiReadOp, Request } from './types.js';
import { ENVELOPE_BYTES, HEADER_BYTES, INT_BYTES, STAT_BYTES, stringBytes, utf8Bytes } from './wire-size.js';

/** LimitSettings are the configurable limits (server config keys of the same names). */
export interface LimitSettings {
  /** dataBytesMax: one znode's data (ZooKeeper's jute.maxbuffer); default 1 MiB. */
  dataBytesMax: number;
  /** pathBytesMax: one path, in UTF-8 bytes; default 4096. */
  pathBytesMax: number;
  /** clientFrameBytesMax: one client frame body, request or reply (server key `frameBytesMax`); default 1 MiB + 64 KiB. */
  clientFrameBytesMax: number;
  /** watchesPerSessionMax: watches one session may hold on one server; default 65,536. */
  watchesPerSessionMax: number;
  /** proposalBytesInflightMax: bytes the leader has proposed and not yet committed; requests past it wait their turn; default 16 MiB. */
  proposalBytesInflightMax: number;
  /** historyBytesMax: applied entries kept in memory for DIFF, in bytes (with historyEntriesMax, whichever binds first); default 64 MiB. */
  historyBytesMax: number;
}

/** Limits are the settings plus what follows from them. */
export interface Limits extends LimitSettings {
  /** entryBytesMax: the largest encoded LogEntry a leader proposes; a bigger transaction fails with MARSHALLING_ERROR. */
  entryBytesMax: number;
  /** peerFrameBytesMax: the largest peer frame body; any message holding one entry of entryBytesMax fits. */
  peerFrameBytesMax: number;
  /** batchBytesTarget: PROPOSAL, INFORM, DIFF and SNAP messages grow to about this, more only for a single bigger item. */
  batchBytesTarget: number;
  /** syncWindowBytes: bytes of a sync stream (SNAP records, DIFF entries) sent to a learner and not yet acknowledged. */
  syncWindowBytes: number;
}

/** LIMIT_DEFAULTS are the defaults of {@link LimitSettings}. */
export const LIMIT_DEFAULTS: Readonly<LimitSettings> = {
  dataBytesMax: 1024 * 1024,
  pathBytesMax: 4096,
  clientFrameBytesMax: 1024 * 1024 + 64 * 1024,
  watchesPerSessionMax: 65_536,
  proposalBytesInflightMax: 16 * 1024 * 1024,
  historyBytesMax: 64 * 1024 * 1024,
};

const BATCH_BYTES_TARGET = 512 * 1024;
const SYNC_WINDOW_BYTES = 4 * 1024 * 1024;

/** LimitsError: a configuration whose limits cannot work together; its message is the one line to show. */
export class LimitsError extends Error {
  override readonly name = 'LimitsError';
}

/**
 * writeRequestBytesMax bounds the client frame of the largest legal single write: a create of
 * dataBytesMax bytes at a path of pathBytesMax bytes. The client frame limit must hold it.
 */
export function writeRequestBytesMax(settings: Pick<LimitSettings, 'dataBytesMax' | 'pathBytesMax'>): number {
  return ENVELOPE_BYTES + HEADER_BYTES + settings.pathBytesMax + HEADER_BYTES + settings.dataBytesMax + 4 * INT_BYTES;
}

/**
 * deriveLimits fills in defaults and derives the rest. An entry may be up to twice the client
 * frame limit (a transaction adds fields to the request it comes from: a multi of many small
 * creates roughly doubles); a peer frame holds one such entry in any message. Throws LimitsError
 * when the client frame cannot carry the largest legal write.
 */
export function deriveLimits(settings: Partial<LimitSettings> = {}): Limits {
  const merged: LimitSettings = { ...LIMIT_DEFAULTS };
  for (const key of Object.keys(LIMIT_DEFAULTS) as (keyof LimitSettings)[]) {
    const value = settings[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0)
      throw new LimitsError(`${key} must be a non-negative integer: ${value}`);
    merged[key] = value;
  }
  if (merged.pathBytesMax < 1) throw new LimitsError('pathBytesMax must be at least 1');
  const needed = writeRequestBytesMax(merged);
  if (merged.clientFrameBytesMax < needed) {
    throw new LimitsError(
      `frameBytesMax (${merged.clientFrameBytesMax}) cannot carry a write of dataBytesMax (${merged.dataBytesMax}) at a path of pathBytesMax (${merged.pathBytesMax}): it must be at least ${needed}`,
    );
  }
  const entryBytesMax = 2 * merged.clientFrameBytesMax;
  return {
    ...merged,
    entryBytesMax,
    peerFrameBytesMax: entryBytesMax + ENVELOPE_BYTES + HEADER_BYTES,
    // A batch of several items is at most batchBytesTarget, and must fit a peer frame as one
    // entry of entryBytesMax does: below the default 1 MiB of data the 512 KiB target did not.
    batchBytesTarget: Math.min(BATCH_BYTES_TARGET, entryBytesMax),
    syncWindowBytes: SYNC_WINDOW_BYTES,
  };
}

/**
 * peerSendQueueBytesMax is how much a member may queue for one peer before it drops that
 * connection as not keeping up: the leader's proposals in flight, a learner's forwarded requests
 * (`requestBytesInflightMax`, the host's budget of client request bytes), one sync window and a
 * few frames of anything else.
 */
export function peerSendQueueBytesMax(limits: Limits, requestBytesInflightMax: number): number {
  return (
    limits.proposalBytesInflightMax + requestBytesInflightMax + limits.syncWindowBytes + 4 * limits.peerFrameBytesMax
  );
}

function pathTooLong(path: string, max: number): boolean {
  // Cheap first: UTF-8 is at least one byte and at most three per UTF-16 unit.
  if (path.length <= max / 3) return false;
  return path.length > max || utf8Bytes(path) > max;
}

function opPathTooLong(op: MultiOp | MultiReadOp, max: number): boolean {
  return pathTooLong(op.path, max);
}

/**
 * requestLimitError checks a request against the path limit before anything else looks at it:
 * INVALID_PATH when any path it names is over pathBytesMax, null when it is within the limits.
 */
export function requestLimitError(request: Request, limits: Pick<LimitSettings, 'pathBytesMax'>): ErrorCode | null {
  const max = limits.pathBytesMax;
  switch (request.op) {
    case 'multi':
    case 'multiRead':
      for (const op of request.ops) if (opPathTooLong(op, max)) return 'INVALID_PATH';
      return null;
    case 'setWatches':
      for (const list of [
        request.dataWatches,
        request.existWatches,
        request.childWatches,
        request.persistentWatches,
        request.persistentRecursiveWatches,
      ]) {
        for (const path of list) if (pathTooLong(path, max)) return 'INVALID_PATH';
      }
      return null;
    case 'getEphemerals':
      return pathTooLong(request.prefixPath, max) ? 'INVALID_PATH' : null;
    case 'closeSession':
    case 'whoAmI':
    case 'reconfig':
      return null;
    default:
      return pathTooLong(request.path, max) ? 'INVALID_PATH' : null;
  }
}

/**
 * multiResultBytesMax bounds the result of a multi before it runs: a created path gains at most
 * a 10-digit sequence suffix, every other op answers with at most a Stat.
 */
export function multiResultBytesMax(ops: readonly MultiOp[]): number {
  let bytes = ENVELOPE_BYTES + HEADER_BYTES;
  for (const op of ops) {
    bytes += HEADER_BYTES + INT_BYTES + STAT_BYTES;
    if (op.op === 'create') bytes += stringBytes(op.path) + 10;
  }
  return bytes;
}
