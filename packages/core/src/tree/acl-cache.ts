import { type ACL, OPEN_ACL_UNSAFE } from '../types.js';
import { aclKey, isOpenAcl } from './acl.js';

/** OPEN_ACL_REF is the reference of OPEN_ACL_UNSAFE, which is always cached and never counted. */
export const OPEN_ACL_REF = 0;

/**
 * AclCache is ZooKeeper's ReferenceCountedACLCache: each distinct access list is held once, and a
 * znode holds a small integer reference to it. A tree where most znodes share a few lists (the
 * common case: every znode OPEN_ACL_UNSAFE) pays one int32 per znode for ACLs. The lists handed
 * out are frozen and shared: equal lists are the same array.
 */
export class AclCache {
  private readonly lists: (readonly ACL[] | undefined)[] = [OPEN_ACL_UNSAFE];
  private readonly counts: number[] = [0];
  private readonly byKey = new Map<string, number>([[aclKey(OPEN_ACL_UNSAFE), OPEN_ACL_REF]]);
  private readonly free: number[] = [];

  /** size is the number of distinct lists held, OPEN_ACL_UNSAFE included. */
  get size(): number {
    return this.byKey.size;
  }

  /** acquire returns the reference of `acl`, caching a frozen copy if new, and counts one more user. */
  acquire(acl: readonly ACL[]): number {
    if (isOpenAcl(acl)) return OPEN_ACL_REF;
    const key = aclKey(acl);
    let ref = this.byKey.get(key);
    if (ref === undefined) {
      ref = this.free.pop() ?? this.lists.length;
      this.lists[ref] = Object.freeze(
        acl.map((entry) => Object.freeze({ perms: entry.perms, id: Object.freeze({ ...entry.id }) })),
      );
      this.counts[ref] = 0;
      this.byKey.set(key, ref);
    }
    if (ref !== OPEN_ACL_REF) this.counts[ref]!++;
    return ref;
  }

  /** retain counts one more user of `ref`, a reference {@link acquire} returned (no lookup by content). */
  retain(ref: number): void {
    if (ref === OPEN_ACL_REF) return;
    if (this.lists[ref] === undefined) throw new Error(`AclCache.retain of unknown reference ${ref}`);
    this.counts[ref]!++;
  }

  /** release counts one user less of `ref` and drops the list when none is left. */
  release(ref: number): void {
    if (ref === OPEN_ACL_REF) return;
    const list = this.lists[ref];
    if (list === undefined) throw new Error(`AclCache.release of unknown reference ${ref}`);
    if (--this.counts[ref]! > 0) return;
    this.byKey.delete(aclKey(list));
    this.lists[ref] = undefined;
    this.free.push(ref);
  }

  /** get is the list of `ref`. */
  get(ref: number): readonly ACL[] {
    const list = this.lists[ref];
    if (list === undefined) throw new Error(`AclCache.get of unknown reference ${ref}`);
    return list;
  }
}
