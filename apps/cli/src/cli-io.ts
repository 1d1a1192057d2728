/** CliIo is where a command writes: `out` for results, `err` for diagnostics. Each call is one line (a newline is added). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** UsageError is a command used wrongly (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
