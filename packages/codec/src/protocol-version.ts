import { CodecError } from './errors.js';
import { type FieldCodec, uint32 } from './schema.js';

/**
 * protocolVersion checks a handshake's version before anything else in the message, so a peer of
 * another version gets a clear refusal instead of an error about a field it has never heard of.
 */
export function protocolVersion(expected: number, protocol: string): FieldCodec<number> {
  return {
    description: `${protocol} protocol version ${expected}`,
    encode: (value) => uint32.encode(value),
    decode(value: unknown): number {
      const version = uint32.decode(value);
      if (version !== expected) {
        throw new CodecError(
          `${protocol} protocol version ${version} is not supported: this end speaks version ${expected}`,
        );
      }
      return version;
    },
  };
}
