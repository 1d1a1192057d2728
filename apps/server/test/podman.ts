// Podman for containers.test.ts: whether it can run containers here (and with which flags), and a
// base image made from this machine's own node, since no registry can be reached to pull one.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Podman: how this machine runs containers: global flags (a runtime) and flags for run and build (ulimits). */
export interface Podman {
  global: string[];
  limits: string[];
  /** how: the flags chosen, for the log. */
  how: string;
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** podman runs one podman command and returns its output (never throws). */
export function podman(args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): CommandResult {
  const result = spawnSync('podman', args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: result.error ? String(result.error.message) : (result.stderr ?? ''),
  };
}

/** must runs a podman command and throws with its output when it fails. */
export function must(args: readonly string[], timeoutMs?: number): string {
  const result = podman(args, { timeoutMs });
  if (result.status !== 0) {
    throw new Error(
      `podman ${args.join(' ')} exited ${result.status}:\n${(result.stderr || result.stdout).slice(-4000)}`,
    );
  }
  return result.stdout.trim();
}

/** firstLine: an error's first meaningful line, for a skip reason. */
function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '') ?? 'no output'
  ).slice(0, 300);
}

/** podmanMissing: why podman cannot be used at all here, or null. Cheap: for vitest's skipIf. */
export function podmanMissing(): string | null {
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (version.error) return 'podman not installed (apt-get install podman; .ci/run installs it)';
  const info = podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'], { timeoutMs: 60_000 });
  if (info.status !== 0) return `podman info fails: ${firstLine(info.stderr)}`;
  return null;
}

/**
 * choosePodman finds flags with which `image` runs: podman's defaults first; then explicit ulimits
 * (podman asks for higher limits than a sandbox without CAP_SYS_RESOURCE may set); then runc with
 * them (crun refuses a host with hybrid cgroups v1/v2). Either the flags, or why none works.
 */
export function choosePodman(image: string): Podman | { reason: string } {
  const limits = ['--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];
  const tries: Podman[] = [
    { global: [], limits: [], how: 'podman defaults' },
    { global: [], limits, how: 'explicit ulimits' },
  ];
  if (spawnSync('runc', ['--version']).status === 0) {
    tries.push({ global: ['--runtime', 'runc'], limits, how: 'runc and explicit ulimits' });
  }
  const failures: string[] = [];
  for (const attempt of tries) {
    const result = podman([
      ...attempt.global,
      'run',
      '--rm',
      ...attempt.limits,
      image,
      'node',
      '-e',
      'console.log("ok")',
    ]);
    if (result.status === 0 && result.stdout.trim() === 'ok') return attempt;
    failures.push(`${attempt.how}: ${firstLine(result.stderr || result.stdout)}`);
  }
  return { reason: `podman cannot run a container here (${failures.join('; ')})` };
}

/**
 * ensureBaseImage makes (once per node and pnpm version) a base image for deploy/Dockerfile from
 * this machine: node, pnpm, npm, a POSIX shell (dash) and the few tools pnpm's scripts call, with
 * the shared libraries ldd names. It stands in for node:22-bookworm-slim, which cannot be pulled
 * here. Returns its name, or why it cannot be made.
 */
export function ensureBaseImage(): { image: string } | { reason: string } {
  const node = realpathSync(process.execPath);
  const pnpmPath = which('pnpm');
  if (pnpmPath === null) return { reason: 'pnpm is not on PATH' };
  const pnpmPackage = findPackageRoot(realpathSync(pnpmPath), 'pnpm');
  if (pnpmPackage === null) return { reason: `cannot find the pnpm package of ${pnpmPath}` };
  const tools = [
    'dash',
    'env',
    'sed',
    'dirname',
    'uname',
    'cat',
    'mkdir',
    'cp',
    'rm',
    'ln',
    'chmod',
    'ls',
    'true',
    'mv',
  ];
  const toolPaths: string[] = [];
  for (const tool of tools) {
    const path = which(tool);
    if (path === null) return { reason: `${tool} is not on PATH (for the base image)` };
    toolPaths.push(realpathSync(path));
  }
  const pnpmVersion = JSON.parse(readFileSync(join(pnpmPackage, 'package.json'), 'utf8')).version as string;
  const tag = createHash('sha256')
    .update(`${process.version} ${pnpmVersion} ${tools.join(' ')} v1`)
    .digest('hex')
    .slice(0, 12);
  const image = `localhost/zabkit-test-base:${tag}`;
  if (podman(['image', 'exists', image]).status === 0) return { image };

  const work = mkdtempSync(join(tmpdir(), 'zabkit-base-image-'));
  try {
    const rootfs = join(work, 'root');
    for (const dir of ['bin', 'usr/bin', 'usr/lib/node_modules', 'etc', 'root', 'tmp']) {
      mkdirSync(join(rootfs, dir), { recursive: true });
    }
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    cpSync(node, join(rootfs, 'usr/bin/node'));
    cpSync(pnpmPackage, join(rootfs, 'usr/lib/node_modules/pnpm'), { recursive: true, verbatimSymlinks: true });
    const pnpmEntry = realpathSync(pnpmPath).slice(pnpmPackage.length + 1);
    symlinkSync(`../lib/node_modules/pnpm/${pnpmEntry}`, join(rootfs, 'usr/bin/pnpm'));
    const npmPackage = join(dirname(pnpmPackage), 'npm');
    if (existsSync(join(npmPackage, 'bin', 'npm-cli.js'))) {
      cpSync(npmPackage, join(rootfs, 'usr/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/bin/npm'));
    }
    for (const [index, path] of toolPaths.entries()) {
      cpSync(path, tools[index] === 'dash' ? join(rootfs, 'bin/sh') : join(rootfs, 'usr/bin', tools[index] as string));
    }
    const binaries = [node, realpathSync(pnpmPath), ...toolPaths];
    for (const library of sharedLibraries(binaries)) {
      mkdirSync(join(rootfs, dirname(library)), { recursive: true });
      cpSync(realpathSync(library), join(rootfs, library));
    }
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
    writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    const tarball = join(work, 'root.tar');
    const tar = spawnSync('tar', ['-C', rootfs, '-cf', tarball, '.'], { encoding: 'utf8' });
    if (tar.status !== 0) return { reason: `tar of the base image failed: ${firstLine(tar.stderr)}` };
    const imported = podman(
      ['import', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '--change', 'CMD ["node"]', tarball, image],
      { timeoutMs: 300_000 },
    );
    if (imported.status !== 0)
      return { reason: `podman import of the base image failed: ${firstLine(imported.stderr)}` };
    return { image };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function which(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const path = join(dir, command);
    if (dir !== '' && existsSync(path)) return path;
  }
  return null;
}

function findPackageRoot(file: string, name: string): string | null {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name) return dir;
  }
  return null;
}

/** sharedLibraries: the libraries (and the dynamic loader) that ldd says `binaries` load. */
function sharedLibraries(binaries: readonly string[]): string[] {
  const libraries = new Set<string>();
  for (const binary of binaries) {
    const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' });
    for (const match of (ldd.stdout ?? '').matchAll(/(\/[^\s]+\.so[^\s]*)/g)) libraries.add(match[1] as string);
  }
  return [...libraries];
}
