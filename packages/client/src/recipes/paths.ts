import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { CallOptions } from '../types.js';

/** joinPath joins a parent path and a child name (`/` and `a` give `/a`). */
export function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** nameOf is the last segment of a path. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * ensurePath creates `path` and its missing ancestors as empty persistent znodes (Curator's
 * creatingParentsIfNeeded), with `acl` (default OPEN_ACL_UNSAFE); znodes that exist, or that
 * another client creates meanwhile, are fine and keep their own ACL.
 */
export async function ensurePath(
  client: ZabClient,
  path: string,
  options: CallOptions & { acl?: readonly ACL[] | undefined } = {},
): Promise<void> {
  const { signal, acl } = options;
  if (path === '/' || (await client.exists(path, { signal })) !== null) return;
  let current = '';
  for (const segment of path.split('/').slice(1)) {
    current = `${current}/${segment}`;
    try {
      await client.create(current, undefined, { signal, ...(acl === undefined ? {} : { acl }) });
    } catch (error) {
      if (!ZabError.isInstance(error, 'NODE_EXISTS')) throw error;
    }
  }
}

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
