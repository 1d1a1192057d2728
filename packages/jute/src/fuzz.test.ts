import { describe, expect, it } from 'vitest';
import { FUZZ_TARGETS, fuzzFrames } from './fuzz.js';
import { FRAME_HEADER_BYTES } from './writer.js';

describe('fuzzing the decoders', () => {
  it('20,000 random and mutated frames only ever raise JuteError, and what decodes re-encodes to itself', () => {
    const frameBytesMax = 4096;
    const report = fuzzFrames({ count: 20_000, seed: 0x5eed, frameBytesMax });
    expect(report.frames).toBe(20_000);
    // The fuzzer must reach both outcomes for every decoder, or it tests nothing.
    for (const target of FUZZ_TARGETS) {
      expect(report.byTarget[target.name]?.decoded, target.name).toBeGreaterThan(50);
      expect(report.byTarget[target.name]?.refused, target.name).toBeGreaterThan(200);
    }
    expect(report.capacityBytesMax).toBeLessThanOrEqual(frameBytesMax + FRAME_HEADER_BYTES);
  }, 60_000);
});
