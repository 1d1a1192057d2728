import { AUTH_XID, type ConnectRefusedReason, type ConnectResponse } from '@zabkit/codec';
import type { ErrorCode, MultiOpResult, MultiReadOpResult, Result } from '@zabkit/core';
import {
  decodeRequest,
  encodeConnectResponse,
  encodeNotification,
  encodeReply,
  isKnownRequestOp,
  JuteError,
  type JuteMultiResult,
  type JuteResponse,
  juteErrorCode,
  OP,
  peekHeader,
  XID,
} from '@zabkit/jute';
import type { FramedSocket } from './framed-socket.js';
import { PAUSED_UNTIL_ACCEPT, ServerConnection, type SessionReply } from './server-connection.js';

/** ERR_RECONFIG_DISABLED is ZooKeeper's RECONFIGDISABLED: zabkit's membership is not changed through reconfig (yet). */
const ERR_RECONFIG_DISABLED = -123;

/** A request the client sent, waiting for its answer in the session's order. */
interface Pending {
  /** xid: the client's xid, echoed in the reply. */
  xid: number;
  /** op: the client's op code, which decides the reply's shape (create vs create2, getChildren vs getChildren2). */
  op: number;
  /** multiOps: for a multi or multiRead, each op's code (create vs create2 inside it). */
  multiOps: readonly number[];
  /** ready: a reply made here, without core (an op zabkit does not serve), sent in its turn. */
  ready?: Uint8Array;
}

/**
 * ZooKeeperConnection is a client connection of a ZooKeeper client (the Java client, Curator,
 * kazoo, the C client, node-zookeeper-client …), speaking jute. To the server it is a
 * ServerConnection like any other: requests arrive as core Requests under xids of this
 * connection's own (1, 2, …, so a ZooKeeper client's special xids, −8 for setWatches, never
 * reach core), pings and auth packets as zabkit's; replies, events and pongs are written back in
 * jute with the client's xid and the shape its op code asked for. Sessions, watches, ephemerals
 * and ACLs are the same ones zabkit clients see.
 *
 * Replies leave in the order the client sent its requests (ZooKeeper's clients insist): an op
 * answered here without core (one zabkit does not serve) waits behind the requests before it.
 */
export class ZooKeeperConnection extends ServerConnection {
  override readonly protocol = 'zookeeper' as const;
  private readonly pending = new Map<number, Pending>();
  /** order: the internal xids in the order sent, oldest first (replies must leave in this order). */
  private order: number[] = [];
  private orderHead = 0;
  private nextXid = 1;
  /** lastZxid: the highest zxid a reply carried, for pongs (ZooKeeper's ping replies carry one). */
  private lastZxid = 0;

  constructor(
    framed: FramedSocket,
    frameBytesMax: number,
    id: number,
    /** readOnlySent: the client's ConnectRequest had the readOnly byte (3.4-era clients do not send it, nor expect it back). */
    private readonly readOnlySent: boolean,
  ) {
    super(framed, frameBytesMax, id, 0);
  }

  override accept(response: Omit<ConnectResponse, 'kind' | 'protocolVersion'>): void {
    if (this.state !== 'connecting') throw new Error(`cannot accept a connection that is ${this.state}`);
    this.state = 'accepted';
    this.framed.send(encodeConnectResponse({ protocolVersion: 0, ...response }, this.readOnlySent));
    this.framed.resume(PAUSED_UNTIL_ACCEPT);
  }

  /**
   * refuse ends the connection as ZooKeeper does: an expired (or unknown) session gets a
   * ConnectResponse with timeout 0 and session id 0, which every ZooKeeper client reads as
   * SESSION_EXPIRED; any other refusal just closes (the client tries another server).
   */
  override refuse(reason: ConnectRefusedReason, _message: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (reason === 'SESSION_EXPIRED') {
      this.framed.send(
        encodeConnectResponse(
          { protocolVersion: 0, timeoutMs: 0, sessionId: 0, password: new Uint8Array(16), readOnly: false },
          this.readOnlySent,
        ),
      );
    }
    this.framed.close();
  }

  override send(message: SessionReply): boolean {
    if (this.state !== 'accepted') return false;
    switch (message.kind) {
      case 'pong':
        return this.framed.send(encodeReply(XID.ping, this.lastZxid, 0, { op: 'empty' }));
      case 'watchEvent':
        return this.framed.send(
          encodeNotification({ type: message.event.type, path: message.event.path, zxid: message.event.zxid }),
        );
      case 'reply': {
        if (message.zxid > this.lastZxid) this.lastZxid = message.zxid;
        if (message.xid === AUTH_XID) {
          return this.framed.send(encodeReply(XID.auth, message.zxid, errorNumber(message.error), { op: 'empty' }));
        }
        const pending = this.pending.get(message.xid);
        if (pending === undefined) return true;
        pending.ready = replyOf(pending, message.zxid, message.error, message.result);
        return this.flush();
      }
    }
  }

  /** @internal the listener hands each jute frame here once the session is accepted. */
  deliverFrame(body: Uint8Array, frameBytes: number): void {
    let frame: ReturnType<typeof decodeRequest>;
    try {
      frame = decodeRequest(body);
    } catch (error) {
      // An op this server does not know gets UNIMPLEMENTED in its turn, as from ZooKeeper; a
      // malformed frame closes the connection (the listener logs it).
      if (!JuteError.isInstance(error) || body.length < 8) throw error;
      const { xid, op } = peekHeader(body);
      if (isKnownRequestOp(op)) throw error;
      this.answerHere(this.track(xid, op, []), juteErrorCode('UNIMPLEMENTED'));
      return;
    }
    const request = frame.request;
    switch (request.kind) {
      case 'ping':
        this.deliver({ kind: 'ping' }, frameBytes);
        return;
      case 'auth':
        this.deliver({ kind: 'addAuth', scheme: request.scheme, credentials: request.credentials }, frameBytes);
        return;
      case 'core': {
        const xid = this.track(frame.xid, frame.op, frame.multiOps ?? []);
        this.deliver({ kind: 'request', xid, request: request.request }, frameBytes);
        return;
      }
      case 'getAllChildrenNumber':
      case 'whoAmI': {
        // Served by core like any read (whoAmI answers the ids this connection holds).
        const xid = this.track(frame.xid, frame.op, []);
        const core =
          request.kind === 'whoAmI'
            ? ({ op: 'whoAmI' } as const)
            : ({ op: 'getAllChildrenNumber', path: request.path } as const);
        this.deliver({ kind: 'request', xid, request: core }, frameBytes);
        return;
      }
      case 'reconfig': {
        const xid = this.track(frame.xid, frame.op, []);
        this.answerHere(xid, ERR_RECONFIG_DISABLED);
        return;
      }
      default: {
        // checkWatches and sasl: not served; the client gets UNIMPLEMENTED in its turn.
        const xid = this.track(frame.xid, frame.op, []);
        this.answerHere(xid, juteErrorCode('UNIMPLEMENTED'));
      }
    }
  }

  private track(clientXid: number, op: number, multiOps: readonly number[]): number {
    const xid = this.nextXid;
    this.nextXid = xid >= 0x7fff_ffff ? 1 : xid + 1;
    this.pending.set(xid, { xid: clientXid, op, multiOps });
    this.order.push(xid);
    return xid;
  }

  private answerHere(xid: number, err: number): void {
    const pending = this.pending.get(xid) as Pending;
    pending.ready = encodeReply(pending.xid, this.lastZxid, err, { op: 'empty' });
    this.flush();
  }

  /** flush sends the replies that are ready, oldest first, up to the first one still waiting. */
  private flush(): boolean {
    let sent = true;
    while (this.orderHead < this.order.length) {
      const xid = this.order[this.orderHead] as number;
      const pending = this.pending.get(xid);
      if (pending?.ready === undefined) break;
      this.pending.delete(xid);
      this.orderHead++;
      sent = this.framed.send(pending.ready) && sent;
    }
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    return sent;
  }
}

function errorNumber(error: ErrorCode | null): number {
  return error === null ? 0 : juteErrorCode(error);
}

/** replyOf encodes core's answer to a request in the shape the client's op code asked for. */
function replyOf(pending: Pending, zxid: number, error: ErrorCode | null, result: Result | null): Uint8Array {
  // exists of a missing znode: ZooKeeper answers NONODE (its clients turn that into null).
  if (error === null && result?.op === 'exists' && result.stat === null) {
    return encodeReply(pending.xid, zxid, juteErrorCode('NO_NODE'), { op: 'empty' });
  }
  if (result?.op === 'multi' || result?.op === 'multiRead') {
    // A multi always carries its results, failed or not, with err 0 in the header: ZooKeeper's
    // clients read the per-op results only then (a failed op is an error result).
    const results = result.results.map((item, i) => multiResultOf(item, pending.multiOps[i] ?? OP.check));
    return encodeReply(pending.xid, zxid, 0, { op: result.op, results });
  }
  if (error !== null || result === null) return encodeReply(pending.xid, zxid, errorNumber(error), { op: 'empty' });
  return encodeReply(pending.xid, zxid, 0, responseOf(pending.op, result));
}

function responseOf(op: number, result: Result): JuteResponse {
  switch (result.op) {
    case 'create':
      return op === OP.create
        ? { op: 'create', path: result.path }
        : { op: 'create2', path: result.path, stat: result.stat };
    case 'setData':
    case 'setACL':
      return { op: 'stat', stat: result.stat };
    case 'exists':
      return result.stat === null ? { op: 'empty' } : { op: 'stat', stat: result.stat };
    case 'getData':
      return { op: 'getData', data: result.data, stat: result.stat };
    case 'getACL':
      return { op: 'getACL', acl: result.acl, stat: result.stat };
    case 'getChildren':
      return op === OP.getChildren
        ? { op: 'getChildren', children: result.children }
        : { op: 'getChildren2', children: result.children, stat: result.stat };
    case 'sync':
      return { op: 'sync', path: result.path };
    case 'getEphemerals':
      return { op: 'getEphemerals', paths: result.paths };
    case 'getAllChildrenNumber':
      return { op: 'getAllChildrenNumber', count: result.count };
    case 'whoAmI':
      return { op: 'whoAmI', clientInfo: result.ids.map((id) => ({ authScheme: id.scheme, user: id.id })) };
    case 'addWatch':
      // ZooKeeper answers addWatch with an ErrorResponse {err 0}, which its Java client reads.
      return { op: 'addWatch' };
    default:
      // delete, check, removeWatches, setWatches, closeSession: no body.
      return { op: 'empty' };
  }
}

function multiResultOf(item: MultiOpResult | MultiReadOpResult, op: number): JuteMultiResult {
  switch (item.op) {
    case 'create':
      return op === OP.create ? { op: 'create', path: item.path } : { op: 'create2', path: item.path, stat: item.stat };
    case 'delete':
      return { op: 'delete' };
    case 'setData':
      return { op: 'setData', stat: item.stat };
    case 'check':
      return { op: 'check' };
    case 'getData':
      return { op: 'getData', data: item.data, stat: item.stat };
    case 'getChildren':
      return { op: 'getChildren', children: item.children };
    case 'error':
      return { op: 'error', err: juteErrorCode(item.code) };
  }
}
