import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodePeerHandshake,
  encodePeerHandshake,
  encodePeerMessage,
  FrameDecoder,
  PEER_PROTOCOL_VERSION,
  type PeerHandshakeMessage,
} from '@zabkit/codec';
import { peerProof } from '@zabkit/transport-tcp';
import { afterAll, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { RawClient, until } from './raw-client.js';

// Issue 14, item 1: members authenticate each other with a shared secret before any peer message
// is stepped. Real `zabkit-server` processes (the built dist/bin.js).

const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'zabkit-peer-auth-'));
const member = (id: number, port: number, host = '127.0.0.1') => ({
  id,
  host,
  peerPort: port,
  clientPort: port + 1,
  adminPort: port + 2,
});
const good = { id: 1, dataDir: join(dir, 'data'), members: [member(1, 42000), member(2, 42010), member(3, 42020)] };
/** remote: member 1 listens for peers on an address of TEST-NET-1, not loopback (and not bindable here). */
const remote = { ...good, members: [member(1, 42000, '192.0.2.1'), member(2, 42010), member(3, 42020)] };

function run(config: unknown): { status: number | null; stdout: string; stderr: string } {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(config));
  const result = spawnSync(process.execPath, [bin, 'start', '--config', path], { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('zabkit-server start: peerSecretFile and insecure', () => {
  it.each([
    [
      'a missing secret file',
      { ...good, peerSecretFile: join(dir, 'absent') },
      /peerSecretFile .*absent cannot be read: ENOENT/,
    ],
    ['a secret file that is a directory', { ...good, peerSecretFile: dir }, /peerSecretFile .* cannot be read: EISDIR/],
    [
      'a secret of 31 bytes (a trailing newline does not count)',
      {
        ...good,
        peerSecretFile: (() => {
          const file = join(dir, 'short-secret');
          writeFileSync(file, `${'x'.repeat(31)}\n`);
          return file;
        })(),
      },
      /peerSecretFile .*short-secret holds 31 bytes: the shared secret must be at least 32/,
    ],
    [
      'a peer port beyond loopback without a secret',
      remote,
      /member 1 listens for peers on 192\.0\.2\.1, which is not loopback: set peerTls .* or peerSecretFile .* or insecure: true/,
    ],
  ])('refuses %s: exit 2, one line', (_name, config, message) => {
    const { status, stderr } = run(config);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('starts beyond loopback with insecure: true, and warns', () => {
    // 192.0.2.1 cannot be bound here: the member gets past the configuration, warns, then fails to listen (exit 1).
    const { status, stdout } = run({ ...remote, dataDir: join(dir, 'insecure-data'), insecure: true });
    expect(status).toBe(1);
    expect(stdout).toMatch(/"level":"warn".*insecure: the peer port is open beyond loopback without peerSecretFile/);
  });
});

/** Outsider is a raw TCP socket on a member's peer port that speaks the handshake without the secret. */
class Outsider {
  readonly bodies: PeerHandshakeMessage[] = [];
  private closed = false;
  private constructor(readonly socket: Socket) {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => {
      for (const body of decoder.push(chunk)) {
        try {
          this.bodies.push(decodePeerHandshake(Uint8Array.from(body)));
        } catch {
          // not a handshake frame: never expected before authentication
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }
  static async connect(port: number): Promise<Outsider> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Outsider(socket);
  }
  get isClosed(): boolean {
    return this.closed;
  }
}

/** forgedVotes: FLE notifications naming `leader` in a far epoch, and an ACK for a zxid nobody proposed. */
function forgedVotes(leader: number): Uint8Array[] {
  return [
    encodePeerMessage({
      type: 'notification',
      leader,
      zxid: 2 ** 50,
      electionEpoch: 1_000,
      peerEpoch: 900,
      state: 'LEADING',
    }),
    encodePeerMessage({
      type: 'notification',
      leader,
      zxid: 2 ** 50,
      electionEpoch: 1_000,
      peerEpoch: 900,
      state: 'LOOKING',
    }),
    encodePeerMessage({ type: 'ack', epoch: 900, zxid: 2 ** 50 }),
  ];
}

describe('an authenticated ensemble (real processes)', () => {
  let ensemble: Ensemble | undefined;
  const clients: RawClient[] = [];
  afterAll(async () => {
    for (const client of clients) client.close();
    await ensemble?.close();
  });

  it('forms and serves, and outsiders claiming member ids with a wrong secret change neither leader nor epoch', async () => {
    const logs: string[] = [];
    ensemble = await startEnsemble({
      size: 3,
      dir: join(dir, 'ensemble'),
      peerSecret: true,
      onLog: (id, line) => logs.push(`${id} ${line}`),
    });
    const leader = await ensemble.waitForLeader();
    for (const id of [1, 2, 3]) {
      expect(
        logs.some((line) => line.startsWith(`${id} `) && line.includes('peers authenticate with the shared secret')),
      ).toBe(true);
    }
    const before = await Promise.all([1, 2, 3].map((id) => ensemble!.status(id)));
    const epoch = before[0]!.epoch;
    expect(before.map((s) => [s?.leader, s?.epoch])).toEqual([1, 2, 3].map(() => [leader, epoch]));

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

    const wrongSecret = randomBytes(48);
    const attempts: Promise<PeerHandshakeMessage[]>[] = [];
    for (const target of ensemble.members) {
      // Claims each other member's id and a higher one (4: unknown), with a wrong secret, then
      // pipelines forged votes behind its proof; and once with no secret at all.
      for (const claimed of [...ensemble.members.map((m) => m.id).filter((id) => id !== target.id), 4]) {
        attempts.push(
          (async () => {
            const outsider = await Outsider.connect(target.peerPort);
            const nonce = randomBytes(32);
            outsider.socket.write(
              encodePeerHandshake({
                type: 'handshake',
                protocolVersion: PEER_PROTOCOL_VERSION,
                serverId: claimed,
                auth: 'hmac-sha256',
                nonce,
                proof: new Uint8Array(0),
              }),
            );
            await until('the challenge or a refusal', () => outsider.bodies.length > 0 || outsider.isClosed, 5_000);
            const challenge = outsider.bodies[0];
            if (challenge?.type === 'handshake') {
              const transcript = {
                protocolVersion: PEER_PROTOCOL_VERSION,
                dialerId: claimed,
                acceptorId: target.id,
                dialerNonce: nonce,
                acceptorNonce: challenge.nonce,
              };
              outsider.socket.write(
                encodePeerHandshake({ type: 'handshakeProof', proof: peerProof(wrongSecret, 'dialer', transcript) }),
              );
              for (const frame of forgedVotes(claimed)) outsider.socket.write(frame);
            }
            await until('the outsider to be closed', () => outsider.isClosed, 5_000);
            return outsider.bodies;
          })(),
        );
      }
      attempts.push(
        (async () => {
          const outsider = await Outsider.connect(target.peerPort);
          const claimed = leader === target.id ? (target.id % 3) + 1 : leader;
          outsider.socket.write(
            encodePeerHandshake({
              type: 'handshake',
              protocolVersion: PEER_PROTOCOL_VERSION,
              serverId: claimed,
              auth: 'none',
              nonce: new Uint8Array(0),
              proof: new Uint8Array(0),
            }),
          );
          for (const frame of forgedVotes(claimed)) outsider.socket.write(frame);
          await until('the outsider to be closed', () => outsider.isClosed, 5_000);
          return outsider.bodies;
        })(),
      );
    }
    const answers = await Promise.all(attempts);
    for (const bodies of answers) {
      // Each was closed having received at most the challenge and a refusal. (The refusal itself may
      // be lost when the outsider's pipelined votes make the kernel reset the closed socket.)
      expect(bodies.length).toBeLessThanOrEqual(2);
      const last = bodies.at(-1);
      if (last?.type === 'handshakeRefused')
        expect(['AUTH_FAILED', 'AUTH_MISMATCH', 'UNKNOWN_SERVER']).toContain(last.reason);
      else if (last !== undefined) expect(last.type).toBe('handshake');
    }
    const writtenDuringAttack = written;
    await until('writes to keep committing after the attack', () => written >= writtenDuringAttack + 20, 20_000);
    writing = false;
    await writes;
    expect(writeError).toBeUndefined();

    const after = await Promise.all([1, 2, 3].map((id) => ensemble!.status(id)));
    expect(after.map((s) => [s?.role === 'leading', s?.leader, s?.epoch, s?.established])).toEqual(
      [1, 2, 3].map((id) => [id === leader, leader, epoch, true]),
    );
    // Every refusal was logged by the member that refused it, with the remote address and the reason.
    const refusals = logs.filter((line) => line.includes('peer connection refused'));
    expect(refusals.filter((line) => line.includes('"reason":"AUTH_FAILED"')).length).toBe(6);
    expect(refusals.filter((line) => line.includes('"reason":"AUTH_MISMATCH"')).length).toBe(3);
    expect(refusals.filter((line) => line.includes('"reason":"UNKNOWN_SERVER"')).length).toBe(3);
    for (const line of refusals) expect(line).toMatch(/"remote":"127\.0\.0\.1:\d+"/);
    // And what was written is there, on every member.
    for (const id of [1, 2, 3]) {
      const reader = await RawClient.connect(`127.0.0.1:${ensemble.members.find((m) => m.id === id)!.clientPort}`);
      clients.push(reader);
      await reader.sync();
      expect(await reader.get(`/w-${written - 1}`)).toBe(`v${written - 1}`);
    }
  }, 120_000);
});
