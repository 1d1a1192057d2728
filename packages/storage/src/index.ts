export { fsyncDirectory, writeFileAtomic } from './atomic-file.js';
export type { ConsolidatedBackup } from './backup.js';
export {
  BackupFormatError,
  consolidateBackup,
  encodeBackupTail,
  readSnapshotBytes,
  writeConsolidatedSnapshot,
  writeFuzzySnapshot,
} from './backup.js';
export type { FileStorageOptions, StorageLogger } from './file-storage.js';
export {
  BATCH_BYTES_MAX_DEFAULT,
  FileStorage,
  openFileStorage,
  SEGMENT_BYTES_MAX_DEFAULT,
  SNAPSHOT_RETAIN_COUNT_DEFAULT,
  segmentName,
  snapshotName,
} from './file-storage.js';
export type { FileHandle, FileSystem } from './file-system.js';
export { nodeFileSystem } from './file-system.js';
export type { InspectedEntry, InspectedNode, LogReport, SnapshotReport } from './inspect.js';
export { formatReport, inspectFile } from './inspect.js';
// For tests and the simulator: a disk that loses and tears unsynced writes on a simulated crash.
export { SimulatedDisk, SimulatedDiskError } from './simulated-disk.js';
export type { StorageErrorCode } from './storage-error.js';
export { StorageError } from './storage-error.js';
