import type { PeerMessage } from '@zabkit/core';
import { OUTSIDER_INVARIANT } from './outsider-checker.js';
import { peerFrameBytes } from './wire.js';
import { BREAK_NOTICE_MS_MAX, describeMessage, linkKey, SimWorld } from './world.js';

/**
 * SimNetwork is the simulated network (TigerBeetle's packet_simulator): one connection per pair
 * with a generation, FIFO delivery with seeded latency, per-connection send queues bounded in bytes,
 * breaks noticed after a detection delay, late deliveries of a broken connection, partitions
 * (symmetric or one-way) and slow links. Every peer message is measured with the real codec.
 */
export abstract class SimNetwork extends SimWorld {
  protected sendMessage(from: number, to: number, message: PeerMessage): void {
    // A member talks to members only, and never votes for a server outside the configuration.
    if (!this.isMember(to)) {
      this.violation(OUTSIDER_INVARIANT, `server ${from} sends ${describeMessage(message)} to ${to}, not a member`);
    }
    // (An observer's notification names no leader: 0.)
    if (message.type === 'notification' && message.leader !== 0 && !this.isMember(message.leader)) {
      this.violation(OUTSIDER_INVARIANT, `server ${from} votes for ${message.leader}, not a member`);
    }
    // Its real size on the wire: over the peer frame limit, the receiver's decoder would refuse it
    // and drop the connection, and the sender would send it again on the next: an outage.
    const bytes = this.measure(() => peerFrameBytes(message), `${from}->${to} ${describeMessage(message)}`);
    if (bytes > this.peerFrameBytesSeen) this.peerFrameBytesSeen = bytes;
    if (bytes > this.limits.peerFrameBytesMax) {
      this.violation(
        'frame-within-limit',
        `${from}->${to} ${describeMessage(message)} is ${bytes} bytes, over peerFrameBytesMax (${this.limits.peerFrameBytesMax})`,
      );
    }
    if (message.type === 'sync') this.log(`${from}->${to} SYNC ${message.mode}`);
    const directed = `${from}>${to}`;
    if (this.blocked.has(directed)) return;
    const key = linkKey(from, to);
    const generation = this.generations.get(key) ?? 0;
    if (!this.sendQueues.admit(from, to, generation, bytes)) {
      // As TCP's SEND_QUEUE_FULL: the connection is dropped; the protocol recovers by resyncing.
      this.sendQueueBreaks++;
      this.log(
        `send queue ${from}->${to} full (${this.sendQueues.queuedBytes(from, to, generation)} + ${bytes} bytes of ${describeMessage(message)} over ${this.sendQueues.bytesMax}): the connection breaks`,
      );
      this.breakConnection(from, to);
      return;
    }
    const delay = 1 + this.prng.int(this.faults.delayMsMax) + (this.slowLinks.get(directed) ?? 0);
    // FIFO per connection, as TCP: never deliver before an earlier message on the same link.
    const time = Math.max(this.now + delay, this.lastDelivery.get(directed) ?? 0);
    this.lastDelivery.set(directed, time);
    this.queue.push(time, { kind: 'deliver', from, to, generation, stale: false, message, bytes });
  }

  /** breakConnection drops what is in flight between a and b (or lets it arrive late) and tells both ends after a detection delay. */
  protected breakConnection(a: number, b: number, immediate = false): void {
    const key = linkKey(a, b);
    const generation = this.generations.get(key) ?? 0;
    this.sendQueues.drop(a, b, generation);
    this.generations.set(key, generation + 1);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const server = this.server(to);
      if (!server.peer) continue;
      const delay = immediate ? 1 + this.prng.int(50) : 1 + this.prng.int(BREAK_NOTICE_MS_MAX);
      this.breakNoticeUntil = Math.max(this.breakNoticeUntil, this.now + delay);
      this.queue.push(this.now + delay, {
        kind: 'notifyBreak',
        server: to,
        incarnation: server.incarnation,
        peer: from,
      });
    }
  }

  protected markStale(a: number, b: number): void {
    // Messages in flight on the broken connection still arrive after the break: a late duplicate
    // path across reconnects. Their epochs and sequence checks must make them harmless.
    const key = linkKey(a, b);
    this.staleGenerations.add(`${key}#${this.generations.get(key) ?? 0}`);
  }

  protected block(a: number, b: number, both: boolean): void {
    this.blocked.add(`${a}>${b}`);
    if (both) this.blocked.add(`${b}>${a}`);
    this.breakConnection(a, b);
  }

  /** linkBlocked: a partition blocks the link between a and b in either direction (no connection can come up). */
  protected linkBlocked(a: number, b: number): boolean {
    return this.blocked.has(`${a}>${b}`) || this.blocked.has(`${b}>${a}`);
  }

  /** isolate cuts a server off from every other (both directions). */
  isolate(id: number): void {
    this.faultToken++;
    for (const other of this.servers) if (other.id !== id) this.block(id, other.id, true);
    this.log(`isolate ${id}`);
  }

  /** reconnect ends the partition of one server (every link to and from it), leaving the rest as they are. */
  reconnect(id: number): void {
    for (const link of [...this.blocked]) {
      const [from, to] = link.split('>').map(Number);
      if (from === id || to === id) this.blocked.delete(link);
    }
    this.log(`reconnect ${id}`);
    this.noteHeal();
  }

  /**
   * deliverLate delivers `message` from `from` to `to` as a message of an earlier, broken
   * connection that arrives late (what `staleDeliveryRate` does at random): it reaches `to` in a
   * millisecond, before anything the current connection carries.
   */
  deliverLate(from: number, to: number, message: PeerMessage): void {
    const key = linkKey(from, to);
    const generation = (this.generations.get(key) ?? 0) - 1;
    this.staleGenerations.add(`${key}#${generation}`);
    const bytes = peerFrameBytes(message);
    this.log(`late delivery ${from}->${to} ${describeMessage(message)}`);
    this.queue.push(this.now + 1, { kind: 'deliver', from, to, generation, stale: true, message, bytes });
  }

  /** slowLink adds `extraMs` of latency to messages from `from` to `to`, keeping the connection up. */
  slowLink(from: number, to: number, extraMs: number): void {
    this.faultToken++;
    this.slowLinks.set(`${from}>${to}`, extraMs);
    this.log(`slow link ${from}->${to} +${extraMs} ms`);
  }

  /**
   * outsiderSends has the outsider (outsider.ts) forge one message for a member; it arrives after
   * the seed's latency, drawn from the outsider's stream. Members are not partitioned from it: the
   * network does not know it from them, only their configuration does.
   */
  protected outsiderSends(): void {
    const { to, message } = this.outsider.forge();
    const delay = 1 + this.outsiderRandom.int(this.faults.delayMsMax);
    this.queue.push(this.now + delay, { kind: 'outsiderDeliver', to, message });
  }

  /** healNetwork ends every partition. */
  healNetwork(): void {
    this.blocked.clear();
    this.slowLinks.clear();
    this.log('network healed');
    this.noteHeal();
  }
}
