import type { Random } from '@zabkit/core';
import type { FileHandle, FileSystem } from './file-system.js';

type PendingWrite = { kind: 'write'; position: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };
type PendingDirectoryChange = { kind: 'link'; path: string; inode: Inode } | { kind: 'unlink'; path: string };

interface Inode {
  /** current is what reads see now (the page cache). */
  current: Uint8Array;
  /** durable is what survives a power failure: the content at the last datasync. */
  durable: Uint8Array;
  /** pending are the changes since the last datasync, in order. */
  pending: PendingWrite[];
}

/** SimulatedDiskError is what every call fails with once the disk is frozen (the process is dead). */
export class SimulatedDiskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatedDiskError';
  }
}

/**
 * SimulatedDisk is an in-memory FileSystem that lies the way a disk does on power loss
 * (FoundationDB's AsyncFileNonDurable, TigerBeetle's testing/storage.zig): reads see every write,
 * but `crash()` keeps only what was synced, plus a random prefix of the unsynced writes of each
 * file of which the last may be torn (cut short, the rest of its range left zero or old), plus a
 * random prefix of the directory changes not yet made durable by syncDirectory. For tests only.
 */
export class SimulatedDisk implements FileSystem {
  private current = new Map<string, Inode>();
  private durable = new Map<string, Inode>();
  private pendingDirectory: PendingDirectoryChange[] = [];
  private readonly directories = new Set<string>();
  private opsLeft = Number.POSITIVE_INFINITY;
  private frozen = false;
  /** syncs counts datasync and syncDirectory calls (group-commit tests count them). */
  syncs = 0;
  /** onSync, when set, runs at each datasync (tests use it to order fsyncs against resolutions). */
  onSync: (() => void) | null = null;

  /** freezeAfter lets `count` more operations succeed, then every operation fails: the process died there. */
  freezeAfter(count: number): void {
    this.opsLeft = count;
  }

  /** freeze makes every later operation fail at once. */
  freeze(): void {
    this.frozen = true;
  }

  /**
   * crash freezes this disk and returns a new one holding what a power failure now would leave:
   * durable content, then for each file a random prefix of its unsynced changes, the next one
   * possibly torn; and a random prefix of the unsynced directory changes.
   */
  crash(random: Random): SimulatedDisk {
    this.frozen = true;
    const after = new SimulatedDisk();
    for (const directory of this.directories) after.directories.add(directory);
    const images = new Map<Inode, Uint8Array>();
    const imageOf = (inode: Inode): Uint8Array => {
      let image = images.get(inode);
      if (image === undefined) {
        image = applyPrefix(inode, random);
        images.set(inode, image);
      }
      return image;
    };
    const names = new Map(this.durable);
    const kept = Math.floor(random.next() * (this.pendingDirectory.length + 1));
    for (const change of this.pendingDirectory.slice(0, kept)) {
      if (change.kind === 'link') names.set(change.path, change.inode);
      else names.delete(change.path);
    }
    for (const [path, inode] of names) {
      const image = imageOf(inode);
      const copy: Inode = { current: image.slice(), durable: image.slice(), pending: [] };
      after.current.set(path, copy);
      after.durable.set(path, copy);
    }
    return after;
  }

  /** durableFile is what a power failure now would surely leave of a file (its bytes at the last datasync), or null. */
  durableFile(path: string): Uint8Array | null {
    return this.durable.get(path)?.durable.slice() ?? null;
  }

  /** files lists the current paths (for tests that corrupt a file). */
  files(): string[] {
    return [...this.current.keys()].sort();
  }

  /** corrupt flips bits in a file, durably, as a rotten sector would. */
  corrupt(path: string, offset: number, mask = 0xff): void {
    const inode = this.inode(path);
    if (offset >= inode.current.length) throw new RangeError(`offset ${offset} past the end of ${path}`);
    inode.current[offset] = (inode.current[offset] as number) ^ mask;
    inode.durable = inode.current.slice();
  }

  /** replaceFile sets a file's whole content, durably (tests restore a file between cuts). */
  replaceFile(path: string, bytes: Uint8Array): void {
    const inode = this.inode(path);
    inode.current = bytes.slice();
    inode.durable = bytes.slice();
    inode.pending = [];
  }

  /** setLength cuts or zero-extends a file, durably. */
  setLength(path: string, length: number): void {
    const inode = this.inode(path);
    inode.current = resize(inode.current, length);
    inode.durable = inode.current.slice();
  }

  async open(path: string, flags: 'r' | 'r+' | 'wx' | 'w'): Promise<FileHandle> {
    await this.step();
    let inode = this.current.get(path);
    if (inode === undefined) {
      if (flags === 'r' || flags === 'r+') throw enoent(path);
      inode = { current: new Uint8Array(0), durable: new Uint8Array(0), pending: [] };
      this.current.set(path, inode);
      this.pendingDirectory.push({ kind: 'link', path, inode });
    } else if (flags === 'wx') {
      throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' });
    } else if (flags === 'w') {
      inode.current = new Uint8Array(0);
      inode.pending.push({ kind: 'truncate', length: 0 });
    }
    return this.handle(inode, flags !== 'r');
  }

  async readFile(path: string): Promise<Uint8Array> {
    await this.step();
    return this.inode(path).current.slice();
  }

  async readdir(path: string): Promise<string[]> {
    await this.step();
    const prefix = `${path}/`;
    return [...this.current.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
  }

  async rename(from: string, to: string): Promise<void> {
    await this.step();
    const inode = this.inode(from);
    this.current.delete(from);
    this.current.set(to, inode);
    this.pendingDirectory.push({ kind: 'link', path: to, inode }, { kind: 'unlink', path: from });
  }

  async unlink(path: string): Promise<void> {
    await this.step();
    this.inode(path);
    this.current.delete(path);
    this.pendingDirectory.push({ kind: 'unlink', path });
  }

  async mkdir(path: string): Promise<void> {
    await this.step();
    this.directories.add(path);
  }

  async syncDirectory(_path: string): Promise<void> {
    await this.step();
    this.syncs++;
    this.durable = new Map(this.current);
    this.pendingDirectory = [];
  }

  private handle(inode: Inode, writable: boolean): FileHandle {
    let closed = false;
    const check = async (): Promise<void> => {
      await this.step();
      if (closed) throw new Error('file handle is closed');
    };
    return {
      write: async (buffer, offset, length, position) => {
        await check();
        if (!writable) throw new Error('EBADF: not open for writing');
        // A copy even for a Node Buffer (whose slice is a view): the caller may reuse its buffer.
        const bytes = Uint8Array.prototype.slice.call(buffer, offset, offset + length);
        if (position < inode.durable.length) detachDurable(inode);
        if (position + length > inode.current.length) inode.current = resize(inode.current, position + length);
        inode.current.set(bytes, position);
        inode.pending.push({ kind: 'write', position, bytes });
        return length;
      },
      read: async (buffer, offset, length, position) => {
        await check();
        const available = Math.max(0, Math.min(length, inode.current.length - position));
        buffer.set(inode.current.subarray(position, position + available), offset);
        return available;
      },
      datasync: async () => {
        await check();
        this.syncs++;
        this.onSync?.();
        // A view, not a copy: appends past its end leave it intact; a write or truncation inside it
        // copies it first (detachDurable), so an fsync costs no copy of the whole file.
        inode.durable = inode.current.subarray(0);
        inode.pending = [];
      },
      truncate: async (length) => {
        await check();
        if (length < inode.durable.length) detachDurable(inode);
        inode.current = resize(inode.current, length);
        inode.pending.push({ kind: 'truncate', length });
      },
      size: async () => {
        await check();
        return inode.current.length;
      },
      close: async () => {
        closed = true;
      },
    };
  }

  private inode(path: string): Inode {
    const inode = this.current.get(path);
    if (inode === undefined) throw enoent(path);
    return inode;
  }

  /** step yields (so concurrent callers interleave) and counts down to the freeze. */
  private async step(): Promise<void> {
    await Promise.resolve();
    if (this.opsLeft <= 0) this.frozen = true;
    if (this.frozen) throw new SimulatedDiskError('simulated disk is frozen (crashed)');
    this.opsLeft--;
  }
}

/** detachDurable gives an inode's durable image its own copy before the bytes it shares with `current` change. */
function detachDurable(inode: Inode): void {
  if (inode.durable.buffer === inode.current.buffer) inode.durable = inode.durable.slice();
}

/** applyPrefix replays a random prefix of an inode's unsynced changes onto its durable content, the next one possibly torn. */
function applyPrefix(inode: Inode, random: Random): Uint8Array {
  let image: Uint8Array = inode.durable.slice();
  const kept = Math.floor(random.next() * (inode.pending.length + 1));
  for (const change of inode.pending.slice(0, kept)) image = applyChange(image, change);
  const torn = inode.pending[kept];
  if (torn?.kind === 'write' && random.next() < 0.75) {
    const cut = Math.floor(random.next() * torn.bytes.length);
    // The file may have grown to the full length with the rest unwritten (zeros), or only to the cut.
    const grown = random.next() < 0.5;
    const end = torn.position + (grown ? torn.bytes.length : cut);
    if (end > image.length) image = resize(image, end);
    image.set(torn.bytes.subarray(0, cut), torn.position);
  }
  return image;
}

function applyChange(image: Uint8Array, change: PendingWrite): Uint8Array {
  if (change.kind === 'truncate') return resize(image, change.length);
  const end = change.position + change.bytes.length;
  const result = end > image.length ? resize(image, end) : image;
  result.set(change.bytes, change.position);
  return result;
}

/**
 * resize gives `bytes` cut or zero-extended to `length`. It may return a view of the same buffer:
 * growing reuses spare capacity (doubling when out of it), so appending to a file costs amortised
 * O(appended bytes), not a copy of the whole file per write. Callers own `bytes` and replace it by
 * the result; durable images and everything handed out are copies (slice).
 */
function resize(bytes: Uint8Array, length: number): Uint8Array {
  if (length === bytes.length) return bytes;
  if (length < bytes.length) return bytes.subarray(0, length);
  const capacity = bytes.buffer.byteLength - bytes.byteOffset;
  if (length <= capacity) {
    const grown = new Uint8Array(bytes.buffer, bytes.byteOffset, length);
    grown.fill(0, bytes.length);
    return grown;
  }
  const result = new Uint8Array(new ArrayBuffer(Math.max(length, 2 * bytes.length)), 0, length);
  result.set(bytes);
  return result;
}

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file: ${path}`), { code: 'ENOENT' });
}
