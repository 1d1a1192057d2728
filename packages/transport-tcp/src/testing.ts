// Helpers for the loopback tests. Not exported from the package.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '@zabkit/codec';
import { createPrng } from '@zabkit/core';

export const HOST = '127.0.0.1';

/** waitFor polls until `predicate` holds, failing after `timeoutMs`: every wait in the tests is bounded. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function seededRandom(seed: number): () => number {
  const prng = createPrng(seed);
  return () => prng.next();
}

/** rawConnect opens a plain socket and collects the frame bodies it receives. */
export async function rawConnect(
  port: number,
): Promise<{ socket: Socket; bodies: Uint8Array[]; closed: () => boolean }> {
  const socket = connect({ host: HOST, port });
  const bodies: Uint8Array[] = [];
  const decoder = new FrameDecoder();
  let isClosed = false;
  socket.on('data', (chunk) => {
    for (const body of decoder.push(chunk)) bodies.push(Uint8Array.from(body));
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    isClosed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, bodies, closed: () => isClosed };
}

/** rawServer listens on an ephemeral loopback port and hands over each accepted socket. */
export async function rawServer(
  onSocket: (socket: Socket) => void,
  port = 0,
): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  accepted.set(server, sockets);
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { server, port: address.port };
}

const accepted = new WeakMap<Server, Set<Socket>>();

/** closeServer destroys the sockets a rawServer accepted, then closes it. */
export function closeServer(server: Server): Promise<void> {
  for (const socket of accepted.get(server) ?? []) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}
