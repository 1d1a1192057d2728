import {
  type ClientOutput,
  formatZxid,
  type LogEntry,
  type LogRead,
  ReadyDriver,
  type RecoveredState,
  ZabPeer,
} from '@zabkit/core';
import { SIM_TIMEOUTS } from './liveness.js';
import { MemberStorage } from './member-storage.js';
import { SimNetwork } from './network.js';
import { checkRecovery, RECOVERY_INVARIANT } from './storage-checker.js';
import { checkVouch, type DurableState, VOUCH_INVARIANT } from './vouch-checker.js';
import { describeError, linkKey, type SimEvent, type SimServer, TICK_MS } from './world.js';

/**
 * SimHost is each member's process: core's host loop (ReadyDriver) over a ZabPeer, its real
 * FileStorage on a simulated disk whose fsyncs take virtual time (member-storage.ts), crashes that
 * lose or tear what was not synced, recovery through FileStorage.load() held to what was durable
 * (storage-checker.ts), pauses, and every message checked as it leaves (vouch-checker.ts).
 */
export abstract class SimHost extends SimNetwork {
  /** memberStorage gives a member its FileStorage on a simulated disk whose fsyncs take virtual time. */
  protected memberStorage(server: SimServer): MemberStorage {
    return new MemberStorage(
      () => this.syncGate(server),
      (line) => this.log(`${server.id}: ${line}`),
    );
  }

  /**
   * syncGate is one fsync of a member's storage: it completes after part of the persist's time (the
   * 'fsync' event), or, at a scenario's crash point, never: the member crashes there.
   */
  protected syncGate(server: SimServer): Promise<void> {
    this.running--;
    if (server.crashAtSync !== null && server.crashAtSync-- === 0) {
      server.crashAtSync = null;
      this.completions.push(() => this.crash(server));
      return new Promise(() => undefined);
    }
    const waitMs = this.prng.int(server.fsyncBudgetMs + 1);
    server.fsyncBudgetMs -= waitMs;
    return new Promise((release) => {
      this.queue.push(this.now + waitMs, {
        kind: 'fsync',
        server: server.id,
        incarnation: server.incarnation,
        release,
      });
    });
  }

  /**
   * start recovers a member from its disk through FileStorage's load() (no virtual time passes),
   * holds what it recovered to what its storage had confirmed (storage-checker.ts), then starts it.
   */
  protected start(server: SimServer): void {
    // A new process holds no connection of an earlier one: it has no break to notice, only
    // connections coming up (announced once it runs, SimEventLoop.noteHeal).
    for (const other of this.servers) {
      if (other !== server)
        this.notified.set(`${other.id}>${server.id}`, this.generations.get(linkKey(server.id, other.id)) ?? 0);
    }
    if (server.peer || server.loading) return;
    server.held = [];
    server.incarnation++;
    server.loading = true;
    const incarnation = server.incarnation;
    this.running++;
    this.pendingDrain = true;
    server.storage.load().then(
      (recovered) => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          server.loading = false;
          const wrong = checkRecovery(server.id, recovered, server.storage);
          if (wrong !== null) this.violation(RECOVERY_INVARIANT, wrong);
          server.storage.adopt(recovered);
          this.startPeer(server, recovered);
        });
      },
      (error: unknown) => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          this.violation(RECOVERY_INVARIANT, `server ${server.id}: FileStorage.load() failed: ${describeError(error)}`);
        });
      },
    );
  }

  protected startPeer(server: SimServer, recovered: RecoveredState): void {
    this.liveness.started(server.id);
    server.pausedUntil = 0;
    server.wasEstablished = false;
    server.crashAtSync = null;
    const machine = this.options.makeMachine(this.limits);
    server.peer = new ZabPeer(
      {
        id: server.id,
        voters: server.configured?.voters ?? this.voterIds,
        observers: server.configured?.observers ?? this.observerIds,
        ...(server.configured && { joinVersion: server.configured.version }),
        random: this.prng.fork(),
        machine,
        ...SIM_TIMEOUTS,
        historyEntriesMax: this.options.historyEntriesMax ?? 200,
        diskDiffFactor: this.diskDiffFactor,
        syncBatchEntriesMax: 50,
        snapChunkRecordsMax: 50,
        limits: this.limits,
        ...(this.options.unsafeMembershipRule !== undefined && {
          unsafeMembershipRule: this.options.unsafeMembershipRule,
        }),
      },
      recovered,
    );
    server.driver = new ReadyDriver(server.peer, {
      send: (messages) => {
        for (const { to, message } of messages) {
          // Checked as it leaves, as core's test ensemble does: what it acknowledges is durable by now.
          const wrong = checkVouch(server.id, to, message, this.durableState(server));
          if (wrong !== null) this.violation(VOUCH_INVARIANT, wrong);
          if (message.type === 'sync') this.syncs[message.mode]++;
          this.sendMessage(server.id, to, message);
        }
      },
      // What is applied is the replica's state before any reply showing it leaves (ReadyIo.applied).
      applied: (entries, snapshot) => {
        // A SNAP install moves the replica to the snapshot's zxid without applying entries one by one.
        if (snapshot) server.lastApplied = snapshot.header.zxid;
        this.observeApplied(server, entries as LogEntry[]);
      },
      deliver: (outputs) => this.deliverToClients(server, outputs as ClientOutput[]),
      disconnect: (peers) => {
        for (const id of peers) {
          this.log(`${server.id} drops its connection to ${id}`);
          this.breakConnection(server.id, id);
        }
      },
      // The simulated network connects every pair; the change of peers is traced (a server's
      // transport would dial the new members and close the others).
      peers: (peers) => this.log(`${server.id} peers now ${peers.join(',')}`),
      readLog: (reads) => {
        for (const read of reads) this.readLog(server, read);
      },
    });
    server.lastApplied = server.peer.status().lastAppliedZxid;
    this.log(`start ${server.id}#${server.incarnation} last=${formatZxid(server.peer.status().lastLoggedZxid)}`);
    this.queue.push(this.now + 1 + this.prng.int(TICK_MS), {
      kind: 'tick',
      server: server.id,
      incarnation: server.incarnation,
    });
    this.pump(server);
  }

  /**
   * diskDiffFactor is every member's PeerConfig.diskDiffFactor: 0 (always SNAP behind the in-memory
   * history), ZooKeeper's 0.33, or 1000 (DIFF from disk whenever the log holds it), by seed, so every seed runs one
   * and the three are spread evenly.
   */
  protected get diskDiffFactor(): number {
    return this.options.diskDiffFactor ?? ([0, 0.33, 1000][this.options.seed % 3] as number);
  }

  /**
   * readLog carries out a LogRead over the member's FileStorage, as zabkit-server does; the answer
   * reaches the peer as a 'logRead' event up to fsyncMsMax later (a disk read takes time too).
   */
  private readLog(server: SimServer, read: LogRead): void {
    const incarnation = server.incarnation;
    this.running++;
    this.pendingDrain = true;
    const answer = (entries: LogEntry[] | null) => {
      this.running--;
      this.completions.push(() => {
        if (server.incarnation !== incarnation) return;
        const delayMs = this.prng.int(this.faults.fsyncMsMax + 1);
        this.queue.push(this.now + delayMs, { kind: 'logRead', server: server.id, incarnation, read, entries });
      });
    };
    server.storage.readLog(read).then(answer, (error: unknown) => {
      this.log(`${server.id}: log read after ${formatZxid(read.afterZxid)} failed: ${describeError(error)}`);
      answer(null);
    });
  }

  protected crash(server: SimServer, autoRestart = true): void {
    if (!server.peer) return;
    // The disk keeps what was synced and a random prefix of the rest, the next write maybe torn.
    server.storage.crash(this.prng);
    this.log(`crash ${server.id}#${server.incarnation}`);
    this.crashes++;
    this.faultToken++;
    server.peer = null;
    server.driver = null;
    server.incarnation++;
    server.clientsScheduled = false;
    for (const other of this.servers) if (other !== server) this.breakConnection(server.id, other.id, true);
    for (const client of this.clients) if (client.server === server.id) this.disconnectClient(client);
    if (autoRestart && this.faultsOn) {
      this.queue.push(this.now + 200 + this.prng.int(3_000), { kind: 'restart', server: server.id });
    }
  }

  protected restartNow(id: number, options: { wipe?: boolean } = {}): void {
    const server = this.server(id);
    if (server.peer || server.loading) throw new Error(`server ${id} is running`);
    if (options.wipe) {
      server.storage.wipe();
      // A member rebuilt on an empty disk is given the ensemble's current configuration (membership runs).
      if (this.options.membership) {
        const latest = this.timeline.latest();
        server.configured = { voters: latest.voters, observers: latest.observers, version: latest.version };
      }
    }
    this.start(server);
    this.noteHeal();
  }

  /** pause stops a running server's process for `ms`: what reaches it waits, in arrival order. */
  pause(id: number, ms: number): void {
    const server = this.server(id);
    if (!server.peer) return;
    this.faultToken++;
    // A pause never ends earlier than one already running: that would reorder the queued messages.
    server.pausedUntil = Math.max(server.pausedUntil, this.now + ms);
    this.log(`pause ${id} until ${server.pausedUntil}`);
    this.queue.push(server.pausedUntil, { kind: 'unpause', server: id });
  }

  /** hold keeps an event for a paused server until the pause ends (arrival order preserved). */
  protected hold(server: SimServer, event: SimEvent): boolean {
    if (this.now >= server.pausedUntil && server.held.length === 0) return false;
    if (this.now >= server.pausedUntil) {
      // Older held events go first.
      server.held.push(event);
      this.queue.push(this.now, { kind: 'unpause', server: server.id });
      return true;
    }
    server.held.push(event);
    return true;
  }

  /**
   * pump runs core's host loop (ReadyDriver) one step: begin takes the next Ready and sends what may
   * leave before the persist; the persist takes virtual time; the 'persisted' event finishes it.
   */
  protected pump(server: SimServer): void {
    const driver = server.driver;
    if (!driver || this.now < server.pausedUntil || server.held.length > 0) return;
    if (driver.busy) {
      // What came while the persist runs: its client outputs go out on the next turn, as
      // zabkit-server's do (never inside the call that queued them).
      if (!server.clientsScheduled) {
        server.clientsScheduled = true;
        this.queue.push(this.now, { kind: 'clients', server: server.id, incarnation: server.incarnation });
      }
      return;
    }
    const ready = driver.begin();
    if (ready === null) return;
    const incarnation = server.incarnation;
    const persisted = () => this.queue.push(this.now, { kind: 'persisted', server: server.id, incarnation });
    const keep = this.options.beforePersist?.(server.id, ready);
    server.crashAtSync = keep ?? null;
    const persists =
      ready.entries.length > 0 || ready.epochs !== null || ready.snapshot !== null || ready.truncateAfter !== null;
    if (!persists) {
      if (keep !== undefined) this.crash(server);
      else persisted();
      return;
    }
    // The persist takes up to fsyncMsMax of virtual time, shared among its fsyncs.
    server.fsyncBudgetMs = this.prng.int(this.faults.fsyncMsMax + 1);
    this.running++;
    this.pendingDrain = true;
    server.storage.persist(ready).then(
      () => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          if (server.crashAtSync !== null) {
            // The scenario's crash point lies past the last fsync: durable, nothing sent yet.
            this.crash(server);
            return;
          }
          persisted();
        });
      },
      (error: unknown) => {
        this.running--;
        this.completions.push(() => {
          if (server.incarnation !== incarnation) return;
          this.violation('storage-works', `server ${server.id}: persisting failed: ${describeError(error)}`);
        });
      },
    );
  }

  /** durableState is what the server's disk holds durably: the end of its history and its epochs. */
  protected durableState(server: SimServer): DurableState {
    return server.storage.durableState();
  }

  /**
   * settle lets the members' storage run: FileStorage is asynchronous, and on a simulated disk it
   * resolves without real I/O, so turning the event loop until every persist and recovery has
   * finished or waits on an fsync gate is exact; then the completions run in the order they came.
   * Called between events, so a seed replays exactly.
   */
  protected async settle(): Promise<void> {
    let turns = 0;
    while (this.pendingDrain || this.running > 0 || this.completions.length > 0) {
      this.pendingDrain = false;
      // Storage on a simulated disk resolves on microtasks: yielding one at a time lets every
      // queued continuation run first (FIFO), far cheaper than a turn of the event loop. Writing a
      // snapshot yields to the event loop between chunks: then a turn is needed.
      for (let spins = 0; this.running > 0 && spins < 1_000; spins++) await null;
      if (this.running > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (++turns > 100_000) throw new Error('simulation: storage never settles');
      }
      const work = this.completions;
      this.completions = [];
      for (const complete of work) complete();
    }
  }
}
