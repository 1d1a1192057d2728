// deploy/Dockerfile for real: podman builds it (offline, from this machine's pnpm store, on a base
// image made from this machine's node) and runs a 3-member ensemble in containers configured only
// by environment variables, as compose.yaml and the StatefulSet do: ids from hostnames, peers by
// DNS name on a container network, a peer secret, /data volumes. Then every member is healthy (its
// /health and the image's own HEALTHCHECK), a write on one member reads back on another, the
// ZooKeeper port answers, and a member stopped with SIGTERM exits 0 while the other two serve on.
//
// It runs on its own, after the other suites (scripts/test.mjs; `pnpm test:containers`): its image
// build takes a minute of both cores, which would starve the timing-sensitive suites beside it. In
// the parallel run it is skipped with that reason; without a working podman, with podman's reason.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../src/free-ports.js';
import { choosePodman, ensureBaseImage, must, type Podman, podman, podmanMissing } from './podman.js';
import { RawClient, until } from './raw-client.js';

const root = join(import.meta.dirname, '..', '..', '..');
const requested = process.env.ZABKIT_CONTAINER_TESTS === '1';
const skipReason = requested
  ? podmanMissing()
  : 'runs on its own after the other suites (pnpm test:containers; scripts/test.mjs does): its image build would starve the timing-sensitive suites running beside it';
if (skipReason !== null) console.log(`containers.test.ts skipped: ${skipReason}`);

const MEMBERS = 3;
const PORTS = { peer: 2888, client: 7181, zookeeper: 2181, admin: 8080 };

describe('deploy/Dockerfile in podman', () => {
  it.skipIf(skipReason !== null)(
    `builds the image and runs a ${MEMBERS}-member ensemble from environment variables${skipReason === null ? '' : ` (skipped: ${skipReason})`}`,
    async (context) => {
      const started = Date.now();
      const step = (what: string) =>
        console.log(`containers: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      const base = ensureBaseImage();
      if ('reason' in base) {
        console.log(`containers.test.ts skipped: ${base.reason}`);
        return context.skip(base.reason);
      }
      step(`base image ${base.image}`);
      const chosen = choosePodman(base.image);
      if ('reason' in chosen) {
        console.log(`containers.test.ts skipped: ${chosen.reason}`);
        return context.skip(chosen.reason);
      }
      const run: Podman = chosen;
      step(`podman runs containers with ${run.how}`);

      const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
      const image = `localhost/zabkit-server:test-${id}`;
      const network = `zabkit-test-${id}`;
      const names = Array.from({ length: MEMBERS }, (_, ordinal) => `zabkit-test-${id}-${ordinal}`);
      const volumes = names.map((name) => `${name}-data`);
      const secretDir = mkdtempSync(join(tmpdir(), 'zabkit-containers-'));
      const clients: RawClient[] = [];
      try {
        // The build: offline (--network none), pnpm installing from this machine's store and its
        // lockfile verification cache, as deploy/Dockerfile's comment describes.
        // `pnpm store path` names the store's version directory (…/store/v11); --store-dir takes its parent.
        const storePath = spawnSync('pnpm', ['store', 'path'], { cwd: root, encoding: 'utf8' }).stdout.trim();
        const store = /^v\d+$/.test(basename(storePath)) ? dirname(storePath) : storePath;
        const cache = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'pnpm');
        must(
          [
            ...run.global,
            'build',
            '--format',
            'docker',
            '--layers=false',
            ...run.limits,
            '--network',
            'none',
            '-f',
            join(root, 'deploy', 'Dockerfile'),
            '--build-arg',
            `BASE_IMAGE=${base.image}`,
            '--build-arg',
            'PNPM_STORE_DIR=/pnpm-offline-store',
            '--build-arg',
            'PNPM_INSTALL_FLAGS=--offline',
            '-v',
            `${store}:/pnpm-offline-store`,
            '-v',
            `${cache}:/root/.cache/pnpm`,
            '-t',
            image,
            root,
          ],
          600_000,
        );
        step(`built ${image}`);

        const secret = join(secretDir, 'peer-secret');
        writeFileSync(secret, randomBytes(48).toString('base64'));
        chmodSync(secret, 0o444);
        must(['network', 'create', network]);
        const hostPorts = await freePorts(MEMBERS * 3);
        const published = names.map((_, ordinal) => ({
          client: hostPorts[ordinal * 3] as number,
          zookeeper: hostPorts[ordinal * 3 + 1] as number,
          admin: hostPorts[ordinal * 3 + 2] as number,
        }));
        const members = names
          .map(
            (_, ordinal) =>
              `${ordinal + 1}=zabkit-${ordinal}:${PORTS.peer}:${PORTS.client}:${PORTS.admin}:zookeeperPort=${PORTS.zookeeper}`,
          )
          .join(',');
        for (const [ordinal, name] of names.entries()) {
          const ports = published[ordinal] as (typeof published)[number];
          must([
            ...run.global,
            'run',
            '--detach',
            ...run.limits,
            '--name',
            name,
            // The StatefulSet's hostname, and its DNS name on the network.
            '--hostname',
            `zabkit-${ordinal}`,
            '--network',
            network,
            '--network-alias',
            `zabkit-${ordinal}`,
            // The HEALTHCHECK runs when asked (below): podman's timer needs systemd.
            '--health-interval',
            'disable',
            '--env',
            'ZABKIT_ID_FROM_HOSTNAME=1',
            '--env',
            `ZABKIT_MEMBERS=${members}`,
            '--env',
            'ZABKIT_PEER_SECRET_FILE=/run/secrets/peer-secret',
            '--env',
            'ZABKIT_TICK_MS=50',
            '--volume',
            `${secret}:/run/secrets/peer-secret:ro`,
            '--volume',
            `${volumes[ordinal]}:/data`,
            '--publish',
            `127.0.0.1:${ports.client}:${PORTS.client}`,
            '--publish',
            `127.0.0.1:${ports.zookeeper}:${PORTS.zookeeper}`,
            '--publish',
            `127.0.0.1:${ports.admin}:${PORTS.admin}`,
            image,
          ]);
        }
        step('started 3 members');

        const health = async (ordinal: number) => {
          const response = await fetch(`http://127.0.0.1:${published[ordinal]?.admin}/health`, {
            signal: AbortSignal.timeout(2_000),
          }).catch(() => null);
          return response === null ? null : { status: response.status, body: await response.json() };
        };
        await until(
          'every member serves',
          async () => (await Promise.all(names.map((_, ordinal) => health(ordinal)))).every((h) => h?.status === 200),
          60_000,
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${names.map((name) => `${name}:\n${logs(name)}`).join('\n')}`);
        });
        const roles = await Promise.all(names.map(async (_, ordinal) => (await health(ordinal))?.body.role));
        expect([...roles].sort()).toEqual(['following', 'following', 'leading']);
        step(`every member serves: ${roles.join(', ')}`);

        for (const name of names) {
          // The image's HEALTHCHECK (node /app/dist/bin.js health, from the same environment).
          expect(podman([...run.global, 'healthcheck', 'run', name]).status, `${name} HEALTHCHECK`).toBe(0);
          // The server runs as the image's user and owns its data directory.
          expect(must([...run.global, 'exec', name, 'node', '-e', 'console.log(process.getuid())'])).toBe('10001');
          expect(must([...run.global, 'exec', name, 'ls', '-n', '/data'])).toMatch(/ 10001 +10001 /);
        }

        const writer = await RawClient.connect(`127.0.0.1:${published[0]?.client}`);
        clients.push(writer);
        await writer.create('/containers', 'written on member 1');
        const reader = await RawClient.connect(`127.0.0.1:${published[2]?.client}`);
        clients.push(reader);
        await reader.sync('/containers');
        expect(await reader.get('/containers')).toBe('written on member 1');
        expect(await fourLetterWord(published[1]?.zookeeper as number, 'ruok')).toBe('imok');
        step('a write on member 1 read on member 3; the ZooKeeper port answers');

        // SIGTERM (podman stop) to a member: node is PID 1 and stops gracefully, exit 0; the other
        // two keep a quorum and take a write.
        const stopped = roles.indexOf('leading');
        must([...run.global, 'stop', '--time', '20', names[stopped] as string], 60_000);
        expect(must([...run.global, 'inspect', '--format', '{{.State.ExitCode}}', names[stopped] as string])).toBe('0');
        const survivor = (stopped + 1) % MEMBERS;
        await until(
          'the other two elect a leader and serve',
          async () => (await health(survivor))?.status === 200,
          30_000,
        );
        const after = await RawClient.connect(`127.0.0.1:${published[survivor]?.client}`);
        clients.push(after);
        await after.create('/after-stop', 'two members are a quorum');
        expect(await after.get('/after-stop')).toBe('two members are a quorum');
        step(`member ${stopped + 1} stopped with exit code 0; the other two serve a write`);
      } finally {
        for (const client of clients) client.close();
        podman([...run.global, 'rm', '--force', '--time', '0', ...names], { timeoutMs: 60_000 });
        podman(['network', 'rm', '--force', network]);
        podman(['volume', 'rm', '--force', ...volumes]);
        podman(['image', 'rm', '--force', image]);
        rmSync(secretDir, { recursive: true, force: true });
      }
    },
    600_000,
  );
});

function logs(name: string): string {
  const result = podman(['logs', '--tail', '20', name]);
  return `${result.stdout}${result.stderr}`.trim();
}

/** fourLetterWord sends a ZooKeeper four-letter word to a ZooKeeper port and returns the answer. */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(word));
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5_000, () => socket.destroy(new Error(`${word}: no answer within 5 s`)));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer.trim()));
    socket.on('error', reject);
  });
}
