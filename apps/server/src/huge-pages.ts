import { readFileSync } from 'node:fs';

/**
 * Transparent huge pages for a member's memory (issue 17). A restart fills a few hundred MiB of
 * fresh memory (the node table, the value and path slabs); on the virtual machines measured here
 * touching fresh memory in 4 KiB pages costs about 3.5 ms per MiB, in 2 MiB pages about 0.1 ms.
 * Node's ArrayBuffers come from glibc's malloc, which asks the kernel for huge pages
 * (madvise MADV_HUGEPAGE) when the process starts with the glibc tunable `glibc.malloc.hugetlb=1`;
 * a kernel whose THP mode is `madvise` (Debian's and Ubuntu's default) then backs them with huge
 * pages, one in `always` does so anyway, one in `never` does not. The tunable is read when the
 * process starts, so it is set by whatever starts the member: startEnsemble (and so
 * `zabkit-server dev` and `pnpm bench`) and the container image set it; an operator's own unit
 * file sets it in the member's environment (apps/server/README.md, "Memory and huge pages").
 */

/** HUGE_PAGES_TUNABLE is the glibc tunable that makes malloc ask for transparent huge pages. */
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/**
 * withHugePages is `env` with {@link HUGE_PAGES_TUNABLE} added to GLIBC_TUNABLES, unless the
 * caller's GLIBC_TUNABLES already says what it wants of `glibc.malloc.hugetlb` (an operator's
 * `glibc.malloc.hugetlb=0` turns it off).
 */
export function withHugePages(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const current = env.GLIBC_TUNABLES;
  if (current !== undefined && current.includes('glibc.malloc.hugetlb=')) return { ...env };
  return { ...env, GLIBC_TUNABLES: current ? `${current}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/** HugePages is what a member reports at start: the kernel's THP mode and whether malloc asks for them. */
export interface HugePages {
  /** kernel: the selected mode of /sys/kernel/mm/transparent_hugepage/enabled, or null off Linux. */
  kernel: string | null;
  /** malloc: GLIBC_TUNABLES asks glibc's malloc for huge pages (hugetlb=1). */
  malloc: boolean;
}

/** hugePagesOf reads the kernel's THP mode and the process's tunables (for the start log line). */
export function hugePagesOf(env: Readonly<Record<string, string | undefined>> = process.env): HugePages {
  let kernel: string | null = null;
  try {
    const modes = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    kernel = /\[(\w+)\]/.exec(modes)?.[1] ?? null;
  } catch {
    // Not Linux, or no THP support: nothing to report.
  }
  const tunables = env.GLIBC_TUNABLES ?? '';
  return { kernel, malloc: /(^|:)glibc\.malloc\.hugetlb=1(:|$)/.test(tunables) };
}
