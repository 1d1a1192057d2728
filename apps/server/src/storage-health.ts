import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * StorageHealth tells whether this member can still write its data directory. A log append or an
 * epoch write that fails stops the member (it must not acknowledge what it cannot persist), but a
 * directory that turns read-only or full shows first elsewhere: new snapshot and segment files
 * fail while the open log segment may still take appends. So the member proves the directory
 * takes a write every `intervalMs` (create, write, fsync and remove a small probe file), and
 * counts a failed snapshot as a problem until a later snapshot or probe succeeds. GET /health
 * answers 503 with {@link problem} while there is one.
 */
export class StorageHealth {
  private snapshotProblem: string | null = null;
  private snapshotFailedAtMs = 0;
  private probeProblem: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly probePath: string;

  constructor(
    dir: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.probePath = join(dir, '.health-probe');
  }

  /** problem says why the data directory cannot be written, or null while it can. */
  get problem(): string | null {
    return this.probeProblem ?? this.snapshotProblem;
  }

  /** start probes now and every intervalMs. */
  start(): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** snapshotFailed records a failed snapshot write. */
  snapshotFailed(error: Error): void {
    this.snapshotProblem = `snapshot failed: ${describe(error)}`;
    this.snapshotFailedAtMs = Date.now();
  }

  /**
   * snapshotRetryDue: a snapshot failed, the directory takes writes again, and a probe interval has
   * passed since: the member should try a snapshot now rather than wait for enough new
   * transactions (a quiet member would otherwise report the old failure for ever).
   */
  snapshotRetryDue(nowMs: number): boolean {
    return (
      this.snapshotProblem !== null && this.probeProblem === null && nowMs - this.snapshotFailedAtMs >= this.intervalMs
    );
  }

  /** snapshotSucceeded clears a snapshot problem. */
  snapshotSucceeded(): void {
    if (this.snapshotProblem !== null) this.logger.info('snapshots are written again');
    this.snapshotProblem = null;
  }

  /** probe writes, fsyncs and removes a small file in the data directory. */
  async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const file = await open(this.probePath, 'w');
      try {
        await file.writeFile(`${process.pid}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rm(this.probePath, { force: true });
      if (this.probeProblem !== null) this.logger.info('data directory takes writes again');
      this.probeProblem = null;
      // A directory that takes writes again will take the next snapshot too: it says so when it does.
    } catch (error) {
      const problem = `data directory not writable: ${describe(error as Error)}`;
      if (this.probeProblem !== problem) this.logger.error({ err: error }, problem);
      this.probeProblem = problem;
    } finally {
      this.probing = false;
    }
  }
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code} (${error.message})` : error.message;
}
