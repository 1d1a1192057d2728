import type { Zxid } from '../zxid.js';
import type { PeerContext } from './context.js';
import { isJointQuorum, isVoterIn, membersOf, votersOf } from './membership.js';
import type { NotificationMessage, PeerState } from './messages.js';

/** Vote is what a server proposes in FastLeaderElection: a leader and the history it would bring. */
export interface Vote {
  leader: number;
  zxid: Zxid;
  peerEpoch: number;
}

/** ElectionRole is what the member around the election does now, as its notifications say it. */
export type ElectionRole = 'looking' | 'following' | 'leading' | 'observing';

/** ElectionHost is what the election needs from the member around it. */
export interface ElectionHost {
  role(): ElectionRole;
  /** followedLeader is the leader this member follows or observes, or null. */
  followedLeader(): number | null;
  /** establishing: this member leads and has not yet established its epoch (discovery or synchronization). */
  establishing(): boolean;
  /** decided takes up the role the election decided: leading if `leader` is this member, else learning from it. */
  decided(leader: number): void;
}

/**
 * Election is ZooKeeper's FastLeaderElection for one member. Each LOOKING voter proposes the vote
 * with the most recent history it has heard of ({@link totalOrder}: peerEpoch, then zxid, then
 * server id) and sends it to everyone; a vote that a quorum of voters agrees on wins after a short
 * wait for a better one (finalizeWaitTicks plus jitter). A server that has decided answers LOOKING
 * peers with its vote, so a late joiner follows a quorum of decided voters that name a leader
 * which says it is LEADING. Observers vote for no one and never count. Voters and quorums are those
 * of the configurations in force (membership.ts): while a change is pending, a decision needs a
 * majority of the old voters and of the new.
 */
export class Election {
  private logicalClock = 0;
  private proposal: Vote = { leader: 0, zxid: 0, peerEpoch: 0 };
  private readonly recvSet = new Map<number, Vote & { electionEpoch: number }>();
  private readonly outOfElection = new Map<number, NotificationMessage & { from: number }>();
  private finalizeAtTick: number | null = null;
  private lastVoteSentTick = 0;
  /**
   * unreachable: the servers whose connection the host reported broken and not up again. No vote
   * can come from them until it is, so waiting for one is pointless (see {@link maybeScheduleFinalize}).
   */
  private readonly unreachable = new Set<number>();
  /** currentVote is what this server answers LOOKING peers once it has decided. */
  private currentVote: Vote & { electionEpoch: number } = { leader: 0, zxid: 0, peerEpoch: 0, electionEpoch: 0 };

  constructor(
    private readonly context: PeerContext,
    private readonly host: ElectionHost,
  ) {}

  /** start begins a new round: this server is LOOKING and votes for itself (an observer for no one). */
  start(): void {
    this.logicalClock++;
    this.recvSet.clear();
    this.outOfElection.clear();
    this.finalizeAtTick = null;
    this.proposal = this.initialVote();
    this.currentVote = { ...this.proposal, electionEpoch: this.logicalClock };
    this.sendNotifications();
    // Our own vote counts too: alone (a one-voter ensemble) it is already a quorum.
    if (this.votes()) {
      this.recvSet.set(this.context.settings.id, { ...this.proposal, electionEpoch: this.logicalClock });
      this.maybeScheduleFinalize(false);
    }
  }

  /**
   * connected: the host's connection to `peer` is up. A looking member sends it its vote at once,
   * instead of at the next re-send (electionTimeoutTicks): a restarted member's first votes go out
   * before its connections exist and are lost.
   */
  connected(peer: number): void {
    this.unreachable.delete(peer);
    if (this.host.role() === 'looking' && this.context.isMember(peer)) {
      this.context.outbox.send(peer, this.notification());
    }
  }

  /**
   * disconnected: the host's connection to `peer` broke. A looking candidate that already has a
   * quorum for its own vote may now have heard every voter it can hear from, and leads at once.
   */
  disconnected(peer: number): void {
    this.unreachable.add(peer);
    if (this.host.role() === 'looking') this.maybeScheduleFinalize();
  }

  /** tick decides once the wait for a better vote is over, and re-sends the vote after electionTimeoutTicks of silence. */
  tick(): void {
    const ticks = this.context.clock.ticks;
    if (this.finalizeAtTick !== null && ticks >= this.finalizeAtTick) {
      this.finalizeAtTick = null;
      if (this.votes() && this.hasQuorumFor(this.recvSet, this.proposal)) {
        this.decide(this.proposal, this.logicalClock);
        return;
      }
    }
    if (ticks - this.lastVoteSentTick >= this.context.settings.electionTimeoutTicks) this.sendNotifications();
  }

  /** notification is this server's vote as it tells it, with its state. */
  notification(): NotificationMessage {
    const role = this.host.role();
    const state: PeerState =
      role === 'looking'
        ? 'LOOKING'
        : role === 'leading'
          ? 'LEADING'
          : role === 'observing'
            ? 'OBSERVING'
            : 'FOLLOWING';
    const vote = role === 'looking' ? { ...this.proposal, electionEpoch: this.logicalClock } : this.currentVote;
    const log = this.context.log;
    const configVersion = log.lastSeenConfig().version;
    return {
      type: 'notification',
      leader: vote.leader,
      zxid: vote.zxid,
      electionEpoch: vote.electionEpoch,
      peerEpoch: vote.peerEpoch,
      state,
      // Only once the membership changed: a static ensemble sends what it always sent.
      ...(configVersion > 0 && { configVersion, committedConfigVersion: log.committedConfigVersion() }),
    };
  }

  /** step takes a notification from another member, whatever this one's role. */
  step(from: number, n: NotificationMessage): void {
    if (
      this.host.role() === 'looking' &&
      n.committedConfigVersion !== undefined &&
      this.context.log.learnCommittedConfig(n.committedConfigVersion)
    ) {
      // The change we hold pending is committed (the sender knows): count quorums in the new
      // configuration alone from now on, in a new round, as ZooKeeper restarts its election when a
      // notification brings a newer committed configuration. Without it, a leader that committed
      // a change removing itself as a voter and then lost its quorum left the rest needing its
      // vote under the old configuration, a vote it no longer gives (sim seeds 1674 and 5308).
      this.context.applyCommitted();
      this.start();
    }
    const fromVoter = this.context.isVoter(from);
    if (this.host.role() !== 'looking') {
      if (
        this.host.followedLeader() === from &&
        ((n.state === 'LOOKING' && n.electionEpoch > this.currentVote.electionEpoch) ||
          n.state === 'FOLLOWING' ||
          // After a membership change the member we chose may be unable to decide at all (its
          // configurations need a quorum ours do not): looking in our own round says it is not
          // leading us. Static ensembles keep their rule.
          (n.state === 'LOOKING' && this.host.role() !== 'leading' && this.membershipChanged()))
      ) {
        // Our leader is looking again in a later round: it abandoned its term (or never took it
        // up); or it follows another server (we chose it on votes while it went with a LEADING
        // notification elsewhere): it will not lead us. Whatever the round its FOLLOWING names: a
        // member that joins a leader out of the election takes that leader's (older) round, so the
        // round says nothing (simulator, 3 voters, seed 118316900). At worst a stale one costs us
        // an election round; looking again is always safe.
        // Waiting out initLimit or syncLimit for it would only stall the ensemble.
        this.context.becomeLooking();
        this.step(from, n);
        return;
      }
      if (
        this.host.establishing() &&
        fromVoter &&
        n.state === 'LEADING' &&
        n.leader === from &&
        n.electionEpoch >= this.currentVote.electionEpoch &&
        totalOrder(n, this.currentVote)
      ) {
        // Two voters decided to lead (each on votes from before the other's arrived) and split the
        // followers between them: neither may reach a quorum, and both would wait out initLimit.
        // The one with the worse vote gives up at once; stepping down is always safe. Only a
        // leader of our round or a later one counts: a paused leader of an older round still says
        // LEADING with a better zxid until it notices it lost its quorum, and must not make the
        // leader elected meanwhile give up (it made clients lose their connections in the
        // integration test that pauses the leader).
        this.context.becomeLooking();
        if (this.context.configs().some((config) => config.version > 0)) {
          // After a membership change some member may not know yet that it votes: it cannot decide
          // on its own, only echo the best vote it hears, so a new round can split again (or find
          // no quorum of deciders). Follow the better leader at once instead: following decides
          // nothing (it counts us with its own configurations). Static ensembles keep their
          // behaviour: no change was ever logged there.
          this.logicalClock = Math.max(this.logicalClock, n.electionEpoch);
          this.decide(voteOf(n), n.electionEpoch);
          return;
        }
        this.step(from, n);
        return;
      }
      // A decided server answers a LOOKING peer with the leader it follows, so late joiners learn it.
      if (n.state === 'LOOKING') this.context.outbox.send(from, this.notification());
      return;
    }
    const { id } = this.context.settings;
    const isObserver = !this.votes();
    if (n.state === 'OBSERVING' && fromVoter && n.leader >= 1) {
      // A member that observes though our configurations make it a voter (we missed the change that
      // demoted it) still names its leader: count it towards joining that leader. In a static
      // ensemble an observer is never a voter, so this never happens there. Its leader may be one
      // our configurations lack: ask it, as for a voter that follows one (sim seed 3681: a member
      // back from a long pause after a change that turned its two fellow voters into observers of a
      // leader it did not know kept waiting for that leader to speak).
      this.askUnknownLeader(n.leader);
      this.outOfElection.set(from, { ...n, from });
      this.maybeJoin(n.leader);
      return;
    }
    if (n.state === 'LOOKING' || n.state === 'OBSERVING') {
      if (!fromVoter || n.state === 'OBSERVING') {
        // An observer's vote never counts; answer it so it learns what we think.
        if (n.state === 'LOOKING') this.context.outbox.send(from, this.notification());
        return;
      }
      if (n.electionEpoch > this.logicalClock) {
        this.logicalClock = n.electionEpoch;
        this.recvSet.clear();
        const mine = this.initialVote();
        // A member that does not vote takes up only a vote at least as good as its own history, as a
        // voter does: a member whose configurations make it a voter (a change this one has not
        // logged yet) counts the vote it echoes, which must then never favour a shorter history.
        this.proposal = this.better(n, mine) ? voteOf(n) : mine;
        this.sendNotifications();
      } else if (n.electionEpoch < this.logicalClock) {
        this.context.outbox.send(from, this.notification());
        return;
      } else if (this.better(n, this.proposal)) {
        this.proposal = voteOf(n);
        this.sendNotifications();
      }
      this.recvSet.set(from, { ...voteOf(n), electionEpoch: n.electionEpoch });
      if (!isObserver) this.recvSet.set(id, { ...this.proposal, electionEpoch: this.logicalClock });
      this.maybeScheduleFinalize();
      return;
    }
    // n.state is FOLLOWING or LEADING: the sender already decided. A leader's own LEADING counts for
    // checkLeader at once, as ZooKeeper's checkLeader reads it from the same round's votes: a
    // member whose round elected that leader follows it now rather than after the finalize wait.
    if (n.state === 'LEADING' && n.leader === from) this.outOfElection.set(from, { ...n, from });
    if (n.electionEpoch === this.logicalClock && fromVoter) {
      this.recvSet.set(from, { ...voteOf(n), electionEpoch: n.electionEpoch });
      if (this.hasQuorumFor(this.recvSet, voteOf(n)) && this.checkLeader(n.leader, n.electionEpoch)) {
        this.decide(voteOf(n), n.electionEpoch);
        return;
      }
    }
    this.askUnknownLeader(n.leader);
    this.outOfElection.set(from, { ...n, from });
    // Out of the election, a quorum of decided voters naming one leader that says it is LEADING is
    // enough, whatever zxid and epochs their votes carry: a learner that decided on an older vote
    // for the same leader (a late notification) advertises that vote for as long as it follows, so
    // requiring equal votes left a restarted member LOOKING beside an ensemble that serves
    // (ZooKeeper's Vote.equals also ignores the zxid for servers out of election). We take the
    // leader's own vote and round.
    this.maybeJoin(n.leader);
  }

  /**
   * askUnknownLeader: our voters follow (or observe) a leader our configurations do not name (we
   * missed a change): send it our vote too, so it answers that it leads (stepOutsider).
   */
  private askUnknownLeader(leader: number): void {
    const { id } = this.context.settings;
    if (leader >= 1 && leader !== id && !this.context.isMember(leader) && !this.outOfElection.has(leader)) {
      this.context.outbox.send(leader, this.notification());
    }
  }

  /**
   * stepOutsider takes a notification from a server in none of our configurations (peer.ts drops
   * everything else it sends): only its claim to lead, kept for joining it out of the election,
   * which still needs a quorum of our own voters to name it. It never counts as a vote.
   */
  stepOutsider(from: number, n: NotificationMessage): void {
    if (this.host.role() !== 'looking' || n.state !== 'LEADING' || n.leader !== from) return;
    this.outOfElection.set(from, { ...n, from });
    this.maybeJoin(from);
  }

  /** maybeJoin follows `leader` if it says it is LEADING and a quorum of the voters out of the election name it. */
  private maybeJoin(leader: number): void {
    const leaderSaid = this.outOfElection.get(leader);
    if (
      leaderSaid !== undefined &&
      this.checkLeaderOutOfElection(leader) &&
      (this.hasQuorumNaming(leader) || this.newerConfigNaming(leader))
    ) {
      this.logicalClock = leaderSaid.electionEpoch;
      this.decide(voteOf(leaderSaid), leaderSaid.electionEpoch);
    }
  }

  /**
   * maybeScheduleFinalize starts the wait for a better vote once a quorum agrees with ours, or
   * cancels it. When our vote is for ourselves and every voter of our configurations agrees but
   * those the host reports unreachable, no better vote can come until a connection is up again: we
   * lead at once, as ZooKeeper's election stops waiting once it has heard from every voter. Waiting
   * is only ever for liveness: deciding on a quorum is what FastLeaderElection does (the elected
   * history is the best of a quorum, which holds every committed entry), and a voter that shows up
   * later with a better history joins the leader and is truncated to it. The others follow when
   * our LEADING reaches them (step). Only the candidate decides this way: a member that followed at
   * once a candidate still looking, and looked again when it said so (after a change any LOOKING
   * from the chosen leader does that), restarted everyone's round each time and never let the
   * election finish (sim seed 235 with membership changes). After a leader is killed the survivors
   * see its connection close, so they skip the finalize wait (issue 17, F1).
   */
  private maybeScheduleFinalize(decideNow = true): void {
    if (this.hasQuorumFor(this.recvSet, this.proposal)) {
      if (this.votes() && this.proposal.leader === this.context.settings.id && this.allReachableAgree()) {
        // From start() (a round begun inside another transition) the decision waits for the next tick.
        if (decideNow) this.decide(this.proposal, this.logicalClock);
        else this.finalizeAtTick = this.context.clock.ticks;
        return;
      }
      if (this.finalizeAtTick === null) {
        const { finalizeWaitTicks } = this.context.settings;
        const jitter = Math.floor(this.context.random.next() * (finalizeWaitTicks + 1));
        this.finalizeAtTick = this.context.clock.ticks + finalizeWaitTicks + jitter;
      }
    } else {
      this.finalizeAtTick = null;
    }
  }

  /** allReachableAgree: every voter of our configurations but the unreachable ones votes for our proposal in this round. */
  private allReachableAgree(): boolean {
    const { id } = this.context.settings;
    const proposal = this.proposal;
    for (const voter of this.context.configs().flatMap(votersOf)) {
      if (voter === id || this.unreachable.has(voter)) continue;
      const vote = this.recvSet.get(voter);
      if (
        vote === undefined ||
        vote.leader !== proposal.leader ||
        vote.zxid !== proposal.zxid ||
        vote.peerEpoch !== proposal.peerEpoch
      ) {
        return false;
      }
    }
    return true;
  }

  private initialVote(): Vote {
    // Observers never propose themselves: they cannot lead. Their vote names no one (server 0) and
    // carries their own history, so they take up only better votes (totalOrder).
    const { id } = this.context.settings;
    if (!this.votes()) {
      return { leader: 0, zxid: this.context.log.lastLoggedZxid(), peerEpoch: this.context.epochs.currentEpoch };
    }
    return { leader: id, zxid: this.context.log.lastLoggedZxid(), peerEpoch: this.context.epochs.currentEpoch };
  }

  private sendNotifications(): void {
    const message = this.notification();
    const { id } = this.context.settings;
    for (const member of membersOf(this.context.configs())) {
      if (member !== id) this.context.outbox.send(member, message);
    }
    this.lastVoteSentTick = this.context.clock.ticks;
  }

  /**
   * hasQuorumNaming: a quorum of the voters out of the election follow or are `leader`. Counted in
   * the last configuration this member logged alone: joining a leader decides nothing (the leader
   * counts the joiner with its own configurations), and a member restarted with a change it cannot
   * tell is committed would otherwise need its own voice, which out of the election it has not.
   */
  private hasQuorumNaming(leader: number): boolean {
    const naming = new Set<number>();
    for (const [id, m] of this.outOfElection) if (m.leader === leader) naming.add(id);
    // This member counts too, as it would in the election: joining decides nothing (the leader
    // still needs a quorum of its own configurations to establish), and without it a voter whose
    // leader is an observer of its last configuration never joined a leader the rest follow
    // (sim seed 5208: voters {2, 3}, 2 following observer 4, 3 waiting for a majority of itself).
    // Static ensembles keep ZooKeeper's rule: a quorum of the others.
    if (this.membershipChanged()) naming.add(this.context.settings.id);
    return isJointQuorum(naming, [this.context.log.lastSeenConfig()]);
  }

  /**
   * newerConfigNaming: a member of our configurations that follows or is `leader` has logged a
   * configuration newer than ours: we missed a change, and our voters may be gone, so a quorum of
   * them cannot be asked. Following decides nothing (the leader counts us with its own
   * configurations and syncs us, the change included).
   */
  private newerConfigNaming(leader: number): boolean {
    // A member started afresh at a known version takes that as its own (PeerConfig.joinVersion).
    const mine = Math.max(this.context.log.lastSeenConfig().version, this.context.settings.joinVersion);
    for (const [id, m] of this.outOfElection) {
      if (m.leader === leader && (m.configVersion ?? 0) > mine && this.context.isMember(id)) return true;
    }
    return false;
  }

  /**
   * canLead: the candidate `n` proposes is taken up unless the last configuration this member logged
   * leaves it out as a voter and `n`'s sender reports no newer configuration (ZooKeeper's
   * totalOrderPredicate refuses a server of weight 0 the same way, with the configuration carried in
   * the notification). A member removed by a change others still hold pending otherwise proposes
   * itself, draws the voters that count it, and never the one that committed its removal, so no
   * one wins (sim seed 100189). Refusing on our own configuration alone left members that missed
   * the change that added a voter refusing it for ever (seeds 3 of 5+2 and 100 of 3 voters): a
   * vote from a member that logged a newer configuration than ours is taken up as before. In a
   * static ensemble every candidate is a voter of version 0, so nothing changes there.
   */
  private canLead(n: NotificationMessage): boolean {
    const config = this.context.log.lastSeenConfig();
    if (isVoterIn(config, n.leader)) return true;
    if ((n.configVersion ?? 0) > config.version) return true;
    // A history better than ours is never refused: the configuration that leaves its candidate out
    // may be a pending change of ours that the better history truncates (sim seeds 2929, 7580).
    const epoch = this.context.epochs.currentEpoch;
    return n.peerEpoch > epoch || (n.peerEpoch === epoch && n.zxid > this.context.log.lastLoggedZxid());
  }

  /**
   * better: `n` is taken up over `current` — a candidate we may take up ({@link canLead}) with a
   * better vote (totalOrder), or with the same history when `current` names a member our last
   * logged configuration leaves out as a voter. That member still proposes itself (it may alone
   * hold the longest history, sim seed 100656), but on a tie it must give way: the others refuse
   * it, and breaking the tie by id in its favour left it voting for itself against an eligible
   * candidate it could have elected (sim seed 100034). For the same reason a member takes up the
   * tie from a sender that logged a newer configuration than its own: that sender may know the
   * candidate we prefer by id is one the new voters refuse (sim seed 332: the leader demoted itself,
   * the member that missed the change kept voting for it, and the new quorum needed that member).
   * Static ensembles never reach the tie rule.
   */
  private better(n: NotificationMessage, current: Vote): boolean {
    // A member in none of its configurations (a spare, or one rebuilt with an empty disk and the
    // current member list) takes up no vote: only a stale configuration still counts it, and its
    // echo would stand in for the log it no longer has (sim seed 2929: a removed voter, wiped and
    // started again, echoed the vote of a member that had missed its removal, which then led
    // without an acknowledged write).
    if (!this.context.isMember(this.context.settings.id)) return false;
    if (n.leader < 1 || !this.canLead(n)) return false;
    if (n.peerEpoch !== current.peerEpoch) return n.peerEpoch > current.peerEpoch;
    if (n.zxid !== current.zxid) return n.zxid > current.zxid;
    if (n.leader === current.leader) return false;
    // A tie of history. A sender that logged a newer configuration than ours decides it (sim seed
    // 332: the leader demoted itself, the member that missed the change kept preferring it by id,
    // and the new quorum needed that member). Otherwise a candidate our last configuration names
    // beats one it leaves out (100034: a voter a pending change removes must give way on a tie,
    // the others refuse it), and only then the higher id, as ZooKeeper's totalOrderPredicate. One
    // order, so votes settle: mixing the id rule and the eligibility rule as two separate reasons
    // to switch made a member flip between two candidates for ever (2579).
    const config = this.context.log.lastSeenConfig();
    if ((n.configVersion ?? 0) > config.version) return true;
    const named = isVoterIn(config, n.leader);
    if (named !== isVoterIn(config, current.leader)) return named;
    return n.leader > current.leader;
  }

  /** membershipChanged: a reconfig is in this member's configurations (some behaviour differs only then). */
  private membershipChanged(): boolean {
    return this.context.configs().some((config) => config.version > 0);
  }

  /** votes tells whether this member votes in a configuration in force (an observer or a spare does not). */
  private votes(): boolean {
    return this.context.isVoter(this.context.settings.id);
  }

  /** checkLeader: a vote for another server counts only if that server says it is LEADING (FLE.checkLeader). */
  private checkLeader(leader: number, electionEpoch: number): boolean {
    if (leader === this.context.settings.id) return electionEpoch === this.logicalClock;
    const said = this.outOfElection.get(leader);
    return said !== undefined && said.state === 'LEADING';
  }

  private checkLeaderOutOfElection(leader: number): boolean {
    if (leader === this.context.settings.id) return false;
    const said = this.outOfElection.get(leader);
    return said !== undefined && said.state === 'LEADING';
  }

  /**
   * hasQuorumFor: a quorum of voters in `votes` vote for `vote` (leader, zxid, peerEpoch). Election
   * epochs are not compared: a late joiner takes the leader's electionEpoch when it decides.
   */
  private hasQuorumFor(votes: Map<number, Vote>, vote: Vote): boolean {
    const agreeing = new Set<number>();
    for (const [id, v] of votes) {
      if (v.leader === vote.leader && v.zxid === vote.zxid && v.peerEpoch === vote.peerEpoch) agreeing.add(id);
    }
    return vote.leader >= 1 && isJointQuorum(agreeing, this.context.configs());
  }

  private decide(vote: Vote, electionEpoch: number): void {
    this.currentVote = { ...vote, electionEpoch };
    this.recvSet.clear();
    this.outOfElection.clear();
    this.finalizeAtTick = null;
    this.host.decided(vote.leader);
    // Tell everyone what we decided, so LOOKING peers can follow the same leader.
    this.sendNotifications();
  }
}

function voteOf(n: Vote): Vote {
  return { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch };
}

/** totalOrder: FLE's vote order (peerEpoch, zxid, server id); true when `next` beats `current`. */
export function totalOrder(next: Vote, current: Vote): boolean {
  if (next.leader < 1) return false;
  if (next.peerEpoch !== current.peerEpoch) return next.peerEpoch > current.peerEpoch;
  if (next.zxid !== current.zxid) return next.zxid > current.zxid;
  return next.leader > current.leader;
}
