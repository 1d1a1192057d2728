import { describe, expect, it } from 'vitest';
import { dataHuman, dataJson, hex, statHuman, table } from './format.js';

describe('format', () => {
  it('prints data as text, or hex/base64 when it is not UTF-8', () => {
    expect(dataHuman(new TextEncoder().encode('héllo'))).toBe('héllo');
    expect(dataHuman(new Uint8Array([0xff, 0x00]))).toBe('0xff00');
    expect(dataJson(new Uint8Array([0xff]))).toEqual({ data: '/w==', encoding: 'base64' });
    expect(hex(2 ** 32 + 5)).toBe('0x100000005');
  });
  it('prints a Stat as zkCli does and aligns tables', () => {
    const text = statHuman({
      czxid: 2 ** 32 + 1,
      mzxid: 2 ** 32 + 2,
      pzxid: 2 ** 32 + 1,
      ctime: 0,
      mtime: 0,
      version: 1,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0,
      dataLength: 3,
      numChildren: 0,
    });
    expect(text).toContain('cZxid = 0x100000001');
    expect(text).toContain('dataVersion = 1');
    expect(table(['A', 'BB'], [['long', 'x']])).toBe('A     BB\nlong  x');
  });
});
