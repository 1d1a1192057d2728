import type { ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import type { Stat } from '../types.js';
import { type ConnectionStateEvents, ConnectionStateTracker } from './connection-state.js';

/** ConfigWatcherOptions: how to read the znode's bytes, and the value while it does not exist. */
export interface ConfigWatcherOptions<T> {
  /** parse turns the znode's data into the value (default: JSON of the UTF-8 text). A throw keeps the previous value and emits `error`. */
  parse?: (data: Uint8Array) => T;
  /** defaultValue is the value while the znode does not exist (default undefined). */
  defaultValue?: T;
}

/**
 * ConfigWatcherEvents: `change` with the new value and Stat (null when the znode is gone), `error`
 * for a value that did not parse, and the connection events while started: `suspended` (`value`
 * may be stale from now on), `reconnected` (it is read again), `lost` (the session ended: `value`
 * stays the last one read and is no longer kept current).
 */
export interface ConfigWatcherEvents<T> extends ConnectionStateEvents {
  change: [T | undefined, Stat | null];
  error: [unknown];
}

const decoder = new TextDecoder();

/**
 * ConfigWatcher keeps a typed value read from one znode current: a persistent watch on the path
 * re-reads it on every create, change and delete, and again after every reconnect (persistent
 * watches do not replay what happened while disconnected). `value` is always the latest value
 * read, and `change` fires only when the znode's mzxid (or existence) changed.
 */
export class ConfigWatcher<T = unknown> {
  private readonly emitter = new Emitter<ConfigWatcherEvents<T>>();
  private readonly parse: (data: Uint8Array) => T;
  private current: T | undefined;
  private currentStat: Stat | null = null;
  private reading: Promise<void> | undefined;
  private again = false;
  private stream: ReturnType<ZabClient['watch']> | undefined;
  private offs: (() => void)[] = [];

  constructor(
    private readonly client: ZabClient,
    readonly path: string,
    private readonly options: ConfigWatcherOptions<T> = {},
  ) {
    this.parse = options.parse ?? ((data) => JSON.parse(decoder.decode(data)) as T);
    this.current = options.defaultValue;
  }

  /** value is the latest value (the default while the znode does not exist). */
  get value(): T | undefined {
    return this.current;
  }

  /** stat is the znode's Stat at the latest read, or null when it does not exist. */
  get stat(): Stat | null {
    return this.currentStat;
  }

  on<E extends keyof ConfigWatcherEvents<T>>(
    event: E,
    listener: (...args: ConfigWatcherEvents<T>[E]) => void,
  ): () => void {
    return this.emitter.on(event, listener);
  }

  /** start sets the watch and reads the value; resolves with it. */
  async start(): Promise<T | undefined> {
    if (this.stream !== undefined) throw new Error(`ConfigWatcher ${this.path}: already started`);
    const stream = this.client.watch(this.path);
    this.stream = stream;
    const tracker = new ConnectionStateTracker(this.client, {
      suspended: () => this.emitter.emit('suspended'),
      reconnected: () => this.emitter.emit('reconnected'),
      lost: () => this.emitter.emit('lost'),
    });
    this.offs = [this.client.on('reconnected', () => this.refresh()), () => tracker.close()];
    (async () => {
      try {
        for await (const _ of stream) this.refresh();
      } catch (error) {
        this.emitter.emit('error', error);
      }
    })();
    await stream.ready;
    await this.refresh();
    return this.current;
  }

  /** close removes the watch; `value` keeps the last value. */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.stream?.close();
  }

  /** refresh reads the znode now; concurrent refreshes are coalesced into one read after the current one. */
  refresh(): Promise<void> {
    if (this.reading !== undefined) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    let data: Uint8Array | undefined;
    let stat: Stat | null;
    try {
      const result = await this.client.get(this.path);
      data = result.data;
      stat = result.stat;
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) stat = null;
      else if (ZabError.isInstance(error, 'CONNECTION_LOSS')) {
        // The reconnect triggers another refresh.
        return;
      } else {
        this.emitter.emit('error', error);
        return;
      }
    }
    const before = this.currentStat;
    if (before?.mzxid === stat?.mzxid && (before === null) === (stat === null)) return;
    if (stat === null) {
      this.current = this.options.defaultValue;
      this.currentStat = null;
    } else {
      try {
        this.current = this.parse(data!);
      } catch (error) {
        this.currentStat = stat;
        this.emitter.emit('error', error);
        return;
      }
      this.currentStat = stat;
    }
    this.emitter.emit('change', this.current, this.currentStat);
  }
}
