// A learner must never wait out initLimit or syncLimit for a member that will not lead it. The
// simulator found three ways it used to (issue 12's stall): its leader gave up the term and looks
// again; its leader decided to follow another server; or it decided, on votes, for a member that had
// already decided to follow another. These drive the exact messages, so no seed has to reach them.
import { describe, expect, it } from 'vitest';
import type { NotificationMessage } from './messages.js';
import { Ensemble } from './test/ensemble.js';

function settledEnsemble(): { ensemble: Ensemble; leader: number; follower: number; other: number } {
  const ensemble = new Ensemble([1, 2, 3]);
  ensemble.settle();
  const leader = ensemble.leader() as number;
  const [follower, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
  return { ensemble, leader, follower, other };
}

function notificationFrom(ensemble: Ensemble, id: number, patch: Partial<NotificationMessage>): NotificationMessage {
  const status = ensemble.peer(id).status();
  return {
    type: 'notification',
    leader: status.leader ?? id,
    zxid: status.lastLoggedZxid,
    electionEpoch: 1,
    peerEpoch: status.currentEpoch,
    state: 'LEADING',
    ...patch,
  };
}

describe('a learner lets go of a member that will not lead it', () => {
  it('its leader looks again in a later round: the learner looks again at once', () => {
    const { ensemble, leader, follower } = settledEnsemble();
    const peer = ensemble.peer(follower);
    expect(peer.status().role).toBe('following');
    // An old LOOKING notification (an earlier round) changes nothing.
    peer.step(leader, notificationFrom(ensemble, leader, { state: 'LOOKING', electionEpoch: 0 }));
    expect(peer.status().role).toBe('following');
    peer.step(leader, notificationFrom(ensemble, leader, { state: 'LOOKING', electionEpoch: 99 }));
    expect(peer.status().role).toBe('looking');
  });

  it('its leader says it follows another server, in the same round or a later one: the learner looks again', () => {
    const { ensemble, leader, follower, other } = settledEnsemble();
    const peer = ensemble.peer(follower);
    peer.step(leader, notificationFrom(ensemble, leader, { state: 'FOLLOWING', leader: other, electionEpoch: 99 }));
    expect(peer.status().role).toBe('looking');
  });

  it('its leader says it follows another server in an earlier round (it joined that leader out of the election): the learner looks again', () => {
    const { ensemble, leader, follower, other } = settledEnsemble();
    const peer = ensemble.peer(follower);
    peer.step(leader, notificationFrom(ensemble, leader, { state: 'FOLLOWING', leader: other, electionEpoch: 0 }));
    expect(peer.status().role).toBe('looking');
  });

  it('a member that follows another answers a FOLLOWERINFO with its notification, so a learner that chose it learns', () => {
    const { ensemble, leader, follower, other } = settledEnsemble();
    const peer = ensemble.peer(other);
    const before = ensemble.readies.length;
    // `follower` decided (on votes) for `other`, which follows `leader`: its FOLLOWERINFO reaches `other`.
    peer.step(follower, { type: 'followerInfo', epoch: 0, acceptedEpoch: 0, observer: false, followId: 7 });
    ensemble.settle(1);
    const answer = ensemble.readies
      .slice(before)
      .filter(({ id }) => id === other)
      .flatMap(({ ready }) => ready.messages)
      .find(({ to, message }) => to === follower && message.type === 'notification');
    expect(answer?.message).toMatchObject({ type: 'notification', state: 'FOLLOWING', leader });
  });
});
