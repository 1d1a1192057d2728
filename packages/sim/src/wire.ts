import { encodeClientMessage, encodePeerMessage, encodeServerMessage, FRAME_HEADER_BYTES } from '@zabkit/codec';
import type { PeerMessage, Reply, Request, WatchEvent } from '@zabkit/core';

// Sizes on the simulated wire are the real ones: each message is encoded with @zabkit/codec, the
// codec the server puts on TCP, and measured as the frame body the receiving decoder checks
// against its limit. (Core's wire-size.ts bounds are what core keeps its output under; measuring
// with them too would check core's arithmetic against itself.)

const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** peerFrameBytes is the encoded body size of a peer message, as the peer mesh would frame it. */
export function peerFrameBytes(message: PeerMessage): number {
  return encodePeerMessage(message, UNLIMITED).length - FRAME_HEADER_BYTES;
}

/** replyFrameBytes is the encoded body size of a reply frame to a client. */
export function replyFrameBytes(reply: Reply): number {
  return (
    encodeServerMessage(
      { kind: 'reply', xid: reply.xid, zxid: reply.zxid, error: reply.error, result: reply.result },
      UNLIMITED,
    ).length - FRAME_HEADER_BYTES
  );
}

/** eventFrameBytes is the encoded body size of a watch event frame to a client. */
export function eventFrameBytes(event: WatchEvent): number {
  return encodeServerMessage({ kind: 'watchEvent', xid: -1, event }, UNLIMITED).length - FRAME_HEADER_BYTES;
}

/** requestFrameBytes is the encoded body size of a client's request frame. */
export function requestFrameBytes(xid: number, request: Request, linearizable: boolean): number {
  return encodeClientMessage({ kind: 'request', xid, request, linearizable }, UNLIMITED).length - FRAME_HEADER_BYTES;
}
