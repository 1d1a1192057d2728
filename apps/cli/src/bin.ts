#!/usr/bin/env node
import { parseCliArgs } from './args.js';

const usage = `zabkit <command> [args] [--server host:port] [--json]
commands: ls, get, set, create, rm, stat, watch, status, shell`;

try {
  const args = parseCliArgs(process.argv.slice(2));
  if (args.command === 'help') {
    process.stdout.write(`${usage}\n`);
  } else {
    process.stderr.write(`zabkit: '${args.command}' needs @zabkit/client, which is not built yet.\n`);
    process.exitCode = 1;
  }
} catch (error) {
  process.stderr.write(`zabkit: ${(error as Error).message}\n${usage}\n`);
  process.exitCode = 2;
}
