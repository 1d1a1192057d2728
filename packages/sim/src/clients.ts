import { type ClientOutput, type Request, seededPassword, type ZabPeer } from '@zabkit/core';
import type { ClientOp } from './history.js';
import { SimHost } from './host.js';
import { eventFrameBytes, replyFrameBytes, requestFrameBytes } from './wire.js';
import type { ClientRequest } from './workload.js';
import { BULK_PIPELINE, CLIENT_TIMEOUT_MS, SESSION_TIMEOUT_MS, type SimClient, type SimServer } from './world.js';

/**
 * SimClients drives the client workload (workload.ts) as real clients would: sessions, pipelined
 * requests, timeouts and reconnects to another member, bulk loads; every reply and event is
 * measured against the client frame limit and recorded for the history checker (history.ts).
 */
export abstract class SimClients extends SimHost {
  protected stepClient(client: SimClient): void {
    this.queue.push(this.now + 20 + this.prng.int(200), { kind: 'client', client: client.id });
    if (!this.faultsOn && this.now > (this.options.safetyMs ?? 20_000) + 5_000 && client.pending.size === 0) {
      // In the liveness phase, stop issuing new work once the old is done: pending must drain. With
      // membership changes every session may have expired meanwhile (leaders come and go often):
      // a client without one still connects, so the probe write has someone to send it.
      if (!(this.options.membership && this.clients.every((c) => c.sessionId === null) && client.server === null)) {
        return;
      }
    }
    if (client.server === null) {
      this.connectClient(client);
      return;
    }
    if (client.sessionId === null) return;
    if (client.bulk.length > 0) {
      // A bulk load goes first, pipelined as a loading tool would.
      while (client.bulk.length > 0 && client.pending.size < BULK_PIPELINE && client.server !== null) {
        this.issue(client, client.bulk.shift() as Request);
      }
      return;
    }
    if (client.pending.size >= this.workload.mix.pipelineMax) return;
    const requests: ClientRequest[] = this.workload.next(client.id, client.nextXid);
    for (const { request, linearizable } of requests) {
      // A reply delivered while issuing (a server answers what it can at once) may end the
      // session or the connection: a client sends nothing more on a connection it lost.
      if (client.server === null || client.sessionId === null) break;
      this.issue(client, request, linearizable);
    }
  }

  /**
   * bulkLoad has a connected client (not one on `avoid`) create `count` fresh znodes of
   * `valueBytes` each; null when no client has a session to do it with.
   */
  protected bulkLoad(avoid: number, count: number, valueBytes: number): { done(): boolean; cancel(): void } | null {
    const loaders = this.clients.filter((c) => c.sessionId !== null && c.server !== null && c.server !== avoid);
    if (loaders.length === 0) return null;
    const client = loaders[this.prng.int(loaders.length)] as SimClient;
    const load = this.nextBulkLoad++;
    for (let i = 0; i < count; i++) client.bulk.push(this.workload.bulkWrite(load, i, valueBytes));
    this.log(`client ${client.id} loads ${count} znodes of ${valueBytes} bytes through ${client.server}`);
    return {
      done: () => client.bulk.length === 0 && client.pending.size === 0,
      cancel: () => {
        client.bulk = [];
      },
    };
  }

  protected issue(client: SimClient, request: Request, linearizable = false): number {
    const xid = client.nextXid++;
    // The workload keeps within what a real client can send; a frame over the limit is its bug.
    if (request.op === 'multi' || request.op === 'create' || request.op === 'setData') {
      const frameBytes = requestFrameBytes(xid, request, linearizable);
      if (frameBytes > this.limits.clientFrameBytesMax) {
        throw new Error(
          `workload: a ${request.op} request frame of ${frameBytes} bytes is over the client frame limit`,
        );
      }
    }
    const server = this.server(client.server as number);
    const op: ClientOp = {
      client: client.id,
      sessionId: client.sessionId as number,
      xid,
      request,
      linearizable,
      invoke: this.now,
      complete: null,
      ok: null,
      error: null,
      result: null,
      zxid: 0,
      seenAtInvoke: client.lastZxidSeen,
      auth: client.auth,
    };
    client.pending.set(xid, op);
    this.checker.record(op);
    this.aclChecker.sent(op.sessionId, xid, request, client.auth);
    this.queue.push(this.now + CLIENT_TIMEOUT_MS, {
      kind: 'clientTimeout',
      client: client.id,
      xid,
      generation: client.generation,
    });
    server.peer?.submit(client.sessionId as number, xid, request, { linearizable, auth: client.auth });
    this.pump(server);
    return xid;
  }

  protected connectClient(client: SimClient): void {
    const candidates = this.servers.filter(
      (s) => s.peer?.isServing() && s.peer.status().lastAppliedZxid >= client.lastZxidSeen && this.now >= s.pausedUntil,
    );
    if (candidates.length === 0) return;
    const server = candidates[this.prng.int(candidates.length)] as SimServer;
    const peer = server.peer as ZabPeer;
    client.server = server.id;
    client.generation++;
    if (client.sessionId !== null) {
      // Reconnect to another server within the session timeout (the session moves). Every member
      // that applied the session holds its password: a resume with it must be accepted wherever
      // the session is live, and one with any other password refused.
      if (peer.sessionTimeoutMs(client.sessionId) !== undefined) {
        if (peer.resumableSession(client.sessionId, client.password) === undefined) {
          this.violation(
            'session-password-replicated',
            `server ${server.id} refuses session ${client.sessionId}'s own password`,
          );
        }
        const wrong = client.password.slice();
        const at = this.passwords.int(wrong.length);
        wrong[at] = (wrong[at] as number) ^ (1 << this.passwords.int(8));
        if (peer.resumableSession(client.sessionId, wrong) !== undefined) {
          this.violation(
            'session-password-replicated',
            `server ${server.id} resumes session ${client.sessionId} with a wrong password`,
          );
        }
      }
      this.log(`client ${client.id} reconnects session ${client.sessionId} to ${server.id}`);
      return;
    }
    client.password = seededPassword(this.passwords);
    // A new session's connection authenticates afresh; a moved session's carries the same ids.
    client.auth = this.workload.authFor(client.id);
    client.connectId = peer.submitCreateSession(SESSION_TIMEOUT_MS, client.password);
    this.pump(server);
  }

  protected disconnectClient(client: SimClient): void {
    if (client.server !== null) {
      const server = this.server(client.server);
      if (client.sessionId !== null) server.peer?.detachSession(client.sessionId);
    }
    for (const op of client.pending.values()) this.checker.complete(op, this.now, null, 'CONNECTION_LOSS', null, 0);
    client.pending.clear();
    client.server = null;
    client.connectId = null;
    client.generation++;
  }

  protected deliverToClients(server: SimServer, outputs: ClientOutput[]): void {
    for (const output of outputs) {
      // What reaches a client must fit one client frame, or the server could not send it.
      if (output.type === 'reply' || output.type === 'event') {
        const frameBytes = this.measure(
          () => (output.type === 'reply' ? replyFrameBytes(output.reply) : eventFrameBytes(output.event)),
          `server ${server.id}: ${output.type} ${JSON.stringify(output.type === 'reply' ? output.reply.result?.op : output.event.type)}`,
        );
        if (frameBytes > this.limits.clientFrameBytesMax) {
          const what =
            output.type === 'reply'
              ? `reply to xid ${output.reply.xid} (${output.reply.result?.op ?? output.reply.error})`
              : `watch event on ${output.event.path}`;
          this.violation(
            'frame-within-limit',
            `server ${server.id}: ${what} is ${frameBytes} bytes, over clientFrameBytesMax (${this.limits.clientFrameBytesMax})`,
          );
        }
        if (output.type === 'reply' && output.reply.error === 'MARSHALLING_ERROR') this.marshallingErrors++;
      }
      if (output.type === 'sessionCreated' || output.type === 'connectFailed') {
        const client = this.clients.find((c) => c.server === server.id && c.connectId === output.connectId);
        if (!client) {
          this.scripted.set(`c${server.id}:${output.connectId}`, output);
          continue;
        }
        client.connectId = null;
        if (output.type === 'sessionCreated') {
          client.sessionId = output.sessionId;
          this.log(`client ${client.id} session ${output.sessionId} via ${server.id}`);
        } else {
          client.server = null;
        }
        continue;
      }
      if (output.type === 'sessionClosed') {
        const client = this.clients.find((c) => c.sessionId === output.sessionId);
        if (client) {
          if (client.server !== null) {
            for (const op of client.pending.values()) {
              if (op.request.op !== 'closeSession') continue;
            }
          }
          if (client.server === server.id || client.server === null) {
            this.failAll(client, 'SESSION_EXPIRED');
            client.sessionId = null;
            client.server = null;
            client.lastZxidSeen = Math.max(client.lastZxidSeen, 0);
          }
        }
        continue;
      }
      if (output.type === 'event') continue;
      const reply = output.reply;
      const client = this.clients.find((c) => c.sessionId === reply.sessionId && c.server === server.id);
      if (!client) {
        this.scripted.set(`r${server.id}:${reply.sessionId}:${reply.xid}`, output);
        continue;
      }
      const op = client.pending.get(reply.xid);
      if (!op) continue;
      client.pending.delete(reply.xid);
      this.checker.complete(op, this.now, reply.error === null, reply.error, reply.result, reply.zxid);
      if (reply.error === null || reply.error !== 'CONNECTION_LOSS') {
        client.lastZxidSeen = Math.max(client.lastZxidSeen, reply.zxid);
      }
      const isWrite = ['create', 'delete', 'setData', 'setACL', 'multi'].includes(op.request.op);
      if (isWrite && reply.error !== 'CONNECTION_LOSS' && reply.error !== 'SESSION_EXPIRED') {
        this.ackedWriteChecker.acknowledged(reply.zxid);
      }
      if (reply.error === 'CONNECTION_LOSS') this.disconnectClient(client);
      if (reply.error === 'SESSION_EXPIRED') {
        this.failAll(client, 'SESSION_EXPIRED');
        client.sessionId = null;
        client.server = null;
      }
    }
  }

  protected failAll(client: SimClient, error: 'SESSION_EXPIRED'): void {
    for (const op of client.pending.values()) this.checker.complete(op, this.now, null, error, null, 0);
    client.pending.clear();
    client.generation++;
  }
}
