// ACLs through Zab (issue 14): a write is checked by the leader against the ids the client's
// connection holds on the member it is connected to, so a follower forwards them with the request;
// a read is checked on the member that serves it. Without this, a client on a follower would be
// checked as nobody (every write to a protected znode refused) or, worse, as the leader itself.
import { describe, expect, it } from 'vitest';
import { type AuthId, CREATOR_ALL_ACL, CreateMode, OPEN_ACL_UNSAFE } from '../types.js';
import { Ensemble, text } from './test/ensemble.js';

const ALICE: AuthId = { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' };
const BOB: AuthId = { scheme: 'digest', id: 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=' };

describe('auth ids with forwarded requests', () => {
  it('a follower forwards the ids: the leader stores CREATOR_ALL for them and checks later writes against them', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const follower = [1, 2, 3].find((id) => id !== ensemble.leader()) as number;
    const session = ensemble.createSession(follower);
    const peer = ensemble.peer(follower);
    const create = { op: 'create' as const, path: '/owned', data: text('v'), mode: CreateMode.PERSISTENT, ttlMs: 0 };
    peer.submit(session, 1, { ...create, acl: CREATOR_ALL_ACL }, { auth: [ALICE] });
    ensemble.settle(5);
    expect(ensemble.reply(follower, session, 1)?.error).toBeNull();
    // Every replica holds the expanded list.
    for (const id of [1, 2, 3]) {
      const answer = ensemble.peer(id).readDirect({ op: 'getACL', path: '/owned' });
      expect(answer.result).toMatchObject({ op: 'getACL', acl: [{ perms: 31, id: ALICE }] });
    }
    peer.submit(session, 2, { op: 'setData', path: '/owned', data: text('bob'), version: -1 }, { auth: [BOB] });
    peer.submit(session, 3, { op: 'setData', path: '/owned', data: text('anon'), version: -1 });
    peer.submit(session, 4, { op: 'setData', path: '/owned', data: text('alice'), version: -1 }, { auth: [ALICE] });
    peer.submit(session, 5, { op: 'getData', path: '/owned', watch: false }, { auth: [BOB] });
    peer.submit(session, 6, { op: 'getData', path: '/owned', watch: false }, { auth: [BOB, ALICE] });
    peer.submit(session, 7, { op: 'setACL', path: '/owned', acl: OPEN_ACL_UNSAFE, version: 0 }, { auth: [BOB] });
    ensemble.settle(5);
    expect(ensemble.reply(follower, session, 2)?.error).toBe('NO_AUTH');
    expect(ensemble.reply(follower, session, 3)?.error).toBe('NO_AUTH');
    expect(ensemble.reply(follower, session, 4)?.error).toBeNull();
    expect(ensemble.reply(follower, session, 5)?.error).toBe('NO_AUTH');
    expect(ensemble.reply(follower, session, 6)?.result).toMatchObject({ op: 'getData', data: text('alice') });
    expect(ensemble.reply(follower, session, 7)?.error).toBe('NO_AUTH');
  });

  it('ACLs survive a restart from the log and a member rebuilt by SNAP', () => {
    const ensemble = new Ensemble([1, 2, 3]);
    ensemble.settle();
    const leader = ensemble.leader() as number;
    const session = ensemble.createSession(leader);
    const create = { op: 'create' as const, path: '/kept', data: text('v'), mode: CreateMode.PERSISTENT, ttlMs: 0 };
    ensemble.peer(leader).submit(session, 1, { ...create, acl: CREATOR_ALL_ACL }, { auth: [ALICE] });
    ensemble.settle(5);
    const [restarted, wiped] = ensemble.restartFollowers(leader, session);
    for (const id of [restarted, wiped]) {
      expect(ensemble.peer(id).status().phase).toBe('broadcast');
      expect(ensemble.peer(id).readDirect({ op: 'getACL', path: '/kept' }).result).toMatchObject({
        acl: [{ perms: 31, id: ALICE }],
      });
    }
  });
});
