import { describe, expect, it } from 'vitest';
import { Chroot } from './chroot.js';
import { ZabError } from './errors.js';

describe('Chroot', () => {
  it('prefixes and strips the chroot', () => {
    const chroot = new Chroot('/app');
    expect(chroot.toServer('/', 'getData')).toBe('/app');
    expect(chroot.toServer('/a/b', 'getData')).toBe('/app/a/b');
    expect(chroot.toClient('/app')).toBe('/');
    expect(chroot.toClient('/app/a')).toBe('/a');
    expect(chroot.toClient('/apple')).toBe('/apple');
    expect(new Chroot('').toServer('/x', 'exists')).toBe('/x');
  });
  it('refuses invalid paths with INVALID_PATH naming the path and op', () => {
    const chroot = new Chroot('');
    for (const bad of ['', 'a', '/a/', '/a//b', '/a/./b', '/a/..', '/a\u0000b']) {
      let caught: unknown;
      try {
        chroot.toServer(bad, 'create');
      } catch (error) {
        caught = error;
      }
      expect(ZabError.isInstance(caught, 'INVALID_PATH')).toBe(true);
      expect((caught as ZabError).path).toBe(bad);
      expect((caught as ZabError).op).toBe('create');
    }
    expect(chroot.toServer('/locks/', 'create', true)).toBe('/locks/');
  });
});
