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

/**
 * PEER_PROTOCOL_MAX_ENV names the other test hook of a rolling upgrade: a member started with it
 * set to a version below its own speaks peer protocol versions up to that one only, as a member of
 * the previous release does at the handshake (e.g. `ZABKIT_TEST_PEER_PROTOCOL_MAX=3`: no membership
 * changes, so the others refuse a change while it is connected). Nothing but a test should set it.
 */
export const PEER_PROTOCOL_MAX_ENV = 'ZABKIT_TEST_PEER_PROTOCOL_MAX';

/** peerProtocolMax reads PEER_PROTOCOL_MAX_ENV: undefined when unset, else a version this release speaks. */
export function peerProtocolMax(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[PEER_PROTOCOL_MAX_ENV];
  if (raw === undefined || raw === '') return undefined;
  const version = Number(raw);
  if (!Number.isInteger(version) || version < PEER_PROTOCOL_VERSIONS.min || version > PEER_PROTOCOL_VERSIONS.max) {
    throw new RangeError(
      `${PEER_PROTOCOL_MAX_ENV}=${raw}: expected a peer protocol version from ${PEER_PROTOCOL_VERSIONS.min} to ${PEER_PROTOCOL_VERSIONS.max}`,
    );
  }
  return version;
}

/** PeerProtocolOptions: what the test hooks set on the peer mesh. */
export interface PeerProtocolOptions {
  announceVersion?: number;
  protocolVersions?: { min: number; max: number };
}

/** peerProtocolOptions reads both hooks from `env`, warning through `warn` when one is set. */
export function peerProtocolOptions(
  env: NodeJS.ProcessEnv,
  warn: (fields: Record<string, unknown>, message: string) => void,
): PeerProtocolOptions {
  const options: PeerProtocolOptions = {};
  const max = peerProtocolMax(env);
  if (max !== undefined) {
    options.protocolVersions = { min: PEER_PROTOCOL_VERSIONS.min, max };
    warn(
      { protocolVersions: options.protocolVersions },
      `${PEER_PROTOCOL_MAX_ENV} is set: this member speaks peer protocol versions up to ${max} only (a test of a rolling upgrade)`,
    );
  }
  const announceVersion = peerProtocolAnnounce(env);
  if (announceVersion !== undefined) {
    options.announceVersion = announceVersion;
    warn(
      { announceVersion, protocolVersions: options.protocolVersions ?? PEER_PROTOCOL_VERSIONS },
      `${PEER_PROTOCOL_ANNOUNCE_ENV} is set: this member announces peer protocol version ${announceVersion} when it dials (a test of a rolling upgrade; it speaks only its own versions)`,
    );
  }
  return options;
}
