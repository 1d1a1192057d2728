import {
  type Epochs,
  type LogEntry,
  type LogRead,
  type Random,
  type Ready,
  type RecoveredState,
  readLogEntries,
  type Zxid,
} from '@zabkit/core';
import { FileStorage, type FileSystem, SimulatedDisk } from '@zabkit/storage';
import type { DurableState } from './vouch-checker.js';

/** DATA_DIR is where each member's FileStorage keeps its files on its own simulated disk. */
const DATA_DIR = '/data';
/**
 * SEGMENT_BYTES_MAX: small log segments, so that a seed rolls segments often (each roll is a
 * header, an fsync and a directory fsync a crash can cut) and the simulated disk, which copies a
 * file at each fsync, stays fast.
 */
const SEGMENT_BYTES_MAX = 128 * 1024;

/**
 * SyncGate is how a member's fsyncs take virtual time: `wait` is called at each datasync or
 * directory sync, before it reaches the disk, and resolves when the simulator's clock says the
 * fsync is done. Until then what was written is unsynced: a crash loses or tears it.
 */
export type SyncGate = () => Promise<void>;

/** DurableView is what a member's storage has confirmed durable, as the host saw each persist resolve. */
export interface DurableView extends DurableState {
  /** zxids: the durable log, in order (above the durable snapshot, if any). */
  zxids: readonly Zxid[];
  snapshotZxid: Zxid;
}

/**
 * MemberStorage is one member's real {@link FileStorage} on its own {@link SimulatedDisk} (as
 * TigerBeetle runs its replica on testing/storage.zig). The host persists a Ready through it in the
 * contract's order, each step fsynced before the next; each fsync waits on the simulator's clock
 * (the SyncGate), so a crash can strike between a write and its fsync and lose or tear it. A
 * restarted member recovers through FileStorage's own `load()`.
 *
 * Alongside, it keeps what the host was told: the durable state (each persist step counted once its
 * promise resolved) and every entry ever handed to append, so the storage checker can hold recovery
 * to it (storage-checker.ts).
 */
export class MemberStorage {
  private disk = new SimulatedDisk();
  private storage: FileStorage | null = null;
  /** generation changes at every crash: continuations of an older one are void. */
  private generation = 0;
  private durable: { epochs: Epochs; zxids: Zxid[]; snapshotZxid: Zxid } = {
    epochs: { acceptedEpoch: 0, currentEpoch: 0 },
    zxids: [],
    snapshotZxid: 0,
  };
  /** written: every entry handed to append since the disk was new, by zxid (a zxid names one transaction). */
  private readonly written = new Map<Zxid, LogEntry>();
  /** epochsWritten: the highest epochs handed to saveEpochs. */
  private epochsWritten: Epochs = { acceptedEpoch: 0, currentEpoch: 0 };
  /**
   * truncating: the lowest truncateAfter begun and not yet confirmed. A crash meanwhile may leave
   * the truncation done, half done or not done: entries above it may or may not come back.
   */
  private truncating: Zxid | null = null;

  constructor(
    private readonly gate: SyncGate,
    private readonly warn: (line: string) => void,
  ) {}

  /**
   * load opens a FileStorage on the disk as it is and recovers through its `load()`. Recovery reads
   * a simulated disk, so it resolves on microtasks alone, in no virtual time.
   */
  async load(): Promise<RecoveredState> {
    const generation = this.generation;
    let gated = false;
    const storage = new FileStorage({
      dir: DATA_DIR,
      segmentBytesMax: SEGMENT_BYTES_MAX,
      fileSystem: gatedFileSystem(this.disk, async () => {
        if (gated) await this.gate();
      }),
      logger: { warn: (message, fields) => this.warn(`storage: ${message} ${JSON.stringify(fields)}`) },
    });
    await this.disk.mkdir(DATA_DIR);
    const recovered = await storage.load();
    if (generation !== this.generation) throw new Error('MemberStorage: crashed while loading');
    gated = true;
    this.storage = storage;
    return recovered;
  }

  /**
   * adopt sets the durable view to what recovery found (after the storage checker compared them):
   * from now on the host counts from there.
   */
  adopt(recovered: RecoveredState): void {
    const snapshotZxid = recovered.snapshot?.header.zxid ?? 0;
    this.durable = {
      epochs: { ...recovered.epochs },
      zxids: recovered.entries.map((entry) => entry.zxid),
      snapshotZxid,
    };
    this.truncating = null;
  }

  /**
   * readLog reads entries of the durable log for a leader's DIFF from disk, as zabkit-server does
   * (core's readLogEntries over FileStorage.readFrom). Reads take no fsync, so no virtual time here.
   */
  readLog(read: LogRead): Promise<LogEntry[]> {
    const storage = this.storage;
    if (storage === null) return Promise.reject(new Error('MemberStorage: read before load'));
    return readLogEntries(storage, read);
  }

  /**
   * persist carries out the durable part of a Ready as zabkit-server does (apps/server member.ts):
   * truncate, snapshot, entries, epochs, each durable before the next. Resolves once all are durable;
   * never resolves if the member crashes meanwhile.
   */
  async persist(ready: Ready): Promise<void> {
    const storage = this.storage;
    if (storage === null) throw new Error('MemberStorage: persist before load');
    const generation = this.generation;
    const alive = () => generation === this.generation;
    if (ready.truncateAfter !== null) {
      const zxid = ready.truncateAfter;
      this.truncating = Math.min(this.truncating ?? zxid, zxid);
      await storage.truncateAfter(zxid);
      if (!alive()) return never();
      this.truncating = null;
      this.durable.zxids = this.durable.zxids.filter((z) => z <= zxid);
      if (this.durable.snapshotZxid > zxid) this.durable.snapshotZxid = 0;
    }
    if (ready.snapshot !== null) {
      await storage.saveSnapshot(ready.snapshot.header, ready.snapshot.records);
      if (!alive()) return never();
      const zxid = ready.snapshot.header.zxid;
      this.durable.snapshotZxid = Math.max(this.durable.snapshotZxid, zxid);
      this.durable.zxids = this.durable.zxids.filter((z) => z > zxid);
    }
    if (ready.entries.length > 0) {
      for (const entry of ready.entries) this.written.set(entry.zxid, entry);
      await storage.append(ready.entries);
      if (!alive()) return never();
      for (const entry of ready.entries) this.durable.zxids.push(entry.zxid);
    }
    if (ready.epochs !== null) {
      const epochs = { ...ready.epochs };
      this.epochsWritten = {
        acceptedEpoch: Math.max(this.epochsWritten.acceptedEpoch, epochs.acceptedEpoch),
        currentEpoch: Math.max(this.epochsWritten.currentEpoch, epochs.currentEpoch),
      };
      await storage.saveEpochs(epochs);
      if (!alive()) return never();
      this.durable.epochs = epochs;
    }
  }

  /**
   * crash is the process dying (kill -9, power loss): the disk keeps what was synced, a random
   * prefix of each file's unsynced writes, the next one possibly torn (SimulatedDisk.crash). The
   * storage object and everything in flight on it are abandoned.
   */
  crash(random: Random): void {
    this.generation++;
    this.storage = null;
    this.disk = this.disk.crash(random);
  }

  /** wipe replaces the disk by an empty one (a replaced machine). */
  wipe(): void {
    this.generation++;
    this.storage = null;
    this.disk = new SimulatedDisk();
    this.written.clear();
    this.epochsWritten = { acceptedEpoch: 0, currentEpoch: 0 };
    this.adopt({ epochs: { acceptedEpoch: 0, currentEpoch: 0 }, snapshot: null, entries: [] });
  }

  /** durableState is the end of the durable history and the durable epochs (for the vouch checker). */
  durableState(): DurableView {
    const last = this.durable.zxids.at(-1) ?? 0;
    return {
      lastZxid: Math.max(last, this.durable.snapshotZxid),
      acceptedEpoch: this.durable.epochs.acceptedEpoch,
      currentEpoch: this.durable.epochs.currentEpoch,
      zxids: this.durable.zxids,
      snapshotZxid: this.durable.snapshotZxid,
    };
  }

  /** truncatingAfter is the truncation begun and not confirmed when the member crashed, if any (for the storage checker). */
  truncatingAfter(): Zxid | null {
    return this.truncating;
  }

  /** writtenEntry is the entry handed to append under `zxid`, if any (for the storage checker). */
  writtenEntry(zxid: Zxid): LogEntry | undefined {
    return this.written.get(zxid);
  }

  /** writtenEpochs are the highest epochs ever handed to saveEpochs. */
  writtenEpochs(): Epochs {
    return { ...this.epochsWritten };
  }
}

/** never is a promise that does not settle: what a crashed member's pending persist becomes. */
function never(): Promise<never> {
  return new Promise(() => undefined);
}

/** gatedFileSystem passes every call to `disk`, except that each fsync first waits on `gate`. */
function gatedFileSystem(disk: SimulatedDisk, gate: () => Promise<void>): FileSystem {
  return {
    open: async (path, flags) => {
      const handle = await disk.open(path, flags);
      return {
        write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
        read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
        datasync: async () => {
          await gate();
          await handle.datasync();
        },
        truncate: (length) => handle.truncate(length),
        size: () => handle.size(),
        close: () => handle.close(),
      };
    },
    readFile: (path) => disk.readFile(path),
    readdir: (path) => disk.readdir(path),
    rename: (from, to) => disk.rename(from, to),
    unlink: (path) => disk.unlink(path),
    mkdir: (path) => disk.mkdir(path),
    syncDirectory: async (path) => {
      await gate();
      await disk.syncDirectory(path);
    },
  };
}
