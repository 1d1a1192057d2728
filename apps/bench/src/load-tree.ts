import type { Conn } from './target.js';

/** TREE_ROOT is the parent of the loaded tree; its parents are /m/000, /m/001, … */
export const TREE_ROOT = '/m';
/** CHILDREN_PER_PARENT: no parent gets a million children (a child list that long is slow in both systems). */
export const CHILDREN_PER_PARENT = 10_000;
/** CREATE_TRIES_MAX bounds the tries of one create (CONNECTION_LOSS and the like) before the load gives up. */
const CREATE_TRIES_MAX = 20;

function parentPath(parent: number): string {
  return `${TREE_ROOT}/${String(parent).padStart(3, '0')}`;
}

/** znodePath is the path of the `index`th loaded znode: /m/042/0420001. */
export function znodePath(index: number): string {
  return `${parentPath(Math.floor(index / CHILDREN_PER_PARENT))}/${String(index).padStart(7, '0')}`;
}

/** prepareTree creates /m and the parents of `znodes` znodes (idempotent), so the load adds only leaves. */
export async function prepareTree(conn: Conn, znodes: number): Promise<void> {
  const empty = new Uint8Array(0);
  await conn.create(TREE_ROOT, empty, false);
  const parents = Math.ceil(znodes / CHILDREN_PER_PARENT);
  await Promise.all(Array.from({ length: parents }, (_, parent) => conn.create(parentPath(parent), empty, false)));
}

/** LoadResult: how long loading took, and how many creates had to be sent again. */
export interface LoadResult {
  seconds: number;
  createsPerSec: number;
  retries: number;
}

/**
 * loadTree creates `znodes` persistent znodes of `valueBytes` bytes each (znodePath(0) …) with
 * `inFlight` creates outstanding, spread over the connections (a closed loop). A create that fails
 * (a lost connection) is sent again; NODE_EXISTS counts as done, so a retried create is harmless.
 */
export async function loadTree(
  conns: Conn[],
  options: { znodes: number; valueBytes: number; inFlight: number; onProgress?: (fraction: number) => void },
): Promise<LoadResult> {
  const value = new Uint8Array(options.valueBytes).fill(0x63);
  let next = 0;
  let done = 0;
  let retries = 0;
  const started = performance.now();
  const progressTimer = setInterval(() => options.onProgress?.(done / options.znodes), 200);
  const slot = async (conn: Conn) => {
    for (let index = next++; index < options.znodes; index = next++) {
      for (let tries = 1; ; tries++) {
        try {
          await conn.create(znodePath(index), value, false);
          break;
        } catch (error) {
          if (tries >= CREATE_TRIES_MAX) throw error;
          retries++;
          await new Promise((resume) => setTimeout(resume, 10 * tries));
        }
      }
      done++;
    }
  };
  try {
    const slots = Math.max(1, Math.min(options.inFlight, options.znodes));
    await Promise.all(Array.from({ length: slots }, (_, i) => slot(conns[i % conns.length] as Conn)));
  } finally {
    clearInterval(progressTimer);
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, createsPerSec: options.znodes / seconds, retries };
}
