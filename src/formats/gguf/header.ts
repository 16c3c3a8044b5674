import type { ByteSource } from '../../io/byte-source.js';
import { Cursor } from '../../io/cursor.js';
import { FormatProblem, limitExceeded, malformed } from '../../io/format-problem.js';
import { TensorsafeError } from '../../errors.js';
import { ggufArrayType, type GgufMetadataValue } from '../../tensor/gguf-metadata.js';
import { GGML_MAX_DIMS, GGML_MAX_NAME_BYTES, GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_VALUE_BYTES, GGUF_VALUE_TYPES, type GgufValueType } from '../../tensor/gguf-types.js';
import { VIEW_ARRAY_ITEMS } from '../format.js';
import { show, utf8Lossy, utf8OrUndefined } from '../scan-rules.js';
import { MAX_GGUF_ARRAY_DEPTH, MAX_GGUF_ARRAY_LENGTH, MAX_GGUF_KEPT_STRING, MAX_GGUF_KEPT_ARRAY, MAX_GGUF_KEY_BYTES, MAX_GGUF_KV, MAX_GGUF_METADATA_BYTES, MAX_GGUF_TENSORS } from './limits.js';

/**
 * A GGUF file's header, parsed once for the reader and the scan rules alike. What is checked is what
 * ggml's own reader checks (so that a file accepted here is one llama.cpp reads the same way): magic,
 * version 1–3 (either byte order: a big-endian file is seen as a byte-swapped version), every key and
 * value type, strings and arrays within the file and the limits, no empty or duplicate keys or tensor
 * names, `general.alignment` a UINT32 power of two, tensor types known, ne[0] a whole number of
 * blocks, and each tensor's data exactly where ggml expects it (offsets in declaration order, padded to
 * the alignment: no gaps, no overlap) and inside the file. One thing ggml refuses is read all the same
 * unless `asGgml` is set: arrays of arrays (the spec allows them); the first is kept as `ggmlRefuses`.
 * Values are kept (short arrays, strings up to MAX_GGUF_KEPT_STRING); tensor data is never read.
 * Throws FormatProblems: the reader codes them, the scan rules report them.
 */

const UINT32 = 4;
const BOOL = 7;
const STRING = 8;
const ARRAY = 9;

/** A value as read (tensor/gguf-metadata.ts keeps it in safetensors). */
export type GgufValue = GgufMetadataValue;

/** One key-value pair: its value when kept, else how many elements or bytes it had. */
export interface GgufKeyValue {
  readonly key: string;
  readonly type: GgufValueType;
  /** For arrays: the element type. */
  readonly elementType?: GgufValueType;
  /** For arrays: the whole type, `ARRAY[INT32]`, `ARRAY[ARRAY[STRING]]` (absent when arrays inside differ in type, or an array of arrays is empty). */
  readonly typeName?: string;
  /** Undefined when too large to keep (`length` says how large). */
  readonly value?: GgufValue;
  /** For an array of numbers or strings too long to keep: its first VIEW_ARRAY_ITEMS elements (inspect shows them). */
  readonly head?: readonly GgufValue[];
  /** Elements of an array, bytes of a string. */
  readonly length?: number;
  /** Where the value starts (a string's length, an array's element type), for messages. */
  readonly at: number;
  /** A string of the value kept is not valid UTF-8: its bad bytes were replaced by U+FFFD. */
  readonly lossy?: true;
}

export interface GgufTensorInfo {
  readonly name: string;
  /** Dimensions as stored: innermost (fastest-moving) first; each at most int64's maximum. */
  readonly ne: readonly bigint[];
  readonly type: number;
  readonly typeName: string;
  /** Absolute offset of the data in the file, and its byte length. */
  readonly offset: number;
  readonly bytes: number;
  readonly elements: bigint;
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
  /** Where ggml expects the tensor data to end (the data start when there are no tensors). */
  readonly dataEnd: number;
  /** The first thing ggml refuses that this parse read past (an array of arrays); undefined when ggml reads the file as it was read here. */
  readonly ggmlRefuses?: FormatProblem;
}

export interface GgufHeaderOptions {
  /** Stop at what ggml refuses, as ggml does (arrays of arrays), instead of reading past it. */
  readonly asGgml?: boolean;
  /** Each key-value pair as it is read (with the file's version), so that what came before a problem is still seen. */
  readonly onKeyValue?: (kv: GgufKeyValue, version: number) => void;
}

const INT64_MAX = (1n << 63n) - 1n;

/** Bytes of a count or length: u64 from version 2, u32 in version 1. */
export function countBytes(version: number): number {
  return version >= 2 ? 8 : 4;
}

export async function readGgufHeader(source: ByteSource, options: GgufHeaderOptions = {}): Promise<GgufHeader> {
  const c = new Cursor(source);
  await c.need(8, 'the GGUF header');
  const magic = c.take(4);
  if (magic[0] !== 0x47 || magic[1] !== 0x47 || magic[2] !== 0x55 || magic[3] !== 0x46) throw malformed(`the magic is not "GGUF"`, 0);
  let version = c.u32();
  if (version < 1 || version > 3) {
    const swapped = (((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24)) >>> 0;
    if (swapped < 1 || swapped > 3) throw malformed(`unsupported GGUF version ${version} (1 to 3 exist)`, 4);
    c.littleEndian = false; // v3 allows a whole-file big-endian layout, seen as a byte-swapped version
    version = swapped;
  }
  const width = countBytes(version);
  const checkBudget = (): void => {
    if (c.pos > MAX_GGUF_METADATA_BYTES) throw limitExceeded(`the metadata goes on past ${MAX_GGUF_METADATA_BYTES} bytes (MAX_GGUF_METADATA_BYTES)`, c.pos);
  };
  let ggmlRefuses: FormatProblem | undefined;
  const { count, stringLength, stringValue, scalar, array } = valueReader(c, width, {
    keptString: MAX_GGUF_KEPT_STRING,
    keptArray: MAX_GGUF_KEPT_ARRAY,
    checkBudget,
    onNestedArray: (refusal) => {
      if (options.asGgml) throw refusal;
      ggmlRefuses ??= refusal;
    },
  });
  const tensorCount = await count('the tensor count');
  const kvCount = await count('the key-value count');
  if (kvCount > BigInt(MAX_GGUF_KV)) throw limitExceeded(`${kvCount} key-value pairs declared, more than MAX_GGUF_KV (${MAX_GGUF_KV})`, 8 + width);
  if (tensorCount > BigInt(MAX_GGUF_TENSORS)) throw limitExceeded(`${tensorCount} tensors declared, more than MAX_GGUF_TENSORS (${MAX_GGUF_TENSORS})`, 8);

  const readName = async (what: string, max: number): Promise<string> => {
    const start = c.pos;
    const n = await stringLength(what);
    if (n > max) throw limitExceeded(`${what} is ${n} bytes long, more than the ${max}-byte limit`, start);
    await c.need(n, what);
    const text = utf8OrUndefined(c.take(n));
    if (text === undefined) throw malformed(`${what} is not valid UTF-8`, start);
    return text;
  };

  const metadata: GgufKeyValue[] = [];
  const keep = (kv: GgufKeyValue): void => {
    metadata.push(kv);
    options.onKeyValue?.(kv, version);
  };
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (let i = 0n; i < kvCount; i++) {
    checkBudget();
    const kvAt = c.pos;
    const key = await readName(`key ${i}`, MAX_GGUF_KEY_BYTES);
    if (key === '') throw malformed(`key ${i} is empty`, kvAt);
    if (keys.has(key)) throw malformed(`duplicate key ${show(key)} (ggml rejects the file; loaders that keep the first or the last value disagree)`, kvAt);
    keys.add(key);
    await c.need(4, `the type of ${show(key)}`);
    const typeAt = c.pos;
    const type = c.u32();
    if (type >= GGUF_VALUE_TYPES.length) throw malformed(`key ${show(key)} has unknown value type ${type}`, typeAt);
    const at = c.pos;
    const what = `the value of ${show(key)}`;
    if (key === 'general.alignment') {
      if (type !== UINT32) throw malformed(`general.alignment has type ${GGUF_VALUE_TYPES[type]}, not UINT32`, typeAt);
      await c.need(4, 'general.alignment');
      alignment = c.u32();
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw malformed(`general.alignment is ${alignment}, not a power of two`, typeAt + 4);
      keep({ key, type: 'UINT32', value: alignment, at });
    } else if (type === STRING) {
      const s = await stringValue(what);
      keep({ key, type: 'STRING', ...(s.text !== undefined ? { value: s.text } : {}), length: s.bytes, at, ...(s.lossy ? { lossy: s.lossy } : {}) });
    } else if (type === ARRAY) {
      const a = await array(show(key), 1);
      keep({ key, type: 'ARRAY', elementType: GGUF_VALUE_TYPES[a.elementType]!, ...(a.typeName ? { typeName: a.typeName } : {}), ...(a.value ? { value: a.value } : {}), ...(a.head ? { head: a.head } : {}), length: a.length, at, ...(a.lossy ? { lossy: a.lossy } : {}) });
    } else {
      await c.need(GGUF_VALUE_BYTES[type]!, what);
      if (type === BOOL) {
        const b = c.u8();
        if (b > 1) throw malformed(`the BOOL value of ${show(key)} is ${b}, not 0 or 1`, c.pos - 1);
        keep({ key, type: 'BOOL', value: b === 1, at });
      } else {
        keep({ key, type: GGUF_VALUE_TYPES[type]!, value: scalar(type), at });
      }
    }
  }

  // Tensor descriptions.
  checkBudget();
  const names = new Set<string>();
  let expected = 0n; // where ggml expects the next tensor's data, relative to the data section
  const infos: { name: string; ne: bigint[]; type: number; typeName: string; offset: bigint; bytes: bigint; elements: bigint; at: number }[] = [];
  const A = BigInt(alignment);
  const pad = (x: bigint): bigint => ((x + A - 1n) / A) * A;
  for (let i = 0n; i < tensorCount; i++) {
    if ((i & 0xffn) === 0n) checkBudget();
    const infoAt = c.pos;
    const name = await readName(`the name of tensor ${i}`, MAX_GGUF_KEY_BYTES);
    if (new TextEncoder().encode(name).length >= GGML_MAX_NAME_BYTES) throw malformed(`tensor name ${show(name)} is ${GGML_MAX_NAME_BYTES} bytes or longer (ggml rejects it)`, infoAt);
    if (names.has(name)) throw malformed(`duplicate tensor name ${show(name)}`, infoAt);
    names.add(name);
    await c.need(4, `the dimension count of tensor ${show(name)}`);
    const nDims = c.u32();
    if (nDims > GGML_MAX_DIMS) throw malformed(`tensor ${show(name)} has ${nDims} dimensions, more than ${GGML_MAX_DIMS}`, c.pos - 4);
    const ne: bigint[] = [];
    for (let d = 0; d < nDims; d++) {
      const v = await count(`dimension ${d} of tensor ${show(name)}`);
      if (v > INT64_MAX) throw malformed(`dimension ${d} of tensor ${show(name)} is ${v}, negative as int64`, c.pos - width);
      ne.push(v);
    }
    await c.need(12, `the type and offset of tensor ${show(name)}`);
    const typeAt = c.pos;
    const type = c.u32();
    const offset = c.u64();
    const t = GGML_TYPES.get(type);
    if (!t) throw malformed(`tensor ${show(name)} has unknown or removed ggml type ${type}`, typeAt);
    const [block, blockBytes, typeName] = t;
    const ne0 = ne[0] ?? 1n;
    if (ne0 % BigInt(block) !== 0n) throw malformed(`tensor ${show(name)} (${typeName}) has ne[0] = ${ne0}, not a multiple of the ${block}-element block`, infoAt);
    let rows = 1n;
    for (const v of ne.slice(1)) rows *= v;
    const bytes = (ne0 / BigInt(block)) * BigInt(blockBytes) * rows;
    if (bytes > BigInt(source.size)) throw malformed(`tensor ${show(name)} needs ${bytes} bytes, more than the whole file`, infoAt);
    if (offset % A !== 0n) throw malformed(`tensor ${show(name)} has offset ${offset}, not a multiple of the alignment ${alignment}`, typeAt + 4);
    if (offset !== expected) {
      throw malformed(`tensor ${show(name)} has offset ${offset}, expected ${expected} (tensors must follow one another in declaration order, padded to ${alignment}; ggml rejects overlapping or out-of-order data)`, typeAt + 4);
    }
    expected += pad(bytes);
    infos.push({ name, ne, type, typeName, offset, bytes, elements: ne0 * rows, at: infoAt });
  }

  // The data section starts at the next multiple of the alignment (when there are tensors).
  const infoEnd = BigInt(c.pos);
  const dataStart = tensorCount > 0n ? pad(infoEnd) : infoEnd;
  const size = BigInt(source.size);
  const tensors: GgufTensorInfo[] = infos.map((t) => {
    const start = dataStart + t.offset;
    const end = start + t.bytes;
    if (end > size) throw malformed(`the data of tensor ${show(t.name)} ([${start}, ${end})) runs past the end of the file (${size} bytes)`, t.at);
    return { ...t, offset: Number(start), bytes: Number(t.bytes) };
  });
  return {
    version, littleEndian: c.littleEndian, alignment, metadata, tensors,
    dataStart: Number(dataStart), dataEnd: Number(dataStart + expected),
    ...(ggmlRefuses ? { ggmlRefuses } : {}),
  };
}

interface ValueLimits {
  /** Bytes of a string kept (longer ones are walked, no text). */
  readonly keptString: number;
  /** Elements of an array kept (longer ones are walked, no value). */
  readonly keptArray: number;
  /** Called every few thousand elements: throws when the walk has gone on too long. */
  readonly checkBudget: () => void;
  /** An array of arrays was met (ggml refuses them): throw `refusal`, or note it and read on. */
  readonly onNestedArray: (refusal: FormatProblem) => void;
}

/** Readers of a value at the cursor: strings and arrays kept up to the limits, checked against the file. */
function valueReader(c: Cursor, width: number, limits: ValueLimits) {
  const source = c.source;
  const count = async (what: string): Promise<bigint> => {
    if (c.available() < width) await c.need(width, what);
    return width === 8 ? c.u64() : BigInt(c.u32());
  };
  /** A string's length, checked against the file. */
  const stringLength = async (what: string): Promise<number> => {
    const start = c.pos;
    const n = await count(`the length of ${what}`);
    if (n > BigInt(source.size - c.pos)) throw malformed(`${what} is declared ${n} bytes long, past the end of the file`, start);
    return Number(n);
  };
  /** A string value: kept up to `keptString` bytes, else walked (no text). */
  const stringValue = async (what: string): Promise<{ text?: string; bytes: number; lossy?: true }> => {
    const n = await stringLength(what);
    if (n > limits.keptString) {
      c.skip(n, what);
      return { bytes: n };
    }
    if (c.available() < n) await c.need(n, what);
    const b = c.take(n);
    const text = utf8OrUndefined(b);
    return text !== undefined ? { text, bytes: n } : { text: utf8Lossy(b), bytes: n, lossy: true };
  };
  /** One fixed-size value, already buffered. */
  const scalar = (type: number): GgufValue => {
    switch (type) {
      case 0: return c.u8();
      case 1: return (c.u8() << 24) >> 24;
      case 2: return c.u16();
      case 3: return (c.u16() << 16) >> 16;
      case 4: return c.u32();
      case 5: return c.u32() | 0;
      case 6: return new Float32Array(new Uint32Array([c.u32()]).buffer)[0]!;
      case 7: return c.u8() !== 0;
      case 10: return c.u64();
      case 11: return BigInt.asIntN(64, c.u64());
      default: return new Float64Array(new BigUint64Array([c.u64()]).buffer)[0]!;
    }
  };
  /**
   * An array value (`what` names it): kept when it has at most `keptArray` elements and all of them
   * were kept, else walked. `typeName` is its whole type (`ARRAY[ARRAY[STRING]]`), absent when the
   * arrays it holds differ in type or it holds arrays and none (no type to name).
   */
  const array = async (what: string, depth: number): Promise<{ elementType: number; typeName?: string; value?: GgufValue[]; head?: GgufValue[]; length: number; lossy?: true }> => {
    await c.need(4, `the element type of ${what}`);
    const elementType = c.u32();
    if (elementType >= GGUF_VALUE_TYPES.length) throw malformed(`array ${what} has unknown element type ${elementType}`, c.pos - 4);
    if (elementType === ARRAY) {
      limits.onNestedArray(malformed(`array ${what} holds arrays (ggml rejects nested arrays)`, c.pos - 4));
      if (depth >= MAX_GGUF_ARRAY_DEPTH) throw limitExceeded(`array ${what} nests arrays more than MAX_GGUF_ARRAY_DEPTH (${MAX_GGUF_ARRAY_DEPTH}) deep`, c.pos - 4);
    }
    const lengthAt = c.pos;
    const n = await count(`the length of array ${what}`);
    if (n > BigInt(MAX_GGUF_ARRAY_LENGTH)) throw limitExceeded(`array ${what} has ${n} elements, more than MAX_GGUF_ARRAY_LENGTH (${MAX_GGUF_ARRAY_LENGTH})`, lengthAt);
    const length = Number(n);
    let value: GgufValue[] | undefined = length <= limits.keptArray ? [] : undefined;
    if (elementType !== STRING && elementType !== ARRAY) {
      const typeName = ggufArrayType(GGUF_VALUE_TYPES[elementType]!);
      const elements = `the ${n} elements of array ${what}`;
      if (value === undefined) {
        // Walked past, its first few kept for inspect (only when the whole array is in the file: else the skip says it is not).
        const size = GGUF_VALUE_BYTES[elementType]!;
        const head: GgufValue[] = [];
        if (c.pos + length * size <= source.size) {
          await c.need(Math.min(length, VIEW_ARRAY_ITEMS) * size, elements);
          while (head.length < Math.min(length, VIEW_ARRAY_ITEMS)) head.push(scalar(elementType));
        }
        c.skip(BigInt(length - head.length) * BigInt(size), elements);
        return { elementType, typeName, head, length };
      }
      await c.need(length * GGUF_VALUE_BYTES[elementType]!, elements);
      for (let k = 0; k < length; k++) value.push(scalar(elementType));
      return { elementType, typeName, value, length };
    }
    let typeName: string | undefined = elementType === STRING ? ggufArrayType('STRING') : undefined;
    let lossy = false;
    const head: GgufValue[] = [];
    for (let k = 0; k < length; k++) {
      if (elementType === STRING) {
        const s = await stringValue(`string ${k} of array ${what}`);
        if (s.text === undefined) value = undefined;
        value?.push(s.text!);
        if (k === head.length && k < VIEW_ARRAY_ITEMS && s.text !== undefined) head.push(s.text);
        lossy ||= s.lossy === true;
        if ((k & 0xfff) === 0) limits.checkBudget();
      } else {
        if ((k & 0xfff) === 0) limits.checkBudget();
        const inner = await array(`${k} of array ${what}`, depth + 1);
        if (inner.value === undefined) value = undefined;
        value?.push(inner.value!);
        lossy ||= inner.lossy === true;
        const innerType = inner.typeName === undefined ? undefined : ggufArrayType(inner.typeName);
        if (k === 0) typeName = innerType;
        else if (typeName !== innerType) typeName = undefined;
      }
    }
    return { elementType, ...(typeName ? { typeName } : {}), ...(value ? { value } : elementType === STRING ? { head } : {}), length, ...(lossy && value ? { lossy: true as const } : {}) };
  };
  return { count, stringLength, stringValue, scalar, array };
}

/**
 * The whole value of a key-value pair the header parse walked past (a long array or string), read
 * again from the source, with at most `maxBytes` bytes of the file walked (a FormatProblem past them).
 */
export async function readGgufValue(source: ByteSource, header: Pick<GgufHeader, 'version' | 'littleEndian'>, kv: GgufKeyValue, maxBytes: number): Promise<{ value: GgufValue; lossy?: true }> {
  const c = new Cursor(source, kv.at, header.littleEndian);
  const checkBudget = (): void => {
    if (c.pos - kv.at > maxBytes) throw limitExceeded(`the value of ${show(kv.key)} goes on past ${maxBytes} bytes`, kv.at);
  };
  const { stringValue, array } = valueReader(c, countBytes(header.version), { keptString: maxBytes, keptArray: MAX_GGUF_ARRAY_LENGTH, checkBudget, onNestedArray: () => {} });
  const what = `the value of ${show(kv.key)}`;
  if (kv.type === 'STRING') {
    const s = await stringValue(what);
    if (s.text === undefined) throw limitExceeded(`${what} is ${s.bytes} bytes long, more than ${maxBytes}`, kv.at);
    return { value: s.text, ...(s.lossy ? { lossy: s.lossy } : {}) };
  }
  if (kv.type !== 'ARRAY') throw new TensorsafeError('InternalError', `readGgufValue: ${kv.key} is a ${kv.type}, which the header parse keeps`);
  const a = await array(show(kv.key), 1);
  checkBudget();
  return { value: a.value!, ...(a.lossy ? { lossy: a.lossy } : {}) };
}
