/** PARTIAL_FRAME_BYTES_MAX_DEFAULT: 64 MiB for the incomplete frames of all of a listener's connections. */
export const PARTIAL_FRAME_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/**
 * PartialFrameBudget bounds the bytes a group of connections (a ClientListener's) hold allocated
 * for frames that have not fully arrived. Each connection's FrameDecoder reserves before it grows
 * its buffer and releases when the frame completes or the connection closes, so `bytes` is what
 * is actually allocated, never what length prefixes merely declare. It is a counter only: the
 * connection whose reservation is refused decides what to do (FramedSocket closes it).
 */
export class PartialFrameBudget {
  private used = 0;

  constructor(readonly bytesMax: number) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 0) {
      throw new RangeError(`partial frame budget must be a whole number of bytes, got ${bytesMax}`);
    }
  }

  /** bytes is what the connections hold reserved now; never above bytesMax. */
  get bytes(): number {
    return this.used;
  }

  /** tryReserve takes `bytes` from the budget, or returns false (taking nothing) when that would pass bytesMax. */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.bytesMax) return false;
    this.used += bytes;
    return true;
  }

  /** release gives back `bytes` reserved earlier. */
  release(bytes: number): void {
    this.used -= bytes;
    if (this.used < 0) throw new Error(`PartialFrameBudget released ${-this.used} bytes more than were reserved`);
  }
}
