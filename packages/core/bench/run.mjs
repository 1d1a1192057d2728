// Runs every `*.bench.mjs` in this folder, each in its own `node --expose-gc` process so one
// benchmark's heap does not skew the next. `pnpm --filter @zabkit/core bench` builds first.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const folder = new URL('.', import.meta.url).pathname;
const only = process.argv[2];
let failed = 0;
for (const file of readdirSync(folder)
  .filter((name) => name.endsWith('.bench.mjs'))
  .sort()) {
  if (only && !file.includes(only)) continue;
  console.log(`\n== ${file}`);
  const result = spawnSync(process.execPath, ['--expose-gc', join(folder, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
