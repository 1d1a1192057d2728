#!/usr/bin/env node
// Publishing checks for every published @zabkit package, on the tarball `pnpm pack` makes (what
// npm would publish, with workspace: ranges rewritten): publint --strict, attw (are the types
// wrong), then plain Node imports the packed ESM entry and requires the packed CJS entry.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const work = join(root, '.tmp', 'check-packages');
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'packs'), { recursive: true });
const modules = join(work, 'consumer', 'node_modules');
mkdirSync(join(modules, '@zabkit'), { recursive: true });

const dirs = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(root, group, name))
    .filter((dir) => existsSync(join(dir, 'package.json'))),
);
const packages = dirs
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ json }) => !json.private);

let failures = 0;
const failed = new Set();
const fail = (name, what, output = '') => {
  failures++;
  failed.add(name);
  process.stdout.write(`✖ ${name}: ${what}\n${output}`);
};

for (const { dir, json } of packages) {
  const name = json.name;
  const before = new Set(readdirSync(join(work, 'packs')));
  execFileSync('pnpm', ['pack', '--pack-destination', join(work, 'packs')], { cwd: dir, stdio: 'pipe' });
  const tarball = readdirSync(join(work, 'packs')).find((file) => !before.has(file));
  if (!tarball) {
    fail(name, 'pnpm pack wrote no tarball');
    continue;
  }
  const tgz = join(work, 'packs', tarball);

  const publint = spawnSync('pnpm', ['exec', 'publint', 'run', tgz, '--strict'], { cwd: root, encoding: 'utf8' });
  if (publint.status !== 0) fail(name, 'publint --strict', publint.stdout + publint.stderr);

  const attw = spawnSync('pnpm', ['exec', 'attw', tgz, '--format', 'ascii', '--no-emoji', '--no-color'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (attw.status !== 0) fail(name, 'attw (are the types wrong)', attw.stdout + attw.stderr);

  // Unpack into a consumer's node_modules; link third-party dependencies from the workspace install.
  const target = join(modules, name);
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', target, '--strip-components=1']);
  for (const dependency of Object.keys(json.dependencies ?? {})) {
    if (dependency.startsWith('@zabkit/')) continue;
    const link = join(modules, dependency);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(realpathSync(join(dir, 'node_modules', dependency)), link, 'dir');
  }
}

const consumer = join(work, 'consumer');
for (const { json } of packages) {
  const name = json.name;
  // Every entry of the exports map (subpaths like `@zabkit/client/recipes` included), not only the root.
  const specifiers = Object.keys(json.exports ?? { '.': null })
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? name : `${name}/${key.slice(2)}`));
  for (const specifier of specifiers) {
    const esm = spawnSync(
      'node',
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(specifier)}); if (Object.keys(m).length === 0) throw new Error('no exports');`,
      ],
      { cwd: consumer, encoding: 'utf8' },
    );
    if (esm.status !== 0) fail(name, `import() of the packed ESM entry ${specifier}`, esm.stderr);
    const cjs = spawnSync(
      'node',
      [
        '-e',
        `const m = require(${JSON.stringify(specifier)}); if (Object.keys(m).length === 0) throw new Error('no exports');`,
      ],
      { cwd: consumer, encoding: 'utf8' },
    );
    if (cjs.status !== 0) fail(name, `require() of the packed CJS entry ${specifier}`, cjs.stderr);
  }
  if (!failed.has(name)) process.stdout.write(`✔ ${name}: publint, attw, ESM import, CJS require\n`);
}

process.exit(failures === 0 ? 0 : 1);
