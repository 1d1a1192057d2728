import { describe, expect, it } from 'vitest';
import {
  formatSequence,
  isPathWithin,
  isSystemPath,
  parentPath,
  validateCreatePath,
  validatePath,
} from './path-utils.js';

describe('validatePath (ZooKeeper PathUtils.validatePath)', () => {
  it('accepts absolute paths with ordinary names, dots inside names and unicode letters', () => {
    for (const path of [
      '/',
      '/a',
      '/a/b',
      '/a.b',
      '/..a',
      '/a..',
      '/.a/b.',
      '/...',
      '/zoo keeper',
      '/ключ',
      '/a-0000000001',
    ]) {
      expect(validatePath(path), path).toBeNull();
    }
  });

  it('refuses relative, empty, trailing-slash, empty-segment and dot-segment paths', () => {
    expect(validatePath('')).toMatch(/length/);
    expect(validatePath('a')).toMatch(/start with \//);
    expect(validatePath('/a/')).toMatch(/end with \//);
    expect(validatePath('//a')).toMatch(/empty node name/);
    expect(validatePath('/a//b')).toMatch(/empty node name/);
    for (const path of ['/.', '/..', '/a/.', '/a/..', '/./a', '/../a', '/a/./b', '/a/../b']) {
      expect(validatePath(path), path).toMatch(/relative paths/);
    }
  });

  it('refuses NUL, control characters, surrogates, private use and U+FFF0..U+FFFF', () => {
    expect(validatePath('/a\u0000')).toMatch(/null character/);
    for (const ch of [
      '\u0001',
      '\u001f',
      '\u007f',
      '\u009f',
      '\ud800',
      '\udfff',
      '\ue000',
      '\uf8ff',
      '\ufff0',
      '\uffff',
    ]) {
      expect(validatePath(`/a${ch}b`), ch.charCodeAt(0).toString(16)).toMatch(/invalid character/);
    }
    expect(validatePath('/a\u00a0')).toBeNull();
  });

  it('lets a sequential create path end with / (ZooKeeper validates path + "1")', () => {
    expect(validateCreatePath('/a/', true)).toBeNull();
    expect(validateCreatePath('/a/', false)).not.toBeNull();
    expect(validateCreatePath('/', true)).toBeNull();
    expect(validateCreatePath('/a//', true)).not.toBeNull();
  });
});

describe('path helpers', () => {
  it('parentPath', () => {
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/a/b/c')).toBe('/a/b');
  });

  it('isSystemPath covers /zookeeper and below, not its prefix-siblings', () => {
    expect(isSystemPath('/zookeeper')).toBe(true);
    expect(isSystemPath('/zookeeper/config')).toBe(true);
    expect(isSystemPath('/zookeeper2')).toBe(false);
    expect(isSystemPath('/')).toBe(false);
  });

  it('isPathWithin', () => {
    expect(isPathWithin('/a/b', '/')).toBe(true);
    expect(isPathWithin('/a/b', '/a')).toBe(true);
    expect(isPathWithin('/a', '/a')).toBe(true);
    expect(isPathWithin('/ab', '/a')).toBe(false);
  });

  it('formatSequence is Java %010d, including after the signed 32-bit overflow', () => {
    expect(formatSequence(0)).toBe('0000000000');
    expect(formatSequence(42)).toBe('0000000042');
    expect(formatSequence(2147483647)).toBe('2147483647');
    expect(formatSequence(-2147483648)).toBe('-2147483648');
    expect(formatSequence(-5)).toBe('-000000005');
  });
});
