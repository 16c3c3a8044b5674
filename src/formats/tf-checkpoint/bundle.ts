import type { Dtype } from '../../dtype/dtypes.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { MAX_TF_DIMS, MAX_TF_SHARDS, MAX_TF_SLICES } from './limits.js';
import { smallFields } from '../protobuf/small-message.js';

/**
 * A tensor bundle's entries (tensorflow/core/protobuf/tensor_bundle.proto): the header under the empty
 * key (BundleHeaderProto: num_shards 1, endianness 2, version 3) and one BundleEntryProto per tensor
 * (dtype 1, shape 2, shard_id 3, offset 4, size 5, crc32c 6 as fixed32, slices 7). Data shards are
 * `<prefix>.data-NNNNN-of-MMMMM`. A partitioned variable's entry lists its slices (TensorSliceProto:
 * extents of start 1 and length 2, a missing length being the whole dimension) and holds no bytes;
 * each slice is an entry of its own under the key EncodeTensorNameSlice gives (sliceKey).
 */

export interface BundleHeader {
  readonly numShards: number;
  readonly bigEndian: boolean;
  readonly producer: number;
  readonly minConsumer: number;
}

/** One extent of a slice: `length` undefined is the whole dimension. */
export interface Extent {
  readonly start: number;
  readonly length: number | undefined;
}

export interface BundleEntry {
  readonly dtype: number;
  /** Dimensions; undefined for an unknown rank. */
  readonly shape: readonly number[] | undefined;
  readonly shardId: number;
  readonly offset: number;
  readonly size: number;
  /** The masked CRC-32C of the bytes, when the entry has one. */
  readonly crc32c: number | undefined;
  readonly slices: readonly (readonly Extent[])[];
}

/** TensorFlow's DataType numbers (types.proto) that safetensors holds, and their dtype. */
export const TF_DTYPES: Readonly<Record<number, Dtype>> = {
  1: 'F32', 2: 'F64', 3: 'I32', 4: 'U8', 5: 'I16', 6: 'I8', 8: 'C64', 9: 'I64', 10: 'BOOL', 14: 'BF16',
  17: 'U16', 19: 'F16', 22: 'U32', 23: 'U64', 24: 'F8_E5M2', 25: 'F8_E4M3', 26: 'F8_E4M3FNUZ', 28: 'F8_E5M2FNUZ',
};

/** Names of the other DataTypes, for what is left out. */
export const TF_DTYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'DT_FLOAT', 2: 'DT_DOUBLE', 3: 'DT_INT32', 4: 'DT_UINT8', 5: 'DT_INT16', 6: 'DT_INT8', 7: 'DT_STRING',
  8: 'DT_COMPLEX64', 9: 'DT_INT64', 10: 'DT_BOOL', 11: 'DT_QINT8', 12: 'DT_QUINT8', 13: 'DT_QINT32',
  14: 'DT_BFLOAT16', 15: 'DT_QINT16', 16: 'DT_QUINT16', 17: 'DT_UINT16', 18: 'DT_COMPLEX128', 19: 'DT_HALF',
  20: 'DT_RESOURCE', 21: 'DT_VARIANT', 22: 'DT_UINT32', 23: 'DT_UINT64', 24: 'DT_FLOAT8_E5M2',
  25: 'DT_FLOAT8_E4M3FN', 26: 'DT_FLOAT8_E4M3FNUZ', 27: 'DT_FLOAT8_E4M3B11FNUZ', 28: 'DT_FLOAT8_E5M2FNUZ',
  29: 'DT_INT4', 30: 'DT_UINT4',
};

export const DT_STRING = 7;

export function dtypeName(dtype: number): string {
  return TF_DTYPE_NAMES[dtype] ?? `DataType ${dtype}`;
}

/** A varint that must be a non-negative number below 2^53 (saturated ones, negatives, are not). */
function count(value: number, what: string, at: number): number {
  if (value > Number.MAX_SAFE_INTEGER) throw malformed(`${what} is ${value >= 2 ** 63 ? 'negative' : 'too large'}`, at);
  return value;
}

export function parseHeader(value: Uint8Array, at: number): BundleHeader {
  let numShards = 0;
  let bigEndian = false;
  let producer = 0;
  let minConsumer = 0;
  for (const f of smallFields(value, at, 'the bundle header')) {
    if (f.no === 1 && f.wire === 0) numShards = count(f.value, 'num_shards', at);
    else if (f.no === 2 && f.wire === 0) {
      if (f.value > 1) throw malformed(`the bundle header's endianness is ${f.value}, neither LITTLE (0) nor BIG (1)`, at);
      bigEndian = f.value === 1;
    } else if (f.no === 3 && f.wire === 2) {
      for (const v of smallFields(f.bytes, at, 'the bundle header’s version')) {
        if (v.no === 1 && v.wire === 0) producer = v.value;
        else if (v.no === 2 && v.wire === 0) minConsumer = v.value;
      }
    }
  }
  if (numShards > MAX_TF_SHARDS) throw limitExceeded(`the bundle header declares ${numShards} data shards, more than MAX_TF_SHARDS (${MAX_TF_SHARDS})`, at);
  return { numShards, bigEndian, producer, minConsumer };
}

export function parseEntry(value: Uint8Array, at: number, name: string): BundleEntry {
  const what = `the entry of ${name}`;
  let dtype = 0;
  let shape: number[] | undefined = [];
  let shardId = 0;
  let offset = 0;
  let size = 0;
  let crc: number | undefined;
  const slices: Extent[][] = [];
  for (const f of smallFields(value, at, what)) {
    if (f.no === 1 && f.wire === 0) dtype = f.value;
    else if (f.no === 2 && f.wire === 2) shape = parseShape(f.bytes, at, what);
    else if (f.no === 3 && f.wire === 0) shardId = count(f.value, `${what}: shard_id`, at);
    else if (f.no === 4 && f.wire === 0) offset = count(f.value, `${what}: offset`, at);
    else if (f.no === 5 && f.wire === 0) size = count(f.value, `${what}: size`, at);
    else if (f.no === 6 && f.wire === 5) crc = f.value;
    else if (f.no === 7 && f.wire === 2) {
      if (slices.length >= MAX_TF_SLICES) throw limitExceeded(`${what} lists more than MAX_TF_SLICES (${MAX_TF_SLICES}) slices`, at);
      slices.push(parseSlice(f.bytes, at, what));
    }
  }
  return { dtype, shape, shardId, offset, size, crc32c: crc, slices };
}

function parseShape(b: Uint8Array, at: number, what: string): number[] | undefined {
  const dims: number[] = [];
  let unknownRank = false;
  for (const f of smallFields(b, at, `${what}: shape`)) {
    if (f.no === 2 && f.wire === 2) {
      if (dims.length >= MAX_TF_DIMS) throw limitExceeded(`${what}: more than MAX_TF_DIMS (${MAX_TF_DIMS}) dimensions`, at);
      let size = 0;
      for (const d of smallFields(f.bytes, at, `${what}: a dimension`)) if (d.no === 1 && d.wire === 0) size = d.value;
      if (size > Number.MAX_SAFE_INTEGER) throw malformed(`${what}: dimension ${dims.length} is unknown or negative`, at);
      dims.push(size);
    } else if (f.no === 3 && f.wire === 0 && f.value !== 0) unknownRank = true;
  }
  return unknownRank ? undefined : dims;
}

function parseSlice(b: Uint8Array, at: number, what: string): Extent[] {
  const extents: Extent[] = [];
  for (const f of smallFields(b, at, `${what}: a slice`)) {
    if (f.no !== 1 || f.wire !== 2) continue;
    if (extents.length >= MAX_TF_DIMS) throw limitExceeded(`${what}: a slice of more than MAX_TF_DIMS (${MAX_TF_DIMS}) dimensions`, at);
    let start = 0;
    let length: number | undefined;
    for (const e of smallFields(f.bytes, at, `${what}: a slice extent`)) {
      if (e.no === 1 && e.wire === 0) start = count(e.value, `${what}: a slice's start`, at);
      else if (e.no === 2 && e.wire === 0) length = count(e.value, `${what}: a slice's length`, at);
    }
    extents.push({ start, length });
  }
  return extents;
}

/** `<prefix>.data-NNNNN-of-MMMMM`, TensorFlow's DataFilename. */
export function dataFileName(prefix: string, shard: number, shards: number): string {
  return `${prefix}.data-${String(shard).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}`;
}

/**
 * The key of a slice's entry (tensorflow/core/util/saved_tensor_slice_util.cc EncodeTensorNameSlice, in
 * tensorflow/core/lib/strings/ordered_code.cc's encoding): the number 0, the name as an ordered-code
 * string, the rank, then each dimension's start and length as signed numbers (a whole dimension: 0 and -1).
 */
export function sliceKey(name: Uint8Array, slice: readonly Extent[]): Uint8Array {
  const out: number[] = [0];
  for (const b of name) {
    if (b === 0) out.push(0, 0xff);
    else if (b === 0xff) out.push(0xff, 0);
    else out.push(b);
  }
  out.push(0, 1);
  out.push(...numIncreasing(slice.length));
  for (const e of slice) {
    out.push(...signedNumIncreasing(e.length === undefined ? 0 : e.start));
    out.push(...signedNumIncreasing(e.length ?? -1));
  }
  return Uint8Array.from(out);
}

/** OrderedCode::WriteNumIncreasing: a length byte, then the value big-endian without leading zero bytes. */
function numIncreasing(v: number): number[] {
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  return [bytes.length, ...bytes];
}

/** Header bits of OrderedCode's signed numbers, by encoded length (kLengthToHeaderBits). */
const HEADER_BITS: readonly (readonly [number, number])[] = [
  [0, 0], [0x80, 0], [0xc0, 0], [0xe0, 0], [0xf0, 0], [0xf8, 0], [0xfc, 0], [0xfe, 0], [0xff, 0], [0xff, 0x80], [0xff, 0xc0],
];

/** OrderedCode::WriteSignedNumIncreasing: n bytes hold [-2^(7n-1), 2^(7n-1)), the sign and length in the leading bits. */
function signedNumIncreasing(v: number): number[] {
  const big = BigInt(v);
  const x = big < 0n ? ~big : big;
  const bits = x === 0n ? 0 : x.toString(2).length;
  const len = Math.min(10, Math.floor(bits / 7) + 1);
  const bytes: number[] = [];
  const twos = BigInt.asUintN(80, big);
  for (let i = len - 1; i >= 0; i--) bytes.push(Number((twos >> BigInt(8 * i)) & 0xffn));
  bytes[0] = bytes[0]! ^ HEADER_BITS[len]![0];
  if (len > 1) bytes[1] = bytes[1]! ^ HEADER_BITS[len]![1];
  return bytes;
}
