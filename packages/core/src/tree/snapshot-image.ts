import type { SnapshotNodeFields, SnapshotSink } from '../storage.js';
import type { ACL, SnapshotConfigRecord, SnapshotRecord, SnapshotSessionRecord } from '../types.js';
import { AclCache, OPEN_ACL_REF } from './acl-cache.js';
import { nodeRecord } from './node-records.js';
import { NodeTable } from './node-table.js';

const IMAGE_MARKER: unique symbol = Symbol.for('@zabkit/core.SnapshotImage');

/** OtherRecord is a snapshot record that is not a znode, with the number of znodes before it. */
interface OtherRecord {
  at: number;
  record: SnapshotSessionRecord | SnapshotConfigRecord;
}

/** AdoptedImage is what a tree takes over from a {@link SnapshotImage}. */
export interface AdoptedImage {
  /** nodes holds the znodes in slots 0 to nodeCount - 1, in the snapshot's order, not yet indexed or linked. */
  nodes: NodeTable;
  acls: AclCache;
  nodeCount: number;
  /** others are the session and membership records, in order. */
  others: readonly (SnapshotSessionRecord | SnapshotConfigRecord)[];
}

/**
 * SnapshotImage is a snapshot decoded once into the form a DataTree keeps its znodes in (issue 17:
 * a restart decoded a million-znode snapshot twice, the second time into a record object per
 * znode that the tree then copied): a decoder feeds it as a {@link SnapshotSink}, each znode's row,
 * data and access list going straight into a NodeTable, a ValueStore and an AclCache. Nothing is
 * checked here beyond what the decoder checks: any records are kept, as a Storage keeps any.
 *
 * `DataTree.fromSnapshot` adopts those structures (indexing and linking each znode in place)
 * instead of copying them; after that the image is the tree's and iterating it throws. Until then
 * it is an ordinary `SnapshotRecords`: iteration builds each record from the table as it goes, in
 * the order they were fed.
 */
export class SnapshotImage implements SnapshotSink, Iterable<SnapshotRecord> {
  readonly [IMAGE_MARKER] = true;
  private nodes: NodeTable | null;
  private readonly acls = new AclCache();
  private readonly others: OtherRecord[] = [];
  private nodeCount = 0;
  /** The last access list seen and its reference: a decoder hands out one array per distinct list. */
  private lastAcl: readonly ACL[] | null = null;
  private lastAclRef = OPEN_ACL_REF;

  /** `slotsHint`: about how many znodes the image and the tree built from it will hold (its rows are sized once). */
  constructor(slotsHint = 0) {
    this.nodes = new NodeTable(slotsHint);
  }

  /** isInstance tells a SnapshotImage, also one from another copy of this package. */
  static isInstance(value: unknown): value is SnapshotImage {
    return (
      typeof value === 'object' && value !== null && (value as { [IMAGE_MARKER]?: boolean })[IMAGE_MARKER] === true
    );
  }

  /** length is the number of records: znodes, sessions and membership records. */
  get length(): number {
    return this.nodeCount + this.others.length;
  }

  node(fields: Readonly<SnapshotNodeFields>): void {
    const nodes = this.live();
    let aclRef: number;
    if (fields.acl === this.lastAcl) {
      aclRef = this.lastAclRef;
      this.acls.retain(aclRef);
    } else {
      aclRef = this.acls.acquire(fields.acl);
      this.lastAcl = fields.acl;
      this.lastAclRef = aclRef;
    }
    nodes.placeRestored(fields, aclRef);
    this.nodeCount++;
  }

  record(record: SnapshotSessionRecord | SnapshotConfigRecord): void {
    this.live();
    this.others.push({ at: this.nodeCount, record });
  }

  /** config is the image's last membership record, or null (a snapshot from before reconfig). */
  config(): SnapshotConfigRecord | null {
    for (let index = this.others.length - 1; index >= 0; index--) {
      const { record } = this.others[index]!;
      if (record.kind === 'config') return record;
    }
    return null;
  }

  *[Symbol.iterator](): Generator<SnapshotRecord> {
    const nodes = this.live();
    let next = 0;
    for (let slot = 0; slot < this.nodeCount; slot++) {
      while (next < this.others.length && this.others[next]!.at === slot) yield this.others[next++]!.record;
      yield nodeRecord(nodes, slot, this.acls);
    }
    while (next < this.others.length) yield this.others[next++]!.record;
  }

  /** adopt hands the image's structures to a tree, once: the image is unusable afterwards. */
  adopt(): AdoptedImage {
    const nodes = this.live();
    this.nodes = null;
    return {
      nodes,
      acls: this.acls,
      nodeCount: this.nodeCount,
      others: this.others.map((other) => other.record),
    };
  }

  private live(): NodeTable {
    if (this.nodes === null) throw new Error('SnapshotImage: a tree adopted it, its znodes are the tree’s now');
    return this.nodes;
  }
}
