import { createRequire } from 'node:module';

/**
 * node-zookeeper-client 1.1.3 parses each reply in its socket's 'data' handler and throws when a
 * frame is shorter than its header says ("offset: 4 is out of buffer range."): seen once in the F1
 * failover of a ZooKeeper ensemble, as a killed leader's connection went. Thrown from a socket
 * handler, that is an uncaught exception and ended the whole bench. Guarded here: a reply the
 * client cannot parse drops its connection, as a socket error does, and the client reconnects
 * (its own 'error' and 'close' handling), which is what a client should do with a bad frame.
 */
interface ConnectionManagerLike {
  pendingBuffer: Buffer | null;
  socket?: { destroy(error?: Error): void };
  onSocketData(buffer: Buffer): void;
}

const require = createRequire(import.meta.url);
const { prototype } = require('node-zookeeper-client/lib/ConnectionManager.js') as {
  prototype: ConnectionManagerLike;
};
const parse = prototype.onSocketData;
let guarded = 0;

prototype.onSocketData = function onSocketData(this: ConnectionManagerLike, buffer: Buffer): void {
  try {
    parse.call(this, buffer);
  } catch (error) {
    guarded++;
    this.pendingBuffer = null;
    this.socket?.destroy(error instanceof Error ? error : new Error(String(error)));
  }
};

/** unparsedReplies: how many connections the guard dropped for a reply it could not parse. */
export function unparsedReplies(): number {
  return guarded;
}
