/**
 * Random is the only source of randomness core accepts: the host injects it, so a seeded one makes
 * every run replayable (TigerBeetle's `Timeout.backoff(prng)`; etcd uses a global source instead).
 */
export interface Random {
  /** next returns a float in [0, 1). */
  next(): number;
}

/**
 * createPrng returns a small, fast, seeded PRNG (sfc32, seeded through splitmix32) whose sequence
 * depends only on the seed. Not for cryptography.
 */
export function createPrng(seed: number): Random & { int(bound: number): number; fork(): Random } {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const nextU32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) nextU32();
  const prng = {
    next: (): number => nextU32() / 0x1_0000_0000,
    /** int returns an integer in [0, bound). */
    int: (bound: number): number => Math.floor((nextU32() / 0x1_0000_0000) * bound),
    /** fork derives an independent generator, so adding draws in one place does not shift another. */
    fork: (): Random => createPrng(nextU32()),
  };
  return prng;
}
