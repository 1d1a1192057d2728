// Helpers for the loopback tests. Not exported from the package.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '@zabkit/codec';
import { createPrng, type PeerMessage } from '@zabkit/core';
import { PeerMesh, type PeerMeshOptions } from './peer-mesh.js';

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

/** MeshNode is one PeerMesh of a test, with what it delivered, the peers it saw come and go and its warnings. */
export interface MeshNode {
  mesh: PeerMesh;
  port: number;
  received: { from: number; message: PeerMessage }[];
  ups: number[];
  downs: { id: number; code: string | undefined }[];
  warnings: { fields: Record<string, unknown>; message: string }[];
}

/**
 * meshNode starts a PeerMesh on loopback with fast reconnects and a seeded jitter, recording what
 * it delivers and logs at warn; `cleanups` gets its close.
 */
export async function meshNode(
  serverId: number,
  options: Partial<PeerMeshOptions>,
  cleanups: (() => Promise<void> | void)[],
  port = 0,
): Promise<MeshNode> {
  const warnings: MeshNode['warnings'] = [];
  const ignore = () => {};
  const mesh = new PeerMesh({
    serverId,
    listen: { host: HOST, port },
    random: seededRandom(serverId),
    reconnectDelayMsBase: 20,
    reconnectDelayMsMax: 200,
    logger: { debug: ignore, info: ignore, warn: (fields, message) => warnings.push({ fields, message }) },
    ...options,
  });
  const node: MeshNode = { mesh, port: 0, received: [], ups: [], downs: [], warnings };
  mesh.onMessage((from, message) => node.received.push({ from, message }));
  mesh.onPeerUp((id) => node.ups.push(id));
  mesh.onPeerDown((id, error) => node.downs.push({ id, code: (error as { code?: string } | undefined)?.code }));
  node.port = (await mesh.start()).port;
  cleanups.push(() => mesh.close());
  return node;
}

/** joinMeshes makes every node a peer of every other (and of `extra` addresses that run no mesh). */
export function joinMeshes(nodes: MeshNode[], extra: { id: number; port: number }[] = []): void {
  const peers = [...nodes.map((n) => ({ id: n.mesh.serverId, port: n.port })), ...extra].map((p) => ({
    ...p,
    host: HOST,
  }));
  for (const n of nodes) n.mesh.setPeers(peers);
}
