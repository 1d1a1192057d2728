import type { ACL } from '@zabkit/core';
import type { CallOptions, CreateModeName, Data, Op, OpResult } from './types.js';

/**
 * Transaction builds a multi step by step; `commit()` sends it: all the ops take effect, or none
 * (the ZabError of the failing op is thrown). A transaction can be committed once.
 */
export class Transaction {
  private readonly ops: Op[] = [];
  private committed = false;

  /** @internal built by ZabClient.transaction(). */
  constructor(private readonly run: (ops: Op[], options: CallOptions) => Promise<OpResult[]>) {}

  /** create adds a create; `acl` defaults to OPEN_ACL_UNSAFE. */
  create(
    path: string,
    data?: Data,
    options: { mode?: CreateModeName; ttlMs?: number; acl?: readonly ACL[] } = {},
  ): this {
    this.ops.push({ op: 'create', path, data, mode: options.mode, ttlMs: options.ttlMs, acl: options.acl });
    return this;
  }

  /** set adds a setData with an expected version (-1, the default, for any). */
  set(path: string, data: Data, options: { version?: number } = {}): this {
    this.ops.push({ op: 'set', path, data, version: options.version });
    return this;
  }

  /** delete adds a delete with an expected version (-1, the default, for any). */
  delete(path: string, options: { version?: number } = {}): this {
    this.ops.push({ op: 'delete', path, version: options.version });
    return this;
  }

  /** check adds a version check: the whole transaction fails with BAD_VERSION if the znode's version differs. */
  check(path: string, version: number): this {
    this.ops.push({ op: 'check', path, version });
    return this;
  }

  /** size is the number of ops so far. */
  get size(): number {
    return this.ops.length;
  }

  /** commit sends the ops as one multi. */
  commit(options: CallOptions = {}): Promise<OpResult[]> {
    if (this.committed) return Promise.reject(new Error('Transaction.commit: this transaction was already committed'));
    this.committed = true;
    return this.run([...this.ops], options);
  }
}
