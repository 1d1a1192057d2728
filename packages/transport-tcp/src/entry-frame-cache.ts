import type { PeerMessage } from '@zabkit/core';

/**
 * EntryFrameCache encodes a PROPOSAL or INFORM once for all the peers it goes to. Core queues one
 * such message per learner (its outbox merges a Ready's entries per peer), each its own object but
 * holding the same LogEntry objects in the same order, so encoding each one costs the leader a
 * msgpack pass per follower for identical bytes. The cache keeps the last frame it encoded and
 * hands it out again for a message of the same type and epoch whose entries are the very same
 * objects, in the same order: equal by reference, hence equal bytes (log entries are never
 * changed once made). Anything else is encoded as before. Frames are only read once made (a
 * socket write, a TLS encryption), so two sockets may send the one buffer.
 */
export class EntryFrameCache {
  private last: { type: 'proposal' | 'inform'; epoch: number; entries: readonly unknown[]; frame: Uint8Array } | null =
    null;

  constructor(private readonly encode: (message: PeerMessage) => Uint8Array) {}

  /** frameOf returns the frame of `message`, from the last one encoded when it carries the same entries. */
  frameOf(message: PeerMessage): Uint8Array {
    if (message.type !== 'proposal' && message.type !== 'inform') return this.encode(message);
    const last = this.last;
    if (
      last !== null &&
      last.type === message.type &&
      last.epoch === message.epoch &&
      sameObjects(last.entries, message.entries)
    ) {
      return last.frame;
    }
    const frame = this.encode(message);
    // A copy of the list: core may append to the message's own array after it was sent.
    this.last = { type: message.type, epoch: message.epoch, entries: message.entries.slice(), frame };
    return frame;
  }
}

function sameObjects(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}
