import type { Epochs, LogEntry, RecoveredState, Snapshot, Zxid } from '@zabkit/core';

type DiskOp =
  | { kind: 'truncate'; zxid: Zxid }
  | { kind: 'snapshot'; snapshot: Snapshot }
  | { kind: 'append'; entries: LogEntry[] }
  | { kind: 'epochs'; epochs: Epochs };

/**
 * SimDisk models one server's disk the way real disks fail (FoundationDB's AsyncFileNonDurable,
 * TigerBeetle's storage.zig): writes land in a volatile layer and become durable only at `sync()`.
 * A crash keeps an arbitrary prefix of the unsynced writes, and may tear the last append part-way:
 * exactly what a log whose recovery stops at the first bad record leaves behind.
 */
export class SimDisk {
  private epochs: Epochs = { acceptedEpoch: 0, currentEpoch: 0 };
  private snapshot: Snapshot | null = null;
  private entries: LogEntry[] = [];
  private unsynced: DiskOp[] = [];

  /** write queues the persistence part of a Ready, in the order the host contract gives. */
  write(parts: {
    truncateAfter: Zxid | null;
    snapshot: Snapshot | null;
    entries: LogEntry[];
    epochs: Epochs | null;
  }): void {
    if (parts.truncateAfter !== null) this.unsynced.push({ kind: 'truncate', zxid: parts.truncateAfter });
    if (parts.snapshot !== null) this.unsynced.push({ kind: 'snapshot', snapshot: parts.snapshot });
    if (parts.entries.length > 0) this.unsynced.push({ kind: 'append', entries: [...parts.entries] });
    if (parts.epochs !== null) this.unsynced.push({ kind: 'epochs', epochs: { ...parts.epochs } });
  }

  /** sync makes every queued write durable (fsync). */
  sync(): void {
    for (const op of this.unsynced) this.applyOp(op);
    this.unsynced = [];
  }

  /** crash loses the volatile layer: a random prefix of the queued writes survives, the last append maybe torn. */
  crash(random: () => number): { kept: number; lost: number } {
    const total = this.unsynced.length;
    const kept = Math.floor(random() * (total + 1));
    for (let i = 0; i < kept; i++) {
      const op = this.unsynced[i] as DiskOp;
      if (i === kept - 1 && op.kind === 'append' && random() < 0.5) {
        // Torn: only part of the batch reached the platter; recovery drops the torn record and all after it.
        this.applyOp({ kind: 'append', entries: op.entries.slice(0, Math.floor(random() * op.entries.length)) });
      } else {
        this.applyOp(op);
      }
    }
    this.unsynced = [];
    return { kept, lost: total - kept };
  }

  /** crashKeeping loses the volatile layer except its first `count` writes (a scripted crash point). */
  crashKeeping(count: number): { kept: number; lost: number } {
    const total = this.unsynced.length;
    const kept = Math.min(count, total);
    for (let i = 0; i < kept; i++) this.applyOp(this.unsynced[i] as DiskOp);
    this.unsynced = [];
    return { kept, lost: total - kept };
  }

  /** epochs gives the durable epochs. */
  durableEpochs(): Epochs {
    return { ...this.epochs };
  }

  /** load returns what is durable, as Storage.load() would after recovery. */
  load(): RecoveredState {
    const after = this.snapshot?.header.zxid ?? -1;
    return {
      epochs: { ...this.epochs },
      snapshot: this.snapshot && { header: { ...this.snapshot.header }, records: [...this.snapshot.records] },
      entries: this.entries.filter((entry) => entry.zxid > after),
    };
  }

  /** durableEntries exposes the durable log, for invariant checks. */
  durableEntries(): readonly LogEntry[] {
    return this.entries;
  }

  durableSnapshotZxid(): Zxid {
    return this.snapshot?.header.zxid ?? 0;
  }

  private applyOp(op: DiskOp): void {
    switch (op.kind) {
      case 'truncate': {
        let keep = this.entries.length;
        while (keep > 0 && (this.entries[keep - 1] as LogEntry).zxid > op.zxid) keep--;
        this.entries.length = keep;
        return;
      }
      case 'snapshot':
        this.snapshot = op.snapshot;
        return;
      case 'append': {
        for (const entry of op.entries) {
          const last = this.entries.at(-1)?.zxid ?? -1;
          if (entry.zxid <= last)
            throw new Error(`SimDisk: append 0x${entry.zxid.toString(16)} after 0x${last.toString(16)}`);
          this.entries.push(entry);
        }
        return;
      }
      case 'epochs':
        this.epochs = op.epochs;
        return;
    }
  }
}
