import { randomUUID } from 'node:crypto';
import type { ACL } from '@zabkit/core';
import type { ZabClient } from '../client.js';
import { ZabError } from '../errors.js';
import type { CallOptions } from '../types.js';
import { type ConnectionStateEvents, onConnectionState } from './connection-state.js';
import { ensurePath, joinPath } from './paths.js';

/** ServiceInstance is one registered instance of a service. */
export interface ServiceInstance<M = Record<string, unknown>> {
  service: string;
  id: string;
  address?: string;
  port?: number;
  metadata: M;
  /** registeredAtMs is when the instance's znode was created (its ctime). */
  registeredAtMs: number;
}

/** RegisterOptions describe an instance; `id` defaults to a random UUID. */
export interface RegisterOptions<M> extends CallOptions {
  id?: string;
  address?: string;
  port?: number;
  metadata?: M;
}

/** Registration is a live registration: its ephemeral znode stays while the session lives. */
export interface Registration<M> {
  readonly id: string;
  readonly path: string;
  /** update replaces the instance's address, port or metadata. */
  update(changes: Omit<RegisterOptions<M>, 'id' | 'signal'>): Promise<void>;
  /** unregister deletes the instance's znode. */
  unregister(): Promise<void>;
}

const decoder = new TextDecoder();

/**
 * ServiceRegistry is service discovery over znodes (Curator's ServiceDiscovery): each instance is
 * an ephemeral znode `basePath/service/id` holding JSON (`address`, `port`, `metadata`), so it
 * disappears when its process's session ends. Registering is safe across connection loss: a create
 * whose reply was lost is recognised afterwards by the znode's ephemeralOwner being this session.
 */
export class ServiceRegistry {
  readonly basePath: string;
  /** acl is the ACL of every znode the registry creates (base and service directories if missing, each instance), default OPEN_ACL_UNSAFE. */
  readonly acl: readonly ACL[] | undefined;

  constructor(
    private readonly client: ZabClient,
    options: { basePath?: string; acl?: readonly ACL[] } = {},
  ) {
    this.basePath = options.basePath ?? '/services';
    this.acl = options.acl;
  }

  /**
   * on subscribes to the session's connection events as the registry sees them: `suspended` (the
   * registrations stay while the session lives, but vanish if the suspension outlasts the session
   * timeout), `reconnected` (the same session is back: they are all still there), `lost` (the
   * session ended: the server deleted every registration; register again on a new client).
   * Returns the function that unsubscribes.
   */
  on<E extends keyof ConnectionStateEvents>(event: E, listener: () => void): () => void {
    return onConnectionState(this.client, event, listener);
  }

  /**
   * register adds an instance of `service`. NODE_EXISTS if another live session registered the same
   * id (for example the previous process, before its session expired).
   */
  async register<M = Record<string, unknown>>(
    service: string,
    options: RegisterOptions<M> = {},
  ): Promise<Registration<M>> {
    const id = options.id ?? randomUUID();
    const servicePath = joinPath(this.basePath, service);
    const path = joinPath(servicePath, id);
    let record = { address: options.address, port: options.port, metadata: options.metadata ?? ({} as M) };
    const acl = this.acl;
    await ensurePath(this.client, servicePath, { signal: options.signal, acl });
    for (;;) {
      try {
        await this.client.create(path, JSON.stringify(record), {
          mode: 'EPHEMERAL',
          signal: options.signal,
          ...(acl === undefined ? {} : { acl }),
        });
        break;
      } catch (error) {
        if (ZabError.isInstance(error, 'CONNECTION_LOSS')) continue;
        if (!ZabError.isInstance(error, 'NODE_EXISTS')) throw error;
        const stat = await this.client.exists(path, options);
        if (stat !== null && stat.ephemeralOwner === this.client.sessionId) break;
        throw error;
      }
    }
    const client = this.client;
    return {
      id,
      path,
      async update(changes) {
        record = { ...record, ...changes, metadata: changes.metadata ?? record.metadata };
        await client.set(path, JSON.stringify(record));
      },
      async unregister() {
        try {
          await client.delete(path);
        } catch (error) {
          if (!ZabError.isInstance(error, 'NO_NODE')) throw error;
        }
      },
    };
  }

  /** instances lists a service's registered instances, ordered by id (none if the service is unknown). */
  async instances<M = Record<string, unknown>>(
    service: string,
    options: CallOptions = {},
  ): Promise<ServiceInstance<M>[]> {
    const servicePath = joinPath(this.basePath, service);
    let ids: string[];
    try {
      ids = await this.client.children(servicePath, options);
    } catch (error) {
      if (ZabError.isInstance(error, 'NO_NODE')) return [];
      throw error;
    }
    const instances: ServiceInstance<M>[] = [];
    for (const id of ids) {
      try {
        const { data, stat } = await this.client.get(joinPath(servicePath, id), options);
        const record = JSON.parse(decoder.decode(data)) as { address?: string; port?: number; metadata?: M };
        instances.push({
          service,
          id,
          address: record.address,
          port: record.port,
          metadata: record.metadata ?? ({} as M),
          registeredAtMs: stat.ctime,
        });
      } catch (error) {
        // Gone between the listing and the read: it left.
        if (ZabError.isInstance(error, 'NO_NODE')) continue;
        if (error instanceof SyntaxError) continue;
        throw error;
      }
    }
    return instances;
  }

  /**
   * watch yields a service's instances now and again after every change (instances joining,
   * leaving, updating), from a recursive watch on the service's znode; after a reconnect it lists
   * again, since persistent watches do not replay what happened meanwhile. Lists equal to the
   * previous one are not repeated. Ends when the loop breaks or the client closes; throws
   * SESSION_EXPIRED on expiry and the signal's reason on abort.
   */
  async *watch<M = Record<string, unknown>>(
    service: string,
    options: CallOptions = {},
  ): AsyncGenerator<ServiceInstance<M>[]> {
    const servicePath = joinPath(this.basePath, service);
    const stream = this.client.watch(servicePath, { recursive: true, signal: options.signal });
    // One pending mark is enough: the next listing sees every change before it.
    let pending = false;
    let finished = false;
    let wake: (() => void) | undefined;
    const changed = () => {
      pending = true;
      wake?.();
    };
    let ended: unknown;
    const pump = (async () => {
      try {
        for await (const _ of stream) changed();
      } catch (error) {
        ended = error;
      }
      finished = true;
      wake?.();
    })();
    const offReconnect = this.client.on('reconnected', changed);
    try {
      await stream.ready;
      let previous = '';
      for (;;) {
        const instances = await this.instances<M>(service, options);
        const key = JSON.stringify(instances);
        if (key !== previous) {
          previous = key;
          yield instances;
        }
        if (!pending && !finished) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
        if (finished) break;
        pending = false;
      }
      if (ended !== undefined) throw ended;
    } finally {
      offReconnect();
      stream.close();
      await pump;
    }
  }
}
