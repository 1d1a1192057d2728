import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type Ensemble, type StartEnsembleOptions, startEnsemble } from '../src/ensemble.js';
import { pipelined, RawClient } from './raw-client.js';

// The outsider's acceptance harness for issue 12: real `zabkit-server` processes (the built
// dist/bin.js), a record of every write a client saw acknowledged, clients connected before a case
// ("bystanders"), and the checks that must hold after every case: every member alive and serving,
// a write through every member, no acknowledged write lost, the bystanders unaffected.

/** LOG_LINES_KEPT: the last lines of each member kept to explain a member that died. */
const LOG_LINES_KEPT = 40;

/** Harness is one running ensemble and what the checks need to know about it. */
export interface Harness {
  ensemble: Ensemble;
  dir: string;
  /** logs: every line of every member, as `<id> <line>`. */
  logs: string[];
  /** recent: the last lines of each member. */
  recent: Map<number, string[]>;
  ledger: Ledger;
  bystanders: Bystander[];
}

const harnesses: Harness[] = [];
const clients: RawClient[] = [];

/** startHarness starts a 3-member ensemble with the ensemble defaults (tickMs 50) plus `config`. */
export async function startHarness(
  config: Record<string, unknown> = {},
  options: Pick<StartEnsembleOptions, 'clientTls' | 'peerSecret' | 'zookeeper'> = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'zabkit-acceptance-'));
  const logs: string[] = [];
  const recent = new Map<number, string[]>();
  const ensemble = await startEnsemble({
    size: 3,
    dir,
    config,
    ...options,
    onLog: (id, line) => {
      logs.push(`${id} ${line}`);
      const lines = recent.get(id) ?? [];
      lines.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
      if (lines.length > LOG_LINES_KEPT) lines.shift();
      recent.set(id, lines);
    },
  });
  const harness: Harness = { ensemble, dir, logs, recent, ledger: new Ledger(), bystanders: [] };
  harnesses.push(harness);
  return harness;
}

/** cleanup closes every client and ensemble the harness opened (call from afterEach). */
export async function cleanup(): Promise<void> {
  for (const client of clients.splice(0)) client.close();
  const closing = harnesses.splice(0);
  for (const harness of closing) for (const bystander of harness.bystanders) bystander.client.close();
  await Promise.all(closing.map((harness) => harness.ensemble.close()));
  for (const harness of closing) rmSync(harness.dir, { recursive: true, force: true });
}

/** addressOf is a member's client address. */
export function addressOf(harness: Harness, id: number): string {
  const member = harness.ensemble.members.find((m) => m.id === id);
  if (!member) throw new Error(`no member ${id}`);
  return `${member.host}:${member.clientPort}`;
}

/** connect opens a new session on member `id`; closed by cleanup. */
export async function connect(harness: Harness, id: number, sessionTimeoutMs = 10_000): Promise<RawClient> {
  const client = await RawClient.connect(addressOf(harness, id), undefined, sessionTimeoutMs);
  clients.push(client);
  return client;
}

/** memberIds lists the ensemble's member ids. */
export function memberIds(harness: Harness): number[] {
  return harness.ensemble.members.map((member) => member.id);
}

/** pidOf is member `id`'s process id, or null if it is not running. */
export function pidOf(harness: Harness, id: number): number | null {
  return harness.ensemble.members.find((member) => member.id === id)?.pid ?? null;
}

/** followersOf lists the members that are not `leader`. */
export function followersOf(harness: Harness, leader: number): number[] {
  return memberIds(harness).filter((id) => id !== leader);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** rssBytes reads a process's resident set size (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** mb formats a byte count in MB (10^6), for test output. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** describeMember gives a member's state and its last log lines, for a failure message. */
export function describeMember(harness: Harness, id: number): string {
  const pid = pidOf(harness, id);
  const state = pid === null ? 'NOT RUNNING (its process exited)' : `pid ${pid}`;
  const lines = (harness.recent.get(id) ?? []).slice(-15).map((line) => `    ${line}`);
  return `member ${id}: ${state}; last log lines:\n${lines.join('\n')}`;
}

/** expectAllRunning asserts every member's process is alive and its admin /status answers with that pid. */
export async function expectAllRunning(harness: Harness, when: string): Promise<void> {
  const problems: string[] = [];
  for (const id of memberIds(harness)) {
    const pid = pidOf(harness, id);
    if (pid === null || !processAlive(pid)) {
      problems.push(describeMember(harness, id));
      continue;
    }
    const status = await harness.ensemble.status(id);
    if (status === null)
      problems.push(`member ${id} (pid ${pid}) does not answer /status\n${describeMember(harness, id)}`);
    else if (status.pid !== pid) problems.push(`member ${id}: /status reports pid ${status.pid}, expected ${pid}`);
  }
  expect(problems, `${when}: every member must still run\n${problems.join('\n')}`).toEqual([]);
}

/** Ledger records every write a client saw acknowledged, to prove none is lost. */
export class Ledger {
  readonly entries = new Map<string, { sha1: string; bytes: number }>();

  /** ack records that a write of `data` at `path` was acknowledged (the last acknowledged value wins). */
  ack(path: string, data: Uint8Array): void {
    this.entries.set(path, { sha1: digest(data), bytes: data.length });
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * expectAllOn reads every acknowledged znode back through member `id` (after a sync) and asserts
   * each is there with the acknowledged data. `window` bounds the reads in flight.
   */
  async expectAllOn(harness: Harness, id: number, window = 64): Promise<void> {
    const reader = await connect(harness, id);
    await reader.sync();
    const paths = [...this.entries.keys()];
    const wrong: string[] = [];
    await pipelined(paths.length, window, async (index) => {
      const path = paths[index] as string;
      const expected = this.entries.get(path);
      const reply = await reader.getData(path, false, 30_000);
      if (reply.error !== null) wrong.push(`${path}: ${reply.error}`);
      else if (reply.result?.op !== 'getData') wrong.push(`${path}: unexpected result ${reply.result?.op}`);
      else if (reply.result.data.length !== expected?.bytes || digest(reply.result.data) !== expected.sha1)
        wrong.push(`${path}: ${reply.result.data.length} bytes, not the acknowledged ${expected?.bytes}`);
    });
    reader.close();
    expect(wrong.slice(0, 10), `member ${id} lost acknowledged writes (${wrong.length} of ${paths.length})`).toEqual(
      [],
    );
  }
}

function digest(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** payload returns `bytes` bytes that differ by `seed`, so a read-back proves which write it saw. */
export function payload(bytes: number, seed: number): Uint8Array {
  const data = new Uint8Array(bytes);
  let x = (seed * 2_654_435_761 + 1) >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

/**
 * Bystander is a client connected before a case, to a member the case does not stop on purpose:
 * it pings as a real client does, owns an ephemeral znode, and after the case its connection must
 * still be open, its session the same, its ephemeral there and its writes acknowledged.
 */
export class Bystander {
  private writes = 0;

  private constructor(
    readonly harness: Harness,
    readonly memberId: number,
    readonly client: RawClient,
    readonly ephemeralPath: string,
  ) {}

  static async start(harness: Harness, memberId: number): Promise<Bystander> {
    const client = await RawClient.connect(addressOf(harness, memberId), undefined, 10_000);
    client.startPinging(1_000);
    const ephemeralPath = `/bystander-${memberId}-0x${client.sessionId.toString(16)}`;
    await client.create(ephemeralPath, 'present', 1);
    const bystander = new Bystander(harness, memberId, client, ephemeralPath);
    harness.bystanders.push(bystander);
    return bystander;
  }

  /** expectUnaffected: same connection, same session, its ephemeral there, and a write acknowledged. */
  async expectUnaffected(when: string): Promise<void> {
    const who = `${when}: the bystander session 0x${this.client.sessionId.toString(16)} on member ${this.memberId}`;
    expect(this.client.closed, `${who} lost its connection\n${describeMember(this.harness, this.memberId)}`).toBe(
      false,
    );
    const path = `${this.ephemeralPath}-write-${this.writes++}`;
    const data = new TextEncoder().encode(path);
    const reply = await this.client.createBytes(path, data, 0, 10_000);
    expect(reply.error, `${who}: its write failed`).toBeNull();
    this.harness.ledger.ack(path, data);
    const ephemeral = await this.client.exists(this.ephemeralPath, false, 10_000);
    expect(ephemeral.error, `${who}: exists of its ephemeral`).toBeNull();
    expect(
      ephemeral.result?.op === 'exists' ? ephemeral.result.stat?.ephemeralOwner : undefined,
      `${who}: its ephemeral ${this.ephemeralPath} must still be owned by it`,
    ).toBe(this.client.sessionId);
  }
}

/** startBystanders connects one bystander to each member of `ids`. */
export async function startBystanders(harness: Harness, ids: number[]): Promise<Bystander[]> {
  const started: Bystander[] = [];
  for (const id of ids) started.push(await Bystander.start(harness, id));
  return started;
}

let healthChecks = 0;

/**
 * expectHealthy is what must hold after every case: every member's process alive with its
 * /status answering, every member established under one leader, a write through every member
 * acknowledged, every acknowledged write readable on every member, and every bystander unaffected.
 */
export async function expectHealthy(harness: Harness, when: string): Promise<void> {
  await expectAllRunning(harness, when);
  try {
    await harness.ensemble.waitForLeader(30_000);
  } catch (error) {
    throw new Error(
      `${when}: the ensemble must serve again: ${(error as Error).message}\n${memberIds(harness)
        .map((id) => describeMember(harness, id))
        .join('\n')}`,
    );
  }
  await expectAllRunning(harness, when);
  const check = healthChecks++;
  for (const id of memberIds(harness)) {
    const status = await harness.ensemble.status(id);
    expect(status?.established, `${when}: member ${id} must be established`).toBe(true);
    const writer = await connect(harness, id);
    const path = `/healthy-${check}-via-${id}`;
    const data = new TextEncoder().encode(`${when} via ${id}`);
    const reply = await writer.createBytes(path, data, 0, 15_000);
    expect(reply.error, `${when}: a write through member ${id}`).toBeNull();
    harness.ledger.ack(path, data);
    writer.close();
  }
  for (const bystander of harness.bystanders) await bystander.expectUnaffected(when);
  for (const id of memberIds(harness)) await harness.ledger.expectAllOn(harness, id);
  await expectAllRunning(harness, `${when} (after the checks)`);
}

/** roles waits for an established leader and returns it with the followers. */
export async function roles(harness: Harness): Promise<{ leader: number; followers: number[] }> {
  const leader = await harness.ensemble.waitForLeader();
  return { leader, followers: followersOf(harness, leader) };
}

/** zxidOf is a member's last applied zxid as /status formats it, or undefined if it does not answer. */
export async function zxidOf(harness: Harness, id: number): Promise<string | undefined> {
  return (await harness.ensemble.status(id))?.zxid;
}

/** sleep waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
