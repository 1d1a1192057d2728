import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from './client.js';
import { ZabError } from './errors.js';
import { FakeEnsemble } from './testing/fake-ensemble.js';
import { sleep, waitFor } from './testing/wait.js';

let ensemble: FakeEnsemble;
beforeAll(async () => {
  ensemble = await FakeEnsemble.start(3);
});
afterAll(async () => {
  await ensemble.stop();
});

type Action = 'close' | 'drop' | 'get' | 'create' | 'expire';

/**
 * Race tests: fast-check's scheduler releases the actions (calls, close, a dropped connection, a
 * server-side expiry) in every order it explores, with real sockets underneath. Whatever the
 * order: every call settles with a result or a ZabError the API documents, the session never
 * comes back after close or expiry, and `reconnected` never follows `closed` or `expired`.
 */
describe('reconnect and close races', () => {
  it('every call settles, and nothing reconnects after close or expiry', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom<Action>('close', 'drop', 'get', 'create', 'expire', 'get'), {
          minLength: 2,
          maxLength: 8,
        }),
        async (s, actions) => {
          run++;
          const client = await connect(ensemble.connectString, { sessionTimeoutMs: 2_000, connectTimeoutMs: 3_000 });
          const sessionId = client.sessionId;
          const events: string[] = [];
          for (const name of ['disconnected', 'reconnected', 'expired', 'closed'] as const) {
            client.on(name, () => events.push(name));
          }
          const outcomes: Promise<string>[] = [];
          const settle = (promise: Promise<unknown>) =>
            promise.then(
              () => 'ok',
              (error: unknown) => {
                if (!ZabError.isInstance(error)) throw error;
                expect(['CONNECTION_LOSS', 'SESSION_EXPIRED', 'NODE_EXISTS']).toContain(error.code);
                return error.code;
              },
            );
          actions.forEach((action, i) => {
            outcomes.push(
              s.schedule(Promise.resolve(action), action).then(async () => {
                switch (action) {
                  case 'close':
                    await client.close();
                    return 'closed';
                  case 'drop':
                    ensemble.memberOf(sessionId)?.dropConnections();
                    return 'dropped';
                  case 'expire':
                    if (ensemble.sessions.isLive(sessionId)) ensemble.expire(sessionId);
                    return 'expired';
                  case 'get':
                    return settle(client.get('/'));
                  case 'create':
                    return settle(client.create(`/race-${run}-${i}`, 'x', { mode: 'EPHEMERAL' }));
                }
              }),
            );
          });
          await s.waitAll();
          const results = await Promise.race([
            Promise.all(outcomes),
            sleep(5_000).then(() => {
              throw new Error(
                `calls did not settle: ${s
                  .report()
                  .map((task) => task.label)
                  .join(', ')}`,
              );
            }),
          ]);
          expect(results).toHaveLength(actions.length);
          if (actions.includes('close') || actions.includes('expire')) {
            await waitFor(() => client.state === 'CLOSED' || client.state === 'EXPIRED', 'the session to end', 3_000);
            await sleep(30);
            expect(ensemble.memberOf(sessionId)).toBeUndefined();
            const end = Math.max(events.indexOf('closed'), events.indexOf('expired'));
            expect(events.slice(end + 1)).not.toContain('reconnected');
          } else {
            await waitFor(() => client.state === 'CONNECTED', 'the reconnect', 3_000);
          }
          await client.close();
          expect(client.state === 'CLOSED' || client.state === 'EXPIRED').toBe(true);
          await expect(client.get('/')).rejects.toSatisfy((error: unknown) =>
            ZabError.isInstance(error, 'SESSION_EXPIRED'),
          );
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);
});
