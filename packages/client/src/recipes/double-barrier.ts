import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { Emitter } from '../emitter.js';
import { ZabError } from '../errors.js';
import type { Data, WatchedEvent } from '../types.js';
import { type WaitOptions, waitForDeleted, waitSignal, waitUntil } from './barrier.js';
import { createWithParents, joinPath, nameOf } from './paths.js';
import { PROTECTED_PREFIX, protectedCreate } from './protected-create.js';

/** READY is the name of the child that marks a full double barrier (ZooKeeper's recipe). */
const READY = 'ready';

/** DistributedDoubleBarrierOptions: each member's znode data, the ACL of what the barrier creates, and container parents. */
export interface DistributedDoubleBarrierOptions {
  data?: Data;
  /** acl is the ACL of every znode the barrier creates (directory, member, ready; default OPEN_ACL_UNSAFE). */
  acl?: readonly ACL[];
  /** containerParents creates the barrier directory and its missing parents as CONTAINER znodes (default true, as Curator). */
  containerParents?: boolean;
}

/**
 * DistributedDoubleBarrierEvents, while this member has a znode in the barrier (from `enter` to
 * the end of `leave`): `suspended` when the connection is lost (the member znode may vanish if
 * the session expires), `reconnected` when the session continues, `lost` when it expired or the
 * client closed (the server deleted the member znode; `enter`/`leave` reject with SESSION_EXPIRED).
 */
export interface DistributedDoubleBarrierEvents {
  suspended: [];
  reconnected: [];
  lost: [{ reason: string }];
}

/**
 * DistributedDoubleBarrier is Curator's DistributedDoubleBarrier, ZooKeeper's double barrier
 * recipe: `memberCount` members `enter` (each creates an ephemeral member znode under `path`;
 * `enter` returns once `memberCount` of them are there, which the member that completes the count
 * marks with an ephemeral `ready` child that every waiting member watches), compute, then
 * `leave` (returns once every member znode is gone: the lowest member waits for the highest, the
 * others delete their znode and wait for the lowest, which deletes itself and `ready` last).
 *
 * Member znodes are protected (`_c_<uuid>-member`, see protectedCreate), so a create whose reply
 * was lost is found again; an `enter` that is aborted or times out deletes its member znode. A
 * member whose session ends vanishes from the count (its znode was ephemeral). One object is one
 * member: enter, then leave, then it may enter again. A barrier path may serve another round only
 * once every member of the previous one has left (the `ready` znode of a round is deleted by its
 * last leaver).
 */
export class DistributedDoubleBarrier {
  private readonly emitter = new Emitter<DistributedDoubleBarrierEvents>();
  private node: string | undefined;
  private offs: (() => void)[] = [];

  constructor(
    private readonly client: ZabClient,
    /** path is the barrier's directory. */
    readonly path: string,
    /** memberCount is how many members `enter` waits for. */
    readonly memberCount: number,
    private readonly options: DistributedDoubleBarrierOptions = {},
  ) {
    if (!Number.isInteger(memberCount) || memberCount < 1)
      throw new RangeError(`memberCount must be an integer >= 1: ${memberCount}`);
  }

  /** memberPath is this member's znode between `enter` and the end of `leave`. */
  get memberPath(): string | undefined {
    return this.node;
  }

  on<E extends keyof DistributedDoubleBarrierEvents>(
    event: E,
    listener: (...args: DistributedDoubleBarrierEvents[E]) => void,
  ): () => void {
    return this.emitter.on(event, listener);
  }

  /**
   * enter joins the barrier and resolves once `memberCount` members have joined. On abort or
   * timeout it deletes its member znode and rejects with the signal's reason (a TimeoutError);
   * on a lost session it rejects with SESSION_EXPIRED.
   */
  async enter(options: WaitOptions = {}): Promise<void> {
    if (this.node !== undefined) throw new Error(`DistributedDoubleBarrier ${this.path}: enter while already a member`);
    const signal = waitSignal(options);
    const { acl, data } = this.options;
    const dirOptions = { signal, acl, container: this.options.containerParents ?? true };
    const readyPath = joinPath(this.path, READY);
    // `ready` goes with the last member to leave (this one has not) or with its creator's session:
    // a member that saw `ready` created has entered even if it is gone when it looks again.
    let readyCreated = false;
    this.subscribe();
    try {
      this.node = await createWithParents(this.client, this.path, dirOptions, () =>
        this.createMember(data, acl, signal),
      );
      for (;;) {
        signal?.throwIfAborted();
        try {
          const entered = await waitUntil(this.client, this.path, signal, async (wake) => {
            if (readyCreated) return true;
            const onReady = (event: WatchedEvent) => {
              if (event.type === 'NODE_CREATED') readyCreated = true;
              wake();
            };
            if ((await this.client.exists(readyPath, { watch: onReady, signal })) !== null) return true;
            const members = (await this.client.children(this.path, { watch: wake, signal })).filter(
              (name) => name !== READY,
            );
            if (!members.includes(nameOf(this.node!)))
              throw new ZabError('NO_NODE', { message: 'our member znode is gone', op: 'enter', path: this.node });
            if (members.length < this.memberCount) return false;
            await this.client
              .create(readyPath, undefined, { mode: 'EPHEMERAL', signal, ...(acl === undefined ? {} : { acl }) })
              .catch((error: unknown) => {
                if (!ZabError.isInstance(error, 'NODE_EXISTS')) throw error;
              });
            return true;
          });
          if (entered) return;
        } catch (error) {
          if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
        }
      }
    } catch (error) {
      await this.abandon();
      throw error;
    }
  }

  /**
   * leave resolves once every member has left (all member znodes are gone). On abort or timeout
   * it deletes this member's znode (if it still exists) and rejects with the signal's reason; on a
   * lost session it rejects with SESSION_EXPIRED. leave without enter does nothing.
   */
  async leave(options: WaitOptions = {}): Promise<void> {
    const node = this.node;
    if (node === undefined) return;
    const signal = waitSignal(options);
    const ours = nameOf(node);
    let deleted = false;
    try {
      for (;;) {
        signal?.throwIfAborted();
        try {
          const members = (await this.listMembers(signal)).sort();
          if (members.length === 0) break;
          const present = members.includes(ours);
          if (!present && !deleted)
            throw new ZabError('NO_NODE', { message: 'our member znode is gone', op: 'leave', path: node });
          if (present && members.length === 1) {
            await this.deleteLast(node);
            break;
          }
          if (members[0] === ours) {
            // The lowest member leaves last: wait for the highest to go.
            await waitForDeleted(this.client, joinPath(this.path, members.at(-1)!), signal);
            continue;
          }
          if (present) {
            await this.deleteMember(node);
            deleted = true;
          }
          await waitForDeleted(this.client, joinPath(this.path, members[0]!), signal);
        } catch (error) {
          if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
        }
      }
    } catch (error) {
      await this.abandon();
      throw error;
    }
    this.node = undefined;
    this.unsubscribe();
  }

  /** listMembers lists the member znodes; none when the directory is gone (a container the leader deleted once empty). */
  private async listMembers(signal: AbortSignal | undefined): Promise<string[]> {
    try {
      return (await this.client.children(this.path, { signal })).filter((name) => name !== READY);
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) return [];
      throw error;
    }
  }

  private async createMember(
    data: Data | undefined,
    acl: readonly ACL[] | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    try {
      const created = await protectedCreate(this.client, this.path, 'member', data, { mode: 'EPHEMERAL', acl, signal });
      return created.path;
    } catch (error) {
      // A create retried after a lost reply that had in fact committed: the uuid names it ours.
      if (ZabError.isInstance(error, 'NODE_EXISTS') && error.path?.startsWith(joinPath(this.path, PROTECTED_PREFIX))) {
        const stat = await this.client.exists(error.path, { signal });
        if (stat?.ephemeralOwner === this.client.sessionId) return error.path;
      }
      throw error;
    }
  }

  /** deleteLast deletes the last member's znode and `ready` together, so the path can serve another round. */
  private async deleteLast(node: string): Promise<void> {
    try {
      await this.client.multi([
        { op: 'delete', path: node },
        { op: 'delete', path: joinPath(this.path, READY) },
      ]);
    } catch (error) {
      if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
      await this.deleteMember(node);
    }
  }

  /** deleteMember deletes a member znode, retrying across connection loss; gone already is fine. */
  private async deleteMember(node: string): Promise<void> {
    for (;;) {
      try {
        await this.client.delete(node);
        return;
      } catch (error) {
        if (ZabError.isInstance(error, 'NO_NODE') || ZabError.isInstance(error, 'SESSION_EXPIRED')) return;
        if (!ZabError.isInstance(error, 'CONNECTION_LOSS')) throw error;
      }
    }
  }

  /** abandon gives up membership after a failed enter or leave: the znode is deleted, the events stop. */
  private async abandon(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    this.unsubscribe();
    if (node !== undefined) await this.deleteMember(node);
  }

  private subscribe(): void {
    this.unsubscribe();
    this.offs = [
      this.client.on('disconnected', () => this.emitter.emit('suspended')),
      this.client.on('reconnected', () => this.emitter.emit('reconnected')),
      this.client.on('expired', ({ reason }) => this.emitter.emit('lost', { reason })),
      this.client.on('closed', () => this.emitter.emit('lost', { reason: 'the client is closed' })),
    ];
  }

  private unsubscribe(): void {
    for (const off of this.offs.splice(0)) off();
  }
}
