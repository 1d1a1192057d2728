/** ServerAddress is one member's client endpoint. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** ConnectString is a parsed `host:port,host:port[/chroot]`, as ZooKeeper's clients take it. */
export interface ConnectString {
  servers: ServerAddress[];
  /** chroot is the path every request is relative to, or '' for none. */
  chroot: string;
}

export const CLIENT_PORT_DEFAULT = 7181;

/** describeServer writes a member as `host:port` (`[host]:port` for IPv6), as logs and events name it. */
export function describeServer(server: ServerAddress): string {
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * parseConnectString reads `host[:port],...[/chroot]`; a missing port means 7181, IPv6 hosts are
 * written in brackets (`[::1]:7181`). Throws TypeError naming the bad part.
 */
export function parseConnectString(text: string): ConnectString {
  const slash = text.indexOf('/');
  const hosts = slash === -1 ? text : text.slice(0, slash);
  let chroot = slash === -1 ? '' : text.slice(slash);
  if (chroot === '/') chroot = '';
  if (chroot.endsWith('/')) throw new TypeError(`connect string chroot must not end with '/': ${JSON.stringify(text)}`);
  const servers: ServerAddress[] = [];
  for (const part of hosts.split(',')) {
    const entry = part.trim();
    if (entry === '') throw new TypeError(`connect string has an empty server entry: ${JSON.stringify(text)}`);
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(entry);
    if (!match) throw new TypeError(`connect string entry is not host[:port]: ${JSON.stringify(entry)}`);
    const host = (match[1] ?? match[2]) as string;
    const port = match[3] === undefined ? CLIENT_PORT_DEFAULT : Number(match[3]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(`connect string port out of range: ${JSON.stringify(entry)}`);
    }
    servers.push({ host, port });
  }
  return { servers, chroot };
}
