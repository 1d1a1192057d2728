import { PEER_PROTOCOL_VERSIONS } from '@zabkit/codec';

/**
 * PEER_PROTOCOL_ANNOUNCE_ENV names the test hook of a rolling upgrade: a member started with it set
 * to a version above its own (e.g. `ZABKIT_TEST_PEER_PROTOCOL_ANNOUNCE=4` on a version-3 release)
 * offers that version first when it dials a peer, as a member of the next release would, and falls
 * back to the version the peer names. It only announces: the member speaks, accepts and answers
 * nothing but PEER_PROTOCOL_VERSIONS, so it never runs a connection at a version that has no
 * messages of its own (README "Rolling upgrade"). Not a configuration field: nothing but a test
 * should set it.
 */
export const PEER_PROTOCOL_ANNOUNCE_ENV = 'ZABKIT_TEST_PEER_PROTOCOL_ANNOUNCE';

/**
 * peerProtocolAnnounce reads the hook from `env`: undefined when unset, else the version to
 * announce. Throws a RangeError for a value that is not an integer at least this release's version.
 */
export function peerProtocolAnnounce(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[PEER_PROTOCOL_ANNOUNCE_ENV];
  if (raw === undefined || raw === '') return undefined;
  const version = Number(raw);
  if (!Number.isInteger(version) || version < PEER_PROTOCOL_VERSIONS.max || version > 0xffff_ffff) {
    throw new RangeError(
      `${PEER_PROTOCOL_ANNOUNCE_ENV}=${raw}: expected a peer protocol version of at least ${PEER_PROTOCOL_VERSIONS.max}`,
    );
  }
  return version;
}
