import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Ensemble } from '../src/ensemble.js';

/** Direction is one direction of a proxied connection: bytes read from `from` are written to `to`. */
interface Direction {
  from: Socket;
  to: Socket;
  /** held: bytes read while the link was cut, delivered when it heals (as TCP retransmission would). */
  held: Buffer[];
}

/**
 * PeerLink carries the connections one member dials to another (from → to) through the test
 * process, so a test can cut them and heal them. While cut, nothing is delivered either way and new
 * connections wait; when healed, what was held is delivered in order and waiting connections
 * proceed: a partition that TCP retransmission bridges once it heals (no reset, no loss).
 */
class PeerLink {
  private readonly server: Server;
  port = 0;
  private cut = false;
  private readonly directions = new Set<Direction>();
  private readonly waiting: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly from: number,
    readonly to: number,
    private readonly target: { host: string; port: number },
  ) {
    this.server = createServer((inbound) => this.accept(inbound));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('PeerLink is not listening');
    this.port = address.port;
  }

  private accept(inbound: Socket): void {
    this.track(inbound);
    const start = () => {
      if (inbound.destroyed) return;
      const outbound = tcpConnect(this.target);
      this.track(outbound);
      inbound.once('close', () => outbound.destroy());
      outbound.once('close', () => inbound.destroy());
      this.forward(inbound, outbound);
      this.forward(outbound, inbound);
    };
    if (this.cut) this.waiting.push(start);
    else start();
  }

  private track(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private forward(from: Socket, to: Socket): void {
    const direction: Direction = { from, to, held: [] };
    this.directions.add(direction);
    from.once('close', () => this.directions.delete(direction));
    from.on('data', (chunk: Buffer) => {
      if (this.cut) direction.held.push(chunk);
      else if (!to.destroyed) to.write(chunk);
    });
  }

  setCut(cut: boolean): void {
    this.cut = cut;
    if (cut) return;
    for (const direction of this.directions) {
      for (const chunk of direction.held.splice(0)) if (!direction.to.destroyed) direction.to.write(chunk);
    }
    for (const start of this.waiting.splice(0)) start();
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
  }
}

/**
 * PeerNetwork reroutes every member-to-member connection of a running ensemble through PeerLinks
 * (it rewrites each member's config file and restarts every member), so a test can cut one member
 * off its peers while it keeps running and its clients still reach it.
 */
export class PeerNetwork {
  private constructor(private readonly links: PeerLink[]) {}

  static async install(ensemble: Ensemble): Promise<PeerNetwork> {
    const links: PeerLink[] = [];
    for (const from of ensemble.members)
      for (const to of ensemble.members) {
        if (from.id === to.id) continue;
        const link = new PeerLink(from.id, to.id, { host: to.host, port: to.peerPort });
        await link.listen();
        links.push(link);
      }
    for (const member of ensemble.members) await ensemble.stop(member.id);
    for (const member of ensemble.members) {
      const config = JSON.parse(readFileSync(member.configPath, 'utf8')) as {
        members: { id: number; host: string; peerPort: number }[];
      };
      for (const entry of config.members) {
        if (entry.id === member.id) continue;
        const link = links.find((l) => l.from === member.id && l.to === entry.id);
        if (!link) throw new Error(`no link ${member.id} → ${entry.id}`);
        entry.host = '127.0.0.1';
        entry.peerPort = link.port;
      }
      writeFileSync(member.configPath, `${JSON.stringify(config, null, 2)}\n`);
    }
    for (const member of ensemble.members) await ensemble.restart(member.id);
    await ensemble.waitForLeader();
    return new PeerNetwork(links);
  }

  /** isolate cuts every link to and from member `id` (cut true) or heals them (cut false). */
  isolate(id: number, cut: boolean): void {
    for (const link of this.links) if (link.from === id || link.to === id) link.setCut(cut);
  }

  close(): void {
    for (const link of this.links) link.close();
  }
}
