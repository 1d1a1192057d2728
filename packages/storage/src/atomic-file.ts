import { basename, dirname, join } from 'node:path';
import { type FileSystem, nodeFileSystem, writeFully } from './file-system.js';

/**
 * writeFileAtomic replaces `path` with `bytes` so that after a crash the file holds either the old
 * or the new content, never a mix: write a temp file, fsync it, rename it over, fsync the directory
 * (without the last step the rename itself may be lost on power failure).
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  fileSystem: FileSystem = nodeFileSystem,
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.tmp`);
  const file = await fileSystem.open(temp, 'w');
  try {
    await writeFully(file, bytes, 0);
    await file.datasync();
  } finally {
    await file.close();
  }
  await fileSystem.rename(temp, path);
  await fileSystem.syncDirectory(dirname(path));
}

/** fsyncDirectory makes the directory's entries (creates, renames, unlinks) durable. */
export async function fsyncDirectory(path: string, fileSystem: FileSystem = nodeFileSystem): Promise<void> {
  await fileSystem.syncDirectory(path);
}
