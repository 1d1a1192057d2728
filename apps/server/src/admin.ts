import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DASHBOARD_HTML, DASHBOARD_SCRIPT_HASH, DASHBOARD_STYLE_HASH } from './dashboard.js';
import type { Member } from './member.js';

/**
 * startAdmin serves one member's admin HTTP API: GET /health (200 while serving with a writable data
 * directory, 503 with the reason otherwise),
 * GET /status (JSON), GET /metrics (Prometheus text), GET /api/latency (recent percentiles, JSON),
 * GET /api/tree?path=/x (read-only znode browser), GET / (the dashboard). Anything else is 404;
 * only GET (and HEAD) is allowed, anything else is 405.
 */
export async function startAdmin(member: Member, host: string, port: number): Promise<Server> {
  member.metrics.gauge('zabkit_sessions', 'Live sessions in the replicated tree', () => member.status().sessions);
  member.metrics.gauge('zabkit_znodes', 'Znodes in this replica', () => member.status().znodes);
  member.metrics.gauge('zabkit_watches', 'Watches registered on this member', () => member.status().watches);
  member.metrics.gauge('zabkit_serving', '1 while this member serves clients', () => (member.isServing() ? 1 : 0));
  member.metrics.gauge(
    'zabkit_storage_writable',
    '1 while the data directory takes writes and snapshots succeed',
    () => (member.storageHealth.problem === null ? 1 : 0),
  );
  member.metrics.gauge(
    'zabkit_request_bytes_inflight',
    'Bytes of client requests received and not yet answered',
    () => member.budgetStats().requestBytesInflight,
  );
  member.metrics.gauge(
    'zabkit_requests_inflight',
    'Client requests received and not yet answered',
    () => member.budgetStats().requestsInflight,
  );
  member.metrics.gauge(
    'zabkit_partial_frame_bytes',
    'Bytes client connections hold in incomplete frames (bounded by partialFrameBytesMax)',
    () => member.listenerStats().partialFrameBytes,
  );
  member.metrics.gauge(
    'zabkit_client_connections_paused',
    'Client connections not read for now (request budget)',
    () => member.budgetStats().pausedConnections,
  );
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
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    send(response, 405, { error: 'only GET is allowed' });
    return;
  }
  switch (url.pathname) {
    case '/health': {
      // 200 only while the member serves clients and its data directory takes writes.
      const serving = member.isServing();
      const storage = member.storageHealth.problem;
      const reason = storage ?? (serving ? null : 'not serving: no established leader');
      send(response, reason === null ? 200 : 503, {
        serving,
        role: member.status().role,
        storage: storage ?? 'ok',
        ...(reason !== null && { reason }),
      });
      return;
    }
    case '/status':
      send(response, 200, { ...member.status(), appliedPerSecond: member.metrics.appliedPerSecond() });
      return;
    case '/api/latency':
      send(response, 200, member.metrics.latency());
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
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': dashboardPolicy(member, request.headers.host),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      response.end(DASHBOARD_HTML);
      return;
    default:
      send(response, 404, { error: `no such endpoint: ${url.pathname}` });
  }
}

/**
 * dashboardPolicy lets the dashboard run its own inline script and style and talk to the members'
 * admin ports on the host it was loaded from, and nothing else: no page it shows can reach out.
 */
function dashboardPolicy(member: Member, hostHeader: string | undefined): string {
  let hostname: string | null = null;
  try {
    hostname = new URL(`http://${hostHeader ?? ''}`).hostname;
  } catch {
    hostname = null;
  }
  const admins =
    hostname && /^[A-Za-z0-9.\-[\]:]+$/.test(hostname)
      ? member.config.members.map((m) => `http://${hostname}:${m.adminPort}`)
      : [];
  return [
    "default-src 'none'",
    `script-src '${DASHBOARD_SCRIPT_HASH}'`,
    `style-src '${DASHBOARD_STYLE_HASH}'`,
    `connect-src 'self' ${admins.join(' ')}`.trim(),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  // Read-only JSON: the dashboard of one member polls the others' admin ports.
  response.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
  response.end(JSON.stringify(body));
}
