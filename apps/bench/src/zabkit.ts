import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ZabClient, ZabError } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import { makeTestPki } from '@zabkit/transport-tcp/testing';
import type { Conn, Target } from './target.js';
import { connectZookeeperClient } from './zookeeper.js';

class ZabConn implements Conn {
  constructor(private readonly client: ZabClient) {}
  set(path: string, data: Uint8Array) {
    return this.client.set(path, data);
  }
  get(path: string) {
    return this.client.get(path);
  }
  async create(path: string, data: Uint8Array, sequential: boolean) {
    try {
      return await this.client.create(path, data, { mode: sequential ? 'PERSISTENT_SEQUENTIAL' : 'PERSISTENT' });
    } catch (error) {
      if (ZabError.isInstance(error) && error.code === 'NODE_EXISTS') return path;
      throw error;
    }
  }
  close() {
    return this.client.close();
  }
}

/**
 * startZabkit starts a 3-member zabkit ensemble (separate processes, fsync on, loopback, a fresh
 * data directory under the OS temp dir) with startEnsemble's defaults (tick 50 ms). With `tls`,
 * as a hardened deployment runs: clients on the TLS client port and the peer mesh over mutual TLS,
 * with certificates made for the run by openssl (P-256 keys).
 */
export async function startZabkit(
  options: {
    onLog?: (id: number, line: string) => void;
    tls?: boolean;
    zookeeperClient?: boolean;
    /** config: extra member configuration (e.g. snapshotEveryTxns), over `logLevel: 'warn'`. */
    config?: Record<string, unknown>;
    /** nodeOptions: NODE_OPTIONS of every member process, on every start and restart. */
    nodeOptions?: string;
    /** readyTimeoutMs bounds each wait for a member or the ensemble to serve (default 30 s). */
    readyTimeoutMs?: number;
  } = {},
): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-bench-'));
  const pki = options.tls ? makeTestPki() : undefined;
  const removeAll = () => {
    rmSync(dir, { recursive: true, force: true });
    pki?.remove();
  };
  const ensemble = await startEnsemble({
    dir,
    size: 3,
    onLog: options.onLog,
    config: { logLevel: 'warn', ...options.config },
    ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    ...(options.nodeOptions === undefined
      ? {}
      : { env: () => ({ NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${options.nodeOptions}`.trim() }) }),
    ...(options.zookeeperClient ? { zookeeper: true as const } : {}),
    ...(pki === undefined
      ? {}
      : {
          clientTls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile },
          peerTls: { caFile: pki.ca.certFile, member: (id: number) => pki.member(id) },
        }),
  }).catch((error) => {
    removeAll();
    throw error;
  });
  const connectString = pki === undefined ? ensemble.connectString : (ensemble.secureConnectString as string);
  const tls = pki === undefined ? {} : { tls: { ca: pki.ca.cert } };
  const member = (id: number) => {
    const found = ensemble.members.find((m) => m.id === id);
    if (!found) throw new RangeError(`no zabkit member ${id}`);
    return found;
  };
  return {
    name: 'zabkit',
    connect: async () =>
      options.zookeeperClient
        ? connectZookeeperClient(ensemble.zookeeperConnectString as string)
        : new ZabConn(await connect(connectString, { sessionTimeoutMs: 10_000, ...tls })),
    connectTo: async (id, timeoutMs) => {
      const { host, clientPort, secureClientPort, zookeeperPort } = member(id);
      if (options.zookeeperClient) return connectZookeeperClient(`${host}:${zookeeperPort}`, timeoutMs);
      const port = pki === undefined ? clientPort : (secureClientPort as number);
      return new ZabConn(
        await connect(`${host}:${port}`, { sessionTimeoutMs: 10_000, connectTimeoutMs: timeoutMs, ...tls }),
      );
    },
    snapshotDir: (id) => member(id).dataDir,
    serverPids: () => ensemble.members.map((member) => member.pid),
    leader: () => ensemble.waitForLeader(),
    kill: (id) => ensemble.kill(id),
    restart: async (id) => {
      await ensemble.restart(id);
      await ensemble.waitForLeader();
    },
    close: async () => {
      await ensemble.close();
      removeAll();
    },
  };
}
