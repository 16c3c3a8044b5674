import type { ByteSource } from '../../io/byte-source.js';
import { Cursor } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { show, utf8Lossy, utf8OrUndefined } from '../scan-rules.js';
import { GGML_TYPES, GGUF_MAX_DIMS, GGUF_MAX_NAME_BYTES, MAX_GGUF_ARRAY_LENGTH, MAX_GGUF_KEY_BYTES, MAX_GGUF_KV, MAX_GGUF_METADATA_BYTES, MAX_GGUF_TENSORS } from './scan-rules.js';

/**
 * A GGUF file's header, parsed whole for reading (the scan rules walk it on their own): version 1–3,
 * either byte order (a big-endian file is seen as a byte-swapped version), every metadata value type,
 * arrays of arrays included, and each tensor's name, dimensions (innermost first, as stored), ggml
 * type and data range, checked to lie inside the file. Throws FormatProblems; the reader codes them.
 */

/** Nesting of arrays inside arrays: each level is a recursion; ggml writes none, the spec allows them. */
export const MAX_GGUF_ARRAY_DEPTH = 8;
/** Elements of an array value kept in memory (as a value for metadata); longer arrays are walked and left out. */
export const MAX_GGUF_KEPT_ARRAY = 1024;
/** Bytes of one string value kept (a chat template is a few KiB); longer strings are walked and left out. */
export const MAX_GGUF_KEPT_STRING = 1024 * 1024;

/** gguf value type ids. */
export const GGUF_VALUE_TYPES = ['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY', 'UINT64', 'INT64', 'FLOAT64'] as const;
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];
const SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
const STRING = 8;
const ARRAY = 9;

export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** One key-value pair: its value when kept, else how many elements or bytes it had. */
export interface GgufKeyValue {
  readonly key: string;
  readonly type: GgufValueType;
  /** For arrays: the element type. */
  readonly elementType?: GgufValueType;
  /** Undefined when too large to keep (`length` says how large). */
  readonly value?: GgufValue;
  /** Elements of an array, bytes of a string. */
  readonly length?: number;
}

export interface GgufTensorInfo {
  readonly name: string;
  /** Dimensions as stored: innermost (fastest-moving) first. */
  readonly ne: readonly number[];
  readonly type: number;
  readonly typeName: string;
  /** Absolute offset of the data in the file, and its byte length. */
  readonly offset: number;
  readonly bytes: number;
  readonly elements: number;
  /** Where its description starts, for messages. */
  readonly at: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly littleEndian: boolean;
  readonly alignment: number;
  readonly metadata: readonly GgufKeyValue[];
  readonly tensors: readonly GgufTensorInfo[];
  readonly dataStart: number;
}

const DEFAULT_ALIGNMENT = 32;

export async function readGgufHeader(source: ByteSource): Promise<GgufHeader> {
  const c = new Cursor(source);
  await c.need(8, 'the GGUF header');
  const magic = c.take(4);
  if (magic[0] !== 0x47 || magic[1] !== 0x47 || magic[2] !== 0x55 || magic[3] !== 0x46) throw malformed('the magic is not "GGUF"', 0);
  let version = c.u32();
  if (version < 1 || version > 3) {
    const swapped = (((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24)) >>> 0;
    if (swapped < 1 || swapped > 3) throw malformed(`unsupported GGUF version ${version} (versions 1 to 3 exist, in either byte order)`, 4);
    c.littleEndian = false;
    version = swapped;
  }
  const wide = version >= 2; // v1 wrote counts and lengths as u32
  const count = async (what: string): Promise<bigint> => {
    if (c.available() < (wide ? 8 : 4)) await c.need(wide ? 8 : 4, what);
    return wide ? c.u64() : BigInt(c.u32());
  };
  const budget = (): void => {
    if (c.pos > MAX_GGUF_METADATA_BYTES) throw limitExceeded(`the header goes on past ${MAX_GGUF_METADATA_BYTES} bytes (MAX_GGUF_METADATA_BYTES)`, c.pos);
  };
  const tensorCount = await count('the tensor count');
  const kvCount = await count('the key-value count');
  if (tensorCount > BigInt(MAX_GGUF_TENSORS)) throw limitExceeded(`${tensorCount} tensors declared, more than MAX_GGUF_TENSORS (${MAX_GGUF_TENSORS})`, 8);
  if (kvCount > BigInt(MAX_GGUF_KV)) throw limitExceeded(`${kvCount} key-value pairs declared, more than MAX_GGUF_KV (${MAX_GGUF_KV})`, wide ? 16 : 12);

  /** A string's byte length, inside the file. */
  const stringLength = async (what: string): Promise<number> => {
    const start = c.pos;
    const n = await count(`the length of ${what}`);
    if (n > BigInt(source.size - c.pos)) throw malformed(`${what} is declared ${n} bytes long, past the end of the file`, start);
    return Number(n);
  };
  const name = async (what: string, max: number): Promise<string> => {
    const start = c.pos;
    const n = await stringLength(what);
    if (n > max) throw limitExceeded(`${what} is ${n} bytes long, more than the ${max}-byte limit`, start);
    await c.need(n, what);
    const text = utf8OrUndefined(c.take(n));
    if (text === undefined) throw malformed(`${what} is not valid UTF-8`, start);
    return text;
  };
  /** A string value: kept up to MAX_GGUF_KEPT_STRING bytes, else walked (undefined). */
  const stringValue = async (what: string): Promise<{ text?: string; bytes: number }> => {
    const n = await stringLength(what);
    if (n > MAX_GGUF_KEPT_STRING) {
      c.skip(n, what);
      return { bytes: n };
    }
    if (c.available() < n) await c.need(n, what);
    return { text: utf8Lossy(c.take(n)), bytes: n };
  };
  const valueType = async (what: string): Promise<number> => {
    const at = c.pos;
    if (c.available() < 4) await c.need(4, what);
    const type = c.u32();
    if (type >= GGUF_VALUE_TYPES.length) throw malformed(`${what} is ${type}, not a GGUF value type (0 to ${GGUF_VALUE_TYPES.length - 1})`, at);
    return type;
  };
  const scalar = async (type: number, what: string): Promise<GgufValue> => {
    const size = SIZE[type]!;
    if (c.available() < size) await c.need(size, what);
    switch (type) {
      case 0: return c.u8();
      case 1: return (c.u8() << 24) >> 24;
      case 2: return c.u16();
      case 3: return (c.u16() << 16) >> 16;
      case 4: return c.u32();
      case 5: return c.u32() | 0;
      case 6: {
        const b = c.u32();
        return new Float32Array(new Uint32Array([b]).buffer)[0]!;
      }
      case 7: {
        const b = c.u8();
        if (b > 1) throw malformed(`the BOOL ${what} is ${b}, not 0 or 1`, c.pos - 1);
        return b === 1;
      }
      case 10: return c.u64();
      case 11: return BigInt.asIntN(64, c.u64());
      default: {
        const b = c.u64();
        return new Float64Array(new BigUint64Array([b]).buffer)[0]!;
      }
    }
  };
  /** An array value: kept when it has at most MAX_GGUF_KEPT_ARRAY elements (and all of them were kept), else walked. */
  const array = async (what: string, depth: number): Promise<{ elementType: number; value?: GgufValue[]; length: number }> => {
    if (depth > MAX_GGUF_ARRAY_DEPTH) throw limitExceeded(`${what} nests arrays more than MAX_GGUF_ARRAY_DEPTH (${MAX_GGUF_ARRAY_DEPTH}) deep`, c.pos);
    const elementType = await valueType(`the element type of ${what}`);
    const lengthAt = c.pos;
    const n = await count(`the length of ${what}`);
    if (n > BigInt(MAX_GGUF_ARRAY_LENGTH)) throw limitExceeded(`${what} has ${n} elements, more than MAX_GGUF_ARRAY_LENGTH (${MAX_GGUF_ARRAY_LENGTH})`, lengthAt);
    const length = Number(n);
    const keep = length <= MAX_GGUF_KEPT_ARRAY;
    if (elementType !== STRING && elementType !== ARRAY) {
      if (!keep) {
        c.skip(BigInt(SIZE[elementType]!) * n, `the ${n} elements of ${what}`);
        return { elementType, length };
      }
      const value: GgufValue[] = [];
      for (let k = 0; k < length; k++) value.push(await scalar(elementType, `element ${k} of ${what}`));
      return { elementType, value, length };
    }
    const value: GgufValue[] | undefined = keep ? [] : undefined;
    for (let k = 0; k < length; k++) {
      if ((k & 0xfff) === 0) budget();
      if (elementType === STRING) {
        const s = await stringValue(`string ${k} of ${what}`);
        if (s.text === undefined) return walkRest(k + 1, length, elementType, what, depth);
        value?.push(s.text);
      } else {
        const inner = await array(`array ${k} of ${what}`, depth + 1);
        if (inner.value === undefined) return walkRest(k + 1, length, elementType, what, depth);
        value?.push(inner.value);
      }
    }
    return { elementType, ...(value ? { value } : {}), length };
  };
  const walkRest = async (from: number, length: number, elementType: number, what: string, depth: number): Promise<{ elementType: number; length: number }> => {
    for (let k = from; k < length; k++) {
      if ((k & 0xfff) === 0) budget();
      if (elementType === STRING) c.skip(await stringLength(`string ${k} of ${what}`), `string ${k} of ${what}`);
      else await array(`array ${k} of ${what}`, depth + 1);
    }
    return { elementType, length };
  };

  const metadata: GgufKeyValue[] = [];
  const keys = new Set<string>();
  let alignment = DEFAULT_ALIGNMENT;
  for (let i = 0n; i < kvCount; i++) {
    budget();
    const kvAt = c.pos;
    const key = await name(`key ${i}`, MAX_GGUF_KEY_BYTES);
    if (keys.has(key)) throw malformed(`duplicate key ${show(key)}`, kvAt);
    keys.add(key);
    const typeAt = c.pos;
    const type = await valueType(`the value type of ${show(key)}`);
    const what = `the value of ${show(key)}`;
    if (type === STRING) {
      const s = await stringValue(what);
      metadata.push({ key, type: 'STRING', ...(s.text !== undefined ? { value: s.text } : {}), length: s.bytes });
    } else if (type === ARRAY) {
      const a = await array(what, 1);
      metadata.push({ key, type: 'ARRAY', elementType: GGUF_VALUE_TYPES[a.elementType]!, ...(a.value ? { value: a.value } : {}), length: a.length });
    } else {
      const value = await scalar(type, what);
      metadata.push({ key, type: GGUF_VALUE_TYPES[type]!, value });
      if (key === 'general.alignment') {
        if (type !== 4) throw malformed(`general.alignment has type ${GGUF_VALUE_TYPES[type]}, not UINT32`, typeAt);
        alignment = value as number;
        if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw malformed(`general.alignment is ${alignment}, not a power of two`, typeAt + 4);
      }
    }
  }

  budget();
  const names = new Set<string>();
  let expected = 0n; // where ggml expects the next tensor's data, relative to the data section
  const infos: { name: string; ne: number[]; type: number; typeName: string; offset: bigint; bytes: number; elements: number; at: number }[] = [];
  for (let i = 0n; i < tensorCount; i++) {
    if ((i & 0xffn) === 0n) budget();
    const at = c.pos;
    const tname = await name(`the name of tensor ${i}`, MAX_GGUF_KEY_BYTES);
    if (new TextEncoder().encode(tname).length >= GGUF_MAX_NAME_BYTES) throw limitExceeded(`tensor name ${show(tname)} is ${GGUF_MAX_NAME_BYTES} bytes or longer (GGUF_MAX_NAME_BYTES, ggml's limit)`, at);
    if (names.has(tname)) throw malformed(`duplicate tensor name ${show(tname)}`, at);
    names.add(tname);
    await c.need(4, `the dimension count of tensor ${show(tname)}`);
    const nDims = c.u32();
    if (nDims > GGUF_MAX_DIMS) throw limitExceeded(`tensor ${show(tname)} has ${nDims} dimensions, more than GGUF_MAX_DIMS (${GGUF_MAX_DIMS})`, c.pos - 4);
    const ne: number[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const v = await count(`dimension ${d} of tensor ${show(tname)}`);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`dimension ${d} of tensor ${show(tname)} is ${v}, larger than any file`, c.pos - (wide ? 8 : 4));
      ne.push(Number(v));
      elements *= v;
    }
    await c.need(12, `the type and offset of tensor ${show(tname)}`);
    const typeAt = c.pos;
    const type = c.u32();
    const offset = c.u64();
    const t = GGML_TYPES.get(type);
    if (!t) throw malformed(`tensor ${show(tname)} has unknown or removed ggml type ${type}`, typeAt);
    const [block, blockBytes, typeName] = t;
    const ne0 = BigInt(ne[0] ?? 1);
    if (ne0 % BigInt(block) !== 0n) throw malformed(`tensor ${show(tname)} (${typeName}) has ne[0] = ${ne0}, not a multiple of its ${block}-element block`, at);
    const bytes = elements === 0n ? 0n : (elements / BigInt(block)) * BigInt(blockBytes);
    // Decoded tensors are float32: the output, not only the stored bytes, must be a size a file can have.
    if (bytes > BigInt(source.size) || elements * 4n > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`tensor ${show(tname)} needs ${bytes} bytes (${elements} elements), more than the whole file`, at);
    if (offset % BigInt(alignment) !== 0n) throw malformed(`tensor ${show(tname)} has offset ${offset}, not a multiple of the alignment ${alignment}`, typeAt + 4);
    // As ggml: each tensor's data follows the previous one's, padded to the alignment (no overlap, no gap).
    if (offset !== expected) throw malformed(`tensor ${show(tname)} has offset ${offset}, expected ${expected} (tensors follow one another in declaration order, padded to ${alignment}; ggml refuses overlapping or out-of-order data)`, typeAt + 4);
    expected += ((bytes + BigInt(alignment) - 1n) / BigInt(alignment)) * BigInt(alignment);
    infos.push({ name: tname, ne, type, typeName, offset, bytes: Number(bytes), elements: Number(elements), at });
  }
  const end = BigInt(c.pos);
  const A = BigInt(alignment);
  const dataStart = tensorCount > 0n ? ((end + A - 1n) / A) * A : end;
  const size = BigInt(source.size);
  const tensors: GgufTensorInfo[] = infos.map((t) => {
    const start = dataStart + t.offset;
    if (start + BigInt(t.bytes) > size) {
      throw malformed(`the data of tensor ${show(t.name)} ([${start}, ${start + BigInt(t.bytes)})) runs past the end of the file (${size} bytes)`, t.at);
    }
    return { ...t, offset: Number(start) };
  });
  return { version, littleEndian: c.littleEndian, alignment, metadata, tensors, dataStart: Number(dataStart) };
}
