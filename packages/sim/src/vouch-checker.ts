import { formatZxid, type PeerMessage, type Zxid } from '@zabkit/core';

/** DurableState is what a member's storage has confirmed durable (fsynced): the end of its history and its epochs. */
export interface DurableState {
  /** lastZxid: the last durable entry, or the durable snapshot's zxid past the log's end. */
  lastZxid: Zxid;
  acceptedEpoch: number;
  currentEpoch: number;
}

/** VOUCH_INVARIANT is the name the simulator reports a broken check under. */
export const VOUCH_INVARIANT = 'nothing-vouches-for-what-is-not-durable';

/**
 * checkVouch is the invariant "nothing vouches for what is not durable", checked on every message
 * as it leaves a member (core's test ensemble checks the same): an ACK, ACKNEWLEADER or ACKEPOCH
 * covers only entries already fsynced, and ACKEPOCH, ACKNEWLEADER and LEADERINFO only epochs
 * already fsynced. Breaking it is how ZooKeeper lost acknowledged writes on its sync path
 * (ZOOKEEPER-4643, -3911, -4785): a quorum counted an ack a crash then took back. Returns what is
 * wrong, or null. SYNCACK is flow control and vouches for nothing; PROPOSAL, COMMIT and INFORM may
 * leave before the persist (core's splitEarlyMessages).
 */
export function checkVouch(from: number, to: number, message: PeerMessage, durable: DurableState): string | null {
  const what = `server ${from} sends ${message.type.toUpperCase()} to ${to}`;
  const covers = (zxid: Zxid, field: string): string | null =>
    zxid > durable.lastZxid
      ? `${what} with ${field} ${formatZxid(zxid)} while only ${formatZxid(durable.lastZxid)} is durable`
      : null;
  const epoch = (value: number, name: 'acceptedEpoch' | 'currentEpoch'): string | null =>
    value > durable[name] ? `${what} for ${name} ${value} while the durable ${name} is ${durable[name]}` : null;
  switch (message.type) {
    case 'ack':
      return covers(message.zxid, 'zxid');
    case 'ackNewLeader':
      return covers(message.lastZxid, 'lastZxid') ?? epoch(message.epoch, 'currentEpoch');
    case 'ackEpoch':
      return (
        epoch(message.epoch, 'acceptedEpoch') ??
        epoch(message.currentEpoch, 'currentEpoch') ??
        covers(message.lastZxid, 'lastZxid')
      );
    case 'leaderInfo':
      return epoch(message.epoch, 'acceptedEpoch');
    default:
      return null;
  }
}
