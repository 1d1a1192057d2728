import { randomUUID } from 'node:crypto';
import type { ACL, ErrorCode } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { CallOptions, CreateModeName, Data, Stat } from '../types.js';
import { joinPath } from './paths.js';

/** PROTECTED_PREFIX starts the name of every protected znode (Curator's `_c_`). */
export const PROTECTED_PREFIX = '_c_';

/** CLEANUP_BACKOFF_MS_MAX caps the pause between two tries of a cleanup that met CONNECTION_LOSS. */
const CLEANUP_BACKOFF_MS_MAX = 1_000;

/**
 * ProtectedCreateOptions: the mode (usually EPHEMERAL_SEQUENTIAL), the znode's `acl` (default
 * OPEN_ACL_UNSAFE), a signal, and `cleanups`, which tracks the background deletion started when
 * the caller gives up on a create that may have reached the server.
 */
export interface ProtectedCreateOptions extends CallOptions {
  mode: CreateModeName;
  acl?: readonly ACL[] | undefined;
  cleanups?: CleanupTracker | undefined;
}

/**
 * ProtectedNode is a znode made by {@link protectedCreate}: its path, the unique prefix that marks
 * it, and its Stat as created (`stat.czxid` is the zxid of the create: the recipes' fencing token).
 */
export interface ProtectedNode {
  path: string;
  prefix: string;
  stat: Stat;
}

/**
 * NOT_CREATED are the codes with which a server refuses a create, so nothing was created; after
 * any other failure (an abort, a timeout, CONNECTION_LOSS) the create may have happened.
 */
const NOT_CREATED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NODE_EXISTS',
  'NO_NODE',
  'NO_AUTH',
  'INVALID_ACL',
  'NO_CHILDREN_FOR_EPHEMERALS',
  'INVALID_PATH',
  'BAD_ARGUMENTS',
  'MARSHALLING_ERROR',
  'UNIMPLEMENTED',
  'QUOTA_EXCEEDED',
  // The session is gone: the server deletes its ephemerals, and the client can delete nothing.
  'SESSION_EXPIRED',
]);

/**
 * CleanupTracker holds the background cleanups a recipe started (deleting the znodes of calls the
 * caller gave up on), so that `whenCleanedUp()` can wait for them.
 */
export class CleanupTracker {
  private readonly pending = new Set<Promise<void>>();
  private failures: unknown[] = [];

  /** pendingCount is the number of cleanups still running. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** track keeps `work` until it settles; a failure is kept for {@link whenCleanedUp} (never an unhandled rejection). */
  track(work: Promise<void>): void {
    const tracked = work.then(
      () => {},
      (error: unknown) => {
        this.failures.push(error);
      },
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /**
   * whenCleanedUp resolves once every cleanup started so far (and any started while waiting) has
   * finished; it rejects with the first error a cleanup failed with since the last call (an
   * unexpected one such as NO_AUTH: CONNECTION_LOSS is retried, expiry ends a cleanup quietly).
   */
  async whenCleanedUp(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    const failures = this.failures.splice(0);
    if (failures.length > 0) throw failures[0];
  }
}

/**
 * protectedCreate creates `parent/_c_<uuid>-<name>` and survives connection loss as Curator's
 * protection mode does ("Recoverable Errors and the GUID" in ZooKeeper's recipes): if the reply is
 * lost (CONNECTION_LOSS), the create may or may not have happened, so after the reconnect it looks
 * for a child with its unique prefix before trying again. Recipes that queue on sequential znodes
 * also delete any extra child with their prefix (see `waitForTurn`), in case a create the client
 * thought lost was committed after the search.
 *
 * When the caller gives up (the signal aborts, or the call fails in any way after which the create
 * may have reached the server), the znode could be left behind with nobody to delete it: a waiter
 * nobody serves. So protectedCreate then starts {@link cleanupProtected} in the background and
 * hands it to `options.cleanups`; the call rejects at once, without waiting for it.
 */
export async function protectedCreate(
  client: ZabClient,
  parent: string,
  name: string,
  data: Data | undefined,
  options: ProtectedCreateOptions,
): Promise<ProtectedNode> {
  const { mode, acl, cleanups, ...call } = options;
  // Nothing was sent: nothing to clean.
  call.signal?.throwIfAborted();
  const prefix = `${PROTECTED_PREFIX}${randomUUID()}-`;
  const path = joinPath(parent, `${prefix}${name}`);
  try {
    for (;;) {
      try {
        // A one-op multi, as ZooKeeper's create2: the reply carries the new znode's Stat.
        const [result] = await client.multi(
          [
            {
              op: 'create',
              path,
              ...(data === undefined ? {} : { data }),
              mode,
              ...(acl === undefined ? {} : { acl }),
            },
          ],
          call,
        );
        if (result?.op !== 'create')
          throw new ZabError('SYSTEM_ERROR', { message: 'a create without its result', path });
        return { path: result.path, prefix, stat: result.stat };
      } catch (error) {
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
      // The calls below wait for the reconnect; sync first so the server has what the leader has.
      const found = await findProtected(client, parent, prefix, call);
      if (found !== undefined) return found;
    }
  } catch (error) {
    if (!(ZabError.isInstance(error) && NOT_CREATED.has(error.code))) {
      const cleanup = cleanupProtected(client, parent, prefix);
      if (cleanups !== undefined) cleanups.track(cleanup);
      else cleanup.catch(() => {});
    }
    throw error;
  }
}

/**
 * cleanupProtected deletes every child of `parent` whose name starts with `prefix` (the znodes of
 * a protected create whose caller gave up). It syncs first, so it sees a create that reached the
 * server before it; it retries CONNECTION_LOSS (on the next connection, with a capped backoff) and
 * stops quietly when the session has expired or the client is closed (the server deletes an
 * expired session's ephemerals) or when `parent` is gone.
 */
export async function cleanupProtected(client: ZabClient, parent: string, prefix: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.sync(parent);
      const children = await client.children(parent);
      for (const child of children) {
        if (!child.startsWith(prefix)) continue;
        try {
          await client.delete(joinPath(parent, child));
        } catch (error) {
          if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
        }
      }
      return;
    } catch (error) {
      if (ZabError.isInstance(error, 'SESSION_EXPIRED') || ZabError.isInstance(error, 'NO_NODE')) return;
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(CLEANUP_BACKOFF_MS_MAX, 10 * 2 ** attempt)));
  }
}

/**
 * deleteProtected deletes a node this client created (a released lock, a left election): the
 * node by its path, retried across CONNECTION_LOSS; NO_NODE and SESSION_EXPIRED mean it is gone.
 */
export async function deleteProtected(client: ZabClient, node: ProtectedNode): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.delete(node.path);
      return;
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE') || ZabError.isInstance(error, 'SESSION_EXPIRED')) return;
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(CLEANUP_BACKOFF_MS_MAX, 10 * 2 ** attempt)));
  }
}

async function findProtected(
  client: ZabClient,
  parent: string,
  prefix: string,
  options: CallOptions,
): Promise<ProtectedNode | undefined> {
  for (;;) {
    try {
      await client.sync(parent, options);
      const children = await client.children(parent, options);
      const mine = children.filter((child) => child.startsWith(prefix)).sort();
      if (mine.length === 0) return undefined;
      const path = joinPath(parent, mine[0]!);
      const stat = await client.exists(path, options);
      if (stat !== null) return { path, prefix, stat };
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
  }
}
