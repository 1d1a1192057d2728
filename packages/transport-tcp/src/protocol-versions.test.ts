// Version negotiation on both kinds of connection (README "Versions"): the connector offers its
// max, the acceptor answers with it or refuses naming its own max, the connector retries once.
import type { Socket } from 'node:net';
import {
  type ConnectRequest,
  decodePeerHandshake,
  encodePeerHandshake,
  FrameDecoder,
  type PeerHandshakeMessage,
  type ProtocolVersions,
} from '@zabkit/codec';
import type { PeerMessage } from '@zabkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientConnection } from './client-connection.js';
import { ClientListener } from './client-listener.js';
import { TransportError } from './errors.js';
import type { PeerMeshOptions } from './peer-mesh.js';
import type { ServerConnection } from './server-connection.js';
import { closeServer, HOST, joinMeshes, type MeshNode, meshNode, rawServer, waitFor } from './testing.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const node = (serverId: number, options: Partial<PeerMeshOptions> = {}) => meshNode(serverId, options, cleanups);
const ack: PeerMessage = { type: 'ack', epoch: 1, zxid: 2 ** 32 + 1 };
const SECRET = new Uint8Array(48).fill(7);
/** NEXT: this release's range, version 4 (membership changes) and the previous one (codec's PEER_PROTOCOL_VERSIONS). */
const NEXT: ProtocolVersions = { min: 3, max: 4 };
/** PREVIOUS: the release before, version 3 alone. */
const PREVIOUS: ProtocolVersions = { min: 3, max: 3 };

async function connected(a: MeshNode, b: MeshNode): Promise<void> {
  await waitFor(
    () => a.mesh.status(b.mesh.serverId) === 'connected' && b.mesh.status(a.mesh.serverId) === 'connected',
    `servers ${a.mesh.serverId} and ${b.mesh.serverId} connected`,
  );
}

async function exchange(a: MeshNode, b: MeshNode): Promise<void> {
  expect(a.mesh.send(b.mesh.serverId, ack)).toBe(true);
  expect(b.mesh.send(a.mesh.serverId, ack)).toBe(true);
  await waitFor(() => a.received.length > 0 && b.received.length > 0, 'a message each way');
}

describe('peer protocol versions', () => {
  for (const secret of [undefined, SECRET]) {
    const auth = secret === undefined ? 'no secret' : 'the shared secret';
    it(`a member of this release (3..4) and one of the previous (3) settle on 3, whoever dials (${auth})`, async () => {
      // Server 2 dials server 1 (the higher id dials): it offers 4, is refused naming 3, and dials
      // again at 3. Server 1 asks to be dialed offering 3, which 2 speaks.
      const today = await node(1, { protocolVersions: PREVIOUS, ...(secret === undefined ? {} : { secret }) });
      const next = await node(2, { protocolVersions: NEXT, ...(secret === undefined ? {} : { secret }) });
      joinMeshes([today, next]);
      await connected(today, next);
      expect(today.mesh.protocolVersion(2)).toBe(3);
      expect(next.mesh.protocolVersion(1)).toBe(3);
      await exchange(today, next);
      // The refusal of 4 is the old release's ordinary one, logged there; the newer end says nothing at warn.
      expect(today.warnings.map((w) => w.message).join('\n')).toMatch(/peer protocol version 4 is not supported/);
      expect(next.warnings).toEqual([]);
      // And the same the other way round: today's member is the higher id and dials with 3.
      const next3 = await node(3, { protocolVersions: NEXT, ...(secret === undefined ? {} : { secret }) });
      const today4 = await node(4, { protocolVersions: PREVIOUS, ...(secret === undefined ? {} : { secret }) });
      joinMeshes([next3, today4]);
      await connected(next3, today4);
      expect([next3.mesh.protocolVersion(4), today4.mesh.protocolVersion(3)]).toEqual([3, 3]);
      await exchange(next3, today4);
    });
  }

  it('two members of this release speak 4 to each other; the version is undefined once disconnected', async () => {
    const a = await node(1, { protocolVersions: NEXT, secret: SECRET });
    const b = await node(2, { protocolVersions: NEXT, secret: SECRET });
    const versions: number[] = [];
    b.mesh.onPeerUp((_id, version) => versions.push(version));
    joinMeshes([a, b]);
    await connected(a, b);
    expect([a.mesh.protocolVersion(2), b.mesh.protocolVersion(1)]).toEqual([4, 4]);
    expect(versions).toEqual([4]);
    await exchange(a, b);
    b.mesh.setPeers([]);
    expect(b.mesh.protocolVersion(1)).toBeUndefined();
  });

  it('announceVersion only announces: a member of the previous release offering 4 falls back to 3 and never speaks 4', async () => {
    const today = await node(1, { protocolVersions: PREVIOUS });
    const announcing = await node(2, { protocolVersions: PREVIOUS, announceVersion: 4 });
    joinMeshes([today, announcing]);
    await connected(today, announcing);
    expect([today.mesh.protocolVersion(2), announcing.mesh.protocolVersion(1)]).toEqual([3, 3]);
    // Two announcing members: each refuses the other's 4 (it speaks 3 only), so they settle on 3 too.
    const other = await node(3, { protocolVersions: PREVIOUS, announceVersion: 4 });
    joinMeshes([today, announcing, other]);
    await connected(announcing, other);
    expect([announcing.mesh.protocolVersion(3), other.mesh.protocolVersion(2)]).toEqual([3, 3]);
    await expect(node(4, { announceVersion: 2 })).rejects.toThrow(RangeError);
  });

  it('members without a common version never connect, and each says which versions both speak', async () => {
    // Server 2 speaks only 4: its offer of 4 is above server 1's max, server 1's offer of 3 is below
    // server 2's min. Both directions are refused with PROTOCOL_VERSION; neither retries in a loop.
    const old = await node(1, { protocolVersions: PREVIOUS });
    const newer = await node(2, { protocolVersions: { min: 4, max: 4 } });
    joinMeshes([old, newer]);
    await waitFor(
      () =>
        newer.warnings.some((w) => w.fields.reason === 'PROTOCOL_VERSION' && w.fields.code === 'REFUSED') &&
        old.warnings.some((w) => w.fields.reason === 'PROTOCOL_VERSION' && w.fields.code === 'REFUSED'),
      'both dials refused',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(old.ups).toEqual([]);
    expect(newer.ups).toEqual([]);
    const dialed = (n: MeshNode) => n.warnings.find((w) => w.fields.code === 'REFUSED')?.message;
    expect(dialed(newer)).toMatch(
      /server 1 refused peer protocol version 4 .*server 1 speaks up to version 3, server 2 speaks version 4: upgrade the older member/,
    );
    expect(dialed(old)).toMatch(
      /server 2 refused peer protocol version 3 \(.*this end speaks version 4\); server 2 speaks up to version 4, server 1 speaks version 3/,
    );
  });
});

/**
 * proxy forwards connections to `port`, letting `rewrite` replace frames of the handshake (its
 * first frame each way) and passing everything else through: a man in the middle without the secret.
 */
async function proxy(
  port: number,
  rewrite: {
    fromDialer?: (message: PeerHandshakeMessage, toDialer: (frame: Uint8Array) => void) => Uint8Array | null;
    fromAcceptor?: (message: PeerHandshakeMessage) => Uint8Array;
  },
) {
  const { connect } = await import('node:net');
  const wide = { min: 0, max: 100 };
  const sockets: Socket[] = [];
  const relay = (from: Socket, to: Socket, first: (body: Uint8Array) => Uint8Array | null) => {
    const decoder = new FrameDecoder();
    let seen = false;
    from.on('data', (chunk) => {
      for (const body of decoder.push(chunk)) {
        if (seen) {
          to.write(reframe(body));
          continue;
        }
        seen = true;
        const replaced = first(body);
        if (replaced !== null) to.write(replaced);
      }
    });
    from.on('close', () => to.destroy());
  };
  const listening = await rawServer((dialer) => {
    const acceptor = connect({ host: HOST, port });
    acceptor.on('error', () => {});
    sockets.push(dialer, acceptor);
    const toDialer = (frame: Uint8Array) => dialer.write(frame);
    relay(dialer, acceptor, (body) =>
      rewrite.fromDialer === undefined ? reframe(body) : rewrite.fromDialer(decodePeerHandshake(body, wide), toDialer),
    );
    relay(acceptor, dialer, (body) =>
      rewrite.fromAcceptor === undefined ? reframe(body) : rewrite.fromAcceptor(decodePeerHandshake(body, wide)),
    );
  });
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return closeServer(listening.server);
  });
  return listening.port;
}

function reframe(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

describe('peer protocol versions and the shared secret', () => {
  it('the proofs bind the version: a man in the middle who rewrites it in the handshakes is refused', async () => {
    // Both speak 3..4. The proxy turns the dialer's offer of 4 into 3 (the acceptor proves itself
    // over 3) and the acceptor's answer back into 4 (what the dialer offered): the dialer checks
    // the acceptor's proof over 4, which fails, and refuses.
    const acceptor = await node(1, { protocolVersions: NEXT, secret: SECRET });
    const dialer = await node(2, { protocolVersions: NEXT, secret: SECRET });
    const port = await proxy(acceptor.port, {
      fromDialer: (message) => encodePeerHandshake({ ...message, protocolVersion: 3 } as PeerHandshakeMessage),
      fromAcceptor: (message) => encodePeerHandshake({ ...message, protocolVersion: 4 } as PeerHandshakeMessage),
    });
    acceptor.mesh.setPeers([{ id: 2, host: HOST, port: dialer.port }]);
    dialer.mesh.setPeers([{ id: 1, host: HOST, port }]);
    await waitFor(() => dialer.warnings.some((w) => w.fields.reason === 'AUTH_FAILED'), 'the refusal');
    expect(dialer.warnings[0]?.message).toMatch(/server 1 .* did not prove it knows the shared secret/);
    expect(dialer.ups).toEqual([]);
    expect(acceptor.ups).toEqual([]);
  });

  it('a forged refusal can only make the pair fall back to the previous version, which both still speak', async () => {
    // Refusals come before anything is proven, so the proxy can answer an offer of 4 with a forged
    // "I speak 3". The dialer retries at 3; the proofs then bind 3 and verify: the pair runs at 3,
    // a version both speak (what a member of the previous release would have got). It cannot push
    // either end below its own min: a dialer that speaks 4 only gives up instead.
    const forge = (message: PeerHandshakeMessage, toDialer: (frame: Uint8Array) => void) => {
      if (message.type === 'handshake' && message.protocolVersion === 4) {
        toDialer(
          encodePeerHandshake({
            type: 'handshakeRefused',
            protocolVersion: 3,
            reason: 'PROTOCOL_VERSION',
            message: 'forged',
          }),
        );
        return null;
      }
      return encodePeerHandshake(message);
    };
    const acceptor = await node(1, { protocolVersions: NEXT, secret: SECRET });
    const dialer = await node(2, { protocolVersions: NEXT, secret: SECRET });
    const port = await proxy(acceptor.port, { fromDialer: forge });
    acceptor.mesh.setPeers([{ id: 2, host: HOST, port: dialer.port }]);
    dialer.mesh.setPeers([{ id: 1, host: HOST, port }]);
    await connected(acceptor, dialer);
    expect([acceptor.mesh.protocolVersion(2), dialer.mesh.protocolVersion(1)]).toEqual([3, 3]);

    const strict = await node(4, { protocolVersions: { min: 4, max: 4 }, secret: SECRET });
    const target = await node(3, { protocolVersions: NEXT, secret: SECRET });
    const strictPort = await proxy(target.port, { fromDialer: forge });
    target.mesh.setPeers([{ id: 4, host: HOST, port: 1 }]); // it never reaches 4: only 4 dials
    strict.mesh.setPeers([{ id: 3, host: HOST, port: strictPort }]);
    await waitFor(() => strict.warnings.some((w) => w.fields.reason === 'PROTOCOL_VERSION'), 'the refusal');
    expect(strict.ups).toEqual([]);
  });
});

describe('client protocol versions', () => {
  const request: Omit<ConnectRequest, 'kind' | 'protocolVersion'> = {
    lastZxidSeen: 0,
    timeoutMs: 30_000,
    sessionId: 0,
    password: new Uint8Array(16),
    readOnly: false,
  };

  async function server(protocolVersions?: ProtocolVersions) {
    const accepted: ServerConnection[] = [];
    const listener = new ClientListener({
      host: HOST,
      port: 0,
      ...(protocolVersions === undefined ? {} : { protocolVersions }),
      onConnect(connection) {
        accepted.push(connection);
        connection.accept({ timeoutMs: 30_000, sessionId: 7, password: new Uint8Array(16), readOnly: false });
      },
    });
    const { port } = await listener.listen();
    cleanups.push(() => listener.close());
    return { port, accepted };
  }

  const connect = async (port: number, protocolVersions?: ProtocolVersions) => {
    const connection = await ClientConnection.connect({
      host: HOST,
      port,
      request,
      connectTimeoutMs: 5_000,
      ...(protocolVersions === undefined ? {} : { protocolVersions }),
      onMessage: () => {},
      onClose: () => {},
    });
    cleanups.push(() => connection.close());
    return connection;
  };

  const refusal = async (promise: Promise<unknown>): Promise<TransportError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!TransportError.isInstance(error)) throw new Error(`expected a TransportError, got ${String(error)}`);
    return error;
  };

  it('a client of the next release (1..2) connects to a server of today at 1, in one more round trip', async () => {
    const today = await server();
    const connection = await connect(today.port, { min: 1, max: 2 });
    expect(connection.protocolVersion).toBe(1);
    expect(today.accepted.map((c) => c.protocolVersion)).toEqual([1]);
  });

  it('client and server of the next release speak 2; a client of today speaks 1 to that server', async () => {
    const next = await server({ min: 1, max: 2 });
    expect((await connect(next.port, { min: 1, max: 2 })).protocolVersion).toBe(2);
    expect((await connect(next.port)).protocolVersion).toBe(1);
    expect(next.accepted.map((c) => c.protocolVersion)).toEqual([2, 1]);
  });

  it('no common version: a typed refusal that names both ends’ versions, both ways', async () => {
    const today = await server();
    const tooNew = await refusal(connect(today.port, { min: 2, max: 2 }));
    expect(tooNew.code).toBe('REFUSED');
    expect(tooNew.reason).toBe('PROTOCOL_VERSION');
    expect(tooNew.message).toMatch(
      /refused client protocol version 2: .*\(the server speaks up to version 1, this client version 2\)/,
    );
    const onlyNew = await server({ min: 2, max: 2 });
    const tooOld = await refusal(connect(onlyNew.port));
    expect(tooOld.reason).toBe('PROTOCOL_VERSION');
    expect(tooOld.message).toMatch(
      /refused client protocol version 1: protocolVersion: client protocol version 1 is not supported: this end speaks version 2 \(the server speaks up to version 2, this client version 1\)/,
    );
    expect(today.accepted).toEqual([]);
    expect(onlyNew.accepted).toEqual([]);
  });
});
