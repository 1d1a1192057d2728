import { crc32 } from 'node:zlib';
import type { Epochs } from '@zabkit/core';

/**
 * The epochs file (20 bytes, big-endian): magic 'ZBEP' u32 | version u32 | acceptedEpoch u32 |
 * currentEpoch u32 | crc32 of the 16 bytes before it. Both epochs live in one file so that one
 * atomic replace (writeFileAtomic) changes them together; ZooKeeper keeps two files and has had
 * to recover from a crash between their updates (ZOOKEEPER-2354).
 */
export const EPOCHS_MAGIC = 0x5a424550; // 'ZBEP'
export const EPOCHS_VERSION = 1;
export const EPOCHS_BYTES = 20;

export function encodeEpochs(epochs: Epochs): Uint8Array {
  for (const [name, value] of Object.entries(epochs)) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
      throw new RangeError(`${name} out of range: ${value}`);
  }
  const bytes = new Uint8Array(EPOCHS_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, EPOCHS_MAGIC);
  view.setUint32(4, EPOCHS_VERSION);
  view.setUint32(8, epochs.acceptedEpoch);
  view.setUint32(12, epochs.currentEpoch);
  view.setUint32(16, crc32(bytes.subarray(0, 16)));
  return bytes;
}

/** decodeEpochs returns the epochs, or null when the bytes are not a valid epochs file. */
export function decodeEpochs(bytes: Uint8Array): Epochs | null {
  if (bytes.length !== EPOCHS_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== EPOCHS_MAGIC || view.getUint32(4) !== EPOCHS_VERSION) return null;
  if (view.getUint32(16) !== crc32(bytes.subarray(0, 16))) return null;
  return { acceptedEpoch: view.getUint32(8), currentEpoch: view.getUint32(12) };
}
