import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mzxidOf, snapshotFiles } from './snapshot-size.js';

describe('snapshot size', () => {
  it('reads the mzxid of either client', () => {
    expect(mzxidOf({ mzxid: 0x1_0000_15bb })).toBe(0x1_0000_15bbn);
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(0x2_0000_0001n);
    expect(mzxidOf({ mzxid: buffer })).toBe(0x2_0000_0001n);
    expect(() => mzxidOf(undefined)).toThrow(TypeError);
  });

  it('lists snapshot.<hex zxid> files by zxid, not temporary ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-snapshot-test-'));
    try {
      writeFileSync(join(dir, 'snapshot.1000000a0'), 'abc');
      writeFileSync(join(dir, 'snapshot.9f'), 'a');
      writeFileSync(join(dir, '.snapshot.200000000.0.tmp'), 'abcdef');
      writeFileSync(join(dir, 'log.1'), 'x');
      expect(snapshotFiles(dir)).toEqual([
        { name: 'snapshot.9f', zxid: 0x9fn, bytes: 1 },
        { name: 'snapshot.1000000a0', zxid: 0x1000000a0n, bytes: 3 },
      ]);
      expect(snapshotFiles(join(dir, 'absent'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
