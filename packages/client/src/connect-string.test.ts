import { describe, expect, it } from 'vitest';
import { parseConnectString } from './connect-string.js';

describe('parseConnectString', () => {
  it('reads hosts, default ports and a chroot', () => {
    expect(parseConnectString('a:1,b,[::1]:3/app/x')).toEqual({
      servers: [
        { host: 'a', port: 1 },
        { host: 'b', port: 7181 },
        { host: '::1', port: 3 },
      ],
      chroot: '/app/x',
    });
  });
  it('names the bad part', () => {
    expect(() => parseConnectString('a:1,,b')).toThrow(/empty server entry/);
    expect(() => parseConnectString('a:99999')).toThrow(/port out of range/);
    expect(() => parseConnectString('a:1/x/')).toThrow(/chroot/);
  });
});
