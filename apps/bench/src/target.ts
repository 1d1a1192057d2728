/** Conn is one client connection (session) of the load generator, the same calls for both systems. */
export interface Conn {
  set(path: string, data: Uint8Array): Promise<unknown>;
  get(path: string): Promise<unknown>;
  /** create makes a znode; `sequential` appends the sequence suffix. NODE_EXISTS is not an error. */
  create(path: string, data: Uint8Array, sequential: boolean): Promise<unknown>;
  close(): Promise<void>;
}

/** Target is a running 3-member ensemble on loopback, zabkit or ZooKeeper, and the handles the bench needs. */
export interface Target {
  readonly name: 'zabkit' | 'zookeeper';
  connect(): Promise<Conn>;
  /**
   * connectTo opens a session with member `id` alone (no other member in the connect string),
   * trying for at most `timeoutMs`; it rejects when that member does not serve in time.
   */
  connectTo(id: number, timeoutMs: number): Promise<Conn>;
  /** snapshotDir is the directory where member `id` writes its snapshot files (`snapshot.<zxid in hex>`). */
  snapshotDir(id: number): string;
  /** serverPids are the pids of the running member processes (null when stopped). */
  serverPids(): (number | null)[];
  /** leader returns the id of the established leader, waiting until every running member serves. */
  leader(): Promise<number>;
  /** kill sends SIGKILL to a member and returns once it is gone. */
  kill(id: number): Promise<void>;
  /** restart starts a killed member again with its data and waits until the whole ensemble serves. */
  restart(id: number): Promise<void>;
  /** close stops every member and removes the data directories. */
  close(): Promise<void>;
}
