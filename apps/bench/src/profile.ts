import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The preload a member runs when profiled: Node 20 refuses --cpu-prof in NODE_OPTIONS, but allows
 * --import, so each member starts V8's sampling profiler through node:inspector and writes a
 * .cpuprofile (as --cpu-prof would) when it exits (the members exit on SIGTERM at the end).
 */
const PRELOAD = `import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(DIR + '/member-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
  });
});
`;

/** profileNodeOptions writes the preload into `dir` and returns the NODE_OPTIONS that load it. */
export function profileNodeOptions(dir: string): string {
  const absolute = resolve(dir);
  mkdirSync(absolute, { recursive: true });
  const preload = join(absolute, 'profile-preload.mjs');
  writeFileSync(preload, PRELOAD.replace('DIR', JSON.stringify(absolute)));
  return `--import=${pathToFileURL(preload).href}`;
}
