#!/usr/bin/env node
// zabkit-server: `start --config FILE [--key value …]` runs one member; `dev` runs a local ensemble.
import { runDev } from './dev.js';
import { HEALTH_USAGE, runHealth } from './health-command.js';
import { INSPECT_USAGE, runInspect } from './inspect-command.js';
import { runSnapshot, SNAPSHOT_USAGE } from './snapshot-command.js';
import { runStart } from './start.js';

const usage = `zabkit-server start --config zabkit.json [--data-dir DIR] [--tick-ms N] [--log-level info] …
zabkit-server dev [--nodes 3] [--observers 0] [--dir ./.zabkit]
${HEALTH_USAGE}
${INSPECT_USAGE}
${SNAPSHOT_USAGE}

start  runs one ensemble member; ZABKIT_ environment variables override keys of the config file (or
       configure it alone), flags override both (--data-dir sets dataDir)
health asks this member's admin port for GET /health (a container's HEALTHCHECK): exit 0 when serving
dev    runs a local ensemble of member processes on loopback (clients 7181+, ZooKeeper clients 2181+, peers 7888+, admin 7080+)
inspect prints a log segment's or a snapshot's records and whether the file is whole
snapshot save takes a consistent backup of a running member (its admin port); restore seeds an empty data directory from one`;

const [command, ...rest] = process.argv.slice(2);
if (command === 'start') {
  void runStart(rest);
} else if (command === 'health') {
  void runHealth(rest);
} else if (command === 'dev') {
  void runDev(rest);
} else if (command === 'inspect') {
  runInspect(rest);
} else if (command === 'snapshot') {
  void runSnapshot(rest);
} else if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(`${usage}\n`);
  process.exitCode = command === undefined ? 2 : 0;
} else {
  process.stderr.write(`zabkit-server: unknown command ${JSON.stringify(command)}\n${usage}\n`);
  process.exitCode = 2;
}
