import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { CodecError } from './errors.js';

// Explicit options on both ends, so a change of msgpackr defaults cannot change the wire:
// - no records or shared structures: both ends would have to agree on them out of band;
// - maps decode to plain objects (msgpackr renames a `__proto__` key to `__proto_`); the wire has
//   no maps (records are positional arrays), so a schema refuses any map it meets;
// - 64-bit integers decode as BigInt, so a zxid is exact whatever its size;
// - binary decodes as a view (copyBuffers false): the `bytes` field type copies what it keeps, so
//   no decoded value aliases a buffer the caller may reuse.
const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  useFloat32: 0,
  largeBigIntToFloat: false,
  int64AsType: 'bigint',
  mapsAsObjects: true,
});
const unpackr = new Unpackr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  int64AsType: 'bigint',
  mapsAsObjects: true,
  copyBuffers: false,
  sequential: false,
});

/** packBody encodes a wire value (plain objects, arrays, numbers, BigInts, strings, bytes) as one msgpack body. */
export function packBody(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * packFrame encodes a wire value with `headerBytes` left free in front of the body, so the frame
 * header is written in place instead of copying the body into a new buffer. The result is a view
 * into msgpackr's output buffer, which msgpackr never writes again (it moves on, or allocates anew).
 */
export function packFrame(value: unknown, headerBytes: number): Uint8Array {
  return packr.pack(value, RESERVE_START_SPACE | headerBytes);
}

/**
 * unpackBody decodes one msgpack body. Anything msgpackr rejects (truncated data, trailing bytes,
 * an unknown extension, nesting deep enough to exhaust the stack) becomes a CodecError.
 */
export function unpackBody(body: Uint8Array): unknown {
  if (body.length === 0) throw new CodecError('empty body', 'body');
  try {
    return unpackr.unpack(body);
  } catch (error) {
    throw new CodecError(`not msgpack: ${error instanceof Error ? error.message : String(error)}`, 'body');
  }
}
