import { CodecError } from './errors.js';
import { FRAME_BYTES_MAX_DEFAULT, FRAME_HEADER_BYTES } from './frame.js';
import { packFrame, unpackBody } from './msgpack.js';
import type { FieldCodec } from './schema.js';

/**
 * encodeMessageFrame encodes a message with its schema and returns the whole frame (length prefix
 * and body) in one buffer, ready to write. A body over `frameBytesMax` is a CodecError: the peer
 * would refuse it anyway, and failing at the sender names the culprit.
 */
export function encodeMessageFrame<T>(
  codec: FieldCodec<T>,
  message: T,
  frameBytesMax = FRAME_BYTES_MAX_DEFAULT,
): Uint8Array {
  const frame = packFrame(codec.encode(message), FRAME_HEADER_BYTES);
  const length = frame.length - FRAME_HEADER_BYTES;
  if (length > frameBytesMax) {
    throw new CodecError(`frame of ${length} bytes is over the limit of ${frameBytesMax}`, 'frame');
  }
  frame[0] = length >>> 24;
  frame[1] = (length >>> 16) & 0xff;
  frame[2] = (length >>> 8) & 0xff;
  frame[3] = length & 0xff;
  return frame;
}

/** decodeMessageBody decodes one frame body (without its length prefix) with its schema; throws only CodecError. */
export function decodeMessageBody<T>(codec: FieldCodec<T>, body: Uint8Array): T {
  return codec.decode(unpackBody(body));
}
