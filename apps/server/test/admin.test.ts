import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Ensemble, startEnsemble } from '../src/ensemble.js';
import { RawClient, until } from './raw-client.js';

// The admin HTTP API of real `zabkit-server` processes (the built dist/bin.js) on loopback.

let ensemble: Ensemble;
const clients: RawClient[] = [];

beforeAll(async () => {
  ensemble = await startEnsemble({ size: 3, dir: mkdtempSync(join(tmpdir(), 'zabkit-admin-')) });
  await ensemble.waitForLeader();
}, 60_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  await ensemble?.close();
});

function adminUrl(id: number, path: string): string {
  const member = ensemble.members.find((m) => m.id === id);
  if (!member) throw new Error(`no member ${id}`);
  return `http://${member.host}:${member.adminPort}${path}`;
}

async function connect(id: number): Promise<RawClient> {
  const member = ensemble.members.find((m) => m.id === id);
  if (!member) throw new Error(`no member ${id}`);
  const client = await RawClient.connect(`${member.host}:${member.clientPort}`);
  clients.push(client);
  return client;
}

async function getJson(id: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(adminUrl(id, path));
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** sample reads one sample of a Prometheus text exposition (labels in any order), or NaN. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = line.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return Number.NaN;
}

describe('admin HTTP', () => {
  it('GET /health is 200 on every serving member', async () => {
    for (const id of [1, 2, 3]) {
      const { status, body } = await getJson(id, '/health');
      expect(status).toBe(200);
      expect(body.serving).toBe(true);
      expect(['leading', 'following']).toContain(body.role);
    }
  });

  it('GET /status reports id, pid, role, phase, epoch, zxid (hex), leader, members, sessions, znodes, watches, outstanding', async () => {
    const leader = await ensemble.waitForLeader();
    const client = await connect(leader);
    await client.create('/status-probe', 'x');
    const roles: string[] = [];
    for (const id of [1, 2, 3]) {
      // A follower applies the commits of the client's session and create a moment after the leader
      // answered (a loaded CI run read one with no session yet): read its status once it has.
      let { status, body } = await getJson(id, '/status');
      for (let tries = 0; tries < 50 && !((body.sessions as number) >= 1); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ({ status, body } = await getJson(id, '/status'));
      }
      expect(status).toBe(200);
      expect(body.id).toBe(id);
      expect(body.pid).toBe(ensemble.members.find((m) => m.id === id)?.pid);
      expect(['looking', 'following', 'leading', 'observing']).toContain(body.role);
      roles.push(body.role as string);
      expect(body.phase).toBe('broadcast');
      expect(body.epoch).toBeGreaterThan(0);
      expect(body.zxid).toMatch(/^0x[0-9a-f]+$/);
      expect(body.leader).toBe(leader);
      for (const field of ['sessions', 'znodes', 'watches', 'outstanding']) {
        expect(Number.isInteger(body[field]), field).toBe(true);
      }
      expect(body.sessions).toBeGreaterThanOrEqual(1);
      expect(body.znodes).toBeGreaterThanOrEqual(2);
      const members = body.members as { id: number; lastContactMs: number | null; connected: boolean }[];
      expect(members.map((m) => m.id)).toEqual([1, 2, 3]);
      for (const member of members) {
        expect(member.connected).toBe(true);
        // A follower hears from the leader; the leader from every follower.
        if (member.id !== id && (id === leader || member.id === leader))
          expect(member.lastContactMs).toBeTypeOf('number');
      }
    }
    expect(roles.filter((role) => role === 'leading')).toHaveLength(1);
    expect(roles.filter((role) => role === 'following')).toHaveLength(2);
  });

  it('GET /metrics serves the Prometheus metrics after some writes', async () => {
    const leader = await ensemble.waitForLeader();
    const follower = leader === 1 ? 2 : 1;
    const client = await connect(follower);
    for (let i = 0; i < 5; i++) await client.create(`/metrics-${i}`, `m${i}`);
    await client.get('/metrics-0');
    const scrape = async (id: number) => {
      const response = await fetch(adminUrl(id, '/metrics'));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.text();
    };
    const followerText = await scrape(follower);
    for (const name of [
      'zabkit_requests_total',
      'zabkit_request_duration_seconds_bucket',
      'zabkit_proposals_total',
      'zabkit_commit_duration_seconds_bucket',
      'zabkit_applied_transactions_total',
      'zabkit_fsync_duration_seconds_bucket',
      'zabkit_fsync_batch_entries_bucket',
      'zabkit_elections_total',
      'zabkit_election_duration_seconds_bucket',
      'zabkit_client_connections',
      'zabkit_session_closes_total',
      'zabkit_sessions',
      'zabkit_znodes',
      'zabkit_watches',
      'zabkit_serving',
    ]) {
      expect(followerText, name).toContain(`# TYPE ${name.replace(/_bucket$/, '')} `);
    }
    expect(sample(followerText, 'zabkit_requests_total', { op: 'create' })).toBeGreaterThanOrEqual(5);
    expect(sample(followerText, 'zabkit_request_duration_seconds_count', { op: 'create' })).toBeGreaterThanOrEqual(5);
    expect(sample(followerText, 'zabkit_request_duration_seconds_count', { op: 'getData' })).toBeGreaterThanOrEqual(1);
    expect(sample(followerText, 'zabkit_applied_transactions_total')).toBeGreaterThanOrEqual(5);
    expect(sample(followerText, 'zabkit_fsync_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(followerText, 'zabkit_elections_total')).toBeGreaterThanOrEqual(1);
    expect(sample(followerText, 'zabkit_client_connections')).toBeGreaterThanOrEqual(1);
    expect(sample(followerText, 'zabkit_znodes')).toBeGreaterThanOrEqual(6);
    // Proposals and commit latency are the leader's.
    const leaderText = await scrape(leader);
    expect(sample(leaderText, 'zabkit_proposals_total')).toBeGreaterThanOrEqual(5);
    expect(sample(leaderText, 'zabkit_commit_duration_seconds_count')).toBeGreaterThanOrEqual(5);
    expect(sample(followerText, 'zabkit_proposals_total')).toBe(0);
    expect(sample(followerText, 'zabkit_commit_duration_seconds_count')).toBe(0);
    // Label values are op names only: no session ids or paths leak into label sets.
    for (const line of followerText.split('\n').filter((l) => l.startsWith('zabkit_request'))) {
      expect(line).not.toContain('/metrics-');
    }
  });

  it('GET /api/latency reports recent request percentiles by op', async () => {
    const client = await connect(3);
    await client.create('/latency-probe', 'l');
    const { status, body } = await getJson(3, '/api/latency');
    expect(status).toBe(200);
    const requests = body.requests as {
      count: number;
      p50Ms: number;
      p99Ms: number;
      ops: Record<string, { count: number; p50Ms: number; p99Ms: number }>;
    };
    expect(requests.count).toBeGreaterThanOrEqual(1);
    expect(requests.p50Ms).toBeTypeOf('number');
    expect(requests.p99Ms).toBeGreaterThanOrEqual(requests.p50Ms);
    expect(requests.ops.create?.count).toBeGreaterThanOrEqual(1);
  });

  it('GET /api/tree lists a znode, its data and its children', async () => {
    const client = await connect(2);
    await client.create('/tree', 'root of the test');
    await client.create('/tree/a', 'A');
    await client.create('/tree/b', 'B');
    await client.sync();
    const root = await getJson(2, '/api/tree');
    expect(root.status).toBe(200);
    expect(root.body.children).toContain('tree');
    const tree = await getJson(2, `/api/tree?path=${encodeURIComponent('/tree')}`);
    expect(tree.status).toBe(200);
    expect(tree.body.path).toBe('/tree');
    expect(tree.body.data).toBe('root of the test');
    expect(tree.body.dataLength).toBe(16);
    expect([...(tree.body.children as string[])].sort()).toEqual(['a', 'b']);
    expect((tree.body.stat as { numChildren: number }).numChildren).toBe(2);
    const missing = await getJson(2, '/api/tree?path=/no/such/node');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('NO_NODE');
  });

  it('GET / serves the dashboard with a policy that keeps it on the admin ports', async () => {
    const response = await fetch(adminUrl(1, '/'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    for (const member of ensemble.members) expect(policy).toContain(`:${member.adminPort}`);
    const html = await response.text();
    expect(html).toContain('<table id="members">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('an unknown path is 404 and a POST is 405', async () => {
    const unknown = await fetch(adminUrl(1, '/no-such-endpoint'));
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toContain('/no-such-endpoint');
    for (const path of ['/status', '/health', '/']) {
      const post = await fetch(adminUrl(1, path), { method: 'POST', body: '{}' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      await post.body?.cancel();
    }
  });

  // Last: it takes two members down.
  it('GET /health is 503 on a member left without a quorum', async () => {
    const leader = await ensemble.waitForLeader();
    const survivor = leader === 3 ? 2 : 3;
    for (const id of [1, 2, 3].filter((id) => id !== survivor)) await ensemble.kill(id);
    await until('the survivor stops serving', async () => (await fetch(adminUrl(survivor, '/health'))).status === 503);
    const { status, body } = await getJson(survivor, '/health');
    expect(status).toBe(503);
    expect(body.serving).toBe(false);
    const survivorStatus = await getJson(survivor, '/status');
    expect(survivorStatus.status).toBe(200);
    expect(survivorStatus.body.role).toBe('looking');
    expect(survivorStatus.body.leader).toBeNull();
    const metrics = await (await fetch(adminUrl(survivor, '/metrics'))).text();
    expect(sample(metrics, 'zabkit_serving')).toBe(0);
  }, 30_000);
});
