import { randomInt } from 'node:crypto';
import {
  CLIENT_PROTOCOL_VERSIONS,
  type ConnectRequest,
  PEER_PROTOCOL_VERSIONS,
  type ProtocolVersions,
} from '@zabkit/codec';
import {
  configText,
  createPrng,
  createTreeMachine,
  formatZxid,
  type Limits,
  type LogEntry,
  type LogRead,
  logEntryBytes,
  membersJson,
  membersOf,
  type Outbound,
  type PeerMessage,
  type PeerStatus,
  peerSendQueueBytesMax,
  type Ready,
  ReadyDriver,
  readLogEntries,
  ZabInvariantError,
  ZabPeer,
} from '@zabkit/core';
import { type FileStorage, openFileStorage } from '@zabkit/storage';
import { ClientListener, type ClientListenerStats, PeerMesh, type ServerConnection } from '@zabkit/transport-tcp';
import type { Logger } from 'pino';
import { type BackupSource, memberBackupSource } from './backup.js';
import { ClientSessions } from './client-sessions.js';
import { readClientTls, watchClientTls } from './client-tls.js';
import { isLoopbackHost, limitsOf, readPeerSecret, type ServerConfig } from './config.js';
import { answerFourLetterWord, type FourLetterWordFacts } from './four-letter-words.js';
import { hugePagesOf } from './huge-pages.js';
import {
  clusterMemberOf,
  initialMembers,
  MembershipView,
  reconfigRefusal,
  type StatusMember,
  statusMembers,
} from './membership.js';
import { Metrics } from './metrics.js';
import { readPeerTls } from './peer-tls-files.js';
import { peerProtocolOptions } from './protocol-announce.js';
import { RequestBudget } from './request-budget.js';
import { StorageHealth } from './storage-health.js';

/** MISSED_TICKS_MAX bounds the ticks caught up after a pause (enough for every protocol timeout). */
const MISSED_TICKS_MAX = 1_000;

/** MemberStatus is what GET /status reports. */
export interface MemberStatus {
  id: number;
  pid: number;
  role: PeerStatus['role'];
  phase: PeerStatus['phase'];
  established: boolean;
  epoch: number;
  acceptedEpoch: number;
  currentEpoch: number;
  zxid: string;
  lastLoggedZxid: string;
  committedZxid: string;
  leader: number | null;
  /**
   * config is the last configuration this member logged: its version (the reconfig's zxid, 0 for
   * the one the ensemble started with), whether it is committed, whether this member votes in the
   * configurations in force, and its text as `/zookeeper/config` shows it.
   */
  config: { version: string; committed: boolean; voting: boolean; text: string };
  /** members are the members of that configuration, with their native ports (membership.ts). */
  members: StatusMember[];
  /**
   * protocolVersions are the versions this member speaks (README "Rolling upgrade"): peer and
   * client ranges, and the peer version it announces when it dials (above peer.max only under the
   * test hook ZABKIT_TEST_PEER_PROTOCOL_ANNOUNCE).
   */
  protocolVersions: { peer: ProtocolVersions; peerAnnounced: number; client: ProtocolVersions };
  sessions: number;
  connections: number;
  znodes: number;
  watches: number;
  outstanding: number;
  uptimeMs: number;
}

/**
 * Member is one running zabkit server: ZabPeer driven over real TCP (PeerMesh, ClientListener) and
 * disk (FileStorage), following core's host loop: persist what a Ready asks (truncate, snapshot,
 * append, epochs, each fsynced), only then send its messages, deliver its client output, advance.
 * Requests that arrive while an fsync runs join the next Ready: group commit falls out of the loop.
 */
export class Member {
  /** clients: the client connections on every client port, and their sessions. */
  private readonly clients: ClientSessions;
  private pumping = false;
  private pumpScheduled = false;
  private tickTimer: NodeJS.Timeout | undefined;
  /** lastTickMs: the wall-clock time the ticks so far account for. */
  private lastTickMs = Date.now();
  private stopping = false;
  private appliedSinceSnapshot = 0;
  private appliedBytesSinceSnapshot = 0;
  /** listenerCloses: the listener's limit closes already counted in metrics. */
  private listenerCloses = { partialFrameBudget: 0, frameTimeout: 0 };
  private snapshotRunning = false;
  private lastRole: PeerStatus['role'] = 'looking';
  private wasServing = false;
  private electionStartedMs = Date.now();
  private readonly startedMs = Date.now();
  private readonly lastContactMs = new Map<number, number>();
  private readonly upPeers = new Set<number>();
  /** announceVersion: the peer protocol version the mesh offers first (the test hook's, or its own). */
  private announceVersion: number = PEER_PROTOCOL_VERSIONS.max;
  private fatalHandler: (error: Error) => void = () => {};
  private readonly budget: RequestBudget<ServerConnection>;
  private readonly driver: ReadyDriver;
  /** membership resolves the members of the configurations in force to addresses (membership.ts). */
  readonly membership: MembershipView;
  /** storageHealth says whether the data directory still takes writes (GET /health). */
  readonly storageHealth: StorageHealth;

  private constructor(
    readonly config: ServerConfig,
    /** limits are the byte limits derived from the config, shared with core. */
    readonly limits: Limits,
    private readonly peer: ZabPeer,
    private readonly storage: FileStorage,
    private readonly mesh: PeerMesh,
    /** listener is the plain client port (clientPort), if configured. */
    private readonly listener: ClientListener | undefined,
    readonly metrics: Metrics,
    private readonly logger: Logger,
    /** secureListener is the TLS client port (secureClientPort), if configured. */
    private readonly secureListener?: ClientListener,
  ) {
    this.budget = new RequestBudget(config.requestsOutstandingPerConnectionMax, config.requestBytesInflightMax);
    this.clients = new ClientSessions({
      config,
      peer,
      metrics,
      logger,
      budget: this.budget,
      isStopping: () => this.stopping,
      schedule: () => this.schedule(),
      contained: (input, what, work, onError) => this.contained(input, what, work, onError),
    });
    this.storageHealth = new StorageHealth(config.dataDir, config.storageCheckMs, logger);
    this.membership = new MembershipView(config);
    this.driver = new ReadyDriver(peer, {
      send: (messages) => this.sendToPeers(messages),
      peers: (ids) => this.connectTo(ids),
      deliver: (outputs) => this.clients.deliver(outputs),
      disconnect: (peers) => {
        for (const id of peers) {
          this.logger.warn({ peer: id }, 'dropping the connection to a learner whose synchronization stalled');
          this.mesh.disconnect(id, 'its synchronization stalled past initLimit');
        }
      },
      readLog: (reads) => {
        for (const read of reads) this.readLog(read);
      },
    });
  }

  /** start opens the data directory, recovers, and begins serving on the configured ports. */
  static async start(config: ServerConfig, logger: Logger): Promise<Member> {
    const self = config.members.find((member) => member.id === config.id);
    if (!self) throw new Error(`member ${config.id} is not configured`);
    const loadStarted = performance.now();
    const storage = await openFileStorage({
      dir: config.dataDir,
      snapshotRetainCount: config.snapshotRetainCount,
      logger: { warn: (message, fields) => logger.warn({ ...fields }, message) },
    });
    const recovered = await storage.load();
    logger.info(
      {
        snapshotZxid: recovered.snapshot ? formatZxid(recovered.snapshot.header.zxid) : null,
        entries: recovered.entries.length,
        acceptedEpoch: recovered.epochs.acceptedEpoch,
        currentEpoch: recovered.epochs.currentEpoch,
        loadMs: Math.round(performance.now() - loadStarted),
        // sinceStartMs: since the process started (module loading included), as with each phase below.
        sinceStartMs: Math.round(performance.now()),
      },
      'recovered from disk',
    );
    const limits = limitsOf(config);
    const peerQueueBytesMax = peerSendQueueBytesMax(limits, config.requestBytesInflightMax);
    logger.info(
      {
        dataBytesMax: limits.dataBytesMax,
        pathBytesMax: limits.pathBytesMax,
        clientFrameBytesMax: limits.clientFrameBytesMax,
        entryBytesMax: limits.entryBytesMax,
        peerFrameBytesMax: limits.peerFrameBytesMax,
        peerSendQueueBytesMax: peerQueueBytesMax,
      },
      'limits',
    );
    // A joining member is in no configuration yet: the ensemble's list without it is version 0 here.
    const initial = initialMembers(config);
    const voters = initial.filter((member) => member.role === 'voter').map((member) => member.id);
    const observers = initial.filter((member) => member.role === 'observer').map((member) => member.id);
    const treeStarted = performance.now();
    const peer = new ZabPeer(
      {
        id: config.id,
        voters,
        observers,
        ...(config.joinVersion !== undefined && { joinVersion: config.joinVersion }),
        random: createPrng(randomInt(0, 2 ** 31)),
        machine: createTreeMachine({
          tickMs: config.tickMs,
          sessionTimeoutMsMin: config.sessionTimeoutMsMin,
          sessionTimeoutMsMax: config.sessionTimeoutMsMax,
          limits,
          // What ZooKeeper clients read under /zookeeper (getConfig reads /zookeeper/config).
          // zabkit's /zookeeper/members: the same members with their native ports (membership.ts).
          systemNodes: {
            config: Buffer.from(ensembleConfigText(config)),
            members: Buffer.from(
              membersJson({ version: 0, members: initial.map((m) => clusterMemberOf(m, config.clientHost)) }),
            ),
            quota: new Uint8Array(0),
          },
        }),
        tickMs: config.tickMs,
        electionTimeoutTicks: config.electionTimeoutTicks,
        finalizeWaitTicks: config.finalizeWaitTicks,
        initLimitTicks: config.initLimitTicks,
        syncLimitTicks: config.syncLimitTicks,
        historyEntriesMax: config.historyEntriesMax,
        diskDiffFactor: config.diskDiffFactor,
        limits,
        reconfigRefusal: () => (member === undefined ? 'the member is starting' : member.reconfigRefusal()),
      },
      recovered,
    );
    // The tree built from the snapshot and the log entries above it: the rest of a restart's cost.
    const treeMs = Math.round(performance.now() - treeStarted);
    const metrics = new Metrics(config.id);
    let member: Member | undefined;
    // The rolling-upgrade test hooks (protocol-announce.ts); nothing in production sets them.
    const peerProtocol = peerProtocolOptions(process.env, (fields, message) => logger.warn(fields, message));
    const mesh = new PeerMesh({
      serverId: config.id,
      listen: { host: self.host, port: self.peerPort },
      // The members of the configurations in force: the JSON list until a change is on disk.
      peers: new MembershipView(config).peerAddresses(
        membersOf(peer.configs()).filter((id) => id !== config.id),
        peer.configs(),
      ).peers,
      frameBytesMax: limits.peerFrameBytesMax,
      sendQueueBytesMax: peerQueueBytesMax,
      secret: config.peerSecretFile === undefined ? undefined : readPeerSecret(config.peerSecretFile),
      ...(config.peerTls === undefined ? {} : { tls: readPeerTls(config.peerTls, config.id) }),
      ...peerProtocol,
      logger: logger.child({ component: 'peers' }),
    });
    const clientPortOptions = {
      host: config.clientHost ?? self.host,
      connectionsMax: config.connectionsMax,
      connectionsPerAddressMax: config.connectionsPerAddressMax,
      frameBytesMax: limits.clientFrameBytesMax,
      partialFrameBytesMax: config.partialFrameBytesMax,
      frameTimeoutMs: config.frameTimeoutMs,
      onConnect: (connection: ServerConnection, request: ConnectRequest) =>
        member?.clients.onConnect(connection, request),
      logger: logger.child({ component: 'clients' }),
    };
    const listener =
      self.clientPort === undefined ? undefined : new ClientListener({ ...clientPortOptions, port: self.clientPort });
    // The TLS client port, beside the plain one or alone: the same sessions, the same limits.
    const secureListener =
      self.secureClientPort === undefined || config.clientTls === undefined
        ? undefined
        : new ClientListener({
            ...clientPortOptions,
            port: self.secureClientPort,
            tls: readClientTls(config.clientTls),
          });
    // ZooKeeper's wire protocol, beside the native ports: the same onConnect, the same sessions.
    const zookeeperPortOptions = {
      ...clientPortOptions,
      protocol: 'zookeeper' as const,
      fourLetterWord: (word: string) => member?.fourLetterWord(word) ?? null,
      logger: logger.child({ component: 'zookeeper-clients' }),
    };
    const zookeeperListeners: ClientListener[] = [];
    if (self.zookeeperPort !== undefined) {
      zookeeperListeners.push(new ClientListener({ ...zookeeperPortOptions, port: self.zookeeperPort }));
    }
    if (self.secureZookeeperPort !== undefined && config.clientTls !== undefined) {
      zookeeperListeners.push(
        new ClientListener({
          ...zookeeperPortOptions,
          port: self.secureZookeeperPort,
          tls: readClientTls(config.clientTls),
        }),
      );
    }
    member = new Member(config, limits, peer, storage, mesh, listener, metrics, logger, secureListener);
    member.zookeeperListeners = zookeeperListeners;
    member.announceVersion = peerProtocol.announceVersion ?? mesh.protocolVersions.max;
    mesh.onMessage((from, message) => member?.onPeerMessage(from, message));
    mesh.onPeerUp((id) => {
      member?.upPeers.add(id);
      // A looking member sends its vote over the new connection at once (its earlier ones were lost).
      peer.connected(id);
      member?.schedule();
    });
    mesh.onPeerDown((id) => {
      member?.upPeers.delete(id);
      peer.disconnected(id);
      member?.schedule();
    });
    if (config.peerTls !== undefined) {
      logger.info({ peerHost: self.host }, 'peers authenticate with mutual TLS (peerTls)');
    }
    if (config.peerSecretFile !== undefined) {
      logger.info({ peerHost: self.host }, 'peers authenticate with the shared secret of peerSecretFile');
    } else if (config.peerTls === undefined && !isLoopbackHost(self.host)) {
      logger.warn(
        { peerHost: self.host },
        'insecure: the peer port is open beyond loopback without peerSecretFile or peerTls; anyone who reaches it can join the ensemble as a member',
      );
    }
    await mesh.start();
    await listener?.listen();
    for (const zookeeperListener of zookeeperListeners) await zookeeperListener.listen();
    if (zookeeperListeners.length > 0) {
      logger.info(
        {
          zookeeperPort: self.zookeeperPort,
          secureZookeeperPort: self.secureZookeeperPort,
          fourLetterWords: config.fourLetterWords,
        },
        'ZooKeeper client port open',
      );
    }
    if (secureListener !== undefined && config.clientTls !== undefined) {
      await secureListener.listen();
      const files = config.clientTls;
      member.unwatchTls = watchClientTls(files, () => member?.reloadClientTls('the certificate files changed'));
      logger.info(
        { secureClientPort: self.secureClientPort, clientCertificates: files.clientCertificates },
        'TLS client port open',
      );
    }
    member.tickTimer = setInterval(() => member?.tick(), config.tickMs);
    member.tickTimer.unref?.();
    member.storageHealth.start();
    logger.info(
      {
        clientPort: self.clientPort,
        secureClientPort: self.secureClientPort,
        peerPort: self.peerPort,
        role: self.role,
        treeMs,
        sinceStartMs: Math.round(performance.now()),
        hugePages: hugePagesOf(),
      },
      'member started',
    );
    member.schedule();
    return member;
  }

  /**
   * onFatal is called when the member must stop: a failed write or fsync of the log or epochs (it
   * must not acknowledge what it cannot persist), or a broken invariant in core (a bug: better to
   * stop than to serve wrong data). Nothing a client or a peer sends leads here.
   */
  onFatal(handler: (error: Error) => void): void {
    this.fatalHandler = handler;
  }

  private fatal(error: unknown, message: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.fatal({ err: error }, message);
    this.fatalHandler(error as Error);
  }

  /**
   * contained runs one input's work on core (a peer message, a client request, a tick). A broken
   * invariant is fatal; any other exception is that input's alone: logged, and `onError` (close
   * the connection it came from) — the member keeps serving.
   */
  private contained(
    input: Parameters<Metrics['inputFailed']>[0],
    what: string,
    work: () => void,
    onError: (error: unknown) => void = () => {},
  ): void {
    try {
      work();
    } catch (error) {
      if (error instanceof ZabInvariantError) {
        this.fatal(error, `invariant broken while handling ${what}: stopping rather than serving possibly wrong data`);
        return;
      }
      this.metrics.inputFailed(input);
      this.logger.error({ err: error }, `${what} failed; the member carries on`);
      onError(error);
    }
  }

  /**
   * readLog reads entries of the log on disk for a DIFF the leader streams to a learner behind its
   * in-memory history (core's LogRead), beside the host loop: they were durable long before. A
   * read that fails (the log was compacted by a snapshot since, or a record fails its crc) is
   * answered with null: the leader drops that learner, which resyncs by SNAP.
   */
  private readLog(read: LogRead): void {
    const answer = (entries: LogEntry[] | null) => {
      if (this.stopping) return;
      this.contained('peer message', 'a log read for a DIFF', () => this.peer.logRead(read, entries));
      this.schedule();
    };
    readLogEntries(this.storage, read).then(answer, (error: unknown) => {
      this.logger.warn(
        { err: error, learner: read.learnerId, afterZxid: formatZxid(read.afterZxid) },
        'reading the log for a DIFF failed: the learner will get a SNAP',
      );
      answer(null);
    });
  }

  private onPeerMessage(from: number, message: PeerMessage): void {
    if (this.stopping) return;
    this.lastContactMs.set(from, Date.now());
    let failed: unknown;
    this.contained(
      'peer message',
      `a ${message.type} message from member ${from}`,
      () => this.peer.step(from, message),
      (error) => {
        failed = error;
      },
    );
    this.schedule();
    // The transport closes the connection the message came from; the peer reconnects and resyncs.
    if (failed !== undefined) throw failed;
  }

  /**
   * tick runs core's ticks for the wall-clock time that passed. Normally that is one; after the
   * process was stopped (SIGSTOP, a long GC pause, a suspended VM) it is one now and the rest right
   * after the I/O that waited meanwhile has been stepped: a leader then notices at once that it
   * lost its quorum instead of serving for syncLimit more ticks, and pings that sat in socket
   * buffers count before any session deadline is checked.
   */
  private tick(): void {
    if (this.stopping) return;
    const now = Date.now();
    const due = Math.min(MISSED_TICKS_MAX, Math.max(1, Math.floor((now - this.lastTickMs) / this.config.tickMs)));
    this.lastTickMs =
      due === MISSED_TICKS_MAX ? now : Math.max(this.lastTickMs + due * this.config.tickMs, now - this.config.tickMs);
    this.runTick(now);
    if (due > 1) {
      this.logger.warn({ missedTicks: due - 1 }, 'the process did not run for a while: catching up its ticks');
      setImmediate(() => {
        for (let i = 1; i < due && !this.stopping; i++) this.runTick(Date.now());
      });
    }
  }

  private runTick(now: number): void {
    if (this.stopping) return;
    this.contained('tick', 'a tick', () => this.peer.tick(now));
    if (!this.snapshotRunning && this.storageHealth.snapshotRetryDue(now)) this.takeSnapshot();
    const stats = this.listenerStats();
    this.metrics.limitRefused(
      'partial_frame_budget',
      stats.partialFrameBudgetCloses - this.listenerCloses.partialFrameBudget,
    );
    this.metrics.limitRefused('frame_timeout', stats.frameTimeoutCloses - this.listenerCloses.frameTimeout);
    this.listenerCloses = {
      partialFrameBudget: stats.partialFrameBudgetCloses,
      frameTimeout: stats.frameTimeoutCloses,
    };
    this.schedule();
  }

  /**
   * reloadClientTls reads the TLS client port's certificate files again and uses them for new
   * connections (a renewed certificate, without a restart; on SIGHUP or when the files change).
   * Files that do not load are logged and the current certificate stays. False if nothing was loaded.
   */
  reloadClientTls(why: string): boolean {
    const secure = [this.secureListener, ...this.zookeeperListeners.filter((listener) => listener.isTls)];
    if (secure[0] === undefined || this.config.clientTls === undefined || this.stopping) return false;
    try {
      const tls = readClientTls(this.config.clientTls);
      for (const listener of secure) listener?.setTls(tls);
    } catch (error) {
      this.logger.error(
        { why, error: (error as Error).message },
        'client TLS certificates not reloaded; the current ones stay',
      );
      return false;
    }
    this.logger.info({ why }, 'client TLS certificates reloaded');
    return true;
  }

  /** unwatchTls stops watching the certificate files. */
  unwatchTls: () => void = () => {};

  /** zookeeperListeners are the ZooKeeper-protocol client ports (zookeeperPort, secureZookeeperPort). */
  zookeeperListeners: ClientListener[] = [];

  /** fourLetterWord answers one of ZooKeeper's four-letter words, or null when it is not allowed here. */
  fourLetterWord(word: string): string | null {
    if (!(this.config.fourLetterWords as readonly string[]).includes(word)) return null;
    return answerFourLetterWord(word, this.fourLetterWordFacts());
  }

  private fourLetterWordFacts(): FourLetterWordFacts {
    const status = this.peer.status();
    const stats = this.peer.machineStats();
    const voters = this.config.members.filter((member) => member.role === 'voter').length;
    const mode =
      status.role === 'leading'
        ? voters === 1 && this.config.members.length === 1
          ? 'standalone'
          : 'leader'
        : status.role === 'following'
          ? 'follower'
          : status.role === 'observing'
            ? 'observer'
            : 'looking';
    const self = this.config.members.find((member) => member.id === this.config.id);
    return {
      version: ZOOKEEPER_VERSION,
      mode,
      serving: this.peer.isServing(),
      zxid: status.lastAppliedZxid,
      znodes: stats.znodes,
      watches: stats.watches,
      sessions: stats.sessions,
      connections: this.clients.connectionFacts(),
      outstanding: status.outstanding,
      received: this.clients.packetsReceived,
      sent: this.clients.packetsSent,
      latencyMs: this.metrics.latencySummaryMs(),
      ...(status.role === 'leading' ? { followers: this.upPeers.size } : {}),
      config: {
        clientPort: self?.zookeeperPort ?? 0,
        secureClientPort: self?.secureZookeeperPort ?? 0,
        dataDir: this.config.dataDir,
        tickTime: this.config.tickMs,
        maxClientCnxns: this.config.connectionsPerAddressMax,
        minSessionTimeout: this.config.sessionTimeoutMsMin,
        maxSessionTimeout: this.config.sessionTimeoutMsMax,
        serverId: this.config.id,
      },
      ensembleConfig: ensembleConfigText(this.config),
    };
  }

  /** tlsHandshakeFailures counts failed TLS handshakes on the secureClientPort (0 without one). */
  tlsHandshakeFailures(): number {
    let failures = this.secureListener?.stats().tlsHandshakeFailures ?? 0;
    for (const listener of this.zookeeperListeners) failures += listener.stats().tlsHandshakeFailures;
    return failures;
  }

  /** listenerStats are the client ports' counts (partial frames held, limit closes), summed over both ports, for metrics. */
  listenerStats(): ClientListenerStats {
    const sum: ClientListenerStats = {
      connections: 0,
      partialFrameBytes: 0,
      partialFrameBytesMax: 0,
      partialFrameBudgetCloses: 0,
      frameTimeoutCloses: 0,
      tlsHandshakeFailures: 0,
    };
    for (const listener of [this.listener, this.secureListener, ...this.zookeeperListeners]) {
      if (listener === undefined) continue;
      const stats = listener.stats();
      for (const key of Object.keys(sum) as (keyof ClientListenerStats)[]) sum[key] += stats[key];
    }
    return sum;
  }

  /**
   * schedule runs the host loop soon, once, however many events asked for it. While a persist
   * runs, the client outputs that came meanwhile (a read's reply, say) go out at once: they do not
   * wait for that fsync (core's ReadyDriver.deliverClients).
   */
  private schedule(): void {
    if (this.pumpScheduled || this.stopping) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.driver.busy) this.driver.deliverClients();
      else void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.stopping) return;
    this.pumping = true;
    try {
      // Core's host loop (ReadyDriver): early messages, persist, the rest, clients, advance. The
      // leader's PROPOSAL/COMMIT/INFORM leave before the fsync (they vouch for nothing in it), so
      // followers log beside the leader; the simulator runs the same driver.
      for (let ready = this.driver.begin(); ready !== null && !this.stopping; ready = this.driver.begin()) {
        this.metrics.logged(this.peer.status().role, ready.entries);
        try {
          await this.persist(ready);
        } catch (error) {
          this.fatal(error, `storage failed: ${describeError(error)}: stopping rather than serving without durability`);
          return;
        }
        this.driver.finish();
        this.metrics.applied(ready.applied.length);
        this.metrics.committed(ready.applied);
        this.afterAdvance(ready);
      }
    } catch (error) {
      // Only core's own bookkeeping is left unguarded here (ready/advance): a broken invariant.
      this.fatal(error, `host loop failed: ${describeError(error)}: stopping rather than serving possibly wrong data`);
    } finally {
      this.pumping = false;
    }
  }

  /**
   * sendToPeers hands messages to the mesh. Core keeps every message under peerFrameBytesMax, so an
   * encoding failure is a bug in a size bound: it is logged and counted, and the message is lost
   * as if the connection had dropped it (Zab recovers: a learner resyncs on a gap).
   */
  private sendToPeers(messages: readonly Outbound[]): void {
    for (const { to, message } of messages) {
      try {
        this.mesh.send(to, message);
      } catch (error) {
        this.metrics.inputFailed('peer send');
        this.logger.error({ err: error, peer: to, type: message.type }, 'peer message could not be sent');
      }
    }
  }

  /** persist carries out the durable part of a Ready in the contract's order, each step fsynced. */
  private async persist(ready: Ready): Promise<void> {
    if (ready.truncateAfter !== null) {
      this.logger.info({ zxid: formatZxid(ready.truncateAfter) }, 'log truncated (TRUNC)');
      await this.storage.truncateAfter(ready.truncateAfter);
    }
    if (ready.snapshot !== null) {
      this.logger.info(
        { zxid: formatZxid(ready.snapshot.header.zxid), records: ready.snapshot.records.length },
        'snapshot installed (SNAP)',
      );
      await this.storage.saveSnapshot(ready.snapshot.header, ready.snapshot.records);
    }
    if (ready.entries.length > 0) {
      const started = performance.now();
      await this.storage.append(ready.entries);
      this.metrics.fsync(performance.now() - started, ready.entries.length);
    }
    if (ready.epochs !== null) await this.storage.saveEpochs(ready.epochs);
  }

  private afterAdvance(ready: Ready): void {
    const status = this.peer.status();
    if (status.role === 'leading') {
      // One line per ensemble event: the leader logs sessions it expired or that clients closed.
      for (const entry of ready.applied) {
        if (entry.txn.type !== 'closeSession') continue;
        this.logger.info(
          { sessionId: `0x${entry.txn.sessionId.toString(16)}`, ephemeralsDeleted: entry.txn.paths.length },
          entry.cxid === 0 ? 'session expired' : 'session closed by its client',
        );
      }
    }
    if (status.role !== this.lastRole) {
      if (status.role === 'looking') this.electionStartedMs = Date.now();
      this.logger.info({ from: this.lastRole, to: status.role, epoch: status.epoch }, 'role change');
      this.lastRole = status.role;
    }
    const serving = status.established;
    if (serving && !this.wasServing) {
      const durationMs = Date.now() - this.electionStartedMs;
      this.metrics.election(durationMs);
      this.logger.info(
        {
          role: status.role,
          leader: status.leader,
          epoch: status.epoch,
          zxid: formatZxid(status.lastAppliedZxid),
          durationMs,
        },
        'serving: leader established',
      );
    }
    if (!serving && this.wasServing) {
      // ZooKeeper closes every client connection when its server stops serving; clients move on.
      this.logger.warn({ role: status.role }, 'not serving any more: closing client connections');
      this.clients.closeAll();
    }
    this.wasServing = serving;
    for (const { message } of ready.messages) {
      if (message.type === 'sync')
        this.logger.info({ mode: message.mode, epoch: message.epoch }, 'synchronizing a learner');
    }
    this.appliedSinceSnapshot += ready.applied.length;
    for (const entry of ready.applied) this.appliedBytesSinceSnapshot += logEntryBytes(entry);
    // By count (ZooKeeper's snapCount) or by bytes (its snapSizeLimitInKb): a restart replays, and
    // holds in memory, at most about this much log.
    const due =
      this.appliedSinceSnapshot >= this.config.snapshotEveryTxns ||
      this.appliedBytesSinceSnapshot >= this.config.snapshotEveryBytes;
    if (due && !this.snapshotRunning) this.takeSnapshot();
  }

  /** takeSnapshot writes a fuzzy snapshot in the background while the member keeps serving. */
  private takeSnapshot(): void {
    this.snapshotRunning = true;
    this.appliedSinceSnapshot = 0;
    this.appliedBytesSinceSnapshot = 0;
    const { zxid, records } = this.peer.snapshot();
    const started = Date.now();
    this.storage
      .saveSnapshot({ zxid, timeMs: Date.now() }, records)
      .then(() => {
        this.storageHealth.snapshotSucceeded();
        this.logger.info({ zxid: formatZxid(zxid), durationMs: Date.now() - started }, 'snapshot written');
      })
      .catch((error) => {
        this.storageHealth.snapshotFailed(error as Error);
        this.metrics.snapshotFailed();
        this.logger.error({ err: error }, 'snapshot failed');
        // Try again after the next snapshotEveryTxns/10 transactions rather than waiting a whole period.
        this.appliedSinceSnapshot = Math.max(
          this.appliedSinceSnapshot,
          this.config.snapshotEveryTxns - Math.ceil(this.config.snapshotEveryTxns / 10),
        );
        this.appliedBytesSinceSnapshot = Math.max(
          this.appliedBytesSinceSnapshot,
          this.config.snapshotEveryBytes - Math.ceil(this.config.snapshotEveryBytes / 10),
        );
      })
      .finally(() => {
        this.snapshotRunning = false;
      });
  }

  // ---------------------------------------------------------------------------------------------
  // Status.

  /** status describes this member for GET /status. */
  status(): MemberStatus {
    const status = this.peer.status();
    const stats = this.peer.machineStats();
    const now = Date.now();
    return {
      id: this.config.id,
      pid: process.pid,
      role: status.role,
      phase: status.phase,
      established: status.established,
      epoch: status.epoch,
      acceptedEpoch: status.acceptedEpoch,
      currentEpoch: status.currentEpoch,
      zxid: formatZxid(status.lastAppliedZxid),
      lastLoggedZxid: formatZxid(status.lastLoggedZxid),
      committedZxid: formatZxid(status.committedZxid),
      leader: status.leader,
      config: {
        version: formatZxid(status.config.version),
        committed: status.configCommitted,
        voting: status.voting,
        text: configText(this.membership.describeConfig(status.config)),
      },
      members: statusMembers(this.membership.describeConfig(status.config), (id) => {
        const contact = this.lastContactMs.get(id);
        return {
          connected: id === this.config.id || this.upPeers.has(id),
          lastContactMs: id === this.config.id ? 0 : contact === undefined ? null : now - contact,
          protocolVersion:
            id === this.config.id ? this.mesh.protocolVersions.max : (this.mesh.protocolVersion(id) ?? null),
        };
      }),
      protocolVersions: {
        peer: this.mesh.protocolVersions,
        peerAnnounced: this.announceVersion,
        client: CLIENT_PROTOCOL_VERSIONS,
      },
      sessions: stats.sessions,
      connections: this.clients.connections.size,
      znodes: stats.znodes,
      watches: stats.watches,
      outstanding: status.outstanding,
      uptimeMs: now - this.startedMs,
    };
  }

  /**
   * connectTo follows a membership change (Ready.peers): the mesh dials the members the
   * configurations in force add and drops the ones none of them names any more.
   */
  private connectTo(ids: readonly number[]): void {
    const configs = this.peer.configs();
    const { peers, unknown } = this.membership.peerAddresses(
      ids.filter((id) => id !== this.config.id),
      configs,
    );
    if (unknown.length > 0) {
      this.logger.warn({ members: unknown }, 'no readable address for these members of the configuration');
    }
    this.logger.info(
      {
        version: formatZxid(configs[configs.length - 1]?.version ?? 0),
        peers: peers.map((p) => `${p.id}=${p.host}:${p.port}`),
      },
      'membership changed: connecting to the members in force',
    );
    this.mesh.setPeers(peers);
  }

  /** reconfigRefusal: why a membership change must wait now, or null (membership.ts {@link reconfigRefusal}). */
  reconfigRefusal(): string | null {
    return reconfigRefusal(this.upPeers, (id) => this.mesh.protocolVersion(id));
  }

  /** isServing tells whether this member answers clients. */
  isServing(): boolean {
    return this.peer.isServing();
  }

  /** budgetStats are the request budget's counts, for metrics. */
  budgetStats() {
    return this.budget.stats();
  }

  /** backupSource is what GET /api/snapshot reads (backup.ts): one per member, so one backup of it runs at a time. */
  get backupSource(): BackupSource {
    this.backup ??= memberBackupSource(this.peer, this.storage);
    return this.backup;
  }

  private backup: BackupSource | null = null;

  /** readTree lists a znode's data and children, for the dashboard's read-only browser. */
  readTree(path: string) {
    const data = this.peer.readDirect({ op: 'getData', path, watch: false });
    const children = this.peer.readDirect({ op: 'getChildren', path, watch: false });
    return { data, children };
  }

  /** stop shuts down gracefully: no new clients, the fsync in flight finishes, files close. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.storageHealth.stop();
    this.clients.closeAll();
    this.unwatchTls();
    await this.listener?.close();
    await this.secureListener?.close();
    for (const zookeeperListener of this.zookeeperListeners) await zookeeperListener.close();
    await this.mesh.close();
    while (this.pumping) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.storage.close();
    this.logger.info('member stopped');
  }
}

/** ZOOKEEPER_VERSION: what the ZooKeeper port reports as its version (the protocol it speaks is 3.9's). */
const ZOOKEEPER_VERSION = '3.9.0-zabkit';

/**
 * ensembleConfigText is the configuration the ensemble starts with in ZooKeeper's dynamic-config
 * format (`/zookeeper/config`, `conf`): `server.<id>=<host>:<peerPort>:<peerPort>:<participant|observer>;<clientHost>:<zookeeperPort>`
 * (zabkit has one peer port for both of ZooKeeper's), then `version=0`. After a membership change
 * core shows the replicated configuration instead (membership.ts describes its members the same way).
 */
export function ensembleConfigText(config: ServerConfig): string {
  return configText({ version: 0, members: initialMembers(config).map((m) => clusterMemberOf(m, config.clientHost)) });
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.startsWith(String(code)) ? `${code}: ${error.message}` : error.message;
}
