/** MemberPorts are the three ports one member listens on. */
export interface MemberPorts {
  clientPort: number;
  peerPort: number;
  adminPort: number;
}

/** Default ports of DESIGN.md: clients 7181, peers 7888, admin 7080; `dev` members take +1, +2, … */
export const PORTS_DEFAULT: MemberPorts = { clientPort: 7181, peerPort: 7888, adminPort: 7080 };

/** ZOOKEEPER_PORT_DEFAULT: the ZooKeeper-protocol client port of member 1 of `dev` (ZooKeeper's 2181; then 2182, 2183, …). */
export const ZOOKEEPER_PORT_DEFAULT = 2181;

/** defaultPorts gives the ports of the `index`-th (0-based) member of a local ensemble. */
export function defaultPorts(index: number, base: MemberPorts = PORTS_DEFAULT): MemberPorts {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`member index must be a whole number ≥ 0: ${index}`);
  return { clientPort: base.clientPort + index, peerPort: base.peerPort + index, adminPort: base.adminPort + index };
}
