import { describe, expect, it } from 'vitest';
import { nextEvent, waitFor } from '../testing/wait.js';
import { ConfigWatcher } from './config-watcher.js';
import { ConnectionStateTracker } from './connection-state.js';
import { ensemble, open, useRecipeKit } from './recipe-test-kit.js';
import { ServiceRegistry } from './service-registry.js';

useRecipeKit();

describe('connection states', () => {
  it('the tracker maps disconnected, reconnected and expired to suspended, reconnected and lost, once each', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const events: string[] = [];
    const tracker = new ConnectionStateTracker(client, {
      suspended: () => events.push(`suspended:${tracker.state}`),
      reconnected: () => events.push(`reconnected:${tracker.state}`),
      lost: () => events.push(`lost:${tracker.state}`),
    });
    expect(tracker.state).toBe('connected');
    const reconnected = nextEvent((listener) => client.on('reconnected', listener), 'reconnected');
    fake.memberOf(client.sessionId)!.dropConnections();
    await reconnected;
    fake.expire(client.sessionId);
    await waitFor(() => events.includes('lost:lost'), 'lost');
    await client.close();
    expect(events.slice(0, 2)).toEqual(['suspended:suspended', 'reconnected:connected']);
    expect(events.at(-1)).toBe('lost:lost');
    expect(events.filter((event) => event.startsWith('lost'))).toHaveLength(1);
    tracker.close();
  });

  it('ServiceRegistry and ConfigWatcher report suspended, reconnected and lost', async () => {
    const fake = await ensemble(2);
    const client = await open(fake.connectString);
    const registry = new ServiceRegistry(client);
    const config = new ConfigWatcher(client, '/config-states');
    await config.start();
    const registryEvents: string[] = [];
    const configEvents: string[] = [];
    for (const event of ['suspended', 'reconnected', 'lost'] as const) {
      registry.on(event, () => registryEvents.push(event));
      config.on(event, () => configEvents.push(event));
    }
    const reconnected = nextEvent((listener) => client.on('reconnected', listener), 'reconnected');
    fake.memberOf(client.sessionId)!.dropConnections();
    await reconnected;
    expect(registryEvents).toEqual(['suspended', 'reconnected']);
    expect(configEvents).toEqual(['suspended', 'reconnected']);
    config.close();
    await client.close();
    expect(registryEvents).toEqual(['suspended', 'reconnected', 'lost']);
    // Closed watchers report nothing more.
    expect(configEvents).toEqual(['suspended', 'reconnected']);
  });
});
