import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { encodePeerHandshake, encodePeerMessage, PEER_PROTOCOL_VERSION } from '@zabkit/codec';
import { makeTestPki, type TestPki } from '@zabkit/transport-tcp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { RawClient, until } from './raw-client.js';

// Issue 14, item 1 by mutual TLS, with real processes and openssl certificates: members whose
// certificates (from the ensemble's CA) name them form and serve; outsiders with another member's
// certificate, another CA's, or none, change neither leader nor epoch nor data.

const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'zabkit-peer-tls-'));
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

/** forged: a vote for `leader` from the future, and an ACK: what an outsider would say once in. */
function forged(leader: number): Uint8Array[] {
  return [
    encodePeerMessage({
      type: 'notification',
      leader,
      zxid: 2 ** 50,
      electionEpoch: 1_000,
      peerEpoch: 900,
      state: 'LEADING',
    }),
    encodePeerMessage({ type: 'ack', epoch: 900, zxid: 2 ** 50 }),
  ];
}

function hello(serverId: number): Uint8Array {
  return encodePeerHandshake({
    type: 'handshake',
    protocolVersion: PEER_PROTOCOL_VERSION,
    serverId,
    auth: 'none',
    nonce: new Uint8Array(0),
    proof: new Uint8Array(0),
  });
}

/** attack connects to a peer port (TLS with `credentials`, or plain TCP), claims `claimed` and pipelines forged messages; resolves when closed. */
function attack(
  port: number,
  claimed: number,
  credentials: { cert: string; key: string } | null | 'plain',
): Promise<void> {
  return new Promise((resolve) => {
    const send = (socket: Socket | TLSSocket) => {
      socket.write(hello(claimed));
      for (const frame of forged(claimed)) socket.write(frame);
    };
    const socket: Socket =
      credentials === 'plain'
        ? tcpConnect({ host: '127.0.0.1', port }, () => send(socket))
        : tlsConnect(
            {
              host: '127.0.0.1',
              port,
              ca: pki.ca.cert,
              checkServerIdentity: () => undefined,
              ...(credentials === null ? {} : credentials),
            },
            () => send(socket),
          );
    socket.on('error', () => {});
    socket.resume();
    socket.on('close', () => resolve());
  });
}

describe('a mutual-TLS ensemble (real processes)', () => {
  let ensemble: Ensemble | undefined;
  const clients: RawClient[] = [];
  afterAll(async () => {
    for (const client of clients) client.close();
    await ensemble?.close();
    pki.remove();
  });

  it('refuses to start a member whose certificate names another member: exit 2, one line', () => {
    const other = pki.member(2);
    const path = join(dir, 'wrong-cert.json');
    writeFileSync(
      path,
      JSON.stringify({
        id: 1,
        dataDir: join(dir, 'data'),
        members: [{ id: 1, host: '127.0.0.1', peerPort: 43000, clientPort: 43001, adminPort: 43002 }],
        peerTls: { certFile: other.certFile, keyFile: other.keyFile, caFile: pki.ca.certFile },
      }),
    );
    const result = spawnSync(process.execPath, [bin, 'start', '--config', path], { encoding: 'utf8', timeout: 10_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/names zabkit-member-2, not zabkit-member-1/);
  });

  it('forms and serves over mutual TLS; outsiders with the wrong certificate, another CA or none change nothing', async () => {
    const logs: string[] = [];
    const members = new Map([1, 2, 3].map((id) => [id, pki.member(id)]));
    ensemble = await startEnsemble({
      size: 3,
      dir: join(dir, 'ensemble'),
      peerTls: { caFile: pki.ca.certFile, member: (id) => members.get(id) ?? pki.member(id) },
      onLog: (id, line) => logs.push(`${id} ${line}`),
    });
    const leader = await ensemble.waitForLeader();
    for (const id of [1, 2, 3]) {
      expect(
        logs.some((line) => line.startsWith(`${id} `) && line.includes('peers authenticate with mutual TLS')),
      ).toBe(true);
    }
    const before = await Promise.all([1, 2, 3].map((id) => ensemble!.status(id)));
    const epoch = before[0]!.epoch;

    const writer = await RawClient.connect(`127.0.0.1:${ensemble.members.find((m) => m.id !== leader)!.clientPort}`);
    clients.push(writer);
    let written = 0;
    let writing = true;
    let writeError: unknown;
    const writes = (async () => {
      try {
        while (writing) {
          await writer.create(`/w-${written}`, `v${written}`);
          written++;
        }
      } catch (error) {
        writeError = error;
      }
    })();

    const spare = pki.member(4); // a real certificate from the ensemble's CA, for a member that does not exist
    const stranger = pki.member(leader, { stranger: true }); // names the leader, from another CA
    const attacks: Promise<void>[] = [];
    for (const target of ensemble.members) {
      for (const claimed of ensemble.members.map((m) => m.id).filter((id) => id !== target.id)) {
        attacks.push(attack(target.peerPort, claimed, spare));
        attacks.push(attack(target.peerPort, claimed, stranger));
        attacks.push(attack(target.peerPort, claimed, null));
        attacks.push(attack(target.peerPort, claimed, 'plain'));
      }
    }
    await Promise.all(attacks);
    const writtenDuringAttack = written;
    await until('writes to keep committing after the attack', () => written >= writtenDuringAttack + 20, 20_000);
    writing = false;
    await writes;
    expect(writeError).toBeUndefined();

    const after = await Promise.all([1, 2, 3].map((id) => ensemble!.status(id)));
    expect(after.map((s) => [s?.role === 'leading', s?.leader, s?.epoch, s?.established])).toEqual(
      [1, 2, 3].map((id) => [id === leader, leader, epoch, true]),
    );
    const refusals = logs.filter((line) => line.includes('peer connection refused'));
    // 6 claims with member 4's certificate fail the name check; the other 18 the TLS handshake:
    // 6 without a certificate, 6 in plain TCP, 6 from another CA (seen by the acceptor as the
    // client hanging up after the alert; a member's own dial abandoned mid-handshake looks the same).
    const tls = refusals.filter((line) => line.includes('"reason":"TLS"'));
    expect(refusals.filter((line) => line.includes('"reason":"AUTH_FAILED"')).length).toBe(6);
    expect(tls.filter((line) => line.includes('peer did not return a certificate')).length).toBe(6);
    expect(tls.filter((line) => line.includes('wrong version number')).length).toBe(6);
    expect(tls.length).toBeGreaterThanOrEqual(18);
    for (const id of [1, 2, 3]) {
      const reader = await RawClient.connect(`127.0.0.1:${ensemble.members.find((m) => m.id === id)!.clientPort}`);
      clients.push(reader);
      await reader.sync();
      expect(await reader.get(`/w-${written - 1}`)).toBe(`v${written - 1}`);
    }
  }, 120_000);
});
