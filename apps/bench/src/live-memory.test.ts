import { describe, expect, it } from 'vitest';
import { parseHeapInfoUsed, parseStatusKb } from './live-memory.js';

describe('live memory', () => {
  it('reads the heap used from jcmd GC.heap_info (G1), not Metaspace', () => {
    const text = [
      '12345:',
      ' garbage-first heap   total 524288K, used 23405K [0x00000000e0000000, 0x0000000100000000)',
      '  region size 1024K, 3 young (3072K), 0 survivors (0K)',
      ' Metaspace       used 14913K, committed 15168K, reserved 1114112K',
      '  class space    used 1663K, committed 1792K, reserved 1048576K',
    ].join('\n');
    expect(parseHeapInfoUsed(text)).toBe(23405 * 1024);
  });

  it('sums the generations of the parallel collector', () => {
    const text = [
      ' PSYoungGen      total 152576K, used 7864K [0x0, 0x0, 0x0)',
      '  eden space 131072K, 6% used [0x0,0x0,0x0)',
      ' ParOldGen       total 348160K, used 1000K [0x0, 0x0, 0x0)',
    ].join('\n');
    expect(parseHeapInfoUsed(text)).toBe((7864 + 1000) * 1024);
    expect(parseHeapInfoUsed('no heap here')).toBeNull();
  });

  it('reads a field of /proc/PID/status in bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  90000 kB\nVmRSS:\t   75312 kB\nThreads:\t11\n';
    expect(parseStatusKb(status, 'VmRSS')).toBe(75312 * 1024);
    expect(parseStatusKb(status, 'VmSwap')).toBeNull();
  });
});
