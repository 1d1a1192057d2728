import { createHash } from 'node:crypto';
import {
  type ACL,
  type AuthId,
  CREATOR_ALL_ACL,
  type Limits,
  type MultiOp,
  OPEN_ACL_UNSAFE,
  type Random,
  READ_ACL_UNSAFE,
  type Request,
} from '@zabkit/core';
import { ADMIN, ALL, CREATE, DELETE, READ, SUPER, WORLD, WRITE } from './acl-model.js';
import { requestFrameBytes } from './wire.js';

/**
 * WorkloadMix: what the simulated clients send, drawn per seed (swarm testing) like the faults.
 * Small-value seeds keep the few-byte values that exercise ordering and contention; the others
 * send values up to dataBytesMax, requests and replies near the frame limits, and pipelined big
 * writes, the sizes that took real ensembles down.
 */
export interface WorkloadMix {
  /** valueBytesMax: the largest value a write carries (a few bytes up to dataBytesMax). */
  valueBytesMax: number;
  /** bigWriteShare: share of writes whose value is drawn up to valueBytesMax (the rest carry a few bytes). */
  bigWriteShare: number;
  /** pipelineMax: requests a client keeps in flight; above 3, it also sends bursts of big writes at once. */
  pipelineMax: number;
  /**
   * limitShare: share of requests that probe the limits: multi and multiRead near the client frame,
   * getChildren of a directory of long-named children, paths near and over pathBytesMax, ephemerals
   * with long paths (a big closeSession).
   */
  limitShare: number;
  /**
   * aclShare: share of requests about access lists (acl-workload below): creates with lists other
   * than OPEN_ACL_UNSAFE, setACL, getACL, and reads and writes the lists refuse.
   */
  aclShare: number;
}

/** SimRandom is the simulator's seeded PRNG (core's createPrng): floats and integers. */
export type SimRandom = Random & { int(bound: number): number };

/** ClientRequest is one request a client sends, and whether it is a linearizable read. */
export interface ClientRequest {
  request: Request;
  linearizable: boolean;
}

/** KEYS are the contended znodes every client reads and writes. */
export const KEYS = ['/k0', '/k1', '/k2'];
/** WIDE_DIR is the directory whose long-named children make getChildren replies near the frame limit. */
export const WIDE_DIR = '/wide';

/** ACL_DIR is the directory of the znodes with access lists; its own list governs creating and deleting them. */
export const ACL_DIR = '/acl';
/** ACL_KEYS are the znodes the ACL share of the workload reads and writes. */
export const ACL_KEYS = ['/acl/0', '/acl/1', '/acl/2'];

/** digestId is ZooKeeper's digest id of `user` with `password`: `user:` base64(sha1(`user:password`)). */
export function digestId(user: string, password: string): AuthId {
  return { scheme: 'digest', id: `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}` };
}

/** The ids the simulated clients authenticate as (authFor), besides their address and the super id. */
export const ALICE = digestId('alice', 'alice-secret');
export const BOB = digestId('bob', 'bob-secret');
export const CAROL: AuthId = { scheme: 'x509', id: 'CN=carol,O=zabkit' };

/** ANYONE_MAY_FILL: a directory anyone may read and create and delete children in, administered by one digest. */
const ANYONE_MAY_FILL: readonly ACL[] = [
  { perms: CREATE | DELETE | READ, id: WORLD },
  { perms: ALL, id: ALICE },
];

/**
 * ACL_MENU: the lists the workload sets: open, the creator's ids, world READ only, one digest
 * only, digest-only READ beside another's ALL, world READ and WRITE administered by one digest,
 * an address block, a certificate beside a digest that may only create and delete children, a
 * directory anyone may fill.
 */
export const ACL_MENU: readonly (readonly ACL[])[] = [
  OPEN_ACL_UNSAFE,
  CREATOR_ALL_ACL,
  READ_ACL_UNSAFE,
  [{ perms: ALL, id: ALICE }],
  [
    { perms: READ, id: ALICE },
    { perms: ALL, id: BOB },
  ],
  [
    { perms: READ | WRITE, id: WORLD },
    { perms: ADMIN, id: ALICE },
  ],
  [
    { perms: ALL, id: { scheme: 'ip', id: '10.0.0.10/31' } },
    { perms: READ, id: WORLD },
  ],
  [
    { perms: ALL, id: CAROL },
    { perms: CREATE | DELETE, id: BOB },
  ],
  ANYONE_MAY_FILL,
];

/** ACL_DIR_LISTS: lists that let most clients create and delete in ACL_DIR (half its creates draw one). */
const ACL_DIR_LISTS: readonly (readonly ACL[])[] = [
  OPEN_ACL_UNSAFE,
  ANYONE_MAY_FILL,
  [
    { perms: READ | CREATE | DELETE, id: WORLD },
    { perms: ADMIN, id: BOB },
  ],
];

/** INVALID_ACLS: lists ZooKeeper refuses with INVALID_ACL (a malformed digest, an unknown scheme, none). */
export const INVALID_ACLS: readonly (readonly ACL[])[] = [
  [{ perms: ALL, id: { scheme: 'digest', id: 'mallory:not-a-digest' } }],
  [{ perms: ALL, id: { scheme: 'kerberos', id: 'eve@EXAMPLE.COM' } }],
  [],
];

/** drawWorkloadMix draws a seed's workload; `draw` is the seed's mix PRNG. */
export function drawWorkloadMix(draw: SimRandom, limits: Limits): WorkloadMix {
  const pick = (values: number[]) => values[draw.int(values.length)] as number;
  return {
    valueBytesMax: pick([16, 16, 16, 1024, 8 * 1024, limits.dataBytesMax, limits.dataBytesMax]),
    bigWriteShare: pick([0.1, 0.5, 1]),
    pipelineMax: pick([3, 3, 8]),
    limitShare: pick([0, 0, 0.03, 0.1]),
    // Drawn last, so the draws above are the ones seeds made before ACLs.
    aclShare: pick([0.03, 0.06, 0.1]),
  };
}

/**
 * Workload builds the requests of the simulated clients from one seeded PRNG, within the limits a
 * real client enforces (a request frame never over clientFrameBytesMax), so every failure it
 * provokes is the server's.
 */
export class Workload {
  /**
   * `aclRandom` draws the ACL share and the ids of each connection (default: `random`), so a seed
   * draws its other requests from `random` as it did before ACLs, where they are not replaced.
   */
  constructor(
    readonly mix: WorkloadMix,
    private readonly limits: Limits,
    private readonly random: SimRandom,
    private readonly aclRandom: SimRandom = random,
  ) {}

  /**
   * authFor draws the ids a new connection of client `client` authenticates as: the address every
   * connection holds, then by client none, one digest, two digests, or a certificate; now and
   * then an operator's super id besides.
   */
  authFor(client: number): AuthId[] {
    const ids: AuthId[] = [{ scheme: 'ip', id: `10.0.0.${10 + (client % 200)}` }];
    const profile = client % 4;
    if (profile === 1 || profile === 2) ids.push(ALICE);
    if (profile === 2) ids.push(BOB);
    if (profile === 3) ids.push(CAROL);
    if (this.aclRandom.int(5) === 0) ids.push(SUPER);
    return ids;
  }

  /**
   * next returns the requests client `client` sends now (usually one; a burst of big writes when
   * it pipelines), tagged from `nextXid` so every value written is distinct.
   */
  next(client: number, nextXid: number): ClientRequest[] {
    if (this.mix.aclShare > 0 && this.aclRandom.next() < this.mix.aclShare) return [this.aclRequest(client, nextXid)];
    const prng = this.random;
    if (this.mix.limitShare > 0 && prng.next() < this.mix.limitShare) return this.limitProbe(client, nextXid);
    const roll = prng.int(100);
    const key = KEYS[prng.int(KEYS.length)] as string;
    const tag = `c${client}-${nextXid}`;
    const write = (request: Request): ClientRequest[] => [{ request, linearizable: false }];
    if (roll < 30) {
      // Half unconditional, half conditional on a guessed version (BAD_VERSION is a result too).
      const version = prng.int(2) === 0 ? -1 : prng.int(4);
      return write({ op: 'setData', path: key, data: this.value(tag), version });
    }
    if (roll < 38) return write({ op: 'create', path: key, data: this.value(tag), mode: 0, ttlMs: 0 });
    if (roll < 42) return write({ op: 'delete', path: key, version: -1 });
    if (roll < 60) return [{ request: { op: 'getData', path: key, watch: false }, linearizable: false }];
    if (roll < 72) return [{ request: { op: 'getData', path: key, watch: false }, linearizable: true }];
    if (roll < 78) {
      return write({ op: 'create', path: `/e-${client}-${nextXid}`, data: text('eph'), mode: 1, ttlMs: 0 });
    }
    if (roll < 84) {
      return write({
        op: 'multi',
        ops: [
          { op: 'check', path: key, version: prng.int(3) - 1 },
          { op: 'setData', path: key, data: this.value(`m${client}-${nextXid}`), version: -1 },
        ],
      });
    }
    if (roll < 88) return [{ request: { op: 'sync', path: key }, linearizable: false }];
    if (roll < 90 && prng.int(4) === 0) return write({ op: 'closeSession' });
    if (roll < 93 && this.mix.pipelineMax > 3) return this.bigWriteBurst(client, nextXid);
    return [{ request: { op: 'getData', path: key, watch: false }, linearizable: false }];
  }

  /**
   * bulkWrite is one write of a bulk load (a member is down meanwhile): a create of a fresh znode
   * of `valueBytes`, so the tree grows and the member comes back far behind.
   */
  bulkWrite(load: number, index: number, valueBytes: number): Request {
    const tag = `b${load}-${index}`;
    return { op: 'create', path: `/${tag}`, data: fill(tag, valueBytes), mode: 0, ttlMs: 0 };
  }

  /**
   * aclRequest is one request of the ACL share, on ACL_DIR and its children ACL_KEYS (the other
   * keys stay open, so the rest of the workload is not refused): creates with a list from
   * ACL_MENU (some ZooKeeper refuses), setACL, getACL, reads and writes the lists may refuse.
   */
  private aclRequest(client: number, nextXid: number): ClientRequest {
    const random = this.aclRandom;
    const roll = random.int(100);
    const key = ACL_KEYS[random.int(ACL_KEYS.length)] as string;
    const data = text(`a${client}-${nextXid}`);
    const version = () => (random.int(2) === 0 ? -1 : random.int(3));
    const write = (request: Request): ClientRequest => ({ request, linearizable: false });
    // Creates come often: the znodes are deleted now and then, and a request on a missing one says little.
    if (roll < 14) {
      // The directory is usually one its children can be created in; its list governs that.
      const lists = random.int(2) === 0 ? ACL_MENU : ACL_DIR_LISTS;
      const acl = lists[random.int(lists.length)] as readonly ACL[];
      return write({ op: 'create', path: ACL_DIR, data, mode: 0, ttlMs: 0, acl });
    }
    if (roll < 40) return write({ op: 'create', path: key, data, mode: 0, ttlMs: 0, acl: this.aclFromMenu() });
    if (roll < 52) return write({ op: 'setData', path: key, data, version: version() });
    if (roll < 57) return write({ op: 'delete', path: key, version: -1 });
    if (roll < 58) return write({ op: 'delete', path: ACL_DIR, version: -1 });
    if (roll < 71) {
      const path = random.int(5) === 0 ? ACL_DIR : key;
      return write({ op: 'setACL', path, acl: this.aclFromMenu(), version: version() });
    }
    if (roll < 79) {
      return { request: { op: 'getACL', path: random.int(5) === 0 ? ACL_DIR : key }, linearizable: false };
    }
    if (roll < 89) return { request: { op: 'getData', path: key, watch: false }, linearizable: random.int(4) === 0 };
    if (roll < 92) return { request: { op: 'getChildren', path: ACL_DIR, watch: false }, linearizable: false };
    if (roll < 96) {
      return write({
        op: 'multi',
        ops: [
          { op: 'check', path: key, version: -1 },
          { op: 'setData', path: key, data, version: -1 },
        ],
      });
    }
    return {
      request: {
        op: 'multiRead',
        ops: [
          ...ACL_KEYS.map((path) => ({ op: 'getData' as const, path, watch: false })),
          { op: 'getChildren', path: ACL_DIR, watch: false },
        ],
      },
      linearizable: false,
    };
  }

  /** aclFromMenu draws a list from ACL_MENU: one in ten is one ZooKeeper refuses (INVALID_ACL). */
  private aclFromMenu(): readonly ACL[] {
    const random = this.aclRandom;
    if (random.int(10) === 0) return INVALID_ACLS[random.int(INVALID_ACLS.length)] as readonly ACL[];
    return ACL_MENU[random.int(ACL_MENU.length)] as readonly ACL[];
  }

  /** value is a write's data: a few bytes, or with bigWriteShare up to valueBytesMax (sometimes exactly). */
  private value(tag: string): Uint8Array {
    const max = this.mix.valueBytesMax;
    if (max <= 16 || this.random.next() >= this.mix.bigWriteShare) return text(tag);
    const size = this.random.int(5) === 0 ? max : 1 + this.random.int(max);
    return fill(tag, size);
  }

  private bigWriteBurst(client: number, nextXid: number): ClientRequest[] {
    // Pipelined writes of values near the limit: the leader batches them into PROPOSALs.
    const count = 2 + this.random.int(this.mix.pipelineMax - 1);
    const burst: ClientRequest[] = [];
    for (let i = 0; i < count; i++) {
      const tag = `p${client}-${nextXid + i}`;
      const size = this.mix.valueBytesMax - this.random.int(Math.max(1, this.mix.valueBytesMax >> 3));
      const key = KEYS[this.random.int(KEYS.length)] as string;
      burst.push({ request: { op: 'setData', path: key, data: fill(tag, size), version: -1 }, linearizable: false });
    }
    return burst;
  }

  private limitProbe(client: number, nextXid: number): ClientRequest[] {
    const read = (request: Request): ClientRequest[] => [{ request, linearizable: this.random.int(4) === 0 }];
    const write = (request: Request): ClientRequest[] => [{ request, linearizable: false }];
    switch (this.random.int(7)) {
      case 0:
        // Every key at once: with big values the reply is over the client frame (MARSHALLING_ERROR).
        return read({
          op: 'multiRead',
          ops: [
            ...KEYS.map((path) => ({ op: 'getData' as const, path, watch: false })),
            { op: 'getChildren', path: WIDE_DIR, watch: false },
          ],
        });
      case 1:
        return read({ op: 'getChildren', path: WIDE_DIR, watch: this.random.int(2) === 0 });
      case 2:
        return write({ op: 'create', path: WIDE_DIR, data: text('wide'), mode: 0, ttlMs: 0 });
      case 3:
        // A child with a long name, now and then one byte over pathBytesMax (INVALID_PATH).
        return write({
          op: 'create',
          path: this.longPath(`${WIDE_DIR}/${client}-${nextXid}-`),
          data: text('w'),
          mode: 0,
          ttlMs: 0,
        });
      case 4:
        // An ephemeral with a long path: its session's closeSession lists it.
        return write({
          op: 'create',
          path: this.longPath(`/e-${client}-${nextXid}-`),
          data: text('e'),
          mode: 1,
          ttlMs: 0,
        });
      case 5:
        return write(this.bigMulti(client, nextXid));
      default:
        return this.mix.valueBytesMax > 16
          ? this.bigWriteBurst(client, nextXid)
          : write(this.bigMulti(client, nextXid));
    }
  }

  /** longPath is a fresh path starting with `head`, its length drawn up to pathBytesMax and sometimes one over. */
  private longPath(head: string): string {
    const max = this.limits.pathBytesMax;
    const length = this.random.int(8) === 0 ? max + 1 : max - this.random.int(max >> 2);
    return head + 'x'.repeat(Math.max(1, length - head.length));
  }

  /**
   * bigMulti is a multi whose request is near the client frame limit: creates of long-named
   * children of WIDE_DIR (a result near the limit too), or sets of big values on the keys.
   */
  private bigMulti(client: number, nextXid: number): Request {
    const frameMax = this.limits.clientFrameBytesMax;
    const target = frameMax - this.random.int(frameMax >> 3);
    const creates = this.random.int(2) === 0;
    const ops: MultiOp[] = [];
    let bytes = 64;
    for (let i = 0; ; i++) {
      const op: MultiOp = creates
        ? {
            op: 'create',
            path: `${WIDE_DIR}/${client}-${nextXid}-${i}-${'y'.repeat(this.random.int(this.limits.pathBytesMax - 64))}`,
            data: text('m'),
            mode: 0,
            ttlMs: 0,
          }
        : {
            op: 'setData',
            path: KEYS[i % KEYS.length] as string,
            data: fill(`M${client}-${nextXid}-${i}`, 1 + this.random.int(this.mix.valueBytesMax)),
            version: -1,
          };
      const opBytes = 32 + op.path.length + ('data' in op ? op.data.length : 0);
      if (ops.length > 0 && bytes + opBytes > target) break;
      ops.push(op);
      bytes += opBytes;
      if (ops.length >= 1_000) break;
    }
    const request: Request = { op: 'multi', ops };
    // A real client refuses to send a frame over the limit: keep the request sendable.
    while (ops.length > 1 && requestFrameBytes(nextXid, request, false) > frameMax) ops.pop();
    return request;
  }
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** fill is `size` bytes (at least the tag's) starting with the tag, so every value is distinct and recognisable. */
function fill(tag: string, size: number): Uint8Array {
  const head = text(tag);
  const data = new Uint8Array(Math.max(size, head.length));
  data.fill(0x2e);
  data.set(head, 0);
  return data;
}
