import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ConfigError, isLoopbackHost, resolveConfig, type ServerConfig } from './config.js';

export const HEALTH_USAGE = 'zabkit-server health [--config FILE] [--timeout-ms 3000] [--key value …]';

/** HEALTH_TIMEOUT_MS_DEFAULT: how long `health` waits for the admin port's answer. */
const HEALTH_TIMEOUT_MS_DEFAULT = 3_000;

/**
 * healthUrl is where this member's own GET /health answers, seen from inside its machine or
 * container: its adminPort on loopback when adminHost is a wildcard or loopback, else on adminHost.
 */
export function healthUrl(config: ServerConfig): string {
  const self = config.members.find((member) => member.id === config.id);
  if (self === undefined) throw new ConfigError(`id ${config.id} is not among members`);
  const host = config.adminHost;
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const target =
    bare === '0.0.0.0' || isLoopbackHost(host)
      ? '127.0.0.1'
      : bare === '::'
        ? '[::1]'
        : bare.includes(':')
          ? `[${bare}]`
          : bare;
  return `${config.adminTls === undefined ? 'http' : 'https'}://${target}:${self.adminPort}/health`;
}

/**
 * runHealth is a container's HEALTHCHECK: it reads the configuration as `start` does (a config
 * file, ZABKIT_ variables, flags; without reading the data directory or secrets), asks this
 * member's admin port for GET /health and exits 0 on 200, 1 otherwise (printing the answer or the
 * error), 2 for bad configuration. Node is all it needs: slim images have no curl.
 */
export async function runHealth(args: readonly string[]): Promise<void> {
  const rest = [...args];
  let timeoutMs = HEALTH_TIMEOUT_MS_DEFAULT;
  const at = rest.findIndex((arg) => arg === '--timeout-ms' || arg.startsWith('--timeout-ms='));
  if (at !== -1) {
    const [flag] = rest.splice(at, 1) as [string];
    const text = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : rest.splice(at, 1)[0];
    timeoutMs = Number(text);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      process.stderr.write(`zabkit-server health: --timeout-ms needs a positive integer\n`);
      process.exit(2);
    }
  }
  let url: string;
  try {
    url = healthUrl(resolveConfig(rest));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`zabkit-server health: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  // Only the status matters and the peer is this machine: an adminTls certificate names the
  // member's public name, not loopback, so it is not verified here.
  const outcome = await new Promise<{ status: number; body: string } | Error>((resolve) => {
    const call = request(url, { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', resolve);
    });
    call.on('timeout', () => call.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    call.on('error', resolve);
    call.end();
  });
  if (outcome instanceof Error) {
    process.stderr.write(`zabkit-server health: ${url}: ${outcome.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${outcome.status} ${outcome.body.trim()}\n`);
  process.exit(outcome.status === 200 ? 0 : 1);
}
