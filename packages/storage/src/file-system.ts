import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';

/**
 * FileHandle is the part of a file FileStorage uses. Positions are explicit (pread/pwrite), so no
 * operation depends on a shared file cursor.
 */
export interface FileHandle {
  /** write writes `length` bytes of `buffer` from `offset` at `position`; may write fewer, returns how many. */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** read reads up to `length` bytes at `position`; returns how many (0 at the end). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** datasync makes the written data and the size durable (fdatasync). */
  datasync(): Promise<void>;
  /** truncate sets the size; not durable before datasync. */
  truncate(length: number): Promise<void>;
  /** size is the current size in bytes. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * FileSystem is every file operation FileStorage makes, so a test can replace the disk with one that
 * loses unsynced writes on a simulated power failure (see SimulatedDisk). Directory changes
 * (create, rename, unlink) are durable only after `syncDirectory`.
 */
export interface FileSystem {
  /** open opens a file: 'r' read only, 'r+' read and write, 'wx' create exclusively, 'w' create or empty. */
  open(path: string, flags: 'r' | 'r+' | 'wx' | 'w'): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  /** readdir lists names in a directory. */
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** mkdir creates the directory and its parents if missing. */
  mkdir(path: string): Promise<void>;
  /** syncDirectory makes the directory's entries durable (fsync of the directory). */
  syncDirectory(path: string): Promise<void>;
}

/** nodeFileSystem is FileSystem over node:fs/promises: the real disk. */
export const nodeFileSystem: FileSystem = {
  async open(path, flags) {
    const handle = await open(path, flags);
    return {
      write: async (buffer, offset, length, position) =>
        (await handle.write(buffer, offset, length, position)).bytesWritten,
      read: async (buffer, offset, length, position) => (await handle.read(buffer, offset, length, position)).bytesRead,
      datasync: () => handle.datasync(),
      truncate: (length) => handle.truncate(length),
      size: async () => (await handle.stat()).size,
      close: () => handle.close(),
    };
  },
  readFile: (path) => readFile(path),
  readdir: (path) => readdir(path),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async syncDirectory(path) {
    const directory = await open(path, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  },
};

/** writeFully writes all of `bytes` at `position`, looping over short writes. */
export async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const count = await file.write(bytes, written, bytes.length - written, position + written);
    if (count <= 0) throw new Error(`write made no progress at ${position + written}`);
    written += count;
  }
}
