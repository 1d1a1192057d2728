import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import './zookeeper-client-guard.js';
import type { Conn, Target } from './target.js';

/** Debian's `zookeeper` package puts the server jar here (its manifest names the other jars). */
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** slf4j-nop: ZooKeeper logs nothing, as the zabkit members log only warnings. */
const SLF4J_NOP_JAR = '/usr/share/java/slf4j-nop.jar';
export const JAVA = '/usr/bin/java';

/** zookeeperMissing says how to install ZooKeeper, or null when it is installed. */
export function zookeeperMissing(): string | null {
  if (existsSync(ZOOKEEPER_JAR) && existsSync(JAVA)) return null;
  return [
    `ZooKeeper is not installed (no ${existsSync(ZOOKEEPER_JAR) ? JAVA : ZOOKEEPER_JAR}).`,
    "`pnpm bench --vs zookeeper` runs Debian's zookeeper package (it pulls a Java runtime):",
    '  sudo apt-get update && sudo apt-get install -y zookeeper',
  ].join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** srvr asks a server its mode with the `srvr` four-letter word: 'leader', 'follower', or null. */
function srvr(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const socket = netConnect({ host: '127.0.0.1', port }, () => socket.end('srvr'));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => resolve(null));
    socket.on('close', () => resolve(/Mode: (\w+)/.exec(text)?.[1] ?? null));
  });
}

/** asBuffer views the bytes as a Buffer (node-zookeeper-client accepts only Buffers), without a copy. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

class ZkConn implements Conn {
  constructor(private readonly client: zookeeper.ZkClient) {}
  set(path: string, data: Uint8Array) {
    return new Promise((resolve, reject) =>
      this.client.setData(path, asBuffer(data), -1, (error, stat) => (error ? reject(error) : resolve(stat))),
    );
  }
  get(path: string) {
    return new Promise((resolve, reject) =>
      this.client.getData(path, (error, data) => (error ? reject(error) : resolve(data))),
    );
  }
  create(path: string, data: Uint8Array, sequential: boolean) {
    const mode = sequential ? zookeeper.CreateMode.PERSISTENT_SEQUENTIAL : zookeeper.CreateMode.PERSISTENT;
    return new Promise((resolve, reject) =>
      this.client.create(path, asBuffer(data), mode, (error, created) => {
        if (error && (error as Error & { code?: number }).code !== zookeeper.Exception.NODE_EXISTS) reject(error);
        else resolve(created);
      }),
    );
  }
  async close() {
    this.client.close();
  }
}

/**
 * connectZookeeperClient opens a session with node-zookeeper-client: to a ZooKeeper ensemble, or
 * to zabkit's ZooKeeper port (`--client zookeeper`), so both are driven by the same client library.
 */
export function connectZookeeperClient(connectString: string, timeoutMs = 15_000): Promise<Conn> {
  return new Promise((resolve, reject) => {
    // spinDelay 50 ms: reconnect as fast as the zabkit client does (its backoff starts at 50 ms).
    const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000, spinDelay: 50, retries: 0 });
    const timer = setTimeout(() => {
      // Not close() now: node-zookeeper-client 1.1.3 then reads the connect response that may still
      // come as a reply header, and throws from its socket handler (`Unknown code`), out of reach of
      // any caller. It keeps trying every spinDelay; close it once it gets through.
      client.once('connected', () => client.close());
      reject(new Error('ZooKeeper connect timed out'));
    }, timeoutMs);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(new ZkConn(client));
    });
    client.connect();
  });
}

/**
 * startZookeeper starts a 3-server ZooKeeper on loopback with the settings of the zabkit ensemble:
 * fresh data directories under the OS temp dir, forceSync=yes (fsync of the log before each ACK),
 * tickTime 50 ms, initLimit 40 and syncLimit 20 ticks, one JVM per server
 * (`java -cp zookeeper.jar org.apache.zookeeper.server.quorum.QuorumPeerMain zoo.cfg`) with a
 * 512 MiB heap (`heapMbMax` raises -Xmx for large trees) and ZooKeeper's default snapCount
 * (100,000) unless `snapCount` is given.
 */
export async function startZookeeper(options: { heapMbMax?: number; snapCount?: number } = {}): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'zookeeper-bench-'));
  const ports: number[] = [];
  for (let i = 0; i < 9; i++) ports.push(await freePort());
  const servers = [1, 2, 3].map((id) => ({
    id,
    clientPort: ports[(id - 1) * 3] as number,
    peerPort: ports[(id - 1) * 3 + 1] as number,
    electionPort: ports[(id - 1) * 3 + 2] as number,
    dataDir: join(dir, `server-${id}`),
    configPath: join(dir, `zoo-${id}.cfg`),
  }));
  for (const server of servers) {
    mkdirSync(server.dataDir, { recursive: true });
    writeFileSync(join(server.dataDir, 'myid'), `${server.id}\n`);
    const lines = [
      'tickTime=50',
      'initLimit=40',
      'syncLimit=20',
      `dataDir=${server.dataDir}`,
      `clientPort=${server.clientPort}`,
      'clientPortAddress=127.0.0.1',
      'forceSync=yes',
      'maxClientCnxns=0',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr',
      ...(options.snapCount === undefined ? [] : [`snapCount=${options.snapCount}`]),
      ...servers.map((s) => `server.${s.id}=127.0.0.1:${s.peerPort}:${s.electionPort}`),
    ];
    writeFileSync(server.configPath, `${lines.join('\n')}\n`);
  }
  const processes = new Map<number, ChildProcess>();
  const launch = (id: number) => {
    const server = servers[id - 1];
    if (!server) throw new RangeError(`no ZooKeeper server ${id}`);
    const child = spawn(
      JAVA,
      [
        '-Xms512m',
        `-Xmx${Math.max(512, options.heapMbMax ?? 512)}m`,
        '-cp',
        `${ZOOKEEPER_JAR}:${SLF4J_NOP_JAR}`,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        server.configPath,
      ],
      { stdio: 'ignore' },
    );
    processes.set(id, child);
    child.once('exit', () => {
      if (processes.get(id) === child) processes.delete(id);
    });
  };
  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((done) => child.once('exit', () => done()));
  const leader = async (timeoutMs = 60_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = servers.filter((s) => processes.has(s.id));
      const modes = await Promise.all(live.map((s) => srvr(s.clientPort)));
      const leaders = live.filter((_, i) => modes[i] === 'leader');
      if (leaders.length === 1 && modes.every((m) => m === 'leader' || m === 'follower'))
        return (leaders[0] as (typeof servers)[number]).id;
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error(`ZooKeeper ensemble not ready within ${timeoutMs} ms`);
  };
  const close = async () => {
    await Promise.all(
      [...processes.values()].map(async (child) => {
        child.kill('SIGKILL');
        await exited(child);
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  for (const server of servers) launch(server.id);
  process.once('exit', () => {
    for (const child of processes.values()) child.kill('SIGKILL');
  });
  try {
    await leader();
  } catch (error) {
    await close();
    throw error;
  }
  const connectString = servers.map((s) => `127.0.0.1:${s.clientPort}`).join(',');
  return {
    name: 'zookeeper',
    connect: () => connectZookeeperClient(connectString),
    connectTo: (id, timeoutMs) => {
      const server = servers[id - 1];
      if (!server) throw new RangeError(`no ZooKeeper server ${id}`);
      return connectZookeeperClient(`127.0.0.1:${server.clientPort}`, timeoutMs);
    },
    snapshotDir: (id) => {
      const server = servers[id - 1];
      if (!server) throw new RangeError(`no ZooKeeper server ${id}`);
      return join(server.dataDir, 'version-2');
    },
    serverPids: () => servers.map((s) => processes.get(s.id)?.pid ?? null),
    leader: () => leader(),
    kill: async (id) => {
      const child = processes.get(id);
      if (!child) return;
      child.kill('SIGKILL');
      await exited(child);
    },
    restart: async (id) => {
      launch(id);
      await leader();
    },
    close,
  };
}
