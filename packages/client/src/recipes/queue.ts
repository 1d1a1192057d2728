import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import { joinPath, nameOf, sortBySequence } from './paths.js';

/**
 * BlockerOf picks, in a queue of sequential children sorted by sequence, the child the one at
 * `index` must wait for, or undefined when it has its turn. The default, {@link predecessorOf},
 * is the mutex rule: the child just before it.
 */
export type BlockerOf = (queue: readonly string[], index: number) => string | undefined;

/** predecessorOf is the mutex rule: the lowest child has its turn, every other waits for the one before it. */
export const predecessorOf: BlockerOf = (queue, index) => (index === 0 ? undefined : queue[index - 1]);

/**
 * queueOf is `children` as a queue for the waiter `name` with protection `prefix`: sorted by
 * sequence, without the duplicates of `name` (children with its prefix that are not it).
 */
export function queueOf(children: readonly string[], name: string, prefix: string): string[] {
  return sortBySequence(children.filter((child) => child === name || !child.startsWith(prefix)));
}

/**
 * waitForTurn blocks until `node` (an ephemeral sequential child of `parent`) has its turn: with
 * the default `blockerOf`, until it is the lowest in sequence order (the ZooKeeper lock recipe
 * without herd effect). Each waiter sets an exists watch on its blocker only and re-checks when it
 * is deleted (or after a reconnect). Children with the waiter's protection `prefix` other than
 * `node` are duplicates of a create retried after a connection loss and are deleted.
 * CONNECTION_LOSS is retried (calls wait for the reconnect); SESSION_EXPIRED, NO_NODE for `node`
 * itself and the signal's reason end the wait.
 */
export async function waitForTurn(
  client: ZabClient,
  parent: string,
  node: string,
  prefix: string,
  signal: AbortSignal | undefined,
  blockerOf: BlockerOf = predecessorOf,
): Promise<void> {
  const name = nameOf(node);
  for (;;) {
    signal?.throwIfAborted();
    try {
      const children = await client.children(parent, { signal });
      for (const child of children) {
        if (child !== name && child.startsWith(prefix)) {
          await client.delete(joinPath(parent, child), { signal }).catch((error: unknown) => {
            if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
          });
        }
      }
      const queue = queueOf(children, name, prefix);
      const index = queue.indexOf(name);
      if (index === -1)
        throw new ZabError('NO_NODE', { message: 'our queue znode was deleted', op: 'waitForTurn', path: node });
      const blocker = blockerOf(queue, index);
      if (blocker === undefined) return;
      const blockerPath = joinPath(parent, blocker);
      await waitForWatch(
        client,
        (watch) => client.exists(blockerPath, { watch, signal }),
        signal,
        (stat) => stat === null,
      );
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
  }
}

/**
 * waitForWatch runs `read` with a one-shot watch and resolves once the watch fires (or at once if
 * `done` holds for what `read` returned, or after a reconnect, so the caller reads again); rejects
 * with SESSION_EXPIRED on expiry or close, and with the signal's reason on abort.
 */
export async function waitForWatch<T>(
  client: ZabClient,
  read: (wake: () => void) => Promise<T>,
  signal: AbortSignal | undefined,
  done: (result: T) => boolean = () => false,
  where: { op: string; path?: string } = { op: 'waitForWatch' },
): Promise<void> {
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
    client.on('expired', () => fail(new ZabError('SESSION_EXPIRED', where))),
    client.on('closed', () => fail(new ZabError('SESSION_EXPIRED', { message: 'the client is closed', ...where }))),
  ];
  try {
    if (done(await read(() => wake()))) return;
    await woken;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const off of offs) off();
  }
}
