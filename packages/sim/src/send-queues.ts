/**
 * SendQueues models what a TCP connection between two members holds: the bytes one end has sent
 * and the other has not yet taken in (the sender's queue, the wire, the receiver's socket buffer,
 * and whatever reached a paused process). The transport bounds that per connection
 * (transport-tcp's sendQueueBytesMax) and closes a connection that would pass it with
 * SEND_QUEUE_FULL; so does the simulator, with the bound the server derives
 * (`peerSendQueueBytesMax`). Counted per directed link and connection generation: a broken
 * connection takes its queue with it.
 */
export class SendQueues {
  private readonly queued = new Map<string, number>();
  /** peakBytes is the fullest any connection has been, for reports. */
  peakBytes = 0;

  constructor(readonly bytesMax: number) {}

  /**
   * admit queues `bytes` on the connection from `from` to `to` of `generation`, or returns false
   * when that would take it past bytesMax: the connection must break, as SEND_QUEUE_FULL.
   */
  admit(from: number, to: number, generation: number, bytes: number): boolean {
    const key = queueKey(from, to, generation);
    const queued = (this.queued.get(key) ?? 0) + bytes;
    if (queued > this.bytesMax) return false;
    this.queued.set(key, queued);
    if (queued > this.peakBytes) this.peakBytes = queued;
    return true;
  }

  /** release takes `bytes` off the queue: the receiver handled the message, or it was lost. */
  release(from: number, to: number, generation: number, bytes: number): void {
    const key = queueKey(from, to, generation);
    const queued = this.queued.get(key);
    if (queued === undefined) return;
    if (queued <= bytes) this.queued.delete(key);
    else this.queued.set(key, queued - bytes);
  }

  /** queuedBytes is what the current connection from `from` to `to` holds. */
  queuedBytes(from: number, to: number, generation: number): number {
    return this.queued.get(queueKey(from, to, generation)) ?? 0;
  }

  /** drop forgets the queues of a connection generation that broke (both directions). */
  drop(a: number, b: number, generation: number): void {
    this.queued.delete(queueKey(a, b, generation));
    this.queued.delete(queueKey(b, a, generation));
  }
}

function queueKey(from: number, to: number, generation: number): string {
  return `${from}>${to}#${generation}`;
}
