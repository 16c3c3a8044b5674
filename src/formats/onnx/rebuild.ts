import { malformed } from '../../io/format-problem.js';
import type { TensorRecord } from './model.js';

/**
 * An ONNX ModelProto with some weights' bytes replaced, for the behaviour check: every byte of the
 * model is copied as it is, except the TensorProtos (and Constant attributes) being replaced, and the
 * lengths of the messages that hold them. A replaced TensorProto keeps its fields (name, dims,
 * data_type, doc_string, …) but not its data (the typed fields, raw_data, external_data,
 * data_location), and gets the new bytes as raw_data; a sparse initializer becomes a dense one;
 * a Constant's value_float(s)/value_int(s) get the new values in the same attribute.
 *
 * The walk descends only into the length-delimited fields that contain a replaced tensor's offset, so
 * it needs no schema: the offsets come from the reader's parse of the same bytes (model.ts).
 */

/** What replaces the weight whose field starts at `at` (its TensorRecord's offset). */
export interface Replacement {
  readonly record: TensorRecord;
  /** The tensor's bytes as ONNX's raw_data holds them (4-bit types packed two to a byte). */
  readonly bytes: Uint8Array;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** TensorProto fields that hold or locate its data: float_data, int32_data, string_data, int64_data, raw_data, double_data, uint64_data, external_data, data_location. */
const TENSOR_DATA_FIELDS = new Set([4, 5, 6, 7, 9, 10, 11, 13, 14]);
/** AttributeProto fields of a Constant's inline values: f, i, floats, ints. */
const ATTRIBUTE_VALUE_FIELDS = new Set([2, 3, 7, 8]);
/** GraphProto.initializer: what a sparse initializer becomes. */
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;

interface Field {
  readonly no: number;
  readonly wire: number;
  /** Offset of its key. */
  readonly at: number;
  /** Offset of its value (of a length-delimited field, its payload). */
  readonly start: number;
  readonly end: number;
}

/** The model's bytes with each replacement made. `bytes` is the whole ModelProto the records were parsed from. */
export function rebuildOnnxModel(bytes: Uint8Array, replacements: readonly Replacement[]): Uint8Array {
  const byOffset = new Map(replacements.map((r) => [r.record.at, r]));
  const offsets = [...byOffset.keys()].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  message(bytes, 0, bytes.byteLength, byOffset, offsets, parts);
  return concat(parts);
}

/** Appends the fields of the message [start, end) to `out`, rewritten where a replacement lies. */
function message(bytes: Uint8Array, start: number, end: number, byOffset: Map<number, Replacement>, offsets: readonly number[], out: Uint8Array[]): void {
  for (const f of fields(bytes, start, end)) {
    const r = byOffset.get(f.at);
    if (r) out.push(...replaced(bytes, f, r));
    else if (f.wire === WIRE_LEN && containsOffset(offsets, f.start, f.end)) {
      const inner: Uint8Array[] = [];
      message(bytes, f.start, f.end, byOffset, offsets, inner);
      out.push(bytes.subarray(f.at, keyEnd(bytes, f.at)), varint(total(inner)));
      // One by one: a graph of a million nodes is a million parts, too many for one call's arguments.
      for (const p of inner) out.push(p);
    } else out.push(bytes.subarray(f.at, f.end));
  }
}

/** The field at a replacement's offset, rewritten. */
function replaced(bytes: Uint8Array, f: Field, r: Replacement): Uint8Array[] {
  if (f.wire !== WIRE_LEN) throw malformed(`the field at the offset of tensor ${JSON.stringify(r.record.name)} is not a message`, f.at);
  const key = bytes.subarray(f.at, keyEnd(bytes, f.at));
  const data = r.record.data;
  if (data?.kind === 'sparse') {
    if (f.no !== GRAPH_SPARSE_INITIALIZER) throw malformed(`sparse tensor ${JSON.stringify(r.record.name)} is not a sparse initializer`, f.at);
    const t = denseTensor(r);
    return [varint((GRAPH_INITIALIZER << 3) | WIRE_LEN), varint(t.byteLength), t];
  }
  if (data?.kind === 'inline') {
    const kept = fields(bytes, f.start, f.end).filter((g) => !ATTRIBUTE_VALUE_FIELDS.has(g.no)).map((g) => bytes.subarray(g.at, g.end));
    const value = inlineValue(r);
    return [key, varint(total(kept) + value.byteLength), ...kept, value];
  }
  const kept = fields(bytes, f.start, f.end).filter((g) => !TENSOR_DATA_FIELDS.has(g.no)).map((g) => bytes.subarray(g.at, g.end));
  const raw = [varint((TENSOR_RAW_DATA << 3) | WIRE_LEN), varint(r.bytes.byteLength), r.bytes];
  return [key, varint(total(kept) + total(raw)), ...kept, ...raw];
}

/** A dense TensorProto of a densified sparse tensor: dims, data_type, name, raw_data. */
function denseTensor(r: Replacement): Uint8Array {
  const t = r.record;
  const parts: Uint8Array[] = [];
  for (const d of t.dims) parts.push(varint((TENSOR_DIMS << 3) | WIRE_VARINT), varint(d));
  parts.push(varint((TENSOR_DATA_TYPE << 3) | WIRE_VARINT), varint(t.dataType));
  const name = new TextEncoder().encode(t.onnxName);
  parts.push(varint((TENSOR_NAME << 3) | WIRE_LEN), varint(name.byteLength), name);
  parts.push(varint((TENSOR_RAW_DATA << 3) | WIRE_LEN), varint(r.bytes.byteLength), r.bytes);
  return concat(parts);
}

/** A Constant's value_float (f, 2), value_floats (floats, 7), value_int (i, 3) or value_ints (ints, 8) field with the new values. */
function inlineValue(r: Replacement): Uint8Array {
  const t = r.record;
  const scalar = t.dims.length === 0;
  if (t.dataType === 1) return scalar ? concat([varint((2 << 3) | WIRE_FIXED32), r.bytes]) : concat([varint((7 << 3) | WIRE_LEN), varint(r.bytes.byteLength), r.bytes]);
  const v = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
  const values: Uint8Array[] = [];
  for (let o = 0; o < r.bytes.byteLength; o += 8) values.push(varint64(v.getUint32(o, true), v.getUint32(o + 4, true)));
  if (scalar) return concat([varint((3 << 3) | WIRE_VARINT), ...values]);
  return concat([varint((8 << 3) | WIRE_LEN), varint(total(values)), ...values]);
}

/** The fields of the message [start, end) (the reader has checked them once already; checked again, cheaply). */
function fields(bytes: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let p = start;
  while (p < end) {
    const at = p;
    const [key, n] = readVarint(bytes, p, end);
    p += n;
    const wire = key % 8;
    const no = Math.floor(key / 8);
    let valueStart = p;
    if (wire === WIRE_VARINT) p += readVarint(bytes, p, end)[1];
    else if (wire === WIRE_FIXED64) p += 8;
    else if (wire === WIRE_FIXED32) p += 4;
    else if (wire === WIRE_LEN) {
      const [length, m] = readVarint(bytes, p, end);
      valueStart = p + m;
      p = valueStart + length;
    } else throw malformed(`wire type ${wire} where the model is rebuilt`, at);
    if (p > end) throw malformed('a field runs past the end of its message where the model is rebuilt', at);
    out.push({ no, wire, at, start: valueStart, end: p });
  }
  return out;
}

function readVarint(bytes: Uint8Array, at: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && at + i < end; i++) {
    const b = bytes[at + i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw malformed('a varint runs past the end of its message where the model is rebuilt', at);
}

function keyEnd(bytes: Uint8Array, at: number): number {
  return at + readVarint(bytes, at, bytes.byteLength)[1];
}

/** Whether an offset of `offsets` (sorted) lies inside (start, end). */
function containsOffset(offsets: readonly number[], start: number, end: number): boolean {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid]! < start) lo = mid + 1;
    else hi = mid;
  }
  return lo < offsets.length && offsets[lo]! < end;
}

/** A non-negative integer (up to 2^53) as a varint. */
function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** A 64-bit value given as its low and high 32 bits (two's complement for negatives: 10 bytes) as a varint. */
function varint64(lo: number, hi: number): Uint8Array {
  let v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

function total(parts: readonly Uint8Array[]): number {
  return parts.reduce((a, p) => a + p.byteLength, 0);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(total(parts));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
