import { randomUUID } from 'node:crypto';
import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { CallOptions, CreateModeName, Data } from '../types.js';
import { joinPath } from './paths.js';

/** PROTECTED_PREFIX starts the name of every protected znode (Curator's `_c_`). */
export const PROTECTED_PREFIX = '_c_';

/** ProtectedCreateOptions: the mode (usually EPHEMERAL_SEQUENTIAL), the znode's `acl` (default OPEN_ACL_UNSAFE) and a signal. */
export interface ProtectedCreateOptions extends CallOptions {
  mode: CreateModeName;
  acl?: readonly ACL[] | undefined;
}

/** ProtectedNode is a znode made by {@link protectedCreate}: its path and the unique prefix that marks it. */
export interface ProtectedNode {
  path: string;
  prefix: string;
}

/**
 * protectedCreate creates `parent/_c_<uuid>-<name>` and survives connection loss as Curator's
 * protection mode does ("Recoverable Errors and the GUID" in ZooKeeper's recipes): if the reply is
 * lost (CONNECTION_LOSS), the create may or may not have happened, so after the reconnect it looks
 * for a child with its unique prefix before trying again. Recipes that queue on sequential znodes
 * also delete any extra child with their prefix (see `cleanupDuplicates`), in case a create the
 * client thought lost was committed after the search.
 */
export async function protectedCreate(
  client: ZabClient,
  parent: string,
  name: string,
  data: Data | undefined,
  options: ProtectedCreateOptions,
): Promise<ProtectedNode> {
  const prefix = `${PROTECTED_PREFIX}${randomUUID()}-`;
  const path = joinPath(parent, `${prefix}${name}`);
  for (;;) {
    try {
      const { mode, acl, signal } = options;
      return { path: await client.create(path, data, { mode, signal, ...(acl === undefined ? {} : { acl }) }), prefix };
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
    // The calls below wait for the reconnect; sync first so the server has what the leader has.
    const found = await findProtected(client, parent, prefix, { signal: options.signal });
    if (found !== undefined) return { path: found, prefix };
  }
}

async function findProtected(
  client: ZabClient,
  parent: string,
  prefix: string,
  options: CallOptions,
): Promise<string | undefined> {
  for (;;) {
    try {
      await client.sync(parent, options);
      const children = await client.children(parent, options);
      const mine = children.filter((child) => child.startsWith(prefix)).sort();
      return mine.length === 0 ? undefined : joinPath(parent, mine[0]!);
    } catch (error) {
      if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
    }
  }
}
