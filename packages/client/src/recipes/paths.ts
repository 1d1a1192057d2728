import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { CallOptions } from '../types.js';

/** joinPath joins a parent path and a child name (`/` and `a` give `/a`). */
export function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** parentOf is the parent of a path (`/a/b` gives `/a`, `/a` gives `/`). */
export function parentOf(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}

/** nameOf is the last segment of a path. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** EnsurePathOptions: the ACL of the znodes created and whether they are containers. */
export interface EnsurePathOptions extends CallOptions {
  /** acl is the ACL of every znode created (default OPEN_ACL_UNSAFE). */
  acl?: readonly ACL[] | undefined;
  /**
   * container creates the missing znodes (`path` and its ancestors) as CONTAINER znodes (Curator's
   * creatingParentContainersIfNeeded): the leader deletes a container once it has had children and
   * has none left, so recipe directories do not pile up. A child created under a container can
   * therefore fail with NO_NODE when the container was just deleted: call ensurePath again and
   * retry (see {@link createWithParents}).
   */
  container?: boolean | undefined;
}

/**
 * ensurePath creates `path` and its missing ancestors as empty znodes, persistent or (with
 * `container`) CONTAINER (Curator's creatingParentsIfNeeded / creatingParentContainersIfNeeded),
 * with `acl` (default OPEN_ACL_UNSAFE); znodes that exist, or that another client creates
 * meanwhile, are fine and keep their own ACL and mode. CONNECTION_LOSS is retried (each step is
 * idempotent); other errors, SESSION_EXPIRED and the signal's reason are thrown.
 */
export async function ensurePath(client: ZabClient, path: string, options: EnsurePathOptions = {}): Promise<void> {
  const { signal } = options;
  if (path === '/') return;
  // Every step is idempotent, so a lost connection is retried (calls wait for the reconnect).
  for (;;) {
    try {
      if ((await client.exists(path, { signal })) !== null) return;
      break;
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
  }
  // A parent found existing may be an emptied container the leader deletes before the next
  // segment's create (NO_NODE): start again from the root, as Curator does, a bounded number of times.
  for (let pass = 1; ; pass++) {
    try {
      await createSegments(client, path, options);
      return;
    } catch (error) {
      if (!ZabError.isInstance(error, 'NO_NODE') || pass >= ENSURE_PATH_PASSES_MAX) throw error;
      signal?.throwIfAborted();
    }
  }
}

/** ENSURE_PATH_PASSES_MAX bounds how often ensurePath starts again after a parent vanished under it. */
const ENSURE_PATH_PASSES_MAX = 10;

async function createSegments(client: ZabClient, path: string, options: EnsurePathOptions): Promise<void> {
  const { signal, acl, container } = options;
  let current = '';
  for (const segment of path.split('/').slice(1)) {
    current = `${current}/${segment}`;
    for (;;) {
      try {
        await client.create(current, undefined, {
          signal,
          ...(container === true ? { mode: 'CONTAINER' as const } : {}),
          ...(acl === undefined ? {} : { acl }),
        });
        break;
      } catch (error) {
        if (ZabError.isInstance(error, 'NODE_EXISTS')) break;
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }
}

/**
 * createWithParents runs `create` (a create of a child of `parent`) and, when it fails with NO_NODE
 * because `parent` is missing (never created, or a container the leader deleted once it was empty),
 * creates `parent` with {@link ensurePath} (unless another client already has) and tries again, up
 * to CREATE_ATTEMPTS_MAX times. Errors other than that NO_NODE are thrown.
 */
export async function createWithParents<T>(
  client: ZabClient,
  parent: string,
  options: EnsurePathOptions,
  create: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      if (!ZabError.isInstance(error, 'NO_NODE') || attempt >= CREATE_ATTEMPTS_MAX) throw error;
    }
    // The parent was missing when the create ran. Another client may have made it again since (a
    // container reaped and re-created between two members' creates: a CI run's double barrier
    // threw here when it found the parent back), so only a parent still missing is made again.
    if ((await client.exists(parent, { signal: options.signal })) === null) await ensurePath(client, parent, options);
  }
}

/** CREATE_ATTEMPTS_MAX bounds createWithParents' tries while other clients keep removing the parent. */
const CREATE_ATTEMPTS_MAX = 10;

/**
 * sequenceOf reads the sequence number a sequential znode's name ends with (ten digits, or a
 * sign and nine after the counter overflowed), or undefined if it has none.
 */
export function sequenceOf(name: string): number | undefined {
  const tail = name.slice(-10);
  return /^(?:\d{10}|-\d{9})$/.test(tail) ? Number(tail) : undefined;
}

/** sortBySequence orders sequential znode names by their sequence number (names without one are dropped). */
export function sortBySequence(names: readonly string[]): string[] {
  return names
    .filter((name) => sequenceOf(name) !== undefined)
    .sort((a, b) => sequenceOf(a)! - sequenceOf(b)! || (a < b ? -1 : a > b ? 1 : 0));
}
