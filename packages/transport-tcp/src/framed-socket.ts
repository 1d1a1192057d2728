import type { Socket } from 'node:net';
import { CodecError, FrameDecoder } from '@zabkit/codec';
import { TransportError } from './errors.js';

/** SEND_QUEUE_BYTES_MAX_DEFAULT: 8 MiB, room for several maximum-size frames. */
export const SEND_QUEUE_BYTES_MAX_DEFAULT = 8 * 1024 * 1024;
// Frames are copied into one buffer per write up to this size; larger batches go out as several writes.
const BATCH_BYTES_MAX = 256 * 1024;

/** FramedSocketOptions configure one framed connection. */
export interface FramedSocketOptions {
  frameBytesMax: number;
  /** sendQueueBytesMax bounds the bytes queued here plus those the socket has buffered. */
  sendQueueBytesMax: number;
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
 * - incoming bytes go through a FrameDecoder; a CodecError closes this connection only;
 * - reads can be paused between frames (a server holds a client's requests until it accepted
 *   the session).
 */
export class FramedSocket {
  private readonly decoder: FrameDecoder;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private waitingForDrain = false;
  private closed = false;
  private error: TransportError | undefined;
  private paused = false;
  private received: Uint8Array[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private handler: (body: Uint8Array) => void;
  private closeHandler: (error: TransportError | undefined) => void;

  constructor(
    readonly socket: Socket,
    private readonly options: FramedSocketOptions,
  ) {
    this.decoder = new FrameDecoder(options.frameBytesMax);
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
      clearTimeout(this.idleTimer);
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

  /** pause stops delivering frames (they wait here, and the socket stops reading) until resume. */
  pause(): void {
    this.paused = true;
  }

  /** resume delivers the frames that arrived while paused, then reads on. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (!this.paused && !this.closed && this.received.length > 0) {
      this.deliver(this.received.shift() as Uint8Array);
    }
    if (!this.paused && !this.closed) this.socket.resume();
  }

  /**
   * setIdleTimeout closes the connection with IDLE_TIMEOUT when nothing arrives for `timeoutMs`
   * (0 turns it off). Only received bytes count: writes to a dead peer would keep it alive.
   */
  setIdleTimeout(timeoutMs: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (timeoutMs <= 0 || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.destroy(
        new TransportError('IDLE_TIMEOUT', `nothing received from ${this.remoteAddress} for ${timeoutMs} ms`),
      );
    }, timeoutMs);
  }

  /** close sends what is queued, then closes; frames that arrive meanwhile are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.paused = true;
    clearTimeout(this.idleTimer);
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
    clearTimeout(this.idleTimer);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.idleTimer?.refresh();
    let bodies: Uint8Array[];
    try {
      bodies = this.decoder.push(chunk);
    } catch (error) {
      this.destroy(this.protocolError(error));
      return;
    }
    for (const body of bodies) {
      if (this.closed) return;
      if (this.paused) {
        this.received.push(body);
        continue;
      }
      this.deliver(body);
    }
    if (this.paused && !this.closed) this.socket.pause();
  }

  private deliver(body: Uint8Array): void {
    try {
      this.handler(body);
    } catch (error) {
      this.destroy(this.protocolError(error));
    }
  }

  private protocolError(error: unknown): TransportError {
    if (TransportError.isInstance(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return CodecError.isInstance(error)
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
