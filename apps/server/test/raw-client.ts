import { AUTH_XID } from '@zabkit/codec';
import type { ErrorCode, MultiReadOp, Request, Result, WatchEvent } from '@zabkit/core';
import { ClientConnection, type SessionServerMessage, type TlsClientOptions } from '@zabkit/transport-tcp';

/** XID_MAX is the largest client xid (int32); a ZooKeeper client's next xid after it is 1. */
export const XID_MAX = 0x7fff_ffff;

/** nextXidAfter is the xid a ZooKeeper client sends after `xid`: it counts up, and skips from XID_MAX to 1. */
export function nextXidAfter(xid: number): number {
  return xid >= XID_MAX ? 1 : xid + 1;
}

/** RawReply is one reply: its error code (null on success), its result and the zxid it carries. */
export interface RawReply {
  error: ErrorCode | null;
  result: Result | null;
  zxid: number;
}

interface Waiting {
  resolve(reply: RawReply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  op: string;
}

/** RawConnectOptions bound the connect. */
export interface RawConnectOptions {
  /** connectTimeoutMs bounds the TCP connect and the handshake (default 5 s). */
  connectTimeoutMs?: number;
  /** lastZxidSeen is sent in the ConnectRequest (default 0). */
  lastZxidSeen?: number;
  /** tls connects with TLS (to a secureClientPort). */
  tls?: TlsClientOptions;
}

/**
 * RawClient speaks the client protocol directly (no @zabkit/client): the server's tests need no SDK.
 * Requests are pipelined: `request` sends at once and does not wait for earlier replies. Replies
 * carry their error code; the helpers that throw on an error (`create`, `get`, `sync`) are for
 * setting up a case, the others return the raw reply so a test can check the code.
 */
export class RawClient {
  private nextXid = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** authWaiting: addAuth calls in the order sent (the server answers them in that order, xid -4). */
  private readonly authWaiting: Waiting[] = [];
  private pinger: NodeJS.Timeout | undefined;
  private readonly closeHandlers: (() => void)[] = [];
  readonly events: WatchEvent[] = [];
  closed = false;

  private constructor(
    private readonly connection: ClientConnection,
    readonly sessionId: number,
    readonly password: Uint8Array,
    /** timeoutMs is the session timeout the server negotiated. */
    readonly timeoutMs: number,
  ) {}

  static async connect(
    address: string,
    session: { sessionId: number; password: Uint8Array } = { sessionId: 0, password: new Uint8Array(16) },
    timeoutMs = 10_000,
    options: RawConnectOptions = {},
  ): Promise<RawClient> {
    const [host, port] = address.split(':') as [string, string];
    let client: RawClient | undefined;
    let closedEarly = false;
    const pendingMessages: SessionServerMessage[] = [];
    const connection = await ClientConnection.connect({
      host,
      port: Number(port),
      request: {
        lastZxidSeen: options.lastZxidSeen ?? 0,
        timeoutMs,
        sessionId: session.sessionId,
        password: session.password,
        readOnly: false,
      },
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      onMessage: (message) => (client ? client.receive(message) : pendingMessages.push(message)),
      onClose: () => {
        if (client) client.onClosed();
        else closedEarly = true;
      },
    });
    client = new RawClient(
      connection,
      connection.response.sessionId,
      connection.response.password,
      connection.response.timeoutMs,
    );
    for (const message of pendingMessages) client.receive(message);
    if (closedEarly) client.onClosed();
    return client;
  }

  private receive(message: SessionServerMessage): void {
    if (message.kind === 'watchEvent') this.events.push(message.event);
    if (message.kind === 'reply' && message.xid === AUTH_XID) {
      const waiting = this.authWaiting.shift();
      if (!waiting) return;
      clearTimeout(waiting.timer);
      waiting.resolve({ error: message.error, result: message.result, zxid: message.zxid });
      return;
    }
    if (message.kind === 'reply') {
      const waiting = this.waiting.get(message.xid);
      if (!waiting) return;
      this.waiting.delete(message.xid);
      clearTimeout(waiting.timer);
      waiting.resolve({ error: message.error, result: message.result, zxid: message.zxid });
    }
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    for (const [xid, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`connection closed before the reply to ${waiting.op} (xid ${xid})`));
    }
    this.waiting.clear();
    for (const waiting of this.authWaiting.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error('connection closed before the reply to addAuth'));
    }
    for (const handler of this.closeHandlers) handler();
  }

  /** onClose calls `handler` once the connection is gone (at once if it already is). */
  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  /** peekXid is the xid the next request will carry. */
  peekXid(): number {
    return this.nextXid;
  }

  /** setNextXid chooses the xid of the next request; later ones follow it as a ZooKeeper client's do (see nextXidAfter). */
  setNextXid(xid: number): void {
    if (!(Number.isInteger(xid) && xid >= 1 && xid <= XID_MAX)) throw new RangeError(`xid ${xid} is not in 1..2^31-1`);
    this.nextXid = xid;
  }

  /** outstanding is the number of requests sent and not yet answered. */
  get outstanding(): number {
    return this.waiting.size;
  }

  /**
   * request sends one request now (without waiting for earlier replies) and resolves with its reply
   * (error code or result); rejects if no reply comes within `timeoutMs` or the connection closes.
   */
  request(request: Request, timeoutMs = 10_000): Promise<RawReply> {
    const xid = this.nextXid;
    this.nextXid = nextXidAfter(xid);
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`connection closed: cannot send ${request.op}`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiting.delete(xid);
        reject(new Error(`no reply to ${request.op} (xid ${xid}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(xid, { resolve, reject, timer, op: request.op });
      if (!this.connection.send({ kind: 'request', xid, request })) {
        this.waiting.delete(xid);
        clearTimeout(timer);
        reject(new Error(`could not send ${request.op} (xid ${xid}): connection closed or send queue full`));
      }
    });
  }

  /** addAuth adds an identity to the connection (`digest`, `user:password`); resolves with the server's answer. */
  addAuth(scheme: string, credentials: string, timeoutMs = 10_000): Promise<RawReply> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('connection closed: cannot send addAuth'));
        return;
      }
      const waiting: Waiting = {
        resolve,
        reject,
        op: 'addAuth',
        timer: setTimeout(() => {
          const index = this.authWaiting.indexOf(waiting);
          if (index >= 0) this.authWaiting.splice(index, 1);
          reject(new Error(`no reply to addAuth within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.authWaiting.push(waiting);
      const sent = this.connection.send({
        kind: 'addAuth',
        scheme,
        credentials: new TextEncoder().encode(credentials),
      });
      if (!sent) {
        this.authWaiting.pop();
        clearTimeout(waiting.timer);
        reject(new Error('could not send addAuth: connection closed or send queue full'));
      }
    });
  }

  async create(path: string, value: string, mode: 0 | 1 = 0): Promise<string> {
    const reply = await this.createBytes(path, new TextEncoder().encode(value), mode);
    if (reply.error) throw new Error(`create ${path}: ${reply.error}`);
    return reply.result?.op === 'create' ? reply.result.path : path;
  }

  /** createBytes creates a znode with binary data; returns the raw reply. */
  createBytes(path: string, data: Uint8Array, mode: 0 | 1 = 0, timeoutMs?: number): Promise<RawReply> {
    return this.request({ op: 'create', path, data, mode, ttlMs: 0 }, timeoutMs);
  }

  async get(path: string): Promise<string | null> {
    const reply = await this.request({ op: 'getData', path, watch: false });
    if (reply.error === 'NO_NODE') return null;
    if (reply.error) throw new Error(`get ${path}: ${reply.error}`);
    return reply.result?.op === 'getData' ? new TextDecoder().decode(reply.result.data) : null;
  }

  /** getData returns the raw reply of a getData (optionally leaving a data watch). */
  getData(path: string, watch = false, timeoutMs?: number): Promise<RawReply> {
    return this.request({ op: 'getData', path, watch }, timeoutMs);
  }

  /** setData returns the raw reply of a setData (version -1: any version). */
  setData(path: string, data: Uint8Array, version = -1, timeoutMs?: number): Promise<RawReply> {
    return this.request({ op: 'setData', path, data, version }, timeoutMs);
  }

  /** exists returns the raw reply of an exists; `watch` leaves a one-shot watch whether or not the znode exists. */
  exists(path: string, watch = false, timeoutMs?: number): Promise<RawReply> {
    return this.request({ op: 'exists', path, watch }, timeoutMs);
  }

  /** getChildren returns the raw reply of a getChildren. */
  getChildren(path: string, watch = false, timeoutMs?: number): Promise<RawReply> {
    return this.request({ op: 'getChildren', path, watch }, timeoutMs);
  }

  /** multiRead returns the raw reply of a multiRead of `ops`. */
  multiRead(ops: MultiReadOp[], timeoutMs?: number): Promise<RawReply> {
    return this.request({ op: 'multiRead', ops }, timeoutMs);
  }

  async sync(path = '/'): Promise<void> {
    const reply = await this.request({ op: 'sync', path });
    if (reply.error) throw new Error(`sync: ${reply.error}`);
  }

  /** ping sends one heartbeat (the server answers with a pong, which this client ignores). */
  ping(): boolean {
    return this.connection.send({ kind: 'ping' });
  }

  /** startPinging sends a heartbeat every `intervalMs` until the connection closes, as a real client does when idle. */
  startPinging(intervalMs = Math.max(100, Math.floor(this.timeoutMs / 3))): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (!this.closed) this.ping();
    }, intervalMs);
    this.pinger.unref?.();
  }

  close(): void {
    if (this.pinger) clearInterval(this.pinger);
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

/**
 * pipelined runs `send(i)` for i in [0, count) keeping up to `window` requests in flight (a client
 * that pipelines without waiting for each reply) and returns the results in order.
 */
export async function pipelined<T>(count: number, window: number, send: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await send(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
  return results;
}
