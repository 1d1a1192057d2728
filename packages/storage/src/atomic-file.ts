import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * writeFileAtomic replaces `path` with `bytes` so that after a crash the file holds either the old
 * or the new content, never a mix: write a temp file, fsync it, rename it over, fsync the directory
 * (without the last step the rename itself may be lost on power failure).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.tmp`);
  const file = await open(temp, 'w');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  await fsyncDirectory(dirname(path));
}

/** fsyncDirectory makes the directory's entries (creates, renames, unlinks) durable. */
export async function fsyncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
