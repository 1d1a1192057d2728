import { CodecError } from './errors.js';
import { type FieldCodec, uint32 } from './schema.js';

/**
 * ProtocolVersions is the range of versions of one protocol an end speaks: every version from
 * `min` to `max`. A release speaks its own version (`max`) and the previous one (`min = max - 1`),
 * so a rolling upgrade never has two members that cannot talk; `min` is never below the oldest
 * version whose messages this codec still encodes and decodes.
 *
 * Negotiation (the transport's, one connection at a time): the end that connects offers its
 * `max`. The end that accepts answers with that version if it speaks it; if the offer is above
 * its `max` it refuses with PROTOCOL_VERSION naming its `max` (what every earlier release does),
 * and the connector retries once at that version if it speaks it ({@link fallbackProtocolVersion}).
 * An offer below the acceptor's `min` is refused with a message naming the acceptor's range.
 */
export interface ProtocolVersions {
  readonly min: number;
  readonly max: number;
}

/** checkProtocolVersions throws a RangeError unless `versions` is a range of uint32 with min ≤ max. */
export function checkProtocolVersions(versions: ProtocolVersions, protocol: string): ProtocolVersions {
  const { min, max } = versions;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max > 0xffff_ffff || min > max) {
    throw new RangeError(`${protocol} protocol versions must be integers with 0 ≤ min ≤ max, got ${min} to ${max}`);
  }
  return versions;
}

/** speaksProtocolVersion tells whether `version` is in the range. */
export function speaksProtocolVersion(versions: ProtocolVersions, version: number): boolean {
  return version >= versions.min && version <= versions.max;
}

/** describeProtocolVersions says the range in words: "version 3", or "versions 3 to 4". */
export function describeProtocolVersions(versions: ProtocolVersions): string {
  return versions.min === versions.max ? `version ${versions.max}` : `versions ${versions.min} to ${versions.max}`;
}

/**
 * fallbackProtocolVersion is the version a connector retries at after the acceptor refused its
 * offer `offered` with PROTOCOL_VERSION and named `refusedWith` (the acceptor's max): that version
 * when it is below the offer and inside the connector's own range, else undefined (the two ends
 * share no version, or the acceptor refused a version it claims to speak: give up, do not loop).
 */
export function fallbackProtocolVersion(
  versions: ProtocolVersions,
  offered: number,
  refusedWith: number,
): number | undefined {
  return refusedWith < offered && speaksProtocolVersion(versions, refusedWith) ? refusedWith : undefined;
}

/**
 * protocolVersion checks a handshake's version before anything else in the message, so a peer of
 * another version gets a clear refusal instead of an error about a field it has never heard of.
 * It accepts every version of `versions` (a single number is a range of one); another is a
 * CodecError naming this end's range. Encoding writes any uint32: the version a connector offers
 * is its own business.
 */
export function protocolVersion(versions: number | ProtocolVersions, protocol: string): FieldCodec<number> {
  const range = checkProtocolVersions(
    typeof versions === 'number' ? { min: versions, max: versions } : versions,
    protocol,
  );
  return {
    description: `${protocol} protocol ${describeProtocolVersions(range)}`,
    encode: (value) => uint32.encode(value),
    decode(value: unknown): number {
      const version = uint32.decode(value);
      if (!speaksProtocolVersion(range, version)) {
        throw new CodecError(
          `${protocol} protocol version ${version} is not supported: this end speaks ${describeProtocolVersions(range)}`,
        );
      }
      return version;
    },
  };
}

/**
 * schemasByRange builds a message schema for a range of versions once per range: the default
 * range's is built at load, others (a test's, a future release's) on first use. Ranges come from
 * configuration, never from the wire, so the cache stays as small as the set of ranges in use.
 */
export function schemasByRange<T>(build: (versions: ProtocolVersions) => T): (versions: ProtocolVersions) => T {
  const built = new Map<string, T>();
  return (versions) => {
    const key = `${versions.min}..${versions.max}`;
    let schema = built.get(key);
    if (schema === undefined) {
      schema = build(versions);
      built.set(key, schema);
    }
    return schema;
  };
}
