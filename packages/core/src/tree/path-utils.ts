/**
 * Znode path rules, as ZooKeeper's `PathUtils.validatePath`, and the small path helpers the tree
 * and the request pipeline share.
 */

/** SYSTEM_PATH is the reserved subtree for server information (ZooKeeper's `/zookeeper`); clients may read it, never write it. */
export const SYSTEM_PATH = '/zookeeper';

/**
 * validatePath returns why `path` is not a valid znode path, or null when it is valid. The rules
 * are ZooKeeper's `PathUtils.validatePath`: absolute, no trailing slash (except the root), no empty
 * segment, no `.` or `..` segment, no NUL, no control characters (U+0001–U+001F, U+007F–U+009F),
 * no surrogates or private-use characters (U+D800–U+F8FF) and no U+FFF0–U+FFFF.
 */
export function validatePath(path: string): string | null {
  if (typeof path !== 'string') return 'path must be a string';
  if (path.length === 0) return 'path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'path must start with / character';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'path must not end with / character';
  let last = 0x2f;
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`;
    if (c === 0x2e) {
      // A segment that is exactly `.` or `..`.
      const segmentStart = last === 0x2e ? i - 2 : i - 1;
      const endsSegment = i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f;
      if ((last === 0x2f || last === 0x2e) && path.charCodeAt(segmentStart) === 0x2f && endsSegment) {
        return `relative paths not allowed @${i}`;
      }
      continue;
    }
    if (
      (c > 0x00 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

/**
 * validateCreatePath validates the path of a create request: for sequential modes the path may end
 * with `/` (the sequence number becomes the whole name), as ZooKeeper validates `path + "1"`.
 */
export function validateCreatePath(path: string, sequential: boolean): string | null {
  if (typeof path !== 'string') return 'path must be a string';
  return validatePath(sequential ? `${path}1` : path);
}

/** parentPath is the path of a valid non-root path's parent (`/a/b` → `/a`, `/a` → `/`). */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === 0 ? '/' : path.slice(0, slash);
}

/** isSystemPath tells whether a path is the reserved system subtree or inside it. */
export function isSystemPath(path: string): boolean {
  return path === SYSTEM_PATH || path.startsWith(`${SYSTEM_PATH}/`);
}

/** isPathWithin tells whether `path` is `prefix` or below it (`/` contains every path). */
export function isPathWithin(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

/**
 * formatSequence formats a parent's cversion as a sequential znode's suffix, as Java's
 * `String.format("%010d", n)`: ten digits, zero-padded; a negative counter (after the signed
 * 32-bit overflow) keeps its sign within the width.
 */
export function formatSequence(counter: number): string {
  if (counter < 0) return `-${String(-counter).padStart(9, '0')}`;
  return String(counter).padStart(10, '0');
}
