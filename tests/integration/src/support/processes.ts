import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** now is the shared clock of the test and its workers (one machine): performance.timeOrigin + performance.now(). */
export const now = (): number => performance.timeOrigin + performance.now();

/** Line is one line a worker printed, split into its first word (`kind`) and the rest, with the time it arrived. */
export interface Line {
  kind: string;
  args: string[];
  text: string;
  receivedAt: number;
}

const WORKER = join(import.meta.dirname, 'recipe-worker.mjs');
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Worker is a client process running `recipe-worker.mjs` in one of its modes: it reports on
 * stdout, one event a line (`kind arg…`), and takes commands on stdin. Stdout is a pipe, which
 * Node writes synchronously on Linux, so a line printed before a kill -9 is never lost.
 */
export class Worker {
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private stderr = '';
  private stopped = false;
  private closed = false;

  constructor(
    /** name labels this worker in reports. */
    readonly name: string,
    mode: string,
    config: Record<string, unknown>,
  ) {
    this.child = spawn(process.execPath, [WORKER, mode, JSON.stringify({ name, ...config })], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this.child);
    let buffer = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const [kind = '', ...args] = text.split(' ');
        this.lines.push({ kind, args, text, receivedAt: now() });
      }
      for (const wake of [...this.waiters]) wake();
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4_000);
    });
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) =>
      // 'close', not 'exit': by then every line the worker printed has been read.
      this.child.once('close', (code, signal) => {
        this.closed = true;
        live.delete(this.child);
        for (const wake of [...this.waiters]) wake();
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** isPaused is true between `pause()` and `resume()`. */
  get isPaused(): boolean {
    return this.stopped;
  }

  /** recentErrors is the tail of what the worker wrote to stderr. */
  get recentErrors(): string {
    return this.stderr;
  }

  /** send writes one command line to the worker's stdin. */
  send(command: string): void {
    this.child.stdin!.write(`${command}\n`);
  }

  pause(): void {
    this.stopped = true;
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.stopped = false;
    this.child.kill('SIGCONT');
  }

  /** kill sends SIGKILL (kill -9) and waits until the process is gone. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** of lists the lines of one kind. */
  of(kind: string): Line[] {
    return this.lines.filter((line) => line.kind === kind);
  }

  /**
   * waitForLine resolves with the first line from index `from` on that matches, failing after
   * `timeoutMs` or when the worker exits first.
   */
  waitForLine(match: (line: Line) => boolean, what: string, timeoutMs = 15_000, from = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      let index = from;
      const check = () => {
        for (; index < this.lines.length; index++) {
          const line = this.lines[index]!;
          if (match(line)) {
            done();
            resolve(line);
            return;
          }
        }
        if (this.closed) {
          done();
          const how = `code ${this.child.exitCode}, signal ${this.child.signalCode}`;
          reject(
            new Error(
              `${this.name} exited (${how}) while waiting for ${what}; last lines: ${this.tail()}; stderr: ${this.stderr}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; last lines: ${this.tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** tail is the last few lines, for failure messages. */
  tail(count = 8): string {
    return this.lines
      .slice(-count)
      .map((line) => line.text)
      .join(' | ');
  }
}

/** waitFor polls `predicate` every 20 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
