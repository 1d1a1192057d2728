import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import { joinPath, nameOf, sortBySequence } from './paths.js';

/**
 * waitForTurn blocks until `node` (an ephemeral sequential child of `parent`) is the lowest in
 * sequence order: the ZooKeeper lock recipe without herd effect. Each waiter sets an exists watch
 * on its predecessor only and re-checks when it is deleted (or after a reconnect). Children with
 * the waiter's protection `prefix` other than `node` are duplicates of a create retried after a
 * connection loss and are deleted. CONNECTION_LOSS is retried (calls wait for the reconnect);
 * SESSION_EXPIRED, NO_NODE for `node` itself and the signal's reason end the wait.
 */
export async function waitForTurn(
  client: ZabClient,
  parent: string,
  node: string,
  prefix: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const name = nameOf(node);
  for (;;) {
    signal?.throwIfAborted();
    let predecessor: string | undefined;
    try {
      const children = await client.children(parent, { signal });
      for (const child of children) {
        if (child !== name && child.startsWith(prefix)) {
          await client.delete(joinPath(parent, child), { signal }).catch((error: unknown) => {
            if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
          });
        }
      }
      const queue = sortBySequence(children.filter((child) => child === name || !child.startsWith(prefix)));
      const index = queue.indexOf(name);
      if (index === -1)
        throw new ZabError('NO_NODE', { message: 'our queue znode was deleted', op: 'waitForTurn', path: node });
      if (index === 0) return;
      predecessor = joinPath(parent, queue[index - 1]!);
      await waitForDeletion(client, predecessor, signal);
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
  }
}

/** waitForDeletion resolves once `path` does not exist (or after a reconnect, to re-check); rejects on expiry or abort. */
async function waitForDeletion(client: ZabClient, path: string, signal: AbortSignal | undefined): Promise<void> {
  let wake!: () => void;
  let fail!: (error: unknown) => void;
  const woken = new Promise<void>((resolve, reject) => {
    wake = resolve;
    fail = reject;
  });
  woken.catch(() => {});
  const onAbort = () => fail(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const offs = [
    client.on('reconnected', () => wake()),
    client.on('expired', () => fail(new ZabError('SESSION_EXPIRED', { op: 'waitForTurn', path }))),
    client.on('closed', () =>
      fail(new ZabError('SESSION_EXPIRED', { message: 'the client is closed', op: 'waitForTurn', path })),
    ),
  ];
  try {
    const stat = await client.exists(path, { watch: () => wake(), signal });
    if (stat === null) return;
    await woken;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const off of offs) off();
  }
}
