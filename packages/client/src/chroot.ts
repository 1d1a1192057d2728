import { validateCreatePath, validatePath } from '@zabkit/core';
import { ZabError } from './errors.js';

/**
 * Chroot maps the caller's paths to the server's (`/a` under chroot `/app` is `/app/a`) and back.
 * Paths are validated here, before anything is sent, with the server's rules (core's
 * validatePath), so a bad path fails with INVALID_PATH and costs no round trip.
 */
export class Chroot {
  constructor(readonly prefix: string) {
    if (prefix !== '') {
      const problem = validatePath(prefix);
      if (problem !== null) throw new ZabError('INVALID_PATH', { message: `bad chroot: ${problem}`, path: prefix });
    }
  }

  /** toServer validates a caller's path and prefixes the chroot; `sequential` allows a trailing '/' as ZooKeeper does. */
  toServer(path: string, op: string, sequential = false): string {
    const problem = sequential ? validateCreatePath(path, true) : validatePath(path);
    if (problem !== null) throw new ZabError('INVALID_PATH', { message: problem, path, op });
    if (this.prefix === '') return path;
    return path === '/' ? this.prefix : `${this.prefix}${path}`;
  }

  /** toClient strips the chroot from a server path (a path outside the chroot is returned as is). */
  toClient(path: string): string {
    if (this.prefix === '') return path;
    if (path === this.prefix) return '/';
    if (path.startsWith(this.prefix) && path.charCodeAt(this.prefix.length) === 0x2f)
      return path.slice(this.prefix.length);
    return path;
  }
}
