import { type ACL, Perms } from '@zabkit/core';
import { digestId } from '@zabkit/transport-tcp';

/**
 * digestAcl is an ACL entry granting `perms` (default Perms.ALL) to whoever authenticates with
 * `addAuth('digest', 'user:password')`: scheme `digest`, id `user:base64(sha1(user:password))`
 * (ZooKeeper's DigestAuthenticationProvider, so ids move between the two systems). The password
 * is hashed here and not kept.
 */
export function digestAcl(user: string, password: string, perms: number = Perms.ALL): ACL {
  if (user === '' || user.includes(':')) throw new TypeError(`digestAcl: user must be non-empty, without ':': ${user}`);
  if (!(Number.isInteger(perms) && perms >= 0 && perms <= Perms.ALL))
    throw new RangeError(`digestAcl: perms must be Perms bits (0 to ${Perms.ALL}): ${perms}`);
  return { perms, id: { scheme: 'digest', id: digestId(`${user}:${password}`) } };
}
