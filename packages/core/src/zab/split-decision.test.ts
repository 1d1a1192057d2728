// Two voters can both decide to lead: each on votes from before the other's better vote arrived
// (the simulator found it after a leader partition healed, 5 voters: seed 116139556). The followers
// split between them, neither reaches a quorum of FOLLOWERINFO, and both used to wait out initLimit
// before looking again — past the liveness bound. The one with the worse vote now gives up as soon
// as it hears the other say LEADING; an established leader is not disturbed.
import { describe, expect, it } from 'vitest';
import type { NotificationMessage } from './messages.js';
import { Ensemble } from './test/ensemble.js';

const leading = (from: number, electionEpoch: number): NotificationMessage => ({
  type: 'notification',
  leader: from,
  zxid: 0,
  electionEpoch,
  peerEpoch: 0,
  state: 'LEADING',
});

/** leaderInDiscovery makes member 2 of 3 decide to lead on member 1's vote alone, before member 3 speaks. */
function leaderInDiscovery(): Ensemble {
  const ensemble = new Ensemble([1, 2, 3]);
  const peer = ensemble.peer(2);
  peer.step(1, { type: 'notification', leader: 2, zxid: 0, electionEpoch: 1, peerEpoch: 0, state: 'LOOKING' });
  for (let tick = 0; tick < 20 && peer.status().role === 'looking'; tick++) peer.tick(0);
  expect(peer.status()).toMatchObject({ role: 'leading', phase: 'discovery' });
  return ensemble;
}

describe('two voters that decided to lead', () => {
  it('the one with the worse vote looks again at once when the other says LEADING', () => {
    const peer = leaderInDiscovery().peer(2);
    peer.step(3, leading(3, 1));
    expect(peer.status().role).toBe('looking');
  });

  it('a leader of an older round that still says LEADING (paused, stale) does not make it give up', () => {
    const peer = leaderInDiscovery().peer(2);
    peer.step(3, leading(3, 0));
    expect(peer.status()).toMatchObject({ role: 'leading', phase: 'discovery' });
  });

  it('the one with the better vote keeps leading', () => {
    const peer = leaderInDiscovery().peer(2);
    peer.step(1, leading(1, 1));
    expect(peer.status()).toMatchObject({ role: 'leading', phase: 'discovery' });
  });

  it('an established leader is not disturbed by a LEADING notification', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const peer = ensemble.peer(leader);
    expect(peer.status().phase).toBe('broadcast');
    const other = [1, 2, 3].find((id) => id !== leader) as number;
    peer.step(other, { ...leading(other, 99), peerEpoch: 99 });
    expect(peer.status()).toMatchObject({ role: 'leading', phase: 'broadcast' });
  });
});
