import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage, type Storage } from '@zabkit/core';
import { openFileStorage } from './file-storage.js';
import { SimulatedDisk } from './simulated-disk.js';
import { describeStorageContract } from './storage-contract.test-suite.js';

const quiet = { warn: () => undefined };

describeStorageContract('MemoryStorage', async () => {
  const storage = new MemoryStorage();
  return { storage, reopen: async () => storage, cleanup: async () => undefined };
});

// Small segments, so that appends, truncation and retention cross segment boundaries.
describeStorageContract('FileStorage on the disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zabkit-storage-contract-'));
  let current: Storage = await openFileStorage({ dir, segmentBytesMax: 1024, logger: quiet });
  return {
    storage: current,
    reopen: async () => {
      await current.close();
      current = await openFileStorage({ dir, segmentBytesMax: 1024, logger: quiet });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeStorageContract('FileStorage on a simulated disk', async () => {
  const disk = new SimulatedDisk();
  const options = { dir: '/data', segmentBytesMax: 700, batchBytesMax: 2048, logger: quiet, fileSystem: disk };
  let current: Storage = await openFileStorage(options);
  return {
    storage: current,
    reopen: async () => {
      await current.close();
      current = await openFileStorage(options);
      return current;
    },
    cleanup: async () => {
      await current.close();
    },
  };
});
