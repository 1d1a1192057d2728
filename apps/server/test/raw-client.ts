import type { Request, Result, WatchEvent } from '@zabkit/core';
import { ClientConnection, type SessionServerMessage } from '@zabkit/transport-tcp';

/** RawClient speaks the client protocol directly (no @zabkit/client): the server's tests need no SDK. */
export class RawClient {
  private nextXid = 1;
  private readonly waiting = new Map<number, (message: Extract<SessionServerMessage, { kind: 'reply' }>) => void>();
  readonly events: WatchEvent[] = [];
  closed = false;

  private constructor(
    private readonly connection: ClientConnection,
    readonly sessionId: number,
    readonly password: Uint8Array,
  ) {}

  static async connect(
    address: string,
    session: { sessionId: number; password: Uint8Array } = { sessionId: 0, password: new Uint8Array(16) },
    timeoutMs = 10_000,
  ): Promise<RawClient> {
    const [host, port] = address.split(':') as [string, string];
    let client: RawClient | undefined;
    const pendingMessages: SessionServerMessage[] = [];
    const connection = await ClientConnection.connect({
      host,
      port: Number(port),
      request: {
        lastZxidSeen: 0,
        timeoutMs,
        sessionId: session.sessionId,
        password: session.password,
        readOnly: false,
      },
      connectTimeoutMs: 5_000,
      onMessage: (message) => (client ? client.receive(message) : pendingMessages.push(message)),
      onClose: () => {
        if (client) client.closed = true;
      },
    });
    client = new RawClient(connection, connection.response.sessionId, connection.response.password);
    for (const message of pendingMessages) client.receive(message);
    return client;
  }

  private receive(message: SessionServerMessage): void {
    if (message.kind === 'watchEvent') this.events.push(message.event);
    if (message.kind === 'reply') {
      const resolve = this.waiting.get(message.xid);
      this.waiting.delete(message.xid);
      resolve?.(message);
    }
  }

  /** request sends one request and resolves with its reply (error code or result). */
  request(
    request: Request,
    timeoutMs = 10_000,
  ): Promise<{ error: string | null; result: Result | null; zxid: number }> {
    const xid = this.nextXid++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(xid);
        reject(new Error(`no reply to ${request.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(xid, (message) => {
        clearTimeout(timer);
        resolve({ error: message.error, result: message.result, zxid: message.zxid });
      });
      this.connection.send({ kind: 'request', xid, request });
    });
  }

  async create(path: string, value: string, mode: 0 | 1 = 0): Promise<string> {
    const reply = await this.request({ op: 'create', path, data: new TextEncoder().encode(value), mode, ttlMs: 0 });
    if (reply.error) throw new Error(`create ${path}: ${reply.error}`);
    return reply.result?.op === 'create' ? reply.result.path : path;
  }

  async get(path: string): Promise<string | null> {
    const reply = await this.request({ op: 'getData', path, watch: false });
    if (reply.error === 'NO_NODE') return null;
    if (reply.error) throw new Error(`get ${path}: ${reply.error}`);
    return reply.result?.op === 'getData' ? new TextDecoder().decode(reply.result.data) : null;
  }

  async sync(path = '/'): Promise<void> {
    const reply = await this.request({ op: 'sync', path });
    if (reply.error) throw new Error(`sync: ${reply.error}`);
  }

  close(): void {
    this.connection.close();
  }
}

/** until polls `check` until it returns true, or throws after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
