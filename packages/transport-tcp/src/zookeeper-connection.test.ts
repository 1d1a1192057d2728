// The ZooKeeper port's translation (issue 15): ZooKeeper's clients match replies to requests in the
// order they sent them, so a reply made here without core (an op zabkit does not serve) waits
// behind the replies core still owes; core sees xids of the connection's own (1, 2, …), never the
// client's special ones (−8 for setWatches).
import {
  decodeConnectResponse,
  decodeReply,
  encodeConnectRequest,
  encodeRequest,
  OP,
  REPLY_HEADER_BYTES,
} from '@zabkit/jute';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientListener } from './client-listener.js';
import type { SessionClientMessage } from './server-connection.js';
import { HOST, rawConnect, waitFor } from './testing.js';

const listeners: ClientListener[] = [];
afterEach(async () => {
  for (const listener of listeners.splice(0)) await listener.close();
});

describe('ZooKeeperConnection', () => {
  it('answers in the order the client asked, core or not, with the client xids and op shapes', async () => {
    const received: SessionClientMessage[] = [];
    let answer: ((xid: number) => void) | undefined;
    const listener = new ClientListener({
      host: HOST,
      port: 0,
      protocol: 'zookeeper',
      onConnect(connection, request) {
        expect(request.sessionId).toBe(0);
        connection.accept({
          timeoutMs: 6_000,
          sessionId: 0x1_0000_0001,
          password: new Uint8Array(16).fill(7),
          readOnly: false,
        });
        connection.onMessage((message) => received.push(message));
        answer = (xid) =>
          connection.send({
            kind: 'reply',
            xid,
            zxid: 0x1_0000_0005,
            error: null,
            result: { op: 'getChildren', children: ['a', 'b'], stat: STAT },
          });
      },
    });
    const client = await connectNewSession(listener, false);
    await waitFor(() => client.bodies.length === 1, 'the ConnectResponse');
    const response = decodeConnectResponse(client.bodies[0] as Uint8Array);
    expect(response).toMatchObject({ sessionId: 0x1_0000_0001, timeoutMs: 6_000, readOnlySent: false });
    // getChildren2 (core), checkWatches (not served), an unknown op 999 (not served).
    client.socket.write(
      encodeRequest({
        xid: -8,
        op: OP.getChildren2,
        request: { kind: 'core', request: { op: 'getChildren', path: '/', watch: false } },
      }),
    );
    client.socket.write(
      encodeRequest({ xid: 2, op: OP.checkWatches, request: { kind: 'checkWatches', path: '/', watcherType: 3 } }),
    );
    const unknown = new Uint8Array(REPLY_HEADER_BYTES - 8);
    const header = Buffer.alloc(12);
    header.writeUInt32BE(8 + unknown.length, 0);
    header.writeInt32BE(3, 4);
    header.writeInt32BE(999, 8);
    client.socket.write(Buffer.concat([header, unknown]));
    await waitFor(() => received.length === 1, 'the core request');
    expect(received[0]).toMatchObject({ kind: 'request', xid: 1, request: { op: 'getChildren', path: '/' } });
    // Nothing may come before core's answer to the first request.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.bodies).toHaveLength(1);
    answer?.(1);
    await waitFor(() => client.bodies.length === 4, 'three replies');
    const replies = client.bodies
      .slice(1)
      .map((body, i) => decodeReply(body, [OP.getChildren2, OP.checkWatches, OP.delete][i] as number));
    expect(replies.map((reply) => [reply.xid, reply.err])).toEqual([
      [-8, 0],
      [2, -6],
      [3, -6],
    ]);
    expect(replies[0]?.response).toMatchObject({ op: 'getChildren2', children: ['a', 'b'] });
    client.socket.destroy();
  });
});

describe('ZooKeeperConnection and bad input', () => {
  it('closes a connection whose frame is malformed after the handshake, as a protocol error, logged with the address', async () => {
    const warnings: { fields: Record<string, unknown>; message: string }[] = [];
    let closedWith: string | undefined;
    const listener = new ClientListener({
      host: HOST,
      port: 0,
      protocol: 'zookeeper',
      logger: {
        debug() {},
        info() {},
        warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
      },
      onConnect(connection) {
        connection.accept({ timeoutMs: 6_000, sessionId: 7, password: new Uint8Array(16), readOnly: false });
        connection.onClose((error) => {
          closedWith = error?.code;
        });
      },
    });
    const client = await connectNewSession(listener, true);
    await waitFor(() => client.bodies.length === 1, 'the ConnectResponse');
    // A getData (op 4) whose path length runs past the frame.
    const bad = Buffer.alloc(4 + 16);
    bad.writeUInt32BE(16, 0);
    bad.writeInt32BE(1, 4);
    bad.writeInt32BE(OP.getData, 8);
    bad.writeInt32BE(1_000, 12);
    client.socket.write(bad);
    await waitFor(() => client.closed(), 'the close');
    await waitFor(() => closedWith !== undefined, 'the close handler');
    expect(closedWith).toBe('PROTOCOL');
    expect(warnings.some((w) => w.message === 'client connection closed' && w.fields.code === 'PROTOCOL')).toBe(true);
  });
});

/** connectNewSession starts `listener` and opens a ZooKeeper client connection asking for a new session. */
async function connectNewSession(listener: ClientListener, readOnlySent: boolean) {
  listeners.push(listener);
  const { port } = await listener.listen();
  const client = await rawConnect(port);
  client.socket.write(
    encodeConnectRequest({
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeoutMs: 6_000,
      sessionId: 0,
      password: new Uint8Array(16),
      readOnly: false,
      readOnlySent,
    }),
  );
  return client;
}

const STAT = {
  czxid: 1,
  mzxid: 2,
  ctime: 3,
  mtime: 4,
  version: 5,
  cversion: 6,
  aversion: 7,
  ephemeralOwner: 0,
  dataLength: 0,
  numChildren: 2,
  pzxid: 8,
};
