import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES } from './frame.js';
import { fuzzFrames } from './fuzz.js';

describe('fuzzing the decoders', () => {
  it('100,000 random and mutated frames only ever raise CodecError, within the frame limit', () => {
    const frameBytesMax = 4096;
    const report = fuzzFrames({ count: 100_000, seed: 0x5eed, frameBytesMax });
    expect(report.frames).toBe(100_000);
    // The fuzzer must reach both outcomes, or it tests nothing.
    expect(report.decoded).toBeGreaterThan(1_000);
    expect(report.refused).toBeGreaterThan(50_000);
    expect(report.capacityBytesMax).toBeLessThanOrEqual(frameBytesMax + FRAME_HEADER_BYTES);
  }, 60_000);
});
