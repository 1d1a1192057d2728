import { describe, expect, it } from 'vitest';
import { createPrng } from '../prng.js';
import { decodePath, encodePath, hashPathBytes, validatePathBytes } from './path-bytes.js';
import { validatePath } from './path-utils.js';

const utf8 = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });

function encoded(path: string): Uint8Array {
  const { bytes, length } = encodePath(path);
  return bytes.slice(0, length);
}

describe('path bytes', () => {
  it('encodes as TextEncoder does and decodes back, ASCII, two-, three- and four-byte characters alike', () => {
    const prng = createPrng(5);
    const alphabet = [
      'a',
      'Z',
      '/',
      '.',
      '-',
      'é',
      'ß',
      '€',
      '中',
      '\u{1F600}',
      '\u{10FFFF}',
      '\u0080',
      '\u07FF',
      '\uFFEF',
    ];
    for (let n = 0; n < 2000; n++) {
      let path = '/';
      for (let k = prng.int(40); k > 0; k--) path += alphabet[prng.int(alphabet.length)];
      const bytes = encoded(path);
      expect(bytes).toEqual(utf8.encode(path));
      expect(decodePath(bytes, 0, bytes.length)).toBe(path);
    }
    // A long path (past the scratch array's first size) and a range inside a larger array.
    const long = `/${'x'.repeat(5000)}€`;
    expect(encoded(long)).toEqual(utf8.encode(long));
    expect(decodePath(encoded(long), 0, encoded(long).length)).toBe(long);
    const longAscii = `/${'y'.repeat(10_000)}`;
    expect(decodePath(encoded(longAscii), 0, longAscii.length)).toBe(longAscii);
    const inside = new Uint8Array([9, 9, ...utf8.encode('/a/é'), 9]);
    expect(decodePath(inside, 2, inside.length - 3)).toBe('/a/é');
  });

  it('writes a lone surrogate as U+FFFD, as TextEncoder does', () => {
    for (const path of ['/a\uD800', '/\uDC00b', '/\uD800\uD800', '/x\uDBFF']) {
      expect(encoded(path)).toEqual(utf8.encode(path));
    }
  });

  it('reads bytes that are not shortest-form UTF-8 as U+FFFD, so no path has two byte forms', () => {
    const prng = createPrng(9);
    const pool = [0x2f, 0x61, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xa0, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x90];
    for (let n = 0; n < 20_000; n++) {
      const bytes = Uint8Array.from({ length: 1 + prng.int(8) }, () => pool[prng.int(pool.length)]!);
      const ours = decodePath(bytes, 0, bytes.length);
      let theirs: string | null = null;
      try {
        theirs = strict.decode(bytes);
      } catch {
        // Not UTF-8.
      }
      if (theirs !== null) expect(ours).toBe(theirs);
      else expect(ours).toContain('\uFFFD');
    }
    // Overlong '/', an encoded surrogate, a truncated sequence, a stray continuation byte.
    for (const bad of [
      [0x2f, 0xc0, 0xaf],
      [0x2f, 0xed, 0xa0, 0x80],
      [0x2f, 0xe2, 0x82],
      [0x2f, 0x80],
    ]) {
      const bytes = Uint8Array.from(bad);
      expect(decodePath(bytes, 0, bytes.length)).toContain('\uFFFD');
      expect(validatePathBytes(bytes, 0, bytes.length)).not.toBeNull();
    }
  });

  it('validates the bytes as validatePath validates the string', () => {
    const prng = createPrng(13);
    const pool = ['/', '/', '.', '.', 'a', 'b', '\u0000', '\u0001', '\u001f', '\u007f', '\u0085', 'é', '\uFFF5'];
    for (let n = 0; n < 20_000; n++) {
      let path = prng.int(10) === 0 ? '' : '/';
      for (let k = prng.int(10); k > 0; k--) path += pool[prng.int(pool.length)];
      const bytes = encoded(path);
      expect(validatePathBytes(bytes, 0, bytes.length)).toBe(validatePath(path));
    }
  });

  it('hashes the bytes in range only', () => {
    const a = encoded('/a/b');
    const inside = new Uint8Array([1, ...a, 2]);
    expect(hashPathBytes(inside, 1, a.length)).toBe(hashPathBytes(a, 0, a.length));
    expect(hashPathBytes(a, 0, a.length)).not.toBe(hashPathBytes(a, 0, a.length - 1));
  });
});
