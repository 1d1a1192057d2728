import { createPrng } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { expandAcl } from './acl-model.js';
import { simLimits } from './sim-limits.js';
import { requestFrameBytes } from './wire.js';
import { ACL_DIR, ACL_MENU, INVALID_ACLS, Workload } from './workload.js';

describe('Workload', () => {
  const limits = simLimits();

  it('sends requests near, never over, the client frame limit, and values up to dataBytesMax', () => {
    const workload = new Workload(
      { valueBytesMax: limits.dataBytesMax, bigWriteShare: 1, pipelineMax: 8, limitShare: 0.5, aclShare: 0 },
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
      { valueBytesMax: 16, bigWriteShare: 1, pipelineMax: 3, limitShare: 0, aclShare: 0 },
      limits,
      createPrng(7),
    );
    for (let xid = 1; xid <= 500; xid++) {
      for (const { request } of workload.next(0, xid)) {
        if (request.op === 'setData' || request.op === 'create') expect(request.data.length).toBeLessThanOrEqual(16);
      }
    }
  });

  it('sends a modest share of ACL requests on their own znodes, with lists ZooKeeper takes and some it refuses', () => {
    const workload = new Workload(
      { valueBytesMax: 16, bigWriteShare: 1, pipelineMax: 3, limitShare: 0, aclShare: 0.05 },
      limits,
      createPrng(11),
      createPrng(12),
    );
    const ops = new Map<string, number>();
    let aclRequests = 0;
    const total = 4_000;
    for (let xid = 1; xid <= total; xid++) {
      for (const { request } of workload.next(xid % 4, xid)) {
        const path = 'path' in request ? request.path : 'ops' in request ? (request.ops[0]?.path ?? '') : '';
        if (!path.startsWith(ACL_DIR)) continue;
        aclRequests++;
        ops.set(request.op, (ops.get(request.op) ?? 0) + 1);
      }
    }
    expect(aclRequests / total).toBeGreaterThan(0.03);
    expect(aclRequests / total).toBeLessThan(0.08);
    for (const op of [
      'create',
      'setData',
      'delete',
      'setACL',
      'getACL',
      'getData',
      'getChildren',
      'multi',
      'multiRead',
    ]) {
      expect(ops.get(op), op).toBeGreaterThan(0);
    }
    // Every list of the menu is one ZooKeeper takes from a caller holding a digest; the others it refuses.
    for (const acl of ACL_MENU) expect(expandAcl(acl, [workload.authFor(1)[1]!])).not.toBeNull();
    for (const acl of INVALID_ACLS) expect(expandAcl(acl, workload.authFor(2))).toBeNull();
  });

  it('gives each client its ids: an address, then none, one digest, two digests or a certificate, sometimes super', () => {
    const workload = new Workload(
      { valueBytesMax: 16, bigWriteShare: 1, pipelineMax: 3, limitShare: 0, aclShare: 0.05 },
      limits,
      createPrng(3),
    );
    const schemes = (client: number) =>
      workload
        .authFor(client)
        .map((id) => id.scheme)
        .filter((scheme) => scheme !== 'super');
    expect(schemes(0)).toEqual(['ip']);
    expect(schemes(1)).toEqual(['ip', 'digest']);
    expect(schemes(2)).toEqual(['ip', 'digest', 'digest']);
    expect(schemes(3)).toEqual(['ip', 'x509']);
    let supers = 0;
    for (let i = 0; i < 200; i++) if (workload.authFor(i).some((id) => id.scheme === 'super')) supers++;
    expect(supers).toBeGreaterThan(10);
    expect(supers).toBeLessThan(100);
  });
});
