import { createPrng } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { simLimits } from './sim-limits.js';
import { requestFrameBytes } from './wire.js';
import { Workload } from './workload.js';

describe('Workload', () => {
  const limits = simLimits();

  it('sends requests near, never over, the client frame limit, and values up to dataBytesMax', () => {
    const workload = new Workload(
      { valueBytesMax: limits.dataBytesMax, bigWriteShare: 1, pipelineMax: 8, limitShare: 0.5 },
      limits,
      createPrng(42),
    );
    let largestFrame = 0;
    let largestValue = 0;
    for (let xid = 1; xid <= 2_000; xid++) {
      for (const { request, linearizable } of workload.next(xid % 4, xid)) {
        const frame = requestFrameBytes(xid, request, linearizable);
        expect(frame).toBeLessThanOrEqual(limits.clientFrameBytesMax);
        largestFrame = Math.max(largestFrame, frame);
        if (request.op === 'setData' || request.op === 'create') {
          expect(request.data.length).toBeLessThanOrEqual(limits.dataBytesMax);
          largestValue = Math.max(largestValue, request.data.length);
        }
      }
    }
    expect(largestFrame).toBeGreaterThan(0.85 * limits.clientFrameBytesMax);
    expect(largestValue).toBe(limits.dataBytesMax);
  });

  it('keeps small-value seeds small', () => {
    const workload = new Workload(
      { valueBytesMax: 16, bigWriteShare: 1, pipelineMax: 3, limitShare: 0 },
      limits,
      createPrng(7),
    );
    for (let xid = 1; xid <= 500; xid++) {
      for (const { request } of workload.next(0, xid)) {
        if (request.op === 'setData' || request.op === 'create') expect(request.data.length).toBeLessThanOrEqual(16);
      }
    }
  });
});
