import type { Socket } from 'node:net';
import { CodecError, FrameDecoder, type FrameDecoderBudget } from '@zabkit/codec';
import { JuteError } from '@zabkit/jute';
import { TransportError } from './errors.js';
import type { PartialFrameBudget } from './partial-frame-budget.js';

/** SEND_QUEUE_BYTES_MAX_DEFAULT: 8 MiB, room for several maximum-size frames. */
export const SEND_QUEUE_BYTES_MAX_DEFAULT = 8 * 1024 * 1024;
/** FRAME_TIMEOUT_MS_DEFAULT: 30 s for a frame to arrive whole once its first byte has (ClientListener and PeerMesh). */
export const FRAME_TIMEOUT_MS_DEFAULT = 30_000;
/** HELD_BYTES_MAX_DEFAULT: 16 KiB of frames held while paused before the socket stops being read. */
export const HELD_BYTES_MAX_DEFAULT = 16 * 1024;
// Frames are copied into one buffer per write up to this size; larger batches go out as several writes.
const BATCH_BYTES_MAX = 256 * 1024;
// Delivered frames leave the held queue by index; it is compacted past this many.
const HELD_COMPACT_AFTER = 1024;
const EMPTY = new Uint8Array(0);

/** FramedSocketOptions configure one framed connection. */
export interface FramedSocketOptions {
  frameBytesMax: number;
  /** sendQueueBytesMax bounds the bytes queued here plus those the socket has buffered. */
  sendQueueBytesMax: number;
  /**
   * frameTimeoutMs: once the first byte of a frame has arrived, the whole frame must arrive within
   * this, or the connection closes with FRAME_TIMEOUT. It runs only while a frame is incomplete
   * and the socket is being read (not between frames, not while reading is stopped by a pause).
   * 0 or absent: no deadline.
   */
  frameTimeoutMs?: number;
  /**
   * partialFrameBudget is shared with other connections: this connection's FrameDecoder reserves
   * from it before growing, and when it would pass the budget this connection closes with
   * PARTIAL_FRAME_BUDGET. Absent: only frameBytesMax bounds the decoder.
   */
  partialFrameBudget?: PartialFrameBudget;
  /**
   * heldBytesMax: while delivery is paused, the socket is still read (so that the other end
   * closing is noticed) until frames of this many bytes are held; then reading stops until resume.
   * Default HELD_BYTES_MAX_DEFAULT (16 KiB).
   */
  heldBytesMax?: number;
  /**
   * sniff sees the first chunk read before any frame is decoded: returning true takes the
   * connection over (ZooKeeper's four-letter words arrive where a frame length would) and nothing
   * read afterwards is decoded; the sniffer answers with `send` and `close`.
   */
  sniff?: (first: Buffer) => boolean;
  /** onFrame receives each whole frame body in order; a throw closes the connection with that error. */
  onFrame(body: Uint8Array): void;
  /** onClose is called once, when the socket has closed; `error` is undefined for a clean close by this end. */
  onClose(error: TransportError | undefined): void;
}

/**
 * FramedSocket puts framing, batching and backpressure over one net.Socket (nats.js's protocol
 * writer, MQTT.js's drain handling):
 * - `send` queues a whole frame and flushes once per microtask, so a burst of small frames costs
 *   one write; a `write()` that returns false stops flushing until `'drain'`;
 * - the queue is bounded in bytes (ours plus the socket's buffer): a send past the bound closes
 *   the connection with SEND_QUEUE_FULL instead of growing without bound;
 * - incoming bytes go through a FrameDecoder; a CodecError closes this connection only; an
 *   incomplete frame may be bounded in time (frameTimeoutMs) and, with other connections, in
 *   memory (partialFrameBudget);
 * - delivery can be paused between frames, for independent reasons (a server holds a client's
 *   requests until it accepted the session, and separately while the client has too much in
 *   flight): frames wait in order until no reason is left. A paused socket keeps being read up to
 *   heldBytesMax so that the other end closing is still noticed, then stops, so TCP pushes back.
 */
export class FramedSocket {
  private readonly decoder: FrameDecoder;
  private readonly frameTimeoutMs: number;
  private readonly heldBytesMax: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private waitingForDrain = false;
  private closed = false;
  private error: TransportError | undefined;
  private readonly pauses = new Set<string>();
  // Frames received while paused, copied (a view would pin a whole socket read), from heldHead on.
  private held: Uint8Array[] = [];
  private heldHead = 0;
  private heldBytesNow = 0;
  private readingStopped = false;
  private idleTimeoutMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  // When the incomplete frame's first byte arrived (performance.now), or undefined between frames.
  private frameStartedAt: number | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  private handler: (body: Uint8Array) => void;
  private sniffed = false;
  private sniffedAway = false;
  private closeHandler: (error: TransportError | undefined) => void;

  constructor(
    readonly socket: Socket,
    private readonly options: FramedSocketOptions,
  ) {
    this.frameTimeoutMs = options.frameTimeoutMs ?? 0;
    this.heldBytesMax = options.heldBytesMax ?? HELD_BYTES_MAX_DEFAULT;
    this.decoder = new FrameDecoder(options.frameBytesMax, this.decoderBudget(options.partialFrameBudget));
    this.handler = options.onFrame;
    this.closeHandler = options.onClose;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
    socket.on('end', () => {
      // The other end finished writing; a half-open connection is of no use to either protocol.
      if (!this.closed) this.fail(new TransportError('SOCKET', 'the other end closed the connection'));
      socket.destroy();
    });
    socket.on('error', (error) => {
      this.fail(new TransportError('SOCKET', `socket error: ${error.message}`, { cause: error }));
    });
    socket.on('close', () => {
      this.closed = true;
      this.release();
      this.pending = [];
      this.pendingBytes = 0;
      this.closeHandler(this.error);
    });
  }

  /** queuedBytes is what waits to reach the kernel: frames queued here and bytes buffered in the socket. */
  get queuedBytes(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  /** isOpen is false once the connection is closing or closed. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** remoteAddress is the other end's address, for logs and per-address limits. */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  /** partialFrameBytes is what this connection's decoder holds allocated for an incomplete frame (0 between frames). */
  get partialFrameBytes(): number {
    return this.decoder.capacityBytes;
  }

  /** heldBytes is the size of the frames received while paused that wait for resume. */
  get heldBytes(): number {
    return this.heldBytesNow;
  }

  /** isReading is false while the socket is not read: paused with heldBytesMax of frames held. */
  get isReading(): boolean {
    return !this.readingStopped;
  }

  /** isPaused tells whether delivery is paused for `reason`, or for any reason when none is given. */
  isPaused(reason?: string): boolean {
    return reason === undefined ? this.pauses.size > 0 : this.pauses.has(reason);
  }

  /** setCloseHandler replaces the close handler (an adopted connection is watched by its new owner). */
  setCloseHandler(handler: (error: TransportError | undefined) => void): void {
    this.closeHandler = handler;
  }

  /** setFrameHandler replaces the frame handler (a handshake handler gives way to a message handler). */
  setFrameHandler(handler: (body: Uint8Array) => void): void {
    this.handler = handler;
  }

  /**
   * send queues one whole frame. It returns false when the connection is closed, or when the
   * frame would take the queue past sendQueueBytesMax: then the connection is closed with
   * SEND_QUEUE_FULL (the other end is not keeping up; its protocol recovers by reconnecting).
   */
  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.queuedBytes + frame.length > this.options.sendQueueBytesMax) {
      this.destroy(
        new TransportError(
          'SEND_QUEUE_FULL',
          `send queue to ${this.remoteAddress} over ${this.options.sendQueueBytesMax} bytes: the other end is not keeping up`,
        ),
      );
      return false;
    }
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /**
   * pause stops delivering frames for `reason` until `resume(reason)`; idempotent per reason, and
   * delivery waits until every reason is resumed. Frames that arrive wait here in order; the
   * socket is read on until heldBytesMax of them are held, then not at all.
   */
  pause(reason = 'pause'): void {
    if (this.closed) return;
    this.pauses.add(reason);
    if (this.heldBytesNow >= this.heldBytesMax) this.stopReading();
  }

  /**
   * resume lifts the pause for `reason` (nothing if it was not paused for it). When no reason is
   * left, it delivers the held frames in order, then reads on; a handler that pauses again stops
   * the delivery there.
   */
  resume(reason = 'pause'): void {
    if (!this.pauses.delete(reason) || this.pauses.size > 0) return;
    while (this.pauses.size === 0 && !this.closed && this.heldHead < this.held.length) {
      const body = this.held[this.heldHead] as Uint8Array;
      this.held[this.heldHead++] = EMPTY;
      this.heldBytesNow -= body.length;
      this.deliver(body);
    }
    if (this.heldHead === this.held.length || this.heldHead >= HELD_COMPACT_AFTER) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
    if (this.pauses.size === 0 && !this.closed) this.startReading();
  }

  /**
   * setIdleTimeout closes the connection with IDLE_TIMEOUT when nothing arrives for `timeoutMs`
   * (0 turns it off). Only received bytes count: writes to a dead peer would keep it alive. The
   * clock does not run while reading is stopped by a pause, and starts afresh when it resumes.
   */
  setIdleTimeout(timeoutMs: number): void {
    this.idleTimeoutMs = Math.max(0, timeoutMs);
    this.armIdleTimer();
  }

  /** close sends what is queued, then closes; frames that arrive meanwhile are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.waitingForDrain = false;
    this.flush();
    this.socket.destroySoon();
  }

  /** destroy closes at once, dropping the queue; `error` is what onClose reports. */
  destroy(error?: TransportError): void {
    this.fail(error);
    this.socket.destroy();
  }

  private fail(error: TransportError | undefined): void {
    if (this.error === undefined) this.error = error;
    this.closed = true;
    this.release();
  }

  /** release stops the clocks and gives back what is held for incoming frames (the budget included). */
  private release(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.frameTimer);
    this.idleTimer = undefined;
    this.frameTimer = undefined;
    this.frameStartedAt = undefined;
    this.decoder.reset();
    this.held = [];
    this.heldHead = 0;
    this.heldBytesNow = 0;
  }

  private receive(chunk: Buffer): void {
    if (this.closed || this.sniffedAway) return;
    if (!this.sniffed) {
      this.sniffed = true;
      if (this.options.sniff?.(chunk) === true) {
        this.sniffedAway = true;
        return;
      }
    }
    this.idleTimer?.refresh();
    let bodies: Uint8Array[];
    try {
      bodies = this.decoder.push(chunk);
    } catch (error) {
      this.destroy(this.protocolError(error));
      return;
    }
    this.watchFrame(bodies.length > 0);
    for (const body of bodies) {
      if (this.closed) return;
      if (this.pauses.size > 0 || this.heldHead < this.held.length) {
        const copy = new Uint8Array(body);
        this.held.push(copy);
        this.heldBytesNow += copy.length;
      } else this.deliver(body);
    }
    if (this.pauses.size > 0 && !this.closed && this.heldBytesNow >= this.heldBytesMax) this.stopReading();
  }

  private deliver(body: Uint8Array): void {
    try {
      this.handler(body);
    } catch (error) {
      this.destroy(this.protocolError(error));
    }
  }

  private stopReading(): void {
    if (this.readingStopped || this.closed) return;
    this.readingStopped = true;
    this.socket.pause();
    // Neither clock runs while we are the ones not reading.
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  private startReading(): void {
    if (!this.readingStopped) return;
    this.readingStopped = false;
    this.socket.resume();
    this.armIdleTimer();
    if (this.frameStartedAt !== undefined) {
      // The rest of the frame may have waited in the kernel while we did not read: a fresh deadline.
      this.frameStartedAt = performance.now();
      this.armFrameTimer(this.frameTimeoutMs);
    }
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleTimeoutMs === 0 || this.closed || this.readingStopped) return;
    const timeoutMs = this.idleTimeoutMs;
    this.idleTimer = setTimeout(() => {
      this.destroy(
        new TransportError('IDLE_TIMEOUT', `nothing received from ${this.remoteAddress} for ${timeoutMs} ms`),
      );
    }, timeoutMs);
  }

  /** watchFrame starts, keeps or ends the frame deadline after a push; `completed`: a frame ended in it. */
  private watchFrame(completed: boolean): void {
    if (this.frameTimeoutMs === 0) return;
    if (this.decoder.bufferedBytes === 0) {
      this.frameStartedAt = undefined;
      return;
    }
    // A frame is incomplete now; unless it is the one that was incomplete before, its clock starts now.
    if (this.frameStartedAt === undefined || completed) this.frameStartedAt = performance.now();
    if (this.frameTimer === undefined) this.armFrameTimer(this.frameTimeoutMs);
  }

  // One timer per connection, re-armed on expiry rather than reset on every frame: frames that
  // straddle reads are common on a busy connection, and a timestamp costs less than a timer.
  private armFrameTimer(delayMs: number): void {
    clearTimeout(this.frameTimer);
    this.frameTimer = setTimeout(() => {
      this.frameTimer = undefined;
      if (this.closed || this.readingStopped || this.frameStartedAt === undefined) return;
      const elapsedMs = performance.now() - this.frameStartedAt;
      if (elapsedMs < this.frameTimeoutMs) {
        this.armFrameTimer(this.frameTimeoutMs - elapsedMs);
        return;
      }
      const declared = this.decoder.incompleteFrameBytes;
      this.destroy(
        new TransportError(
          'FRAME_TIMEOUT',
          `frame from ${this.remoteLabel()} not complete within ${this.frameTimeoutMs} ms: ${this.decoder.bufferedBytes} of ${declared === 0 ? 'an unknown number of' : declared} bytes arrived`,
        ),
      );
    }, delayMs);
  }

  private decoderBudget(budget: PartialFrameBudget | undefined): FrameDecoderBudget | undefined {
    if (budget === undefined) return undefined;
    return {
      reserve: (bytes) => {
        if (budget.tryReserve(bytes)) return;
        const declared = this.decoder.incompleteFrameBytes;
        throw new TransportError(
          'PARTIAL_FRAME_BUDGET',
          `partial frame budget: ${this.remoteLabel()} needed ${bytes} more bytes for its incomplete frame ` +
            `(${this.decoder.bufferedBytes} of ${declared === 0 ? 'an unknown number of' : declared} bytes arrived, ` +
            `${this.decoder.capacityBytes} allocated), which would take the incomplete frames of all connections ` +
            `to ${budget.bytes + bytes} bytes, over the budget of ${budget.bytesMax}`,
        );
      },
      release: (bytes) => budget.release(bytes),
    };
  }

  /** remoteLabel is address:port for messages ([address]:port for IPv6). */
  private remoteLabel(): string {
    const address = this.remoteAddress;
    return `${address.includes(':') ? `[${address}]` : address}:${this.socket.remotePort ?? '?'}`;
  }

  private protocolError(error: unknown): TransportError {
    if (TransportError.isInstance(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    // A frame one of the two wire formats refused (zabkit's msgpack, ZooKeeper's jute).
    return CodecError.isInstance(error) || JuteError.isInstance(error)
      ? new TransportError('PROTOCOL', `bad frame from ${this.remoteAddress}: ${message}`, { cause: error })
      : new TransportError('SOCKET', `frame handler failed: ${message}`, { cause: error });
  }

  private flush(): void {
    while (!this.waitingForDrain && this.pending.length > 0 && !this.socket.destroyed) {
      let batch: Uint8Array;
      if (this.pending.length === 1 || (this.pending[0] as Uint8Array).length >= BATCH_BYTES_MAX) {
        batch = this.pending.shift() as Uint8Array;
      } else {
        let count = 0;
        let bytes = 0;
        while (count < this.pending.length && bytes + (this.pending[count] as Uint8Array).length <= BATCH_BYTES_MAX) {
          bytes += (this.pending[count] as Uint8Array).length;
          count++;
        }
        batch = Buffer.concat(this.pending.splice(0, count), bytes);
      }
      this.pendingBytes -= batch.length;
      if (!this.socket.write(batch)) this.waitingForDrain = true;
    }
  }
}
