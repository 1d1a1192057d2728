import { CodecError } from './errors.js';

/**
 * FieldCodec is one entry of a schema: `encode` turns a protocol value into what msgpackr packs and
 * throws a CodecError if the value is out of the protocol's range; `decode` checks what msgpackr
 * unpacked and returns a value built only from checked parts, or throws a CodecError whose `field`
 * names the path to what was wrong. `description` names the type in error messages.
 */
export interface FieldCodec<T> {
  readonly description: string;
  encode(value: T): unknown;
  decode(value: unknown): T;
}

/** Fields is the schema of an object type: one codec per property. */
export type Fields<T> = { [K in keyof T]-?: FieldCodec<T[K]> };

/** describeValue names a decoded value's type for an error message, without echoing big inputs. */
export function describeValue(value: unknown): string {
  if (value === null) return 'nil';
  if (value === undefined) return 'nothing (missing)';
  if (typeof value === 'number' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (typeof value === 'string') return `string of ${value.length} characters`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (typeof value === 'object') return Object.getPrototypeOf(value) === Object.prototype ? 'map' : 'extension value';
  return typeof value;
}

function mismatch(expected: string, value: unknown): CodecError {
  return new CodecError(`expected ${expected}, got ${describeValue(value)}`);
}

function integer(description: string, min: number, max: number): FieldCodec<number> {
  const minBig = BigInt(min);
  const maxBig = BigInt(max);
  const check = (value: unknown): number => {
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= min && value <= max) return value;
    } else if (typeof value === 'bigint') {
      // Other encoders may write any integer as int64.
      if (value >= minBig && value <= maxBig) return Number(value);
    }
    throw mismatch(description, value);
  };
  return { description, encode: check, decode: check };
}

/** int32 is a signed 32-bit integer (ZooKeeper's `int`: versions, xids, timeouts). */
export const int32: FieldCodec<number> = integer('int32', -0x8000_0000, 0x7fff_ffff);
/** uint32 is an unsigned 32-bit integer. */
export const uint32: FieldCodec<number> = integer('uint32', 0, 0xffff_ffff);
/** nonNegativeInt32 is an int32 that cannot be negative (timeouts, lengths, counts). */
export const nonNegativeInt32: FieldCodec<number> = integer('int32 in [0, 2^31 - 1]', 0, 0x7fff_ffff);

const INT64_DESCRIPTION = 'int64 in [0, 2^53 - 1]';

/**
 * int64 is a non-negative safe integer (zxids, session ids, times, TTLs: ZooKeeper's `long`)
 * written as an exact msgpack int64 (8 bytes, from a BigInt). It decodes a BigInt or a plain
 * integer from another encoder, and refuses a negative value or one above 2^53 - 1.
 */
export const int64: FieldCodec<number> = {
  description: INT64_DESCRIPTION,
  encode(value: number): unknown {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      throw mismatch(INT64_DESCRIPTION, value);
    return BigInt(value);
  },
  decode(value: unknown): number {
    if (typeof value === 'bigint') {
      if (value >= 0n && value <= 0x1f_ffff_ffff_ffffn) return Number(value);
    } else if (typeof value === 'number') {
      if (Number.isSafeInteger(value) && value >= 0) return value;
    }
    throw mismatch(INT64_DESCRIPTION, value);
  },
};

/** boolean is msgpack true or false. */
export const boolean: FieldCodec<boolean> = {
  description: 'boolean',
  encode(value: boolean): unknown {
    if (typeof value !== 'boolean') throw mismatch('boolean', value);
    return value;
  },
  decode(value: unknown): boolean {
    if (typeof value !== 'boolean') throw mismatch('boolean', value);
    return value;
  },
};

/** string is a msgpack str (paths, names); its length is bounded by the frame limit. */
export const string: FieldCodec<string> = {
  description: 'string',
  encode(value: string): unknown {
    if (typeof value !== 'string') throw mismatch('string', value);
    return value;
  },
  decode(value: unknown): string {
    if (typeof value !== 'string') throw mismatch('string', value);
    return value;
  },
};

/**
 * bytes is msgpack bin. Decoding copies into memory of its own: msgpackr hands out views into the
 * frame, the frame may live in a buffer its owner reuses, and a small view would keep a whole
 * socket chunk alive for as long as the tree holds the value. The copy is a plain Uint8Array (for
 * 64 bytes and more, a view into Node's Buffer pool, as `Buffer.allocUnsafe` gives: ten times
 * cheaper than `new Uint8Array(buffer)`). `length` fixes the size (a session password).
 */
export function bytes(length?: number): FieldCodec<Uint8Array> {
  const description = length === undefined ? 'bytes' : `${length} bytes`;
  const check = (value: unknown): Uint8Array => {
    if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
      throw mismatch(description, value);
    }
    return value;
  };
  return {
    description,
    encode: check,
    decode: (value) => copyBytes(check(value)),
  };
}

const ON_HEAP_BYTES_MAX = 64;

function copyBytes(source: Uint8Array): Uint8Array {
  if (source.length <= ON_HEAP_BYTES_MAX) {
    const copy = new Uint8Array(source.length);
    copy.set(source);
    return copy;
  }
  const pooled = Buffer.allocUnsafe(source.length);
  pooled.set(source);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.length);
}

/** literal is one fixed integer (the -1 xid of a watch event). */
export function literal<T extends number>(expected: T): FieldCodec<T> {
  const check = (value: unknown): T => {
    if (value !== expected && !(typeof value === 'bigint' && value === BigInt(expected))) {
      throw mismatch(String(expected), value);
    }
    return expected;
  };
  return { description: String(expected), encode: check, decode: check };
}

/** oneOf is an integer from a closed set (CreateMode, WatchEventType: core keeps the wire number). */
export function oneOf<T extends number>(description: string, values: readonly T[]): FieldCodec<T> {
  const allowed = new Set<number>(values);
  const check = (value: unknown): T => {
    const number = typeof value === 'bigint' && value >= -0x8000_0000n && value <= 0x7fff_ffffn ? Number(value) : value;
    if (typeof number !== 'number' || !allowed.has(number)) throw mismatch(description, value);
    return number as T;
  };
  return { description, encode: check, decode: check };
}

/** named is a name from a closed set, written as its number (error codes, op names). */
export function named<T extends string>(description: string, numbers: Readonly<Record<T, number>>): FieldCodec<T> {
  const toNumber = new Map<string, number>(Object.entries<number>(numbers));
  const toName = new Map<number, T>();
  for (const [name, number] of toNumber) {
    if (toName.has(number)) throw new Error(`${description}: number ${number} is used twice`);
    toName.set(number, name as T);
  }
  return {
    description,
    encode(value: T): unknown {
      const number = typeof value === 'string' ? toNumber.get(value) : undefined;
      if (number === undefined) throw mismatch(description, value);
      return number;
    },
    decode(value: unknown): T {
      const number =
        typeof value === 'bigint' && value >= -0x8000_0000n && value <= 0x7fff_ffffn ? Number(value) : value;
      const name = typeof number === 'number' ? toName.get(number) : undefined;
      if (name === undefined) throw mismatch(description, value);
      return name;
    },
  };
}

/** nullable admits msgpack nil as null. */
export function nullable<T>(codec: FieldCodec<T>): FieldCodec<T | null> {
  return {
    description: `${codec.description} or nil`,
    encode: (value) => (value === null ? null : codec.encode(value)),
    decode: (value) => (value === null ? null : codec.decode(value)),
  };
}

/** OMIT marks a trailing optional field left out of the encoding (see {@link optional}). */
const OMIT: unique symbol = Symbol('omit');

/**
 * optional is a field appended to a message later that is left off the wire when absent (not even
 * a nil), so a message without it is byte for byte what it was before the field existed; it
 * decodes as undefined when missing (or nil). Optional fields come last; an absent one before a
 * present one is written as nil.
 */
export function optional<T>(codec: FieldCodec<T>): FieldCodec<T | undefined> {
  return {
    description: `${codec.description} or nothing`,
    encode: (value) => (value === undefined ? OMIT : codec.encode(value)),
    decode: (value) => (value === undefined || value === null ? undefined : codec.decode(value)),
  };
}

/** withDefault decodes a missing field as `fallback` (a field added to a message later, such as readOnly). */
export function withDefault<T>(codec: FieldCodec<T>, fallback: T): FieldCodec<T> {
  return {
    description: codec.description,
    encode: (value) => codec.encode(value === undefined ? fallback : value),
    decode: (value) => (value === undefined ? fallback : codec.decode(value)),
  };
}

/** array is a msgpack array of one element type, at most `lengthMax` long. */
export function array<T>(codec: FieldCodec<T>, lengthMax = Number.MAX_SAFE_INTEGER): FieldCodec<T[]> {
  const description = `array of ${codec.description}`;
  return {
    description,
    encode(value: T[]): unknown {
      if (!Array.isArray(value) || value.length > lengthMax) throw mismatch(description, value);
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        try {
          out[i] = codec.encode(value[i] as T);
        } catch (error) {
          throw CodecError.within(error, `[${i}]`);
        }
      }
      return out;
    },
    decode(value: unknown): T[] {
      if (!Array.isArray(value)) throw mismatch(description, value);
      if (value.length > lengthMax) throw new CodecError(`${value.length} elements, more than ${lengthMax}`);
      const out = new Array<T>(value.length);
      for (let i = 0; i < value.length; i++) {
        try {
          out[i] = codec.decode(value[i]);
        } catch (error) {
          throw CodecError.within(error, `[${i}]`);
        }
      }
      return out;
    },
  };
}

/** isPlainMap tells whether a value is a plain object (what the encoders take), not an array, bytes or a class instance. */
export function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

interface FieldTable {
  names: string[];
  codecs: FieldCodec<unknown>[];
}

function fieldTable(fields: Record<string, FieldCodec<unknown>>): FieldTable {
  const names = Object.keys(fields);
  for (const name of names) {
    // Decoded objects get only these names; none may be one that means something to every object.
    if (name in Object.prototype || name === '__proto__') throw new Error(`schema field name not allowed: ${name}`);
  }
  return { names, codecs: names.map((name) => fields[name] as FieldCodec<unknown>) };
}

// Fields travel positionally, in schema order, from `offset` in the array (after a union's code).
function encodeFields(table: FieldTable, value: Record<string, unknown>, out: unknown[], offset: number): void {
  const { names, codecs } = table;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    try {
      out[offset + i] = (codecs[i] as FieldCodec<unknown>).encode(value[name]);
    } catch (error) {
      throw CodecError.within(error, name);
    }
  }
  // Absent optional fields at the end are left off the wire (optional); one before a present field
  // is written as nil, which decodes as absent again.
  while (out.length > offset && out[out.length - 1] === OMIT) out.length--;
  for (let i = offset; i < out.length; i++) if (out[i] === OMIT) out[i] = null;
}

function decodeFields(table: FieldTable, value: unknown[], out: Record<string, unknown>, offset: number): void {
  // Only the schema's own names are written: nothing from the input names a property of `out`.
  const { names, codecs } = table;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    try {
      out[name] = (codecs[i] as FieldCodec<unknown>).decode(value[offset + i]);
    } catch (error) {
      throw CodecError.within(error, name);
    }
  }
}

/**
 * struct is a record with the schema's fields, written as a msgpack array in schema order (as
 * jute writes a record: the schema, not the frame, carries the names). A missing trailing field
 * decodes as `undefined` (refused unless its codec has a default); extra trailing elements are
 * ignored, so a later version may append optional fields.
 */
export function struct<T>(description: string, fields: Fields<T>): FieldCodec<T> {
  const table = fieldTable(fields as Record<string, FieldCodec<unknown>>);
  const arity = table.names.length;
  return {
    description,
    encode(value: T): unknown {
      if (!isPlainMap(value)) throw mismatch(description, value);
      const out = new Array<unknown>(arity);
      encodeFields(table, value, out, 0);
      return out;
    },
    decode(value: unknown): T {
      if (!Array.isArray(value)) throw mismatch(`${description} (array)`, value);
      const out: Record<string, unknown> = {};
      decodeFields(table, value, out, 0);
      return out as T;
    },
  };
}

/** Variant is one member of a union: its wire number and its fields other than the discriminant. */
export interface Variant<T> {
  code: number;
  fields: Fields<T>;
}

// Distributive, so a member whose discriminant is itself a union of names (EmptyResult) matches each of them.
type VariantOf<T, D extends keyof T, N> = T extends unknown ? (N extends T[D] ? Omit<T, D> : never) : never;

/** Variants is the table of a union: each discriminant name maps to its wire number and fields. */
export type Variants<T extends Record<D, string>, D extends keyof T> = {
  [N in T[D]]: Variant<VariantOf<T, D, N>>;
};

/** UnionCodec also exposes its table, so a test can enumerate every kind. */
export interface UnionCodec<T> extends FieldCodec<T> {
  readonly names: readonly string[];
  codeOf(name: string): number | undefined;
}

/**
 * union is a record whose `discriminant` is written as a small number naming the variant (op codes,
 * message kinds): a msgpack array of the number, then the variant's fields in schema order. An
 * unknown number is a CodecError naming the discriminant.
 */
export function union<T extends Record<D, string>, D extends keyof T & string>(
  description: string,
  discriminant: D,
  variants: Variants<T, D>,
): UnionCodec<T> {
  interface Entry {
    name: string;
    code: number;
    table: FieldTable;
  }
  fieldTable({ [discriminant]: string });
  const byName = new Map<string, Entry>();
  const byCode = new Map<number, Entry>();
  for (const [name, variant] of Object.entries<Variant<unknown>>(variants as Record<string, Variant<unknown>>)) {
    const entry = {
      name,
      code: variant.code,
      table: fieldTable(variant.fields as Record<string, FieldCodec<unknown>>),
    };
    if (byCode.has(variant.code)) throw new Error(`${description}: code ${variant.code} is used twice`);
    byName.set(name, entry);
    byCode.set(variant.code, entry);
  }
  return {
    description,
    names: [...byName.keys()],
    codeOf: (name) => byName.get(name)?.code,
    encode(value: T): unknown {
      if (!isPlainMap(value)) throw mismatch(description, value);
      const name = value[discriminant];
      const entry = typeof name === 'string' ? byName.get(name) : undefined;
      if (entry === undefined) throw new CodecError(`unknown ${description} ${String(name)}`, discriminant);
      const out = new Array<unknown>(1 + entry.table.names.length);
      out[0] = entry.code;
      encodeFields(entry.table, value, out, 1);
      return out;
    },
    decode(value: unknown): T {
      if (!Array.isArray(value)) throw mismatch(`${description} (array)`, value);
      const code = value[0];
      const number = typeof code === 'bigint' && code >= -0x8000_0000n && code <= 0x7fff_ffffn ? Number(code) : code;
      const entry = typeof number === 'number' ? byCode.get(number) : undefined;
      if (entry === undefined) {
        throw new CodecError(
          code === undefined ? 'missing' : `unknown ${description} ${describeValue(code)}`,
          discriminant,
        );
      }
      const out: Record<string, unknown> = { [discriminant]: entry.name };
      decodeFields(entry.table, value, out, 1);
      return out as T;
    },
  };
}
