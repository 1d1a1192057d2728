import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type PeerMessage, ZabInvariantError, type ZabPeer } from '@zabkit/core';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { startEnsemble } from '../src/ensemble.js';
import { freePorts } from '../src/free-ports.js';
import { Member } from '../src/member.js';
import { RawClient, until } from './raw-client.js';

// Only storage can stop a member. Each class of throw reachable from the host loop, tried:
// - a client request whose handling throws: that connection closes, the member serves on;
// - a peer message whose handling throws: that peer connection closes, the ensemble recovers;
// - a broken invariant in core: the member stops, naming it (a bug: better stop than serve wrong data);
// - a failed write of the epochs file: the member exits 1, naming the cause.
// (Garbage bytes on the client port: config.test.ts; on the peer port: transport-tcp's tests;
// replies and peer messages over their frame limits: large-replies and peer-frames tests.)

interface Running {
  members: Member[];
  logs: string[];
  fatal: { id: number; error: Error }[];
}

const started: Member[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(started.splice(0).map((member) => member.stop()));
});

/** startInProcess runs three members in this process, so a test can reach inside one. */
async function startInProcess(): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-contain-'));
  const ports = await freePorts(9);
  const members = [1, 2, 3].map((id) => ({
    id,
    host: '127.0.0.1',
    peerPort: ports[(id - 1) * 3] as number,
    clientPort: ports[(id - 1) * 3 + 1] as number,
    adminPort: ports[(id - 1) * 3 + 2] as number,
  }));
  const logs: string[] = [];
  const fatal: Running['fatal'] = [];
  const running: Member[] = [];
  for (const { id } of members) {
    const config = parseConfig({
      id,
      members,
      dataDir: join(dir, `m${id}`),
      tickMs: 50,
      initLimitTicks: 40,
      syncLimitTicks: 20,
      sessionTimeoutMsMin: 1_000,
      logLevel: 'info',
    });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const member = await Member.start(config, pino({ level: 'info', base: { member: id } }, sink));
    member.onFatal((error) => fatal.push({ id, error }));
    running.push(member);
    started.push(member);
  }
  await until('an established leader', () => running.every((m) => m.status().established), 20_000);
  return { members: running, logs, fatal };
}

function peerOf(member: Member): ZabPeer {
  return (member as unknown as { peer: ZabPeer }).peer;
}

function address(member: Member): string {
  const self = member.config.members.find((m) => m.id === member.config.id);
  return `127.0.0.1:${self?.clientPort}`;
}

describe('only storage can stop a member', () => {
  it('a client request whose handling throws closes that connection only; the member serves on', async () => {
    const { members, logs, fatal } = await startInProcess();
    const member = members[0] as Member;
    const peer = peerOf(member);
    const submit = peer.submit.bind(peer);
    peer.submit = (sessionId, xid, request, options) => {
      if (request.op === 'getData' && request.path === '/poison') throw new TypeError('boom in a request');
      submit(sessionId, xid, request, options);
    };
    const victim = await RawClient.connect(address(member));
    const other = await RawClient.connect(address(member));
    clients.push(victim, other);
    await expect(victim.getData('/poison', false, 5_000)).rejects.toThrow(/connection closed/);
    expect(victim.closed).toBe(true);
    await other.create('/after', 'fine');
    expect(await other.get('/after')).toBe('fine');
    expect(
      logs.some((line) => line.includes('a getData request of session') && line.includes('boom in a request')),
    ).toBe(true);
    expect(await member.metrics.registry.metrics()).toMatch(
      /zabkit_input_failures_total\{input="client request"[^}]*\} 1/,
    );
    expect(fatal).toEqual([]);
  }, 60_000);

  it('a peer message whose handling throws closes that peer connection; the member resyncs and serves on', async () => {
    const { members, logs, fatal } = await startInProcess();
    const follower = members.find((m) => m.status().role === 'following') as Member;
    const leader = members.find((m) => m.status().role === 'leading') as Member;
    const peer = peerOf(follower);
    const step = peer.step.bind(peer);
    let thrown = 0;
    peer.step = (from: number, message: PeerMessage) => {
      if (message.type === 'commit' && thrown === 0) {
        thrown++;
        throw new RangeError('boom in a peer message');
      }
      step(from, message);
    };
    const writer = await RawClient.connect(address(leader));
    clients.push(writer);
    for (let i = 0; i < 20; i++) await writer.create(`/w${i}`, String(i));
    expect(thrown).toBe(1);
    await until('the follower serves again, caught up', () => {
      const status = follower.status();
      return status.established && status.zxid === leader.status().zxid;
    });
    const reader = await RawClient.connect(address(follower));
    clients.push(reader);
    expect(await reader.get('/w19')).toBe('19');
    expect(
      logs.some((line) => line.includes('a commit message from member') && line.includes('boom in a peer message')),
    ).toBe(true);
    expect(fatal).toEqual([]);
  }, 60_000);

  it('a broken invariant in core stops the member, and the fatal line says so', async () => {
    const { members, logs, fatal } = await startInProcess();
    const member = members[0] as Member;
    const peer = peerOf(member);
    peer.tick = () => {
      throw new ZabInvariantError('applied zxids out of order (test)');
    };
    await until('the member gives up', () => fatal.length > 0, 5_000);
    expect(fatal[0]?.id).toBe(member.config.id);
    expect(fatal[0]?.error).toBeInstanceOf(ZabInvariantError);
    expect(
      logs.some(
        (line) =>
          line.includes('"level":60') &&
          line.includes('invariant broken while handling a tick') &&
          line.includes('(test)'),
      ),
    ).toBe(true);
  }, 60_000);
});

describe('a failed write of the epochs file stops the member, naming the cause', () => {
  it('exits 1 with the errno in the fatal line when it cannot persist a new epoch', async () => {
    const lines: string[] = [];
    const ensemble = await startEnsemble({
      size: 3,
      dir: mkdtempSync(join(tmpdir(), 'zabkit-epochs-')),
      onLog: (id, line) => lines.push(`${id} ${line}`),
    });
    const immutable: string[] = [];
    try {
      const leader = await ensemble.waitForLeader();
      const victim = ensemble.members.find((m) => m.id !== leader);
      if (!victim) throw new Error('no follower');
      // The follower's directory takes no new files: the next epoch (written to a temporary file,
      // then renamed) cannot be persisted. Killing the leader forces that next epoch.
      execFileSync('chattr', ['+i', victim.dataDir]);
      immutable.push(victim.dataDir);
      await ensemble.kill(leader);
      await until('the member exits', () => victim.pid === null, 20_000);
      const fatal = lines.filter((line) => line.startsWith(`${victim.id} `) && line.includes('"level":"fatal"'));
      expect(fatal.join('\n')).toMatch(/"msg":"storage failed: IO_FAILED: [^"]*(EPERM|EACCES)[^"]*epochs/);
      expect(lines.some((line) => line.includes(`member ${victim.id} stopped`))).toBe(true);
    } finally {
      for (const dir of immutable) execFileSync('chattr', ['-i', dir]);
      await ensemble.close();
    }
  }, 90_000);
});
