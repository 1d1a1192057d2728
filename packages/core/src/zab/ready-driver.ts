import type { Snapshot } from '../storage.js';
import type { LogEntry } from '../types.js';
import { splitEarlyMessages } from './early-messages.js';
import type { ClientOutput, LogRead, Outbound, Ready, ZabPeer } from './peer.js';

/**
 * ReadyIo is what a host does with a Ready besides persisting it: the network and the clients.
 * Each method is called with what the contract allows at that moment (see {@link ReadyDriver}).
 */
export interface ReadyIo {
  /** send hands messages to the network, in order. */
  send(messages: readonly Outbound[]): void;
  /** deliver hands replies, watch events and session notices to the client connections, in order. */
  deliver(outputs: readonly ClientOutput[]): void;
  /** disconnect drops the connections to these peers (they reconnect as after any break). */
  disconnect(peers: readonly number[]): void;
  /**
   * peers (optional) takes the new set of servers to stay connected to after a membership change
   * (Ready.peers): connect to the new ones, drop the others. A host without it keeps its static mesh.
   */
  peers?(peers: readonly number[]): void;
  /**
   * readLog (optional) starts reading the durable log for a leader's DIFF from disk (Ready.logReads;
   * storage.ts `readLogEntries` does it) and answers each read with `peer.logRead` once done, then
   * runs the loop again. A host without it answers every read with null at once: give such a host's
   * peer no diskDiffFactor.
   */
  readLog?(reads: readonly LogRead[]): void;
  /**
   * applied (optional) sees each entry as it becomes visible to clients, once, in zxid order,
   * before any client output that may show it: at begin, a Ready's `snapshot` (if installed) and
   * its `applied` entries not seen yet; at deliverClients, those applied since. For a host's
   * checks (the simulator observes committed entries here).
   */
  applied?(entries: readonly LogEntry[], snapshot: Snapshot | null): void;
}

/** ReadyDriverOptions choose the one allowed variation of the host loop. */
export interface ReadyDriverOptions {
  /**
   * early sends the leader's PROPOSAL, COMMIT and INFORM before the persist (core's
   * `splitEarlyMessages`): they vouch for nothing in the batch, so followers log beside the leader.
   * Default true; false keeps every message for after the persist.
   */
  early?: boolean;
}

/**
 * ReadyDriver is core's host loop, the one every host runs (zabkit-server, the simulator, core's
 * tests), with the I/O injected. It carries out one Ready at a time, in the contract's order:
 *
 * 1. {@link begin} takes the next Ready, sends the messages that may leave before the persist and
 *    delivers its client outputs; it returns the Ready, whose `truncateAfter`, `snapshot`,
 *    `entries` and `epochs` the host now persists, each durably (fsync) before the next — awaited,
 *    or over virtual time;
 * 2. {@link finish}, once that is durable, sends the other messages (they acknowledge it), drops
 *    the connections in `disconnect`, and advances the peer.
 *
 * While the persist runs, {@link deliverClients} hands over the client outputs queued since begin.
 * Client outputs never wait for a persist: a reply or watch event shows only entries applied here,
 * and core applies an entry only once it is committed and durable here; so a read answered while
 * an fsync runs, or the replies to writes applied in this batch, do not wait for the fsync of the
 * entries this batch appends. Nothing that vouches for what is not yet durable can leave before
 * `finish`: that is the rule every ZooKeeper sync-path data-loss bug broke, and the simulator
 * checks it on every seed.
 */
export class ReadyDriver {
  private current: { ready: Ready; afterPersist: Outbound[] } | null = null;
  /** appliedEarly: how many of the next Ready's applied entries deliverClients has shown already. */
  private appliedEarly = 0;
  private readonly early: boolean;

  constructor(
    private readonly peer: ZabPeer,
    private readonly io: ReadyIo,
    options: ReadyDriverOptions = {},
  ) {
    this.early = options.early ?? true;
  }

  /** busy is true between begin and finish: a Ready is being persisted. */
  get busy(): boolean {
    return this.current !== null;
  }

  /**
   * begin takes the next Ready, if there is one and none is in flight, and sends its early
   * messages. The host persists the returned Ready, then calls {@link finish}.
   */
  begin(): Ready | null {
    if (this.current !== null || !this.peer.hasReady()) return null;
    const ready = this.peer.ready();
    if (this.io.applied) {
      const fresh = this.appliedEarly > 0 ? ready.applied.slice(this.appliedEarly) : ready.applied;
      if (fresh.length > 0 || ready.snapshot !== null) this.io.applied(fresh, ready.snapshot);
    }
    this.appliedEarly = 0;
    if (this.early) {
      const { early, afterPersist } = splitEarlyMessages(ready);
      if (early.length > 0) this.io.send(early);
      this.current = { ready, afterPersist };
    } else {
      this.current = { ready, afterPersist: ready.messages };
    }
    if (ready.toClients.length > 0) this.io.deliver(ready.toClients);
    // Reads ask only for entries durable long since: they need not wait for this persist.
    if (ready.logReads.length > 0) {
      if (this.io.readLog) this.io.readLog(ready.logReads);
      else for (const read of ready.logReads) this.peer.logRead(read, null);
    }
    return ready;
  }

  /**
   * deliverClients delivers the client outputs queued since the last begin (replies to reads that
   * arrived meanwhile, and the like), in order after that Ready's. A host calls it when something
   * arrives while a persist runs; at other times the next {@link begin} delivers them anyway.
   */
  deliverClients(): void {
    const { outputs, applied } = this.peer.takeClientOutputs();
    this.appliedEarly += applied.length;
    if (applied.length > 0) this.io.applied?.(applied, null);
    if (outputs.length > 0) this.io.deliver(outputs);
  }

  /** finish completes the Ready begun last, now durable: the rest of its messages, disconnects, advance. */
  finish(): Ready {
    const current = this.current;
    if (current === null) throw new Error('ReadyDriver.finish() without a Ready begun');
    this.current = null;
    const { ready, afterPersist } = current;
    if (afterPersist.length > 0) this.io.send(afterPersist);
    if (ready.disconnect.length > 0) this.io.disconnect(ready.disconnect);
    if (ready.peers !== null) this.io.peers?.(ready.peers);
    this.peer.advance();
    return ready;
  }
}
