import {
  encodeClientMessage,
  encodeLogEntry,
  encodePeerMessage,
  encodeServerMessage,
  FRAME_HEADER_BYTES,
} from '@zabkit/codec';
import type { LogEntry, PeerMessage, Reply, Request, WatchEvent } from '@zabkit/core';

// Sizes on the simulated wire are the real ones: each message is encoded with @zabkit/codec, the
// codec the server puts on TCP, and measured as the frame body the receiving decoder checks
// against its limit. (Core's wire-size.ts bounds are what core keeps its output under; measuring
// with them too would check core's arithmetic against itself.)

const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * peerFrameBytes is the encoded body size of a peer message, as the peer mesh would frame it. A
 * message of entries (PROPOSAL, INFORM, the entries of a sync) is measured in parts, exactly:
 * msgpack is context-free, so it is its envelope with no entries, the array header for its count
 * instead of for none, and each entry as encodeLogEntry writes it (the shape these messages embed),
 * measured once per entry: every learner's PROPOSAL carries the same entries, and each member
 * applies them; encoding them again for each was a quarter of a run.
 */
export function peerFrameBytes(message: PeerMessage): number {
  if (message.type === 'proposal' || message.type === 'inform' || message.type === 'entries') {
    const envelope = encodePeerMessage({ ...message, entries: [] }, UNLIMITED).length - FRAME_HEADER_BYTES;
    let bytes = envelope - arrayHeaderBytes(0) + arrayHeaderBytes(message.entries.length);
    for (const entry of message.entries) bytes += logEntryFrameBytes(entry);
    // Now and then, the whole encoding as well: measuring in parts must never drift from it.
    if (++measuredInParts % 512 === 0 && bytes !== peerFrameBytesEncoded(message)) {
      throw new Error(
        `wire: ${message.type} measured as ${bytes} bytes in parts, ${peerFrameBytesEncoded(message)} whole`,
      );
    }
    return bytes;
  }
  return encodePeerMessage(message, UNLIMITED).length - FRAME_HEADER_BYTES;
}

let measuredInParts = 0;
const entryBytes = new WeakMap<LogEntry, number>();

/** logEntryFrameBytes is the encoded size of one entry inside a message (entries are never changed once proposed). */
function logEntryFrameBytes(entry: LogEntry): number {
  let bytes = entryBytes.get(entry);
  if (bytes === undefined) {
    bytes = encodeLogEntry(entry).length;
    entryBytes.set(entry, bytes);
  }
  return bytes;
}

/** arrayHeaderBytes is the size of a msgpack array header: fixarray, array 16 or array 32. */
function arrayHeaderBytes(length: number): number {
  return length < 16 ? 1 : length < 0x1_0000 ? 3 : 5;
}

/** peerFrameBytesEncoded measures a peer message by encoding it whole (the reference peerFrameBytes must equal). */
export function peerFrameBytesEncoded(message: PeerMessage): number {
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
