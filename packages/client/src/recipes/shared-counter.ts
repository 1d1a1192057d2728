import { randomBytes } from 'node:crypto';
import type { ACL } from '@zabkit/core';
import type { WatchStream, ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import type { CallOptions } from '../types.js';
import { createWithParents, ensurePath, parentOf } from './paths.js';

/** VALUE_BYTES is the counter's value, a big-endian signed 64-bit integer (Curator's DistributedAtomicLong). */
const VALUE_BYTES = 8;
/** WRITE_ID_BYTES follow the value: a random id per `add`/`trySet` call, so a write whose reply was lost can be recognised. */
const WRITE_ID_BYTES = 16;

/** VersionedValue is the counter's value and its znode's version (the `expectedVersion` of the next `trySet`); version -1 while the znode does not exist. */
export interface VersionedValue {
  value: number;
  version: number;
}

/** AddResult is what an `add` did: the value it replaced, the value it wrote, and the znode's new version. */
export interface AddResult {
  preValue: number;
  postValue: number;
  version: number;
}

/** SharedCounterOptions: the value of a counter that does not exist yet, the ACL of what it creates, and container parents. */
export interface SharedCounterOptions {
  /** initialValue is the value the counter starts from when its znode is created (default 0). */
  initialValue?: number;
  /** acl is the ACL of the counter's znode and the parents created for it (default OPEN_ACL_UNSAFE). */
  acl?: readonly ACL[];
  /** containerParents creates missing parents as CONTAINER znodes (default true, as Curator). The counter's znode itself is persistent. */
  containerParents?: boolean;
}

/**
 * SharedCounterEvents, between `start` and `close`: `change` with the value and version each time
 * the counter's znode changes (also after a reconnect, when it changed meanwhile), `suspended` on
 * a lost connection (`value` may be stale until `reconnected`), `reconnected` (a re-read follows),
 * `lost` when the session expired or the client closed (the mirror stops; `value` keeps the last
 * value read), and `error` for a read that failed otherwise.
 */
export interface SharedCounterEvents {
  change: [VersionedValue];
  suspended: [];
  reconnected: [];
  lost: [{ reason: string }];
  error: [unknown];
}

/** Attempt is one conditional write: the data, and the version it expects (-1: the znode is missing, so it creates). */
interface Attempt {
  value: number;
  expectedVersion: number;
  data: Uint8Array;
  writeId: Uint8Array;
}

/** Current is the counter as read: value, version (-1 when missing) and the id of the write that made it. */
interface Current extends VersionedValue {
  writeId: Uint8Array | undefined;
}

/**
 * SharedCounter is Curator's SharedCount and DistributedAtomicLong in one: an integer in one
 * persistent znode (8 bytes big-endian, then a 16-byte write id; 4-byte values as Curator's
 * SharedCount writes them are read too). Every write is a compare-and-set on the znode's version:
 * `trySet(value, expectedVersion)` succeeds only if nobody wrote since that version; `add`
 * (`increment`, `decrement`) reads, writes with the version it read, and on BAD_VERSION reads and
 * tries again, so concurrent adds are never lost.
 *
 * A write whose reply is lost (CONNECTION_LOSS) may still commit, so it is not simply repeated:
 * after the reconnect the counter syncs and reads; the write id tells whether the znode holds our
 * write; at the version we expected, the same write (same data, same expected version, so at most
 * one of the two can commit) is sent again; one version later by someone else means ours failed.
 * Two or more versions later without our id is undecidable (ours may have committed and been
 * overwritten): the call rejects with CONNECTION_LOSS saying so, rather than risk counting twice.
 *
 * `start` keeps `value` current (Curator's SharedCount listener): a persistent watch re-reads the
 * znode on each change and after each reconnect. Calls work without `start`.
 */
export class SharedCounter {
  private readonly emitter = new Emitter<SharedCounterEvents>();
  private readonly initialValue: number;
  private current: VersionedValue;
  private stream: WatchStream | undefined;
  private offs: (() => void)[] = [];
  private reading: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly client: ZabClient,
    /** path is the counter's znode. */
    readonly path: string,
    private readonly options: SharedCounterOptions = {},
  ) {
    this.initialValue = options.initialValue ?? 0;
    checkValue(this.initialValue);
    this.current = { value: this.initialValue, version: -1 };
  }

  on<E extends keyof SharedCounterEvents>(event: E, listener: (...args: SharedCounterEvents[E]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** value is the value last read (after `start`: kept current). */
  get value(): number {
    return this.current.value;
  }

  /** version is the znode's version last read (-1 while missing). */
  get version(): number {
    return this.current.version;
  }

  /** start creates the counter with `initialValue` if it is missing, sets the watch, reads it, and resolves with it. */
  async start(options: CallOptions = {}): Promise<VersionedValue> {
    if (this.stream !== undefined) throw new Error(`SharedCounter ${this.path}: already started`);
    const { signal } = options;
    const first = await this.read(signal);
    if (first.version === -1) await this.attempt(this.newAttempt(this.initialValue, -1), signal).catch(() => {});
    const stream = this.client.watch(this.path, { signal });
    this.stream = stream;
    this.offs = [
      this.client.on('disconnected', () => this.emitter.emit('suspended')),
      this.client.on('reconnected', () => {
        this.emitter.emit('reconnected');
        void this.refresh();
      }),
      this.client.on('expired', ({ reason }) => this.stop(reason)),
      this.client.on('closed', () => this.stop('the client is closed')),
    ];
    (async () => {
      try {
        for await (const _ of stream) void this.refresh();
      } catch (error) {
        if (!ZabError.isInstance(error, 'SESSION_EXPIRED')) this.emitter.emit('error', error);
      }
    })();
    await stream.ready;
    await this.refresh();
    return { ...this.current };
  }

  /** close removes the watch; `value` keeps the last value. */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.stream?.close();
  }

  /** get reads the value and version from the server (version -1 and `initialValue` when the znode is missing). */
  async get(options: CallOptions = {}): Promise<VersionedValue> {
    const { value, version } = await this.read(options.signal);
    return { value, version };
  }

  /**
   * trySet writes `newValue` if the znode's version is still `expectedVersion` (-1: only if it
   * does not exist yet), resolving true; false if someone wrote meanwhile (read again and retry).
   */
  async trySet(newValue: number, expectedVersion: number, options: CallOptions = {}): Promise<boolean> {
    checkValue(newValue);
    return (await this.attempt(this.newAttempt(newValue, expectedVersion), options.signal)) !== undefined;
  }

  /** set writes `newValue` whatever the value was (compare-and-set until it wins); resolves with the value and version written. */
  async set(newValue: number, options: CallOptions = {}): Promise<VersionedValue> {
    checkValue(newValue);
    for (;;) {
      const { version } = await this.read(options.signal);
      const written = await this.attempt(this.newAttempt(newValue, version), options.signal);
      if (written !== undefined) return { value: newValue, version: written };
    }
  }

  /** add adds `delta` (creating the counter from `initialValue` if missing), retrying on conflicts; resolves with what it did. */
  async add(delta: number, options: CallOptions = {}): Promise<AddResult> {
    checkValue(delta);
    for (;;) {
      const { value, version } = await this.read(options.signal);
      const postValue = value + delta;
      checkValue(postValue);
      const written = await this.attempt(this.newAttempt(postValue, version), options.signal);
      if (written !== undefined) return { preValue: value, postValue, version: written };
    }
  }

  /** increment adds 1. */
  increment(options: CallOptions = {}): Promise<AddResult> {
    return this.add(1, options);
  }

  /** decrement subtracts 1. */
  decrement(options: CallOptions = {}): Promise<AddResult> {
    return this.add(-1, options);
  }

  /** compareAndSet writes `newValue` if the value is `expectedValue` now (DistributedAtomicLong's); resolves whether it did. */
  async compareAndSet(expectedValue: number, newValue: number, options: CallOptions = {}): Promise<boolean> {
    checkValue(newValue);
    for (;;) {
      const { value, version } = await this.read(options.signal);
      if (value !== expectedValue) return false;
      if ((await this.attempt(this.newAttempt(newValue, version), options.signal)) !== undefined) return true;
    }
  }

  /** refresh re-reads the znode for the mirror; concurrent refreshes are coalesced into one read after the current one. */
  private refresh(): Promise<void> {
    if (this.reading !== undefined) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        try {
          this.note(await this.read(undefined));
        } catch (error) {
          // CONNECTION_LOSS: the reconnect refreshes again; SESSION_EXPIRED: `lost` says it.
          if (!ZabError.isInstance(error, 'CONNECTION_LOSS') && !ZabError.isInstance(error, 'SESSION_EXPIRED'))
            this.emitter.emit('error', error);
        }
      } while (this.again);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private note(read: VersionedValue): void {
    if (read.version === this.current.version && read.value === this.current.value) return;
    this.current = { value: read.value, version: read.version };
    if (this.stream !== undefined) this.emitter.emit('change', { ...this.current });
  }

  private stop(reason: string): void {
    this.close();
    this.emitter.emit('lost', { reason });
  }

  private async read(signal: AbortSignal | undefined): Promise<Current> {
    try {
      const { data, stat } = await this.client.get(this.path, { signal });
      return { ...decode(data, this.path), version: stat.version };
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) return { value: this.initialValue, version: -1, writeId: undefined };
      throw error;
    }
  }

  private newAttempt(value: number, expectedVersion: number): Attempt {
    const writeId = new Uint8Array(randomBytes(WRITE_ID_BYTES));
    return { value, expectedVersion, writeId, data: encode(value, writeId) };
  }

  /**
   * attempt makes one conditional write and resolves with the new version, or undefined when
   * someone else wrote first. After CONNECTION_LOSS it decides as the class comment says.
   */
  private async attempt(attempt: Attempt, signal: AbortSignal | undefined): Promise<number | undefined> {
    for (;;) {
      try {
        return await this.writeOnce(attempt, signal);
      } catch (error) {
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
      let now: Current;
      for (;;) {
        try {
          await this.client.sync(this.path, { signal });
          now = await this.read(signal);
          break;
        } catch (error) {
          if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
        }
      }
      if (now.writeId !== undefined && equalBytes(now.writeId, attempt.writeId)) return now.version;
      // Still at the version we expected: send the same write again (at most one of the two can commit).
      if (now.version === attempt.expectedVersion) continue;
      if (now.version === attempt.expectedVersion + 1 || now.version === -1) return undefined;
      throw new ZabError('CONNECTION_LOSS', {
        message: `the reply was lost and the counter changed ${now.version - attempt.expectedVersion} times since: the write may or may not have been applied`,
        op: 'setData',
        path: this.path,
      });
    }
  }

  private async writeOnce(attempt: Attempt, signal: AbortSignal | undefined): Promise<number | undefined> {
    try {
      if (attempt.expectedVersion === -1) {
        const { acl } = this.options;
        const parentOptions = { signal, acl, container: this.options.containerParents ?? true };
        const parent = parentOf(this.path);
        await ensurePath(this.client, parent, parentOptions);
        await createWithParents(this.client, parent, parentOptions, () =>
          this.client.create(this.path, attempt.data, { signal, ...(acl === undefined ? {} : { acl }) }),
        );
        return 0;
      }
      return (await this.client.set(this.path, attempt.data, { version: attempt.expectedVersion, signal })).version;
    } catch (error) {
      if (ZabError.isInstance(error, 'BAD_VERSION') || ZabError.isInstance(error, 'NODE_EXISTS')) return undefined;
      if (ZabError.isInstance(error, 'NO_NODE') && attempt.expectedVersion !== -1) return undefined;
      throw error;
    }
  }
}

function checkValue(value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`a counter value must be a safe integer: ${value}`);
}

function encode(value: number, writeId: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(VALUE_BYTES + WRITE_ID_BYTES);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value));
  bytes.set(writeId, VALUE_BYTES);
  return bytes;
}

function decode(data: Uint8Array, path: string): { value: number; writeId: Uint8Array | undefined } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength === 0) return { value: 0, writeId: undefined };
  // Curator's SharedCount writes 4 bytes.
  if (data.byteLength === 4) return { value: view.getInt32(0), writeId: undefined };
  if (data.byteLength < VALUE_BYTES)
    throw new ZabError('MARSHALLING_ERROR', { message: `${data.byteLength} bytes are not a counter`, path });
  const value = Number(view.getBigInt64(0));
  const writeId =
    data.byteLength >= VALUE_BYTES + WRITE_ID_BYTES ? data.slice(VALUE_BYTES, VALUE_BYTES + WRITE_ID_BYTES) : undefined;
  return { value, writeId };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
