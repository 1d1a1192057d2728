import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { encodeFrame } from '@zabkit/codec';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportError } from './errors.js';
import { FramedSocket } from './framed-socket.js';
import { closeServer, HOST, rawServer, waitFor } from './testing.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** pair connects two FramedSockets over loopback and records what each receives and how it closed. */
async function pair(options: { sendQueueBytesMax?: number; frameBytesMax?: number } = {}) {
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
