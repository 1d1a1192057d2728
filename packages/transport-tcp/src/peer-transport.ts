import type { PeerMessage } from '@zabkit/core';

/**
 * PeerTransport is all the server needs to run core over a network: send a PeerMessage to a
 * server id, hear messages and connection changes, close. Delivery is FIFO per pair of servers
 * while a connection lasts; a message sent while there is none is dropped (`send` returns false)
 * and core recovers as from any lost message (FLE resends notifications, Zab resyncs a learner).
 * `onPeerUp` tells core when resending is worthwhile.
 */
export interface PeerTransport {
  /**
   * send queues a message; false if there is no connection to `to` or it was just dropped as too
   * slow. A message the codec cannot encode throws CodecError (a bug in the sender).
   */
  send(to: number, message: PeerMessage): boolean;
  /** onMessage sets the handler of every message received, with the sender's server id. */
  onMessage(handler: (from: number, message: PeerMessage) => void): void;
  /**
   * onPeerUp sets the handler called when a connection to a server is established, with the peer
   * protocol version the two negotiated for it.
   */
  onPeerUp(handler: (serverId: number, protocolVersion: number) => void): void;
  /**
   * protocolVersion is the version negotiated with a connected server (undefined while not
   * connected): a host turns on a feature of version N only when every member it needs speaks N.
   */
  protocolVersion(serverId: number): number | undefined;
  /** onPeerDown sets the handler called when an established connection is lost. */
  onPeerDown(handler: (serverId: number, error: Error | undefined) => void): void;
  /** disconnect drops the connection to a peer (it reconnects as after any break). */
  disconnect(serverId: number, reason?: string): void;
  /** close drops every connection and stops listening. */
  close(): Promise<void>;
}
