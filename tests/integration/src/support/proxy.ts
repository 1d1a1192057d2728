import { connect, createServer, type Server, type Socket } from 'node:net';

/** ProxyTarget is one address a proxy forwards to. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/**
 * CutProxy forwards TCP connections to a list of targets (one listening port per target) and can
 * cut them all as a network partition would: nothing is forwarded either way, but every socket
 * stays open, so neither end learns of the cut from TCP (no FIN, no RST reaches the other end).
 * New connections are accepted and then hang, as connects into a partition do. `heal` resumes
 * forwarding: bytes held back during the cut are delivered then, in order (as TCP's
 * retransmissions would be), and an end that closed meanwhile is closed on the other side.
 */
export interface CutProxy {
  /** connectString lists the proxy's ports (one per target, in the targets' order), for `connect()`. */
  readonly connectString: string;
  /** isCut is true between `cut()` and `heal()`. */
  readonly isCut: boolean;
  /** connections counts the connections accepted so far (for reports). */
  readonly connections: number;
  cut(): void;
  heal(): void;
  /** close stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Pair {
  downstream: Socket;
  upstream: Socket | undefined;
  target: ProxyTarget;
  /** closing: one end closed or failed during a cut; the other end is closed at `heal`. */
  closing: boolean;
}

/** startCutProxy listens on one free loopback port per target and forwards each to its target. */
export async function startCutProxy(targets: readonly ProxyTarget[], host = '127.0.0.1'): Promise<CutProxy> {
  let isCut = false;
  let accepted = 0;
  const pairs = new Set<Pair>();
  const servers: Server[] = [];

  const destroy = (pair: Pair) => {
    pairs.delete(pair);
    pair.downstream.destroy();
    pair.upstream?.destroy();
  };
  const ended = (pair: Pair) => {
    if (isCut) pair.closing = true;
    else destroy(pair);
  };

  // While cut, both sockets are paused: the bytes stay in their buffers (the kernel's, then the
  // sender's), and an end's FIN is not read until healed.
  const setFlowing = (pair: Pair, flowing: boolean) => {
    for (const socket of [pair.downstream, pair.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      if (flowing) socket.resume();
      else socket.pause();
    }
  };

  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (isCut) {
        // Read before the pause took effect: put it back, it goes out at heal.
        from.pause();
        from.unshift(chunk);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!isCut) from.resume();
        });
      }
    });
  };

  const openUpstream = (pair: Pair) => {
    const upstream = connect(pair.target.port, pair.target.host);
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    upstream.on('error', () => ended(pair));
    upstream.on('close', () => ended(pair));
    forward(pair.downstream, upstream);
    forward(upstream, pair.downstream);
    setFlowing(pair, !isCut);
  };

  for (const target of targets) {
    const server = createServer({ pauseOnConnect: true }, (downstream) => {
      accepted++;
      downstream.setNoDelay(true);
      const pair: Pair = { downstream, upstream: undefined, target, closing: false };
      pairs.add(pair);
      downstream.on('error', () => ended(pair));
      downstream.on('close', () => ended(pair));
      // A connect into a cut network hangs: the upstream connection is made only once healed.
      if (!isCut) openUpstream(pair);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    servers.push(server);
  }

  const portOf = (server: Server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
    return address.port;
  };

  return {
    connectString: servers.map((server) => `${host}:${portOf(server)}`).join(','),
    get isCut() {
      return isCut;
    },
    get connections() {
      return accepted;
    },
    cut() {
      isCut = true;
      for (const pair of pairs) setFlowing(pair, false);
    },
    heal() {
      isCut = false;
      for (const pair of [...pairs]) {
        if (pair.closing) destroy(pair);
        else if (pair.upstream === undefined) openUpstream(pair);
        else setFlowing(pair, true);
      }
    },
    async close() {
      for (const pair of [...pairs]) destroy(pair);
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}
