import { connect, type Socket } from 'node:net';
import {
  decodePeerHandshake,
  encodeFrame,
  encodePeerHandshake,
  FrameDecoder,
  PEER_PROTOCOL_VERSION,
  type PeerHandshakeMessage,
} from '@zabkit/codec';
import type { PeerMessage } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { newPeerNonce, type PeerTranscript, peerProof, transcriptBytes, verifyPeerProof } from './peer-auth.js';
import { PeerMesh, type PeerMeshOptions } from './peer-mesh.js';
import { closeServer, HOST, joinMeshes, type MeshNode, meshNode, rawConnect, rawServer, waitFor } from './testing.js';

const SECRET = new Uint8Array(48).fill(0x5a);
const OTHER_SECRET = new Uint8Array(48).fill(0xa5);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Node = MeshNode;
const node = (serverId: number, options: Partial<PeerMeshOptions> = {}) => meshNode(serverId, options, cleanups);
const join = (nodes: Node[]) => joinMeshes(nodes);

const ack = (i: number): PeerMessage => ({ type: 'ack', epoch: 1, zxid: 2 ** 32 + i });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** frames reads the frame bodies of `bytes` (a recording of one direction of a connection). */
function frames(bytes: Buffer): Uint8Array[] {
  return [...new FrameDecoder().push(bytes)].map((body) => Uint8Array.from(body));
}

function transcript(): PeerTranscript {
  return {
    protocolVersion: PEER_PROTOCOL_VERSION,
    dialerId: 2,
    acceptorId: 1,
    dialerNonce: newPeerNonce(),
    acceptorNonce: newPeerNonce(),
  };
}

describe('peer proofs', () => {
  it('lays the transcript out in fixed fields: domain, role, version, both ids, both nonces', () => {
    const t = transcript();
    const bytes = transcriptBytes('dialer', t);
    expect(bytes.length).toBe(17 + 8 + 4 + 8 + 8 + 32 + 32);
    expect(bytes.subarray(0, 25).toString('latin1')).toBe('zabkit peer auth\0dialer\0\0');
    expect(bytes.readUInt32BE(25)).toBe(PEER_PROTOCOL_VERSION);
    expect(bytes.readBigUInt64BE(29)).toBe(2n);
    expect(bytes.readBigUInt64BE(37)).toBe(1n);
    expect(transcriptBytes('acceptor', t).subarray(17, 25).toString('latin1')).toBe('acceptor');
  });

  it('verifies only the proof of the same secret, role, ids, nonces and version', () => {
    const t = transcript();
    const proof = peerProof(SECRET, 'dialer', t);
    expect(proof.length).toBe(32);
    expect(verifyPeerProof(SECRET, 'dialer', t, proof)).toBe(true);
    expect(verifyPeerProof(OTHER_SECRET, 'dialer', t, proof)).toBe(false);
    // Reflection: the acceptor's proof over the same transcript is not the dialer's.
    expect(verifyPeerProof(SECRET, 'acceptor', t, proof)).toBe(false);
    // Replay: the same proof against a fresh nonce of the other end.
    expect(verifyPeerProof(SECRET, 'dialer', { ...t, acceptorNonce: newPeerNonce() }, proof)).toBe(false);
    expect(verifyPeerProof(SECRET, 'dialer', { ...t, dialerId: 3 }, proof)).toBe(false);
    expect(verifyPeerProof(SECRET, 'dialer', { ...t, protocolVersion: 1 }, proof)).toBe(false);
    expect(verifyPeerProof(SECRET, 'dialer', t, proof.subarray(0, 31))).toBe(false);
    expect(verifyPeerProof(SECRET, 'dialer', t, new Uint8Array(0))).toBe(false);
  });

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => new PeerMesh({ serverId: 1, listen: { host: HOST, port: 0 }, secret: new Uint8Array(31) })).toThrow(
      /at least 32 bytes/,
    );
  });
});

describe('PeerMesh with a shared secret', () => {
  it('keeps an authenticated connection long past the handshake deadline', async () => {
    const nodes = [
      await node(1, { secret: SECRET, handshakeTimeoutMs: 100 }),
      await node(2, { secret: SECRET, handshakeTimeoutMs: 100 }),
    ];
    join(nodes);
    await waitFor(() => nodes.every((n) => n.ups.length === 1), 'connected');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(nodes.map((n) => n.downs)).toEqual([[], []]);
    expect(nodes.flatMap((n) => n.warnings)).toEqual([]);
  });

  it('connects three servers with the same secret, which exchange messages both ways', async () => {
    const nodes = [
      await node(1, { secret: SECRET }),
      await node(2, { secret: SECRET }),
      await node(3, { secret: SECRET }),
    ];
    join(nodes);
    await waitFor(() => nodes.every((n) => n.ups.length === 2), 'every pair connected');
    for (const from of nodes) {
      for (const to of nodes)
        if (from !== to) expect(from.mesh.send(to.mesh.serverId, ack(from.mesh.serverId))).toBe(true);
    }
    await waitFor(() => nodes.every((n) => n.received.length === 2), 'every message');
    for (const n of nodes) expect(n.mesh.socketCount).toBe(2);
    expect(nodes.flatMap((n) => n.warnings)).toEqual([]);
  });

  it('refuses a member with another secret on both sides, and delivers nothing', async () => {
    const one = await node(1, { secret: SECRET });
    const two = await node(2, { secret: OTHER_SECRET });
    join([one, two]);
    await waitFor(
      () =>
        one.warnings.some((w) => w.fields.reason === 'AUTH_FAILED') &&
        two.warnings.some((w) => w.fields.reason === 'AUTH_FAILED'),
      'both sides to log the failed proof',
    );
    await sleep(300); // several redials
    expect(one.ups).toEqual([]);
    expect(two.ups).toEqual([]);
    expect(one.mesh.send(2, ack(1))).toBe(false);
    expect(two.mesh.send(1, ack(1))).toBe(false);
    expect(one.received).toEqual([]);
    expect(two.received).toEqual([]);
    // The dialer's side says once what is wrong, not on every redial (the acceptor's logs each connection).
    const dialed = two.warnings.filter((w) => w.fields.code !== undefined);
    expect(dialed.length).toBe(1);
    expect(dialed[0]?.message).toMatch(/server 1 at 127\.0\.0\.1:\d+ did not prove it knows the shared secret/);
    expect(one.warnings[0]?.fields.remote).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('refuses a member without the secret on both sides with a clear reason, instead of hanging', async () => {
    const one = await node(1, { secret: SECRET });
    const two = await node(2);
    join([one, two]);
    await waitFor(
      () =>
        one.warnings.some((w) => w.fields.reason === 'AUTH_MISMATCH') &&
        two.warnings.some((w) => w.fields.reason === 'AUTH_MISMATCH'),
      'both sides to log the mismatch',
    );
    expect(one.warnings[0]?.message).toMatch(/server 1 requires the shared secret and server 2 offers none/);
    expect(two.warnings[0]?.message).toMatch(/peerSecretFile/);
    expect(one.ups).toEqual([]);
    expect(two.ups).toEqual([]);
  });

  it('refuses a replayed handshake: the recorded bytes of a good one do not verify against a fresh nonce', async () => {
    const one = await node(1, { secret: SECRET });
    // A recording proxy between server 2 (the dialer) and server 1: it keeps what 2 sends.
    const recorded: Buffer[] = [];
    const proxy = await rawServer((inbound: Socket) => {
      const outbound = connect({ host: HOST, port: one.port });
      outbound.on('error', () => {});
      inbound.on('data', (chunk: Buffer) => {
        recorded.push(chunk);
        outbound.write(chunk);
      });
      outbound.on('data', (chunk: Buffer) => inbound.write(chunk));
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    cleanups.push(() => closeServer(proxy.server));
    const two = await node(2, { secret: SECRET });
    one.mesh.setPeers([
      { id: 1, host: HOST, port: one.port },
      { id: 2, host: HOST, port: two.port },
    ]);
    two.mesh.setPeers([
      { id: 1, host: HOST, port: proxy.port },
      { id: 2, host: HOST, port: two.port },
    ]);
    await waitFor(() => one.ups.length === 1 && two.ups.length === 1, 'the pair, through the proxy');
    const good = frames(Buffer.concat(recorded)).slice(0, 2);
    expect(good.map((body) => decodePeerHandshake(body).type)).toEqual(['handshake', 'handshakeProof']);
    // Replay both frames at once, as recorded, straight to server 1.
    const replay = await rawConnect(one.port);
    cleanups.push(() => {
      replay.socket.destroy();
    });
    replay.socket.write(Buffer.concat(good.map((body) => encodeFrame(body))));
    await waitFor(() => replay.closed(), 'server 1 to close the replay');
    const answers = replay.bodies.map((body) => decodePeerHandshake(body));
    expect(answers.map((answer) => answer.type)).toEqual(['handshake', 'handshakeRefused']);
    expect(answers[1]).toMatchObject({ reason: 'AUTH_FAILED' });
    expect(one.warnings).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ reason: 'AUTH_FAILED', peer: 2 }) }),
    ]);
    // The good connection is untouched and still carries messages.
    expect(one.ups).toEqual([2]);
    expect(one.downs).toEqual([]);
    expect(two.mesh.send(1, ack(9))).toBe(true);
    await waitFor(() => one.received.length === 1, 'a message over the good connection');
  });

  it('keeps an established connection when an outsider claims the same id, with no secret or a forged proof', async () => {
    const one = await node(1, { secret: SECRET, handshakeTimeoutMs: 300 });
    const two = await node(2, { secret: SECRET });
    join([one, two]);
    await waitFor(() => one.ups.length === 1 && two.ups.length === 1, 'the pair');
    const outsider = async (
      first: PeerHandshakeMessage,
      then?: (answer: PeerHandshakeMessage) => PeerHandshakeMessage,
    ) => {
      const raw = await rawConnect(one.port);
      cleanups.push(() => {
        raw.socket.destroy();
      });
      raw.socket.write(encodePeerHandshake(first));
      if (then !== undefined) {
        await waitFor(() => raw.bodies.length >= 1, 'the challenge');
        raw.socket.write(encodePeerHandshake(then(decodePeerHandshake(raw.bodies[0]!))));
      }
      await waitFor(() => raw.closed(), 'the outsider to be closed');
      return raw.bodies.map((body) => decodePeerHandshake(body));
    };
    const hello = (auth: 'none' | 'hmac-sha256', serverId = 2): PeerHandshakeMessage => ({
      type: 'handshake',
      protocolVersion: PEER_PROTOCOL_VERSION,
      serverId,
      auth,
      nonce: auth === 'none' ? new Uint8Array(0) : newPeerNonce(),
      proof: new Uint8Array(0),
    });
    // No secret at all.
    expect(await outsider(hello('none'))).toEqual([expect.objectContaining({ reason: 'AUTH_MISMATCH' })]);
    // Claims the secret, answers the challenge with a guess (or the acceptor's own proof, reflected).
    const forged = await outsider(hello('hmac-sha256'), () => ({ type: 'handshakeProof', proof: new Uint8Array(32) }));
    expect(forged.at(-1)).toMatchObject({ type: 'handshakeRefused', reason: 'AUTH_FAILED' });
    const reflected = await outsider(hello('hmac-sha256'), (answer) => ({
      type: 'handshakeProof',
      proof: answer.type === 'handshake' ? answer.proof : new Uint8Array(0),
    }));
    expect(reflected.at(-1)).toMatchObject({ type: 'handshakeRefused', reason: 'AUTH_FAILED' });
    // Never answers the challenge: closed at the handshake timeout.
    const silent = await outsider(hello('hmac-sha256'));
    expect(silent.map((answer) => answer.type)).toEqual(['handshake']);
    // A lower id that never proves itself does not make server 1 dial anyone either.
    expect(one.warnings.map((w) => w.fields.reason)).toEqual([
      'AUTH_MISMATCH',
      'AUTH_FAILED',
      'AUTH_FAILED',
      'HANDSHAKE_TIMEOUT',
    ]);
    expect(one.ups).toEqual([2]);
    expect(one.downs).toEqual([]);
    expect(one.mesh.status(2)).toBe('connected');
    expect(two.mesh.send(1, ack(1))).toBe(true);
    expect(one.mesh.send(2, ack(2))).toBe(true);
    await waitFor(() => one.received.length === 1 && two.received.length === 1, 'messages both ways');
  });
});
