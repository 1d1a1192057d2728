import type { ZabClient } from '../client.js';

/**
 * RecipeConnectionState is Curator's view of a session, as every recipe acts on it: `connected`,
 * `suspended` (the connection is lost and the session may or may not still live: Curator's
 * SUSPENDED, the client's `disconnected`) and `lost` (the session is gone: the client's `expired`
 * or `closed`; Curator's LOST). `lost` is final.
 */
export type RecipeConnectionState = 'connected' | 'suspended' | 'lost';

/**
 * ConnectionStateEvents are the events every recipe emits from the client's: `suspended` when the
 * connection is lost, `reconnected` when the same session is connected again after a suspension
 * (Curator's RECONNECTED; a client moving back to its home member, never suspended, emits none),
 * `lost` once when the session has expired or the client was closed.
 */
export interface ConnectionStateEvents {
  suspended: [];
  reconnected: [];
  lost: [];
}

/**
 * ConnectionStatePolicy is what a leadership recipe does on `suspended` (Curator's
 * ConnectionStateErrorPolicy): `standard` (the default) gives leadership up at once and leads
 * again only once a read after the reconnect shows its znode is still first; `session` keeps
 * leading while suspended and gives up only on `lost`, trading a window in which two processes may
 * believe they lead (the old leader's session can expire before it learns so) for fewer hand-overs.
 */
export type ConnectionStatePolicy = 'standard' | 'session';

/** initialState maps the client's state to a recipe's: a connecting or disconnected client is suspended. */
function initialState(client: ZabClient): RecipeConnectionState {
  switch (client.state) {
    case 'CONNECTED':
      return 'connected';
    case 'EXPIRED':
    case 'CLOSED':
      return 'lost';
    default:
      return 'suspended';
  }
}

/**
 * ConnectionStateTracker follows one client's session as a {@link RecipeConnectionState} and calls
 * the listeners on each transition, synchronously inside the client's event: a recipe that gives
 * something up on `suspended` has done so before any other listener of `disconnected` returns.
 * Reading {@link state} also checks the client's own `state` (which the client checks against its
 * clock after a pause): a client no longer CONNECTED is a suspension (or loss) even before its
 * event, and the listeners run then. `close()` unsubscribes from the client.
 */
export class ConnectionStateTracker {
  private stateValue: RecipeConnectionState;
  private readonly offs: (() => void)[];

  constructor(
    private readonly client: ZabClient,
    private readonly listeners: { [E in keyof ConnectionStateEvents]?: () => void },
  ) {
    this.stateValue = initialState(client);
    this.offs = [
      client.on('disconnected', () => this.to('suspended')),
      client.on('connected', () => this.to('connected')),
      client.on('reconnected', () => this.to('connected')),
      client.on('expired', () => this.to('lost')),
      client.on('closed', () => this.to('lost')),
    ];
  }

  /** state is the session's state as the recipes see it: `connected` only while the client says CONNECTED too. */
  get state(): RecipeConnectionState {
    if (this.stateValue === 'connected' && this.client.state !== 'CONNECTED') this.to(initialState(this.client));
    return this.stateValue;
  }

  close(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private to(state: RecipeConnectionState): void {
    if (this.stateValue === state || this.stateValue === 'lost') return;
    const before = this.stateValue;
    this.stateValue = state;
    if (state === 'suspended') this.listeners.suspended?.();
    else if (state === 'lost') this.listeners.lost?.();
    else if (before === 'suspended') this.listeners.reconnected?.();
  }
}

/**
 * onConnectionState subscribes `listener` to one recipe connection event of `client` (see
 * {@link ConnectionStateEvents}); returns the function that unsubscribes.
 */
export function onConnectionState(
  client: ZabClient,
  event: keyof ConnectionStateEvents,
  listener: () => void,
): () => void {
  const tracker = new ConnectionStateTracker(client, { [event]: listener });
  return () => tracker.close();
}
