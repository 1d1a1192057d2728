import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { encodeFrame } from '@zabkit/codec';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportError } from './errors.js';
import { FramedSocket, type FramedSocketOptions } from './framed-socket.js';
import { PartialFrameBudget } from './partial-frame-budget.js';
import { closeServer, HOST, rawServer, waitFor } from './testing.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** pair connects two FramedSockets over loopback and records what each receives and how it closed. */
async function pair(
  options: Partial<
    Pick<
      FramedSocketOptions,
      'sendQueueBytesMax' | 'frameBytesMax' | 'frameTimeoutMs' | 'partialFrameBudget' | 'heldBytesMax'
    >
  > = {},
) {
  const accepted: Socket[] = [];
  const { server, port } = await rawServer((socket) => accepted.push(socket));
  cleanups.push(() => closeServer(server));
  const clientSocket = connect({ host: HOST, port });
  await new Promise((resolve) => clientSocket.once('connect', resolve));
  await waitFor(() => accepted.length === 1, 'the accepted socket');
  const make = (socket: Socket) => {
    const side = {
      bodies: [] as Uint8Array[],
      closedWith: undefined as TransportError | undefined | 'open',
      framed: undefined as unknown as FramedSocket,
    };
    side.closedWith = 'open';
    side.framed = new FramedSocket(socket, {
      frameBytesMax: options.frameBytesMax ?? 1024 * 1024,
      sendQueueBytesMax: options.sendQueueBytesMax ?? 8 * 1024 * 1024,
      frameTimeoutMs: options.frameTimeoutMs,
      partialFrameBudget: options.partialFrameBudget,
      heldBytesMax: options.heldBytesMax,
      onFrame: (body) => side.bodies.push(Uint8Array.from(body)),
      onClose: (error) => {
        side.closedWith = error;
      },
    });
    cleanups.push(() => {
      socket.destroy();
    });
    return side;
  };
  return { a: make(clientSocket), b: make(accepted[0] as Socket) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** indexes reads the numbers `numbered` wrote into frame bodies. */
const indexes = (bodies: Uint8Array[]) => bodies.map((body) => new DataView(body.buffer, body.byteOffset).getUint32(0));

function numbered(i: number, size: number): Uint8Array {
  const body = new Uint8Array(size);
  new DataView(body.buffer).setUint32(0, i);
  body.fill(i & 0xff, 4);
  return body;
}

describe('FramedSocket', () => {
  it('delivers many frames both ways intact and in order', async () => {
    const { a, b } = await pair();
    const count = 5_000;
    for (let i = 0; i < count; i++) {
      a.framed.send(encodeFrame(numbered(i, 4 + (i % 300))));
      b.framed.send(encodeFrame(numbered(i, 4 + ((i * 7) % 2000))));
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => a.bodies.length === count && b.bodies.length === count, 'every frame');
    for (const [i, body] of b.bodies.entries()) {
      expect(Buffer.from(body).equals(Buffer.from(numbered(i, 4 + (i % 300))))).toBe(true);
    }
    for (const [i, body] of a.bodies.entries()) {
      expect(Buffer.from(body).equals(Buffer.from(numbered(i, 4 + ((i * 7) % 2000))))).toBe(true);
    }
  });

  it('batches the frames of one turn into one write', async () => {
    const { a, b } = await pair();
    let writes = 0;
    const write = a.framed.socket.write.bind(a.framed.socket);
    a.framed.socket.write = ((...args: Parameters<typeof write>) => {
      writes++;
      return write(...args);
    }) as typeof write;
    for (let i = 0; i < 100; i++) a.framed.send(encodeFrame(numbered(i, 100)));
    await waitFor(() => b.bodies.length === 100, 'the batch');
    expect(writes).toBe(1);
  });

  it('keeps the queue within its bound under a slow reader, then drops the connection', async () => {
    const sendQueueBytesMax = 256 * 1024;
    const { a, b } = await pair({ sendQueueBytesMax });
    b.framed.socket.pause(); // the reader stops reading: the kernel buffers fill, then ours
    const frame = encodeFrame(new Uint8Array(1024));
    let sent = 0;
    let queuedMax = 0;
    const deadline = Date.now() + 10_000;
    while (a.framed.isOpen && Date.now() < deadline) {
      for (let i = 0; i < 64 && a.framed.send(frame); i++) sent++;
      queuedMax = Math.max(queuedMax, a.framed.queuedBytes);
      expect(a.framed.queuedBytes).toBeLessThanOrEqual(sendQueueBytesMax);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => a.closedWith !== 'open', 'the slow reader to be dropped');
    expect((a.closedWith as TransportError).code).toBe('SEND_QUEUE_FULL');
    // It filled the bound before giving up (the kernel took its share first).
    expect(queuedMax).toBeGreaterThan(sendQueueBytesMax / 2);
    expect(sent * frame.length).toBeGreaterThan(sendQueueBytesMax);
  });

  it('closes with PROTOCOL on a frame over the limit, before buffering it', async () => {
    const { a, b } = await pair({ frameBytesMax: 1024 });
    a.framed.socket.write(Uint8Array.of(0, 1, 0, 0));
    await waitFor(() => b.closedWith !== 'open', 'the close');
    expect((b.closedWith as TransportError).code).toBe('PROTOCOL');
    expect((b.closedWith as TransportError).message).toMatch(/over the limit of 1024/);
  });

  it('holds frames while paused and delivers them in order on resume', async () => {
    const { a, b } = await pair();
    b.framed.pause();
    for (let i = 0; i < 10; i++) a.framed.send(encodeFrame(numbered(i, 8)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(b.bodies).toHaveLength(0);
    b.framed.resume();
    await waitFor(() => b.bodies.length === 10, 'the held frames');
    expect(b.bodies.map((body) => new DataView(body.buffer).getUint32(0))).toEqual([...Array(10).keys()]);
  });

  it('keeps pause reasons independent: resuming one leaves the other holding', async () => {
    const { a, b } = await pair();
    b.framed.pause('accept');
    b.framed.pause('server');
    b.framed.pause('server'); // idempotent: one resume lifts it
    for (let i = 0; i < 5; i++) a.framed.send(encodeFrame(numbered(i, 8)));
    await waitFor(() => b.framed.heldBytes === 5 * 8, 'the frames to be held');
    b.framed.resume('accept');
    await sleep(30);
    expect(b.bodies).toHaveLength(0);
    expect(b.framed.isPaused('server')).toBe(true);
    b.framed.resume('server');
    expect(indexes(b.bodies)).toEqual([0, 1, 2, 3, 4]);
    expect(b.framed.isPaused()).toBe(false);
    expect(b.framed.heldBytes).toBe(0);
  });

  it('reads on while paused until heldBytesMax is held, then stops reading, and delivers all in order', async () => {
    const heldBytesMax = 4096;
    const { a, b } = await pair({ heldBytesMax });
    b.framed.pause();
    const count = 2_000;
    for (let i = 0; i < count; i++) a.framed.send(encodeFrame(numbered(i, 100)));
    await waitFor(() => !b.framed.isReading, 'reading to stop');
    const held = b.framed.heldBytes;
    // At least heldBytesMax, at most that plus one socket read (64 KiB).
    expect(held).toBeGreaterThanOrEqual(heldBytesMax);
    expect(held).toBeLessThanOrEqual(heldBytesMax + 64 * 1024);
    await sleep(50);
    expect(b.framed.heldBytes).toBe(held);
    expect(b.bodies).toHaveLength(0);
    b.framed.resume();
    expect(b.framed.isReading).toBe(true);
    await waitFor(() => b.bodies.length === count, 'every frame');
    expect(indexes(b.bodies)).toEqual([...Array(count).keys()]);
    expect(b.bodies.every((body) => body.length === 100)).toBe(true);
  });

  it('stops delivering where a handler pauses again during resume, and goes on from there', async () => {
    const { a, b } = await pair();
    b.framed.pause();
    for (let i = 0; i < 6; i++) a.framed.send(encodeFrame(numbered(i, 8)));
    await waitFor(() => b.framed.heldBytes === 6 * 8, 'the frames to be held');
    b.framed.setFrameHandler((body) => {
      b.bodies.push(Uint8Array.from(body));
      if (b.bodies.length === 2) b.framed.pause();
    });
    b.framed.resume();
    expect(indexes(b.bodies)).toEqual([0, 1]);
    a.framed.send(encodeFrame(numbered(6, 8)));
    await waitFor(() => b.framed.heldBytes === 5 * 8, 'the new frame to be held behind the others');
    b.framed.resume();
    expect(indexes(b.bodies)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('notices the other end closing while paused, with frames held', async () => {
    const { a, b } = await pair();
    b.framed.pause();
    for (let i = 0; i < 10; i++) a.framed.send(encodeFrame(numbered(i, 8)));
    await waitFor(() => b.framed.heldBytes > 0, 'frames to be held');
    a.framed.close();
    await waitFor(() => b.closedWith !== 'open', 'the paused side to see the close', 2_000);
    expect((b.closedWith as TransportError).code).toBe('SOCKET');
    expect(b.bodies).toHaveLength(0);
  });

  it('closes with FRAME_TIMEOUT when a begun frame does not complete in time, not for time between frames', async () => {
    const frameTimeoutMs = 150;
    const { a, b } = await pair({ frameTimeoutMs });
    const frame = encodeFrame(numbered(1, 100));
    // A frame in two pieces well within the deadline, then a pause between frames longer than it.
    a.framed.socket.write(frame.subarray(0, 30));
    await sleep(40);
    a.framed.socket.write(frame.subarray(30));
    await waitFor(() => b.bodies.length === 1, 'the frame');
    await sleep(frameTimeoutMs * 2);
    expect(b.closedWith).toBe('open');
    // Then half a frame, and nothing more.
    const started = Date.now();
    a.framed.socket.write(frame.subarray(0, 54));
    await waitFor(() => b.closedWith !== 'open', 'the frame deadline', 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(frameTimeoutMs - 5);
    const error = b.closedWith as TransportError;
    expect(error.code).toBe('FRAME_TIMEOUT');
    expect(error.message).toMatch(/^frame from 127\.0\.0\.1:\d+ not complete within 150 ms: 54 of 104 bytes arrived$/);
  });

  it('starts the frame deadline afresh for each frame, however long the stream stays mid-frame', async () => {
    const frameTimeoutMs = 200;
    const { a, b } = await pair({ frameTimeoutMs });
    // Each write completes the frame begun by the last one and begins the next: every frame takes
    // about 60 ms, the stream far longer than the deadline.
    const stream = Buffer.concat(Array.from({ length: 12 }, (_, i) => encodeFrame(numbered(i, 20))));
    // Frames are 24 bytes; writes of 24 bytes starting 12 in: each write ends mid-frame, so one
    // frame or another is incomplete for the whole 750 ms.
    for (let offset = -12; offset < stream.length; offset += 24) {
      a.framed.socket.write(stream.subarray(Math.max(0, offset), offset + 24));
      await sleep(60);
    }
    await waitFor(() => b.bodies.length === 12, 'every frame');
    expect(b.closedWith).toBe('open');
  });

  it('does not run the frame deadline while paused reading is stopped, and starts it afresh on resume', async () => {
    const frameTimeoutMs = 100;
    const { a, b } = await pair({ frameTimeoutMs, heldBytesMax: 0 });
    const frame = encodeFrame(numbered(1, 100));
    a.framed.socket.write(frame.subarray(0, 20));
    await waitFor(() => b.framed.partialFrameBytes > 0, 'the partial frame');
    b.framed.pause(); // heldBytesMax 0: reading stops at once
    expect(b.framed.isReading).toBe(false);
    a.framed.socket.write(frame.subarray(20));
    await sleep(frameTimeoutMs * 3);
    expect(b.closedWith).toBe('open');
    b.framed.resume();
    await waitFor(() => b.bodies.length === 1, 'the frame, read on resume');
    expect(indexes(b.bodies)).toEqual([1]);
    // A frame begun after resume is still held to the deadline.
    a.framed.socket.write(frame.subarray(0, 20));
    await waitFor(() => b.closedWith !== 'open', 'the deadline after resume', 5_000);
    expect((b.closedWith as TransportError).code).toBe('FRAME_TIMEOUT');
  });

  it('closes with PARTIAL_FRAME_BUDGET when its incomplete frame would pass the shared budget', async () => {
    const budget = new PartialFrameBudget(3_000);
    const { a, b } = await pair({ partialFrameBudget: budget });
    const other = await pair({ partialFrameBudget: budget });
    const port = a.framed.socket.localPort;
    const frame = encodeFrame(numbered(1, 10_000));
    const otherFrame = encodeFrame(numbered(2, 2_000));
    other.a.framed.socket.write(otherFrame.subarray(0, 1_000));
    await waitFor(() => budget.bytes === 1_000, 'the other connection to hold 1,000 bytes');
    a.framed.socket.write(frame.subarray(0, 1_500));
    await waitFor(() => budget.bytes === 2_500, 'this connection to hold 1,500 bytes');
    // Doubling to 3,000 bytes would take the total to 4,000: this connection is closed, the other is not.
    a.framed.socket.write(frame.subarray(1_500, 2_000));
    await waitFor(() => b.closedWith !== 'open', 'the budget close');
    const error = b.closedWith as TransportError;
    expect(error.code).toBe('PARTIAL_FRAME_BUDGET');
    expect(error.message).toBe(
      `partial frame budget: 127.0.0.1:${port} needed 1500 more bytes for its incomplete frame ` +
        '(1500 of 10004 bytes arrived, 1500 allocated), which would take the incomplete frames of all connections ' +
        'to 4000 bytes, over the budget of 3000',
    );
    expect(budget.bytes).toBe(1_000);
    expect(other.b.closedWith).toBe('open');
    // The other connection completes its frame and gives its share back.
    other.a.framed.socket.write(otherFrame.subarray(1_000));
    await waitFor(() => other.b.bodies.length === 1, 'the other frame');
    expect(indexes(other.b.bodies)).toEqual([2]);
    expect(budget.bytes).toBe(0);
  });

  it('closes with IDLE_TIMEOUT when nothing arrives', async () => {
    const { b } = await pair();
    b.framed.setIdleTimeout(50);
    await waitFor(() => b.closedWith !== 'open', 'the idle timeout', 2_000);
    expect((b.closedWith as TransportError).code).toBe('IDLE_TIMEOUT');
  });

  it('close sends what is queued first', async () => {
    const { a, b } = await pair();
    for (let i = 0; i < 50; i++) a.framed.send(encodeFrame(numbered(i, 500)));
    a.framed.close();
    await waitFor(() => b.closedWith !== 'open', 'the close');
    expect(b.bodies).toHaveLength(50);
    expect(a.closedWith).toBeUndefined();
  });
});
