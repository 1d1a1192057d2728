import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createServer as createHttpsServer,
  type Server as HttpsServer,
  type ServerOptions as HttpsServerOptions,
} from 'node:https';
import { isIP } from 'node:net';
import { Counter } from 'prom-client';
import { serveBackup } from './backup.js';
import { type ClientTlsFiles, readClientTls } from './client-tls.js';
import { readAdminToken, type ServerConfig } from './config.js';
import { DASHBOARD_HTML, DASHBOARD_SCRIPT_HASH, DASHBOARD_STYLE_HASH } from './dashboard.js';
import type { Member } from './member.js';

/** LOOPBACK_HOSTS: the names of this machine that the admin port always answers to. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** WILDCARD_HOSTS: adminHost values that listen everywhere and so name no host a client could use. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '[::]']);

/**
 * AdminAccess is what the admin port lets in, fixed at start from the configuration (never from a
 * request): the host names a request's Host header may name, the origins whose pages may read the
 * answers (every allowed host at every member's admin port, http or https), the digest of the
 * bearer token that znode data needs (null: loopback peers only), and the dashboard's CSP.
 */
export interface AdminAccess {
  hosts: ReadonlySet<string>;
  adminPorts: ReadonlySet<number>;
  tokenDigest: Buffer | null;
  dashboardPolicy: string;
}

/**
 * adminAccess derives the admin port's rules from the configuration and the token (if any):
 * allowed hosts are loopback, the members' hosts, adminHost unless it is a wildcard, and
 * adminAllowedHosts.
 */
export function adminAccess(
  config: Pick<ServerConfig, 'members' | 'adminHost' | 'adminAllowedHosts'>,
  token: string | null,
): AdminAccess {
  const hosts = new Set<string>();
  for (const name of [
    ...LOOPBACK_HOSTS,
    ...config.members.map((member) => member.host),
    config.adminHost,
    ...config.adminAllowedHosts,
  ]) {
    const host = canonicalHost(name);
    if (host !== null && !WILDCARD_HOSTS.has(host)) hosts.add(host);
  }
  const adminPorts = new Set(config.members.map((member) => member.adminPort));
  return {
    hosts,
    adminPorts,
    tokenDigest: token === null ? null : digest(token),
    dashboardPolicy: dashboardPolicy(hosts, adminPorts),
  };
}

/** canonicalHost is a host name as a browser writes it in a URL (lowercase, IPv6 bracketed), or null if it is none. */
function canonicalHost(name: string): string | null {
  const bracketed = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  if (!/^[A-Za-z0-9.\-[\]:]+$/.test(bracketed)) return null;
  try {
    const url = new URL(`http://${bracketed}/`);
    return url.port === '' && url.username === '' ? url.hostname : null;
  } catch {
    return null;
  }
}

/** hostOf is the host name a Host header names (its port dropped), or null if the header is missing or malformed. */
function hostOf(header: string | undefined): string | null {
  if (header === undefined || !/^[A-Za-z0-9.\-[\]:]+$/.test(header)) return null;
  try {
    const url = new URL(`http://${header}/`);
    return url.username === '' ? url.hostname : null;
  } catch {
    return null;
  }
}

/**
 * allowedOrigin is the request's Origin if it is one of the ensemble's admin origins
 * (`http(s)://<allowed host>:<a member's adminPort>`), else null: only those pages may read answers.
 */
function allowedOrigin(access: AdminAccess, origin: string | undefined): string | null {
  if (origin === undefined) return null;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  if (url.origin !== origin || (url.protocol !== 'http:' && url.protocol !== 'https:')) return null;
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return access.hosts.has(url.hostname) && access.adminPorts.has(port) ? origin : null;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** isLoopback: the peer address is this machine's loopback (IPv4, IPv6, or IPv4 mapped into IPv6). */
function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address));
}

/**
 * treeRefusal says why a request may not read znode data, or null if it may: with a token
 * configured, it must carry `Authorization: Bearer <token>` (compared in constant time, digest
 * against digest); without one, it must come from a loopback peer.
 */
function treeRefusal(access: AdminAccess, request: IncomingMessage): { error: string; challenge: string } | null {
  const realm = 'Bearer realm="zabkit-admin"';
  if (access.tokenDigest === null) {
    if (isLoopback(request.socket.remoteAddress)) return null;
    return {
      error: 'znode data is served to loopback peers only: configure adminTokenFile to read it from elsewhere',
      challenge: realm,
    };
  }
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  if (!match) {
    return { error: 'znode data needs the admin token: send Authorization: Bearer <token>', challenge: realm };
  }
  if (timingSafeEqual(digest(match[1] as string), access.tokenDigest)) return null;
  return { error: 'the admin token was refused', challenge: `${realm}, error="invalid_token"` };
}

/** refusedData answers 401 (and counts it) when a request for znode data fails {@link treeRefusal}; true if it did. */
function refusedData(
  access: AdminAccess,
  request: IncomingMessage,
  response: ServerResponse,
  refusals: Counter<'rule'>,
): boolean {
  const refusal = treeRefusal(access, request);
  if (refusal === null) return false;
  refusals.inc({ rule: 'token' });
  response.setHeader('www-authenticate', refusal.challenge);
  send(response, 401, { error: refusal.error });
  return true;
}

/**
 * startAdmin serves one member's admin HTTP API: GET /health (200 while serving with a writable data
 * directory, 503 with the reason otherwise),
 * GET /status (JSON), GET /metrics (Prometheus text), GET /api/latency (recent percentiles, JSON),
 * GET /api/tree?path=/x (read-only znode browser: the bearer token of adminTokenFile, or a loopback
 * peer without one; 401 otherwise), GET /api/snapshot (a backup, same rule: backup.ts), GET / (the dashboard). Anything else is 404; only GET (and
 * HEAD) is allowed, anything else is 405, but for CORS preflights from the ensemble's admin origins.
 * Every request must name an allowed host in its Host header (421 otherwise), and only the
 * ensemble's admin origins get CORS headers. The token file is read here, at start (a ConfigError
 * if it is missing or empty).
 */
/**
 * adminHttpsOptions: the admin port's HTTPS options from adminTls (read now; a ConfigError if the
 * files do not load): TLS 1.2 or later, client certificates as configured.
 */
export function adminHttpsOptions(files: ClientTlsFiles): HttpsServerOptions {
  const tls = readClientTls(files, 'adminTls');
  const mode = tls.clientCertificates ?? 'none';
  return {
    cert: tls.cert as string,
    key: tls.key as string,
    ...(tls.ca === undefined ? {} : { ca: tls.ca as string }),
    requestCert: mode !== 'none',
    rejectUnauthorized: mode === 'require',
    minVersion: 'TLSv1.2',
  };
}

/**
 * reloadAdminTls reads adminTls again and uses it for new HTTPS connections (SIGHUP); files that
 * do not load are logged by the caller and the current certificate stays. False on a plain port.
 */
export function reloadAdminTls(server: Server | HttpsServer, member: Member): boolean {
  const files = member.config.adminTls;
  if (files === undefined || !('setSecureContext' in server)) return false;
  const options = adminHttpsOptions(files);
  server.setSecureContext({
    cert: options.cert,
    key: options.key,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  return true;
}

export async function startAdmin(member: Member, host: string, port: number): Promise<Server | HttpsServer> {
  const token = member.config.adminTokenFile === undefined ? null : readAdminToken(member.config.adminTokenFile);
  const access = adminAccess(member.config, token);
  const refusals = new Counter({
    name: 'zabkit_admin_refusals_total',
    help: 'Admin HTTP requests refused, by rule: host (Host header not allowed), origin (CORS preflight from a foreign origin), token (znode data without the token or a loopback peer)',
    labelNames: ['rule'],
    registers: [member.metrics.registry],
  });
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
  new Counter({
    name: 'zabkit_client_tls_handshake_failures_total',
    help: 'TLS handshakes that failed on the secureClientPort: plain clients, untrusted or missing client certificates, scanners',
    registers: [member.metrics.registry],
    collect() {
      this.reset();
      this.inc(member.tlsHandshakeFailures());
    },
  });
  member.metrics.gauge(
    'zabkit_client_connections_paused',
    'Client connections not read for now (request budget)',
    () => member.budgetStats().pausedConnections,
  );
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    handle(member, access, refusals, request, response).catch((error) => {
      if (!response.headersSent) send(response, 500, { error: String((error as Error).message) });
    });
  };
  const adminTls = member.config.adminTls;
  const server =
    adminTls === undefined ? createServer(handler) : createHttpsServer(adminHttpsOptions(adminTls), handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

async function handle(
  member: Member,
  access: AdminAccess,
  refusals: Counter<'rule'>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const host = hostOf(request.headers.host);
  if (host === null || !(access.hosts.has(host) || isIP(host.replace(/^\[|\]$/g, '')) !== 0)) {
    // DNS rebinding: a page of evil.example, its name pointed at this machine, is same-origin with
    // us in the browser; only the Host header it sends tells it apart. An IP address is always
    // accepted: rebinding needs a name, and probes (Kubernetes httpGet) send the pod's IP.
    refusals.inc({ rule: 'host' });
    send(response, 421, {
      error: `host not allowed: the Host header must be an IP address, or name loopback, a member's host, adminHost or one of adminAllowedHosts (got ${JSON.stringify(String(request.headers.host ?? '').slice(0, 100))})`,
    });
    return;
  }
  response.setHeader('vary', 'Origin');
  const origin = allowedOrigin(access, request.headers.origin);
  if (origin !== null) response.setHeader('access-control-allow-origin', origin);
  const url = new URL(request.url ?? '/', 'http://admin');
  if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
    if (origin === null) {
      refusals.inc({ rule: 'origin' });
      send(response, 403, { error: "CORS preflight refused: the Origin is not one of the ensemble's admin origins" });
      return;
    }
    response.writeHead(204, {
      'access-control-allow-methods': 'GET, HEAD',
      'access-control-allow-headers': 'Authorization',
      'access-control-max-age': '600',
    });
    response.end();
    return;
  }
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
        'x-content-type-options': 'nosniff',
      });
      response.end(text);
      return;
    }
    case '/api/tree': {
      if (refusedData(access, request, response, refusals)) return;
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
    case '/api/snapshot': {
      // A backup holds every znode's data: the same rule as the tree browser.
      if (refusedData(access, request, response, refusals)) return;
      if (request.method !== 'GET') {
        send(response, 405, { error: 'GET /api/snapshot streams a backup' });
        return;
      }
      void serveBackup(member.backupSource, response);
      return;
    }
    case '/':
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': access.dashboardPolicy,
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
 * admin ports on the allowed hosts, and nothing else: no page it shows can reach out. It is built
 * once from the configuration, never from a request. (`http:` sources match https too, CSP 3.)
 * CSP has no syntax for an IPv6 literal (Chromium ignores `http://[::1]:7080` with a console
 * error), so a dashboard opened on one reaches its own member only ('self').
 */
function dashboardPolicy(hosts: ReadonlySet<string>, adminPorts: ReadonlySet<number>): string {
  const admins: string[] = [];
  for (const host of hosts) {
    if (host.startsWith('[')) continue;
    for (const adminPort of adminPorts) admins.push(`http://${host}:${adminPort}`);
  }
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
  // CORS headers, if any, were set per request: only the ensemble's admin origins may read this.
  response.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(JSON.stringify(body));
}
