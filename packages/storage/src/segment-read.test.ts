import { makeZxid } from '@zabkit/core';
import { describe, expect, it } from 'vitest';
import { encodeRecord, encodeSegmentHeader, markBatchStart } from './log-record.js';
import { readSegmentOnce } from './segment-read.js';
import { SimulatedDisk } from './simulated-disk.js';
import { entries } from './storage-contract.test-suite.js';

const PATH = '/data/log.1';

/** segment is a header and the records of entries 1/1–1/count, as FileStorage writes them. */
function segment(count: number): Uint8Array {
  const records = entries(1, 1, count).map((entry) => encodeRecord(entry));
  markBatchStart(records[0] as Uint8Array, 0);
  const header = encodeSegmentHeader({ firstZxid: makeZxid(1, 1), previousZxid: 0 });
  return Buffer.concat([header, ...records]);
}

async function disk(bytes: Uint8Array): Promise<SimulatedDisk> {
  const result = new SimulatedDisk();
  await result.mkdir('/data');
  await (await result.open(PATH, 'w')).close();
  await result.syncDirectory('/data');
  result.replaceFile(PATH, bytes);
  return result;
}

describe('readSegmentOnce', () => {
  it('frames every record and decodes only the entries above the zxid asked for', async () => {
    const bytes = segment(30);
    const read = await readSegmentOnce(await disk(bytes), PATH, true, makeZxid(1, 20));
    expect(read?.records.map((record) => record.zxid)).toEqual(entries(1, 1, 30).map((entry) => entry.zxid));
    expect(read?.records[0]?.batchStart).toBe(true);
    expect(read?.sizeBytes).toBe(bytes.length);
    expect(read?.entries).toEqual(entries(1, 21, 30));
  });

  it('decodes nothing from a segment whose crcs are deferred', async () => {
    const read = await readSegmentOnce(await disk(segment(5)), PATH, false, 0);
    expect(read?.records).toHaveLength(5);
    expect(read?.entries).toEqual([]);
  });

  it('leaves a segment that is not simply intact to the whole-file rules: torn, rotten, bad header', async () => {
    const bytes = segment(10);
    expect(await readSegmentOnce(await disk(bytes.subarray(0, bytes.length - 3)), PATH, true, 0)).toBe(null);
    const rotten = bytes.slice();
    rotten[rotten.length - 1] = (rotten[rotten.length - 1] as number) ^ 1;
    expect(await readSegmentOnce(await disk(rotten), PATH, true, 0)).toBe(null);
    // Deferred crcs: the same rotten byte is framed, not checked.
    expect(await readSegmentOnce(await disk(rotten), PATH, false, 0)).not.toBe(null);
    const badHeader = bytes.slice();
    badHeader[5] = 9;
    expect(await readSegmentOnce(await disk(badHeader), PATH, true, 0)).toBe(null);
  });
});
