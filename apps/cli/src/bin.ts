#!/usr/bin/env node
import { parseCliArgs, USAGE } from './args.js';
import { runCli } from './commands.js';
import { runShell } from './shell.js';

const io = {
  out: (text: string) => process.stdout.write(`${text}\n`),
  err: (text: string) => process.stderr.write(`${text}\n`),
};

async function main(): Promise<number> {
  let args: ReturnType<typeof parseCliArgs>;
  try {
    args = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    io.err(`zabkit: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.command === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (args.command === 'shell') return runShell(args);
  // ^C stops a watch (or a connect) cleanly: the session is closed before exiting.
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return runCli(args, io, controller.signal);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    io.err(`zabkit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
