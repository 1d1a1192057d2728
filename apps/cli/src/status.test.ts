import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminEndpoints, memberStatuses, statusTable } from './status.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** adminServer answers GET /status like a member's admin port. */
async function adminServer(body: (port: number) => unknown): Promise<number> {
  const server = createServer((request, response) => {
    const port = (server.address() as AddressInfo).port;
    if (request.url !== '/status') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body(port)));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('status', () => {
  it('derives admin endpoints from client ports (7181 → 7080)', () => {
    expect(adminEndpoints('a:7181,b:7182,[::1]:7183/chroot')).toEqual(['a:7080', 'b:7081', '[::1]:7082']);
    expect(() => adminEndpoints('a:50')).toThrow(/--admin/);
  });

  it('asks the members one endpoint names, and reports unreachable ones', async () => {
    const ports: number[] = [];
    const member = (id: number, role: string) => () => ({
      id,
      role,
      established: true,
      epoch: 2,
      zxid: '0x200000007',
      leader: 2,
      sessions: 3,
      znodes: 9,
      members: ports.map((adminPort, i) => ({ id: i + 1, host: '127.0.0.1', adminPort })),
    });
    ports.push(await adminServer(member(1, 'following')), await adminServer(member(2, 'leading')));
    const closed = await adminServer(() => ({}));
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const rows = await memberStatuses([`127.0.0.1:${ports[0]}`, `127.0.0.1:${closed}`], 1_000);
    expect(rows.map((row) => [row.id, row.role, row.zxid, row.leader])).toEqual([
      [1, 'following', '0x200000007', 2],
      [2, 'leading', '0x200000007', 2],
      [null, 'unreachable', null, null],
    ]);
    expect(rows[2]!.error).toMatch(/ECONNREFUSED|fetch failed/);
    const text = statusTable(rows);
    expect(text.split('\n')[0]).toMatch(
      /^ID\s+ADMIN\s+ROLE\s+ESTABLISHED\s+EPOCH\s+ZXID\s+LEADER\s+SESSIONS\s+ZNODES$/,
    );
    expect(text).toContain('leading');
    expect(text).toContain('unreachable');
  });
});
