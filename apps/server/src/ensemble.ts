import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withoutEnvConfig } from './env-config.js';
import { freePorts } from './free-ports.js';
import { withHugePages } from './huge-pages.js';
import type { MemberStatus } from './member.js';
import { PORTS_DEFAULT } from './ports.js';

/** StartEnsembleOptions describe a local ensemble of real member processes on loopback. */
export interface StartEnsembleOptions {
  /** size is the number of voting members (default 3). */
  size?: number;
  /** observers is the number of non-voting members (default 0). */
  observers?: number;
  /**
   * spares: members configured but not started and in no configuration (`joining: true`, listing
   * the ensemble plus themselves), for membership changes: start one with `restart(id)`, then add
   * it with a reconfig (default 0). Their ids follow the voters' and observers'.
   */
  spares?: number;
  /** dir holds one data directory and one config file per member. */
  dir: string;
  /** fresh empties `dir` first (default true; `dev` keeps its data across runs). */
  fresh?: boolean;
  /** ports: 'auto' (free ports from the OS, the default) or the base ports for member 1 (+1, +2, …). */
  ports?: 'auto' | { clientPort: number; peerPort: number; adminPort: number };
  host?: string;
  /** config: extra configuration for every member (tickMs, session bounds, snapshotEveryTxns, …). */
  config?: Record<string, unknown>;
  /**
   * peerSecret: run the ensemble authenticated. `true` writes 48 random bytes, or the given bytes,
   * to `dir/peer-secret` (mode 0600) and sets every member's peerSecretFile to it (see
   * Ensemble.peerSecretFile). Default: no secret (plain peers on loopback).
   */
  peerSecret?: true | Uint8Array;
  /**
   * clientTls: give every member a TLS client port (secureClientPort, beside the plain one) served
   * with these PEM files (see the server README, Security → Client port).
   */
  clientTls?: {
    certFile: string;
    keyFile: string;
    caFile?: string;
    clientCertificates?: 'none' | 'request' | 'require';
  };
  /**
   * peerTls: run the peer mesh over mutual TLS: `caFile` is the ensemble's CA, `member(id)` gives
   * each member's certificate and key files (naming it zabkit-member-<id>).
   */
  peerTls?: { caFile: string; member(id: number): { certFile: string; keyFile: string } };
  /**
   * zookeeper: give every member a ZooKeeper-protocol client port (zookeeperPort) too: `true` for
   * free ports, `{ basePort }` for basePort, basePort + 1, … (`dev` uses 2181, ZooKeeper's).
   */
  zookeeper?: true | { basePort: number };
  /**
   * env: extra environment variables for a member's process, by id (on every start and restart),
   * e.g. a test hook such as ZABKIT_TEST_PEER_PROTOCOL_ANNOUNCE for one member.
   */
  env?: (memberId: number) => Record<string, string>;
  /** onLog receives every line a member writes (JSON log lines), with the member id. */
  onLog?: (memberId: number, line: string) => void;
  /** readyTimeoutMs bounds the wait for an established leader with every member serving (default 30 s). */
  readyTimeoutMs?: number;
}

/** EnsembleMember describes one member and the process running it. */
export interface EnsembleMember {
  id: number;
  role: 'voter' | 'observer';
  host: string;
  clientPort: number;
  /** secureClientPort is the TLS client port when started with `clientTls`. */
  secureClientPort?: number;
  /** zookeeperPort is the ZooKeeper-protocol client port when started with `zookeeper`. */
  zookeeperPort?: number;
  /** secureZookeeperPort is its TLS twin when started with both `zookeeper` and `clientTls`. */
  secureZookeeperPort?: number;
  peerPort: number;
  adminPort: number;
  dataDir: string;
  configPath: string;
  /** pid of the running process, or null while it is stopped. */
  pid: number | null;
}

/** Ensemble is a running local ensemble and the handles to disturb it (Curator's TestingCluster). */
export interface Ensemble {
  /** connectString lists every member's client address, for `connect()`. */
  connectString: string;
  /** zookeeperConnectString lists every member's ZooKeeper-protocol address when started with `zookeeper` (for ZooKeeper's clients). */
  zookeeperConnectString: string | undefined;
  /** secureConnectString lists every member's TLS client address when started with `clientTls`. */
  secureConnectString: string | undefined;
  /** peerSecretFile is the shared secret's file when started with `peerSecret`, else undefined. */
  peerSecretFile: string | undefined;
  members: EnsembleMember[];
  /** kill sends SIGKILL (kill -9) and waits for the process to exit. */
  kill(id: number): Promise<void>;
  /** stop sends SIGTERM (graceful shutdown) and waits for the process to exit. */
  stop(id: number): Promise<void>;
  /** restart starts a stopped member again (optionally with an empty data directory) and waits until its admin port answers. */
  restart(id: number, options?: { wipe?: boolean }): Promise<void>;
  /** reload sends SIGHUP: the member reads its TLS certificate files again. */
  reload(id: number): void;
  /** pause freezes a member (SIGSTOP), as a long GC pause would; resume continues it (SIGCONT). */
  pause(id: number): void;
  resume(id: number): void;
  /** status fetches a member's GET /status, or null if it does not answer. */
  status(id: number): Promise<MemberStatus | null>;
  /** waitForLeader waits until the running members agree on an established leader and all serve; returns its id. */
  waitForLeader(timeoutMs?: number): Promise<number>;
  /** close stops every member (SIGTERM, then SIGKILL after 5 s). */
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function binPath(): string {
  // dist/index.js and dist/index.cjs sit beside dist/bin.js; from src/ (tests), use the build.
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, 'bin.js'), join(here, '..', 'dist', 'bin.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`zabkit-server's bin.js not found beside ${here}: build @zabkit/server first`);
}

/**
 * startEnsemble starts `size` voters and `observers` observers as separate `zabkit-server start`
 * processes on loopback (so `kill` is a real kill -9 and `pause` a real SIGSTOP), waits until a
 * leader is established and every member serves, and returns the connect string and handles.
 */
export async function startEnsemble(options: StartEnsembleOptions): Promise<Ensemble> {
  const size = options.size ?? 3;
  const observers = options.observers ?? 0;
  const host = options.host ?? '127.0.0.1';
  const dir = resolve(options.dir);
  if (options.fresh ?? true) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const spares = options.spares ?? 0;
  const total = size + observers + spares;
  // Every port the OS picks comes from one freePorts call: ports from separate calls may repeat
  // (each call releases its ports before the next asks), and a CI run once gave member 2's admin
  // port to member 1's secureZookeeperPort.
  const autoPorts = (options.ports ?? 'auto') === 'auto';
  const wantsZookeeper = options.zookeeper !== undefined;
  const wantsTls = options.clientTls !== undefined;
  const picked = await freePorts(
    (wantsTls ? total : 0) +
      (options.zookeeper === true ? total : 0) +
      (wantsZookeeper && wantsTls ? total : 0) +
      (autoPorts ? total * 3 : 0),
    host,
  );
  const take = (count: number): number[] => picked.splice(0, count);
  const securePorts = wantsTls ? take(total) : [];
  const zookeeperPorts = !wantsZookeeper
    ? []
    : options.zookeeper === true
      ? take(total)
      : Array.from({ length: total }, (_, i) => (options.zookeeper as { basePort: number }).basePort + i);
  const secureZookeeperPorts = wantsZookeeper && wantsTls ? take(total) : [];
  let ports: number[];
  if (autoPorts) {
    ports = take(total * 3);
  } else {
    const base = options.ports as { clientPort: number; peerPort: number; adminPort: number };
    ports = [];
    for (let i = 0; i < total; i++) ports.push(base.clientPort + i, base.peerPort + i, base.adminPort + i);
  }
  const members: EnsembleMember[] = Array.from({ length: total }, (_, i) => ({
    id: i + 1,
    role: i < size || i >= size + observers ? 'voter' : 'observer',
    host,
    clientPort: ports[i * 3] as number,
    ...(options.clientTls === undefined ? {} : { secureClientPort: securePorts[i] as number }),
    ...(options.zookeeper === undefined ? {} : { zookeeperPort: zookeeperPorts[i] as number }),
    ...(secureZookeeperPorts.length === 0 ? {} : { secureZookeeperPort: secureZookeeperPorts[i] as number }),
    peerPort: ports[i * 3 + 1] as number,
    adminPort: ports[i * 3 + 2] as number,
    dataDir: join(dir, `member-${i + 1}`),
    configPath: join(dir, `member-${i + 1}.json`),
    pid: null,
  }));
  let peerSecretFile: string | undefined;
  if (options.peerSecret !== undefined) {
    peerSecretFile = join(dir, 'peer-secret');
    const secret = options.peerSecret === true ? randomBytes(48) : options.peerSecret;
    writeFileSync(peerSecretFile, secret, { mode: 0o600 });
  }
  const processes = new Map<number, ChildProcess>();
  /** recent: the last lines each member wrote, to explain a member that exits early. */
  const recent = new Map<number, string[]>();
  const exits: string[] = [];
  const initial = members.slice(0, size + observers);
  for (const member of members) {
    const joining = !initial.includes(member);
    const config = {
      tickMs: 50,
      initLimitTicks: 40,
      syncLimitTicks: 20,
      sessionTimeoutMsMin: 1_000,
      sessionTimeoutMsMax: 60_000,
      ...(peerSecretFile === undefined ? {} : { peerSecretFile }),
      ...(options.clientTls === undefined ? {} : { clientTls: options.clientTls }),
      ...(options.peerTls === undefined
        ? {}
        : {
            peerTls: {
              certFile: options.peerTls.member(member.id).certFile,
              keyFile: options.peerTls.member(member.id).keyFile,
              caFile: options.peerTls.caFile,
            },
          }),
      ...options.config,
      id: member.id,
      dataDir: member.dataDir,
      ...(joining && { joining: true }),
      members: (joining ? [...initial, member] : initial).map(
        ({
          id,
          role,
          host: memberHost,
          clientPort,
          secureClientPort,
          zookeeperPort,
          secureZookeeperPort,
          peerPort,
          adminPort,
        }) => ({
          id,
          role,
          host: memberHost,
          clientPort,
          ...(secureClientPort === undefined ? {} : { secureClientPort }),
          ...(zookeeperPort === undefined ? {} : { zookeeperPort }),
          ...(secureZookeeperPort === undefined ? {} : { secureZookeeperPort }),
          peerPort,
          adminPort,
        }),
      ),
    };
    writeFileSync(member.configPath, `${JSON.stringify(config, null, 2)}\n`);
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Never leave member processes behind when the parent goes away.
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }

  const launch = (member: EnsembleMember): void => {
    const child = spawn(process.execPath, [binPath(), 'start', '--config', member.configPath], {
      // The member's config file is the whole configuration: ZABKIT_ variables of the caller's
      // environment (a shell's ZABKIT_DATA_DIR, a test's seed) must not override it.
      // Huge pages for the member's memory unless the caller's GLIBC_TUNABLES says otherwise (huge-pages.ts).
      env: withHugePages({ ...withoutEnvConfig(process.env), ...options.env?.(member.id) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    processes.set(member.id, child);
    member.pid = child.pid ?? null;
    const forward = (stream: NodeJS.ReadableStream | null) => {
      let buffer = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffer += chunk;
        for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
          const line = buffer.slice(0, newline);
          const lines = recent.get(member.id) ?? [];
          lines.push(line);
          if (lines.length > 5) lines.shift();
          recent.set(member.id, lines);
          options.onLog?.(member.id, line);
          buffer = buffer.slice(newline + 1);
        }
      });
    };
    forward(child.stdout);
    forward(child.stderr);
    child.once('exit', (code, signal) => {
      if (signal === null)
        exits.push(`member ${member.id} exited with code ${code}: ${(recent.get(member.id) ?? []).join(' | ')}`);
      running.delete(child);
      if (processes.get(member.id) === child) {
        processes.delete(member.id);
        member.pid = null;
      }
    });
  };

  const byId = (id: number): EnsembleMember => {
    const member = members.find((m) => m.id === id);
    if (!member) throw new RangeError(`no member ${id} in this ensemble`);
    return member;
  };

  const status = async (id: number): Promise<MemberStatus | null> => {
    const member = byId(id);
    try {
      const response = await fetch(`http://${member.host}:${member.adminPort}/status`, {
        signal: AbortSignal.timeout(1_000),
      });
      return (await response.json()) as MemberStatus;
    } catch {
      return null;
    }
  };

  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((done) => child.once('exit', () => done()));

  const signal = async (id: number, name: NodeJS.Signals): Promise<void> => {
    const child = processes.get(id);
    if (!child) return;
    if (name === 'SIGTERM') child.kill('SIGCONT');
    child.kill(name);
    await exited(child);
  };

  const waitForLeader = async (timeoutMs = options.readyTimeoutMs ?? 30_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const live = members.filter((member) => processes.has(member.id));
      const statuses = await Promise.all(live.map((member) => status(member.id)));
      const leader = statuses.find((s) => s?.role === 'leading' && s.established);
      if (leader && statuses.every((s) => s?.established && s.leader === leader.id)) return leader.id;
      last = statuses.map((s, i) => `${live[i]?.id}:${s ? `${s.role}/${s.phase}` : 'no answer'}`).join(' ');
      if (exits.length > 0) last += `; ${exits.join('; ')}`;
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error(`ensemble not ready within ${timeoutMs} ms (${last})`);
  };

  for (const member of initial) launch(member);
  const ensemble: Ensemble = {
    connectString: initial.map((m) => `${m.host}:${m.clientPort}`).join(','),
    zookeeperConnectString:
      options.zookeeper === undefined ? undefined : initial.map((m) => `${m.host}:${m.zookeeperPort}`).join(','),
    secureConnectString:
      options.clientTls === undefined ? undefined : initial.map((m) => `${m.host}:${m.secureClientPort}`).join(','),
    peerSecretFile,
    members,
    kill: (id) => signal(id, 'SIGKILL'),
    stop: (id) => signal(id, 'SIGTERM'),
    reload: (id) => {
      processes.get(id)?.kill('SIGHUP');
    },
    restart: async (id, restartOptions = {}) => {
      const member = byId(id);
      if (processes.has(id)) throw new Error(`member ${id} is running`);
      if (restartOptions.wipe) rmSync(member.dataDir, { recursive: true, force: true });
      launch(member);
      const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
      while ((await status(id)) === null) {
        if (Date.now() > deadline) throw new Error(`member ${id} did not start`);
        await new Promise((done) => setTimeout(done, 50));
      }
    },
    pause: (id) => {
      processes.get(id)?.kill('SIGSTOP');
    },
    resume: (id) => {
      processes.get(id)?.kill('SIGCONT');
    },
    status,
    waitForLeader,
    close: async () => {
      await Promise.all(
        [...processes.values()].map(async (child) => {
          child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited(child);
          clearTimeout(timer);
        }),
      );
    },
  };
  try {
    await waitForLeader();
  } catch (error) {
    await ensemble.close();
    throw error;
  }
  return ensemble;
}

/** DEFAULT_BASE_PORTS are DESIGN.md's ports, used by `zabkit-server dev`. */
export const DEFAULT_BASE_PORTS = PORTS_DEFAULT;
