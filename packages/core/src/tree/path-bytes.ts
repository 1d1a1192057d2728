import { validatePath } from './path-utils.js';

/**
 * Znode paths as UTF-8 bytes: the node table keeps each path as bytes in slabs (issue 17: a
 * restart made and promoted a JS string per znode, a million of them), and turns them into strings
 * only where one is handed out. Core has no TextEncoder or TextDecoder (no DOM types), so the
 * encoding is here; it is strict both ways, so that one path has one byte form:
 * - {@link encodePath} writes a lone surrogate as U+FFFD, as TextEncoder does (no valid path has
 *   either, validatePath refuses both);
 * - {@link decodePath} reads any byte sequence that is not shortest-form UTF-8 of a scalar value
 *   (a stray continuation byte, a truncated sequence, an overlong form, a surrogate, past
 *   U+10FFFF) as U+FFFD, so {@link validatePathBytes} refuses it rather than letting two byte
 *   forms name one path.
 */

/** REPLACEMENT is U+FFFD, what a byte sequence that is not UTF-8 decodes as. */
const REPLACEMENT = 0xfffd;

let scratch = new Uint8Array(256);
/** ENCODED is the one result object encodePath hands back (no allocation per lookup). */
const ENCODED = { bytes: scratch, length: 0 };

/**
 * encodePath writes `path` as UTF-8 into a scratch array shared by every caller and returns it with
 * the byte length: the bytes are valid until the next call (use them at once).
 */
export function encodePath(path: string): { bytes: Uint8Array; length: number } {
  const units = path.length;
  if (scratch.length < units * 3) scratch = new Uint8Array(Math.max(units * 3, scratch.length * 2));
  const out = scratch;
  let at = 0;
  for (let i = 0; i < units; i++) {
    let c = path.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
      continue;
    }
    if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < units ? path.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[at++] = 0xf0 | (point >> 18);
        out[at++] = 0x80 | ((point >> 12) & 0x3f);
        out[at++] = 0x80 | ((point >> 6) & 0x3f);
        out[at++] = 0x80 | (point & 0x3f);
        continue;
      }
      c = REPLACEMENT;
    }
    out[at++] = 0xe0 | (c >> 12);
    out[at++] = 0x80 | ((c >> 6) & 0x3f);
    out[at++] = 0x80 | (c & 0x3f);
  }
  ENCODED.bytes = out;
  ENCODED.length = at;
  return ENCODED;
}

/** isAscii tells whether `length` bytes of `bytes` from `start` are all below 0x80. */
function isAscii(bytes: Uint8Array, start: number, length: number): boolean {
  for (let i = start, end = start + length; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** CHUNK: code units passed to String.fromCharCode at once. */
const CHUNK = 4096;

/** units is a reused array of UTF-16 code units for decodePath's non-ASCII case. */
const units: number[] = [];

/** decodePath is the string of `length` bytes of `bytes` from `start` (see the file's comment for bytes that are not UTF-8). */
export function decodePath(bytes: Uint8Array, start: number, length: number): string {
  const end = start + length;
  if (isAscii(bytes, start, length)) {
    // In pieces: apply takes each byte as an argument, and arguments are bounded.
    let text = '';
    for (let at = start; at < end; at += CHUNK) {
      text += String.fromCharCode.apply(null, bytes.subarray(at, Math.min(end, at + CHUNK)) as unknown as number[]);
    }
    return text;
  }
  units.length = 0;
  for (let i = start; i < end; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      units.push(b);
      i++;
      continue;
    }
    const need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
    if (need === 0 || b > 0xf4 || i + need >= end) {
      units.push(REPLACEMENT);
      i++;
      continue;
    }
    let point = b & (0x3f >> need);
    let ok = true;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
      point = (point << 6) | (c & 0x3f);
    }
    const shortest = need === 1 ? point >= 0x80 : need === 2 ? point >= 0x800 : point >= 0x10000;
    if (!ok || !shortest || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) {
      units.push(REPLACEMENT);
      i++;
      continue;
    }
    if (point >= 0x10000) {
      units.push(0xd800 + ((point - 0x10000) >> 10), 0xdc00 + ((point - 0x10000) & 0x3ff));
    } else {
      units.push(point);
    }
    i += need + 1;
  }
  let text = '';
  for (let at = 0; at < units.length; at += CHUNK) text += String.fromCharCode.apply(null, units.slice(at, at + CHUNK));
  return text;
}

/**
 * validatePathBytes is {@link validatePath} of the path `length` bytes of `bytes` from `start`
 * encode (null when valid): without making the string when the bytes are ASCII (a restore checks
 * a million paths), through {@link decodePath} otherwise.
 */
export function validatePathBytes(bytes: Uint8Array, start: number, length: number): string | null {
  if (!isAscii(bytes, start, length)) return validatePath(decodePath(bytes, start, length));
  if (length === 0) return 'path length must be > 0';
  if (bytes[start] !== 0x2f) return 'path must start with / character';
  if (length === 1) return null;
  const end = start + length;
  if (bytes[end - 1] === 0x2f) return 'path must not end with / character';
  let last = 0x2f;
  for (let i = start + 1; i < end; last = bytes[i]!, i++) {
    const c = bytes[i]!;
    if (c === 0) return `null character not allowed @${i - start}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i - start}`;
    if (c === 0x2e) {
      const segmentStart = last === 0x2e ? i - 2 : i - 1;
      const endsSegment = i + 1 === end || bytes[i + 1] === 0x2f;
      if ((last === 0x2f || last === 0x2e) && bytes[segmentStart] === 0x2f && endsSegment) {
        return `relative paths not allowed @${i - start}`;
      }
      continue;
    }
    if ((c > 0x00 && c <= 0x1f) || c === 0x7f) return `invalid character @${i - start}`;
  }
  return null;
}

/** hashPathBytes is 32-bit FNV-1a over `length` bytes of `bytes` from `start`. */
export function hashPathBytes(bytes: Uint8Array, start: number, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = start, end = start + length; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash | 0;
}
