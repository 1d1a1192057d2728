import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DASHBOARD_HTML } from './dashboard.js';
import type { Member } from './member.js';

/**
 * startAdmin serves one member's admin HTTP API: GET /health (200 while serving, 503 otherwise),
 * GET /status (JSON), GET /metrics (Prometheus text), GET /api/tree?path=/x (read-only znode
 * browser), GET / (the dashboard). Anything else is 404; only GET is allowed.
 */
export async function startAdmin(member: Member, host: string, port: number): Promise<Server> {
  member.metrics.gauge('zabkit_sessions', 'Live sessions in the replicated tree', () => member.status().sessions);
  member.metrics.gauge('zabkit_znodes', 'Znodes in this replica', () => member.status().znodes);
  member.metrics.gauge('zabkit_watches', 'Watches registered on this member', () => member.status().watches);
  member.metrics.gauge('zabkit_serving', '1 while this member serves clients', () => (member.isServing() ? 1 : 0));
  const server = createServer((request, response) => {
    handle(member, request, response).catch((error) => {
      if (!response.headersSent) send(response, 500, { error: String((error as Error).message) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

async function handle(member: Member, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://admin');
  if (request.method !== 'GET') {
    send(response, 405, { error: 'only GET is allowed' });
    return;
  }
  switch (url.pathname) {
    case '/health': {
      const serving = member.isServing();
      send(response, serving ? 200 : 503, { serving, role: member.status().role });
      return;
    }
    case '/status':
      send(response, 200, { ...member.status(), appliedPerSecond: member.metrics.appliedPerSecond() });
      return;
    case '/metrics': {
      const text = await member.metrics.registry.metrics();
      response.writeHead(200, {
        'content-type': member.metrics.registry.contentType,
        'access-control-allow-origin': '*',
      });
      response.end(text);
      return;
    }
    case '/api/tree': {
      const path = url.searchParams.get('path') ?? '/';
      const { data, children } = member.readTree(path);
      if (data.error !== null) {
        send(response, data.error === 'NO_NODE' ? 404 : 400, { error: data.error, path });
        return;
      }
      const result = data.result?.op === 'getData' ? data.result : null;
      const names = children.result?.op === 'getChildren' ? children.result.children : [];
      const bytes = result?.data ?? new Uint8Array(0);
      send(response, 200, {
        path,
        stat: result?.stat ?? null,
        data: new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096)),
        dataLength: bytes.length,
        children: names,
      });
      return;
    }
    case '/':
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(DASHBOARD_HTML);
      return;
    default:
      send(response, 404, { error: `no such endpoint: ${url.pathname}` });
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  // Read-only JSON: the dashboard of one member polls the others' admin ports.
  response.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
  response.end(JSON.stringify(body));
}
