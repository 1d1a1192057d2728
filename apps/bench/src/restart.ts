import { rssBytes } from './live-memory.js';
import type { Conn, Target } from './target.js';

/**
 * ATTEMPT_MS bounds one try to open a session with the restarted member and read from it, with
 * @zabkit/client: its backoff grows from 50 ms to 1 s within one connect, so short tries keep the
 * probe as fine as node-zookeeper-client's, which tries again after at most 50 ms (spinDelay) for
 * as long as it is given (and must not be closed while it connects: see connectZookeeperClient).
 */
const ATTEMPT_MS = 500;
/** ATTEMPT_MS_SLOW: after this many tries time out, a member that answers slowly gets longer ones. */
const ATTEMPTS_FAST = 20;
const ATTEMPT_MS_SLOW = 5_000;

/** RestartTrial is one kill -9 and restart of a follower. */
export interface RestartTrial {
  member: number;
  /** firstReadMs: from starting the killed member's process again to its first answered read. */
  firstReadMs: number;
  rssBytesBefore: number | null;
  /** rssBytesAfter: the restarted member's RSS at its first answered read. */
  rssBytesAfter: number | null;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * firstRead opens sessions with member `id` alone, one try after another (each client also retries
 * within its try, see ATTEMPT_MS), until a read of `path` is answered; it resolves with the time of
 * that answer.
 */
async function firstRead(
  target: Target,
  id: number,
  options: { path: string; deadlineMs: number; failure: () => unknown },
): Promise<number> {
  const { path } = options;
  let attempts = 0;
  let last: unknown;
  while (performance.now() < options.deadlineMs) {
    if (options.failure() !== undefined) throw options.failure();
    const attemptMs =
      target.name === 'zookeeper'
        ? Math.max(1, Math.ceil(options.deadlineMs - performance.now()))
        : attempts++ < ATTEMPTS_FAST
          ? ATTEMPT_MS
          : ATTEMPT_MS_SLOW;
    let conn: Conn | undefined;
    try {
      conn = await target.connectTo(id, attemptMs);
      await within(conn.get(path), attemptMs, `read of ${path}`);
      return performance.now();
    } catch (error) {
      last = error;
      await new Promise((resume) => setTimeout(resume, 10));
    } finally {
      conn?.close().catch(() => {});
    }
  }
  throw new Error(`restarted member ${id} served no read of ${path}: ${String(last)}`);
}

/**
 * restartFollower kills a follower with SIGKILL, starts it again on the same data directory, and
 * measures the time until a read on that member is answered (a fresh session with it alone: so the
 * time covers the process start, loading its snapshot and log, joining the leader and syncing, and
 * creating the session); then it waits until the whole ensemble serves.
 */
export async function restartFollower(
  target: Target,
  options: { path: string; timeoutMs?: number },
): Promise<RestartTrial> {
  const leader = await target.leader();
  const pids = target.serverPids();
  const member = [1, 2, 3].find((id) => id !== leader && pids[id - 1] != null);
  if (member === undefined) throw new Error('no running follower to restart');
  const rssBytesBefore = rssBytes(pids[member - 1] ?? null);
  await target.kill(member);
  const started = performance.now();
  const restarted = target.restart(member);
  // If the restart itself fails (the member exits), stop probing rather than wait out the deadline.
  let failed: unknown;
  restarted.catch((error) => {
    failed = error;
  });
  const answered = await firstRead(target, member, {
    path: options.path,
    deadlineMs: started + (options.timeoutMs ?? 300_000),
    failure: () => failed,
  });
  const rssBytesAfter = rssBytes(target.serverPids()[member - 1] ?? null);
  await restarted;
  return { member, firstReadMs: answered - started, rssBytesBefore, rssBytesAfter };
}
