import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ZabClient, ZabError } from '@zabkit/client';
import { startEnsemble } from '@zabkit/server';
import type { Conn, Target } from './target.js';

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
 * data directory under the OS temp dir) with startEnsemble's defaults (tick 50 ms).
 */
export async function startZabkit(options: { onLog?: (id: number, line: string) => void } = {}): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-bench-'));
  const ensemble = await startEnsemble({ dir, size: 3, onLog: options.onLog, config: { logLevel: 'warn' } }).catch(
    (error) => {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    },
  );
  return {
    name: 'zabkit',
    connect: async () => new ZabConn(await connect(ensemble.connectString, { sessionTimeoutMs: 10_000 })),
    serverPids: () => ensemble.members.map((member) => member.pid),
    leader: () => ensemble.waitForLeader(),
    kill: (id) => ensemble.kill(id),
    restart: async (id) => {
      await ensemble.restart(id);
      await ensemble.waitForLeader();
    },
    close: async () => {
      await ensemble.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
