import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { CallOptions } from '../types.js';

/** REVOKE_DATA is what a revocation request writes into the holder's znode (Curator's `__REVOKE__`). */
export const REVOKE_DATA = '__REVOKE__';

const encoder = new TextEncoder();
const revokeBytes = encoder.encode(REVOKE_DATA);

function isRevocation(data: Uint8Array): boolean {
  return data.length === revokeBytes.length && data.every((byte, index) => byte === revokeBytes[index]);
}

/**
 * requestRevocation asks the holder of the lock znode `nodePath` to release it (Curator's
 * `Revoker.attemptRevoke`): it writes {@link REVOKE_DATA} into the znode, and a holder that made
 * its lock revocable gets `revocationRequested`. It is a request: the holder decides when (and
 * whether) to release. Resolves false when the znode is already gone.
 */
export async function requestRevocation(
  client: ZabClient,
  nodePath: string,
  options: CallOptions = {},
): Promise<boolean> {
  try {
    await client.set(nodePath, REVOKE_DATA, options);
    return true;
  } catch (error) {
    if (ZabError.isInstance(error, 'NO_NODE')) return false;
    throw error;
  }
}

/**
 * watchForRevocation calls `onRequested` each time the znode at `path` holds {@link REVOKE_DATA}
 * (now, or after a change), through one-shot data watches that survive reconnects. It stops when
 * the znode is gone, the session ends, or the returned function is called.
 */
export function watchForRevocation(client: ZabClient, path: string, onRequested: () => void): () => void {
  let stopped = false;
  const check = async (): Promise<void> => {
    if (stopped) return;
    try {
      const { data } = await client.get(path, { watch: () => void check() });
      if (!stopped && isRevocation(data)) onRequested();
    } catch (error) {
      // The reply was lost, so the watch may not be set: look again on the next connection.
      if (ZabError.isInstance(error, 'CONNECTION_LOSS') && !stopped) {
        const off = client.on('reconnected', () => {
          off();
          void check();
        });
      }
      // NO_NODE: the znode is gone (released, or the lock lost); SESSION_EXPIRED: the session ended.
    }
  };
  void check();
  return () => {
    stopped = true;
  };
}
