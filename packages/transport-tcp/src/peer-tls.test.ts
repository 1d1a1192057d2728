import { connect as tlsConnect } from 'node:tls';
import { encodePeerHandshake, PEER_PROTOCOL_VERSION } from '@zabkit/codec';
import type { PeerMessage } from '@zabkit/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerMeshOptions } from './peer-mesh.js';
import type { PeerTlsOptions } from './peer-tls.js';
import { makeTestPki, type TestPki } from './test-pki.js';
import { HOST, joinMeshes, meshNode, rawConnect, waitFor } from './testing.js';

// Issue 14, item 1 by mutual TLS: members' certificates, signed by the ensemble's CA, name them
// (zabkit-member-<id>); a connection without one, from another CA, or naming another member than
// the one it claims, never reaches the protocol and never displaces a member's connection.

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tlsOf(id: number, options: { stranger?: boolean } = {}): PeerTlsOptions {
  const member = pki.member(id, options);
  return { cert: member.cert, key: member.key, ca: pki.ca.cert };
}

const node = (serverId: number, options: Partial<PeerMeshOptions>) =>
  meshNode(serverId, { handshakeTimeoutMs: 1_000, ...options }, cleanups);
const join = joinMeshes;

const ack = (i: number): PeerMessage => ({ type: 'ack', epoch: 1, zxid: 2 ** 32 + i });
const hello = (serverId: number) => ({
  type: 'handshake' as const,
  protocolVersion: PEER_PROTOCOL_VERSION,
  serverId,
  auth: 'none' as const,
  nonce: new Uint8Array(0),
  proof: new Uint8Array(0),
});

describe('PeerMesh over mutual TLS', () => {
  it('members with certificates from the CA connect pairwise and exchange messages', async () => {
    const nodes = [
      await node(1, { tls: tlsOf(1) }),
      await node(2, { tls: tlsOf(2) }),
      await node(3, { tls: tlsOf(3) }),
    ];
    join(nodes);
    await waitFor(() => nodes.every((n) => n.ups.length === 2), 'every pair connected');
    for (const from of nodes)
      for (const to of nodes)
        if (from !== to) expect(from.mesh.send(to.mesh.serverId, ack(from.mesh.serverId))).toBe(true);
    await waitFor(() => nodes.every((n) => n.received.length === 2), 'every message');
    expect(nodes.flatMap((n) => n.warnings)).toEqual([]);
  });

  it('refuses outsiders before the protocol: another member’s certificate, another CA, no certificate, plain TCP', async () => {
    const one = await node(1, { tls: tlsOf(1) });
    const two = await node(2, { tls: tlsOf(2) });
    join([one, two], [{ id: 3, port: 1 }]);
    await waitFor(() => one.ups.length === 1 && two.ups.length === 1, 'the real pair');
    const before = one.warnings.length;

    // A real member's certificate (member 3's, from the CA) used to claim to be member 2.
    const claimed = await new Promise<string>((resolve) => {
      const member3 = pki.member(3);
      const socket = tlsConnect(
        {
          host: HOST,
          port: one.port,
          cert: member3.cert,
          key: member3.key,
          ca: pki.ca.cert,
          checkServerIdentity: () => undefined,
        },
        () => socket.write(encodePeerHandshake(hello(2))),
      );
      socket.on('error', () => {});
      socket.resume(); // read the refusal, so the close is seen
      socket.on('close', () => resolve('closed'));
    });
    expect(claimed).toBe('closed');

    // A certificate for member 2 from another CA: the TLS handshake fails.
    const stranger = pki.member(2, { stranger: true });
    const strangerClosed = await new Promise<string>((resolve) => {
      const socket = tlsConnect(
        {
          host: HOST,
          port: one.port,
          cert: stranger.cert,
          key: stranger.key,
          ca: pki.ca.cert,
          checkServerIdentity: () => undefined,
        },
        () => socket.write(encodePeerHandshake(hello(2))),
      );
      socket.on('error', () => resolve('refused'));
      socket.resume();
      socket.on('close', () => resolve('refused'));
    });
    expect(strangerClosed).toBe('refused');

    // No certificate at all, and plain TCP.
    const anonymous = await new Promise<string>((resolve) => {
      const socket = tlsConnect(
        { host: HOST, port: one.port, ca: pki.ca.cert, checkServerIdentity: () => undefined },
        () => socket.write(encodePeerHandshake(hello(2))),
      );
      socket.on('error', () => resolve('refused'));
      socket.resume();
      socket.on('close', () => resolve('refused'));
    });
    expect(anonymous).toBe('refused');
    const plain = await rawConnect(one.port);
    plain.socket.write(encodePeerHandshake(hello(2)));
    await waitFor(() => plain.closed(), 'the plain outsider closed');

    await waitFor(() => one.warnings.length >= before + 4, 'four refusals logged');
    const reasons = one.warnings.slice(before).map((w) => String(w.fields.reason));
    expect(reasons).toContain('AUTH_FAILED');
    expect(reasons.filter((reason) => reason === 'TLS').length).toBeGreaterThanOrEqual(3);
    expect(one.warnings.find((w) => w.fields.reason === 'AUTH_FAILED')?.message).toMatch(
      /claims to be server 2 but its certificate names zabkit-member-3/,
    );
    // The real connection was never displaced, and carries messages both ways.
    expect(one.downs).toEqual([]);
    expect(one.mesh.status(2)).toBe('connected');
    expect(two.mesh.send(1, ack(1))).toBe(true);
    expect(one.mesh.send(2, ack(2))).toBe(true);
    await waitFor(() => one.received.length === 1 && two.received.length === 1, 'messages both ways');
  });

  it('a dialer refuses an acceptor whose certificate names another member', async () => {
    // Server 2 runs with member 3's certificate: server 1 dials 2 and meets a certificate for 3.
    const two = await node(2, { tls: tlsOf(3) });
    const one = await node(1, { tls: tlsOf(1) });
    join([one, two]);
    await waitFor(
      () =>
        one.warnings.some((w) => w.fields.reason === 'AUTH_FAILED') ||
        two.warnings.some((w) => w.fields.reason === 'AUTH_FAILED'),
      'a refusal',
    );
    expect(one.ups).toEqual([]);
    expect(two.ups).toEqual([]);
  });
});
