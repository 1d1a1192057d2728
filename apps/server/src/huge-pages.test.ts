import { describe, expect, it } from 'vitest';
import { HUGE_PAGES_TUNABLE, hugePagesOf, withHugePages } from './huge-pages.js';

describe('huge pages', () => {
  it('adds the malloc tunable to a member environment, after any tunables already there', () => {
    expect(withHugePages({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HUGE_PAGES_TUNABLE });
    expect(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe(
      `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`,
    );
  });

  it('leaves a caller that chose hugetlb alone (0 turns it off)', () => {
    expect(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=0');
    expect(hugePagesOf({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).malloc).toBe(false);
  });

  it('reports whether malloc asks for huge pages, and the kernel mode where there is one', () => {
    expect(hugePagesOf({ GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}` }).malloc).toBe(true);
    expect(hugePagesOf({}).malloc).toBe(false);
    const { kernel } = hugePagesOf({});
    if (kernel !== null) expect(['always', 'madvise', 'never']).toContain(kernel);
  });
});
