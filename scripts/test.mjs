#!/usr/bin/env node
// `pnpm test`: build, typecheck, lint, layering, package checks and every vitest suite, then one
// closing line `N passed, N failed` summed over all of them. Each check that is not a vitest suite
// counts as one test; a vitest file that fails at import, or a package with tests but no report,
// counts as failed. Exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', NO_COLOR: '1' };
const turbo = ['exec', 'turbo', 'run', '--log-order=grouped'];

const checks = [
  ['build', 'pnpm', [...turbo, 'build', '--output-logs=errors-only']],
  ['typecheck', 'pnpm', [...turbo, 'typecheck', '--continue', '--output-logs=errors-only']],
  ['lint (biome)', 'pnpm', ['exec', 'biome', 'ci', '.']],
  [
    'layering (dependency-cruiser)',
    'pnpm',
    ['exec', 'depcruise', 'packages', 'apps', '--config', '.dependency-cruiser.cjs'],
  ],
  ['package checks (publint, attw, packed imports)', 'node', ['scripts/check-packages.mjs']],
];

let passed = 0;
let failed = 0;
const failures = [];

function run(name, command, args) {
  const started = Date.now();
  process.stdout.write(`\n== ${name}\n`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  const ok = result.status === 0;
  process.stdout.write(`== ${name}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  return ok;
}

for (const [name, command, args] of checks) {
  if (run(name, command, args)) passed++;
  else {
    failed++;
    failures.push(name);
  }
}

const workspaces = ['packages', 'apps', 'tests'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, 'package.json')))
    .map((entry) => join(group, entry.name)),
);
for (const dir of workspaces) rmSync(join(root, dir, 'reports'), { recursive: true, force: true });

// Two test tasks at a time: the suites start real processes and sockets, and on a 2-core machine
// ten at once (turbo's default) starve each other into timeouts.
run('vitest (all packages)', 'pnpm', [...turbo, 'test', '--continue', '--concurrency=2', '--output-logs=new-only']);
// The container test alone, after the rest: its image build takes both cores for a minute, which
// would starve the timing-sensitive suites beside it. It reports skipped (with why) without podman.
const containersRan = run('containers (podman)', 'pnpm', ['--filter', '@zabkit/server', 'run', 'test:containers']);
const containersReport = join(root, 'apps', 'server', 'reports', 'vitest-containers.json');
if (!containersRan && !existsSync(containersReport)) {
  failed++;
  failures.push('containers (podman): failed without a vitest report');
}

function hasTests(dir) {
  const walk = (path) =>
    readdirSync(path, { withFileTypes: true }).some((entry) =>
      entry.isDirectory()
        ? !['node_modules', 'dist', 'reports'].includes(entry.name) && walk(join(path, entry.name))
        : /\.test\.[cm]?[jt]s$/.test(entry.name),
    );
  return existsSync(join(root, dir, 'src')) && walk(join(root, dir));
}

for (const dir of workspaces) {
  if (!hasTests(dir)) continue;
  const reportPath = join(root, dir, 'reports', 'vitest.json');
  if (!existsSync(reportPath)) {
    failed++;
    failures.push(`${dir}: tests exist but no vitest report was written`);
    continue;
  }
  const extra = readdirSync(join(root, dir, 'reports'))
    .filter((name) => /^vitest-.+\.json$/.test(name))
    .map((name) => join(root, dir, 'reports', name));
  for (const path of [reportPath, ...extra]) countReport(JSON.parse(readFileSync(path, 'utf8')));
}

/** countReport adds one vitest JSON report to the totals: its tests, and its files that failed to load. */
function countReport(report) {
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  for (const file of report.testResults ?? []) {
    const assertions = file.assertionResults ?? [];
    if (file.status === 'failed' && !assertions.some((a) => a.status === 'failed')) {
      failed++;
      failures.push(`${file.name.replace(root, '')}: failed to load: ${(file.message ?? '').split('\n')[0]}`);
    }
    for (const assertion of assertions) {
      if (assertion.status === 'failed') failures.push(`${file.name.replace(root, '')}: ${assertion.fullName}`);
    }
  }
}

if (failures.length) {
  process.stdout.write('\nFailed:\n');
  for (const failure of failures) process.stdout.write(`  - ${failure}\n`);
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
