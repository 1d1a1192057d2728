import {
  type LogEntry,
  makeZxid,
  OPEN_ACL_UNSAFE,
  type PeerMessage,
  type Request,
  type SessionId,
  ZXID_EPOCH_MAX,
  type Zxid,
  zxidCounter,
  zxidEpoch,
} from '@zabkit/core';
import { ALL, SUPER } from './acl-model.js';
import type { SimRandom } from './workload.js';

/** OUTSIDER_PATH prefixes every path the outsider writes, so a committed one is recognised. */
export const OUTSIDER_PATH = '/outsider';
/** OUTSIDER_DATA starts every value the outsider writes. */
export const OUTSIDER_DATA = 'outsider:';
/** OUTSIDER_CXID_MIN: the outsider's forged requests and entries carry cxids from here (clients' stay far below). */
export const OUTSIDER_CXID_MIN = 0x4000_0000;
/** OUTSIDER_USER names the digest id the outsider's access lists grant to. */
export const OUTSIDER_USER = 'outsider';

/**
 * OutsiderView is what the outsider sees of the ensemble, as a host sniffing the network would:
 * who is a member, who leads which epoch and how far its log reaches, the sessions in use.
 */
export interface OutsiderView {
  voterIds: readonly number[];
  observerIds: readonly number[];
  /** leader: the established leader of the highest epoch, its epoch and last logged zxid; null when none. */
  leader(): { id: number; epoch: number; lastZxid: Zxid } | null;
  /** sessionIds: sessions the clients hold now. */
  sessionIds(): SessionId[];
  now(): number;
}

/**
 * Outsider is a host whose id is in no member's configuration that speaks the peer protocol
 * (TigerBeetle's simulator keeps such nodes on its network): votes claiming epochs and zxids
 * above everyone's, FOLLOWERINFO, LEADERINFO, ACKEPOCH, ACKs of the leader's outstanding
 * proposals, NEWLEADER, SYNC (a TRUNC to nothing), PROPOSALs and INFORMs of its own entries at
 * the next zxid of the current epoch with COMMITs for them, forwarded client writes as the super
 * user, pings keeping sessions alive, barrier acks. Each is forged from what it sees, so it is as
 * plausible as a message can be. Everything it writes is marked (OUTSIDER_PATH, OUTSIDER_DATA,
 * OUTSIDER_CXID_MIN, OUTSIDER_USER), so a committed trace of it is recognised
 * (outsider-checker.ts). It draws from its own PRNG stream: the rest of a seed draws what it drew
 * before the outsider.
 */
export class Outsider {
  /** sent: messages forged, by type. */
  readonly sent = new Map<string, number>();
  private nextCxid = OUTSIDER_CXID_MIN;

  constructor(
    readonly id: number,
    private readonly random: SimRandom,
    private readonly view: OutsiderView,
  ) {}

  /** total is how many messages it forged. */
  get total(): number {
    let total = 0;
    for (const count of this.sent.values()) total += count;
    return total;
  }

  /** forge picks a member and a message for it. */
  forge(): { to: number; message: PeerMessage } {
    const random = this.random;
    const members = [...this.view.voterIds, ...this.view.observerIds];
    const leader = this.view.leader();
    const epoch = leader?.epoch ?? 1 + random.int(3);
    const lastZxid = leader?.lastZxid ?? makeZxid(epoch, 0);
    const higherEpoch = Math.min(ZXID_EPOCH_MAX, epoch + 1 + random.int(1_000));
    const anyone = () => members[random.int(members.length)] as number;
    // Most messages go where they would matter: a learner's to the leader, a leader's to a learner.
    const toLeader = () => (leader && random.int(4) !== 0 ? leader.id : anyone());
    const toLearner = () => {
      const learners = members.filter((id) => id !== leader?.id);
      return learners.length > 0 && random.int(4) !== 0 ? (learners[random.int(learners.length)] as number) : anyone();
    };
    const kind = random.int(16);
    let to: number;
    let message: PeerMessage;
    switch (kind) {
      case 0:
      case 1:
        to = anyone();
        message = {
          type: 'notification',
          leader: random.int(2) === 0 ? this.id : anyone(),
          zxid: makeZxid(higherEpoch, random.int(1_000)),
          electionEpoch: higherEpoch,
          peerEpoch: higherEpoch,
          state: (['LOOKING', 'LEADING', 'FOLLOWING'] as const)[random.int(3)] as 'LOOKING',
        };
        break;
      case 2:
        to = toLeader();
        message = {
          type: 'followerInfo',
          epoch,
          acceptedEpoch: random.int(2) === 0 ? epoch : higherEpoch,
          observer: random.int(2) === 0,
          followId: random.int(0x7fff_ffff),
        };
        break;
      case 3:
        to = toLearner();
        message = { type: 'leaderInfo', epoch: higherEpoch };
        break;
      case 4:
        to = toLeader();
        message = { type: 'ackEpoch', epoch, currentEpoch: epoch, lastZxid: makeZxid(higherEpoch, 1) };
        break;
      case 5:
      case 6:
        // An ACK of everything the leader logged: counted, it would commit on one member's word.
        to = toLeader();
        message = { type: 'ack', epoch, zxid: lastZxid + random.int(3) };
        break;
      case 7:
        to = toLeader();
        message = { type: 'ackNewLeader', epoch, lastZxid };
        break;
      case 8:
        to = toLeader();
        message = {
          type: 'forward',
          epoch,
          followId: random.int(0x7fff_ffff),
          sessionId: this.session(),
          cxid: this.nextCxid++,
          request: this.request(),
          auth: [SUPER],
        };
        break;
      case 9:
      case 10: {
        to = toLearner();
        const entries = this.entries(epoch, lastZxid);
        message = this.view.observerIds.includes(to)
          ? { type: 'inform', epoch, entries }
          : { type: 'proposal', epoch, entries };
        break;
      }
      case 11:
        to = toLearner();
        message = { type: 'commit', epoch, zxid: lastZxid + 1 + random.int(2) };
        break;
      case 12:
        to = toLearner();
        message =
          random.int(2) === 0
            ? { type: 'sync', epoch, mode: 'TRUNC', truncZxid: 0, snapshotZxid: 0 }
            : { type: 'newLeader', epoch: higherEpoch, zxid: makeZxid(higherEpoch, 0) };
        break;
      case 13:
        to = toLearner();
        message =
          random.int(2) === 0
            ? { type: 'upToDate', epoch, committedZxid: lastZxid + 1 }
            : this.entriesMessage(epoch, lastZxid);
        break;
      case 14:
        to = toLeader();
        message = { type: 'ping', epoch, sessions: this.view.sessionIds() };
        break;
      default:
        to = anyone();
        message =
          random.int(2) === 0
            ? { type: 'barrierAck', epoch, id: 1 + random.int(50) }
            : { type: 'barrierResult', epoch, id: 1 + random.int(50), zxid: 0 };
        break;
    }
    this.sent.set(message.type, (this.sent.get(message.type) ?? 0) + 1);
    return { to, message };
  }

  private session(): SessionId {
    const sessions = this.view.sessionIds();
    return sessions.length > 0 && this.random.int(4) !== 0 ? (sessions[this.random.int(sessions.length)] as number) : 0;
  }

  /** request is a client write the outsider forwards as a learner would, as the super user. */
  private request(): Request {
    const tag = `${OUTSIDER_DATA}${this.nextCxid}`;
    const data = new TextEncoder().encode(tag);
    switch (this.random.int(4)) {
      case 0:
        return { op: 'create', path: `${OUTSIDER_PATH}-${this.nextCxid}`, data, mode: 0, ttlMs: 0 };
      case 1:
        return { op: 'setData', path: `/k${this.random.int(3)}`, data, version: -1 };
      case 2:
        return {
          op: 'setACL',
          path: '/',
          acl: [{ perms: ALL, id: { scheme: 'digest', id: `${OUTSIDER_USER}:${'A'.repeat(27)}=` } }],
          version: -1,
        };
      default:
        return {
          op: 'create',
          path: `${OUTSIDER_PATH}-e${this.nextCxid}`,
          data,
          mode: 1,
          ttlMs: 0,
          acl: OPEN_ACL_UNSAFE,
        };
    }
  }

  /** entries are transactions of its own at the next zxids of the current epoch. */
  private entries(epoch: number, lastZxid: Zxid): LogEntry[] {
    const first = zxidEpoch(lastZxid) === epoch ? zxidCounter(lastZxid) + 1 : 1;
    const count = 1 + this.random.int(3);
    const entries: LogEntry[] = [];
    for (let i = 0; i < count; i++) {
      const cxid = this.nextCxid++;
      entries.push({
        zxid: makeZxid(epoch, first + i),
        sessionId: this.session(),
        cxid,
        timeMs: this.view.now(),
        txn: {
          type: 'create',
          path: `${OUTSIDER_PATH}-${cxid}`,
          data: new TextEncoder().encode(`${OUTSIDER_DATA}${cxid}`),
          ephemeralOwner: 0,
          container: false,
          ttlMs: 0,
          parentCversion: 1 + this.random.int(100),
          acl: OPEN_ACL_UNSAFE,
        },
      });
    }
    return entries;
  }

  private entriesMessage(epoch: number, lastZxid: Zxid): PeerMessage {
    return { type: 'entries', epoch, entries: this.entries(epoch, lastZxid) };
  }
}
