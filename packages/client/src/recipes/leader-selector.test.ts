import { describe, expect, it } from 'vitest';
import { nextEvent, sleep, waitFor } from '../testing/wait.js';
import { LeaderSelector } from './leader-selector.js';
import { childrenOf, ensemble, open, seededDelays, useRecipeKit } from './recipe-test-kit.js';

useRecipeKit();

/** untilAborted is leader work that runs until its signal aborts. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

describe('LeaderSelector', () => {
  it('one callback at a time; leadership passes on when it returns; autoRequeue queues again', async () => {
    const fake = await ensemble(2);
    const clients = await Promise.all([0, 1, 2].map(() => open(fake.connectString)));
    let leading = 0;
    let overlaps = 0;
    const terms: { id: string; token: bigint }[] = [];
    const selectors = clients.map(
      (client, i) =>
        new LeaderSelector(
          client,
          '/selector',
          async (_signal, { fencingToken }) => {
            leading++;
            if (leading > 1) overlaps++;
            terms.push({ id: `p${i}`, token: fencingToken });
            await sleep(5);
            leading--;
          },
          { id: `p${i}`, autoRequeue: true },
        ),
    );
    for (const selector of selectors) selector.start();
    await waitFor(() => terms.length >= 9, 'nine terms');
    await Promise.all(selectors.map((selector) => selector.close()));
    expect(overlaps).toBe(0);
    expect(new Set(terms.map((term) => term.id)).size).toBe(3);
    for (let i = 1; i < terms.length; i++) expect(terms[i]!.token > terms[i - 1]!.token).toBe(true);
    expect(await childrenOf(clients[0]!, '/selector')).toEqual([]);
  });

  it('without autoRequeue one term, then requeue() for another', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    let terms = 0;
    const selector = new LeaderSelector(client, '/selector-once', () => {
      terms++;
    });
    selector.start();
    await waitFor(() => terms === 1, 'the first term');
    await sleep(50);
    expect(terms).toBe(1);
    await waitFor(() => selector.requeue(), 'the first term to end');
    await waitFor(() => terms === 2, 'the second term');
    await selector.close();
    expect(await childrenOf(client, '/selector-once')).toEqual([]);
  });

  it('a suspension aborts the callback’s signal at once (standard policy); the session policy keeps the term', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const reasons: unknown[] = [];
    let hadLeadershipInsideDisconnected: boolean | undefined;
    const selector = new LeaderSelector(client, '/selector-suspend', async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      reasons.push(signal.reason);
    });
    selector.start();
    await waitFor(() => selector.hasLeadership, 'leadership');
    client.on('disconnected', () => {
      hadLeadershipInsideDisconnected = selector.hasLeadership;
    });
    fake.memberOf(client.sessionId)!.dropConnections();
    await waitFor(() => reasons.length === 1, 'the callback to be interrupted');
    expect(hadLeadershipInsideDisconnected).toBe(false);
    expect((reasons[0] as { code?: string }).code).toBe('CONNECTION_LOSS');
    await selector.close();

    const other = await open(fake.connectString);
    let interrupted = false;
    const patient = new LeaderSelector(
      other,
      '/selector-session',
      async (signal) => {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        interrupted = true;
      },
      { connectionStatePolicy: 'session' },
    );
    patient.start();
    await waitFor(() => patient.hasLeadership, 'leadership');
    const reconnected = nextEvent<void>((listener) => patient.on('reconnected', listener), 'reconnected');
    fake.memberOf(other.sessionId)!.dropConnections();
    await reconnected;
    expect(interrupted).toBe(false);
    expect(patient.hasLeadership).toBe(true);
    await patient.close();
    expect(interrupted).toBe(true);
  });

  it('a leader whose session expires is interrupted (lost) and the next participant leads', async () => {
    const fake = await ensemble(1);
    const first = await open(fake.connectString);
    const second = await open(fake.connectString);
    const reasons: unknown[] = [];
    const leader = new LeaderSelector(first, '/selector-expiry', async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      reasons.push(signal.reason);
    });
    leader.start();
    await waitFor(() => leader.hasLeadership, 'the first leader');
    let followerLed = false;
    const follower = new LeaderSelector(second, '/selector-expiry', () => {
      followerLed = true;
    });
    follower.start();
    const lost = nextEvent<void>((listener) => leader.on('lost', listener), 'lost');
    fake.expire(first.sessionId);
    await lost;
    await waitFor(() => followerLed, 'the follower to lead');
    expect(reasons).toHaveLength(1);
    expect(leader.hasLeadership).toBe(false);
    await follower.close();
    await leader.close();
  });

  it('closing while queued or leading, after seeded random delays, leaves no znode', async () => {
    const fake = await ensemble(1);
    const client = await open(fake.connectString);
    const blocker = await open(fake.connectString);
    const delay = seededDelays(5, 12);
    for (let i = 0; i < 40; i++) {
      // Half the time another participant leads, so the one closed is still queued.
      const other = i % 2 === 0 ? new LeaderSelector(blocker, '/selector-close', untilAborted) : undefined;
      other?.start();
      if (other !== undefined) await waitFor(() => other.hasLeadership, 'the other to lead');
      const selector = new LeaderSelector(client, '/selector-close', untilAborted, { autoRequeue: true });
      selector.start();
      const delayMs = delay();
      if (delayMs >= 0) await sleep(delayMs);
      await selector.close();
      await other?.close();
      expect(await childrenOf(client, '/selector-close'), `seed 5, iteration ${i}`).toEqual([]);
    }
  });
});
