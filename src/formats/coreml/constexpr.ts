import { f16ToF32, f32ToF16 } from '../../dtype/float-codecs.js';
import { unpackBits } from './bits.js';
import { MIL_DTYPES, milTypeName } from './dtype.js';

/**
 * ML programs' compressed weights: the compile-time operations that make a constant from constants,
 * computed here as coremltools' numpy reference computes them (coremltools/converters/mil/mil/ops/defs
 * iOS16/constexpr_ops.py and iOS18/compression.py `decompress`, coremltools/optimize/_utils.py), bit for
 * bit: every float operation rounded as numpy rounds it (float32 arithmetic to float32, float16
 * arithmetic through float32 to float16).
 *
 * Values are held as doubles (every value of the dtypes these operations take is exact in one), with
 * their MIL dtype.
 */

/** A constant in memory. */
export interface Dense {
  /** MIL DataType. */
  readonly code: number;
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

/** A compile-time operation that cannot be decoded: internal control flow, never escapes the reader (it becomes InvalidCoreml). */
export class ConstexprProblem extends Error {}

const FP16 = 10;
const FP32 = 11;

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Rounds a double to the float dtype `code` as numpy stores it (float32 first, then float16). */
function rounder(code: number): (x: number) => number {
  if (code === FP16) return (x) => f16ToF32(f32ToF16(x));
  if (code === FP32) return Math.fround;
  throw new ConstexprProblem(`the output is ${milTypeName(code)}, not fp16 or fp32`);
}

/** For each element of `shape` (row-major), the flat index of `param` (same rank) numpy broadcasting and coremltools' `repeat_data_as` give it. */
function paramIndex(shape: readonly number[], param: readonly number[], what: string): (i: number) => number {
  if (param.length !== shape.length) throw new ConstexprProblem(`${what} has rank ${param.length}, the data ${shape.length}`);
  const blocks = shape.map((d, a) => {
    const p = param[a]!;
    if (p === d) return 1;
    if (p === 1) return 0;
    if (p === 0 || d % p !== 0) throw new ConstexprProblem(`${what}'s dimension ${a} (${p}) does not divide the data's (${d})`);
    return d / p;
  });
  const strides: number[] = [];
  let s = 1;
  for (let a = param.length - 1; a >= 0; a--) {
    strides[a] = s;
    s *= param[a]!;
  }
  if (blocks.every((b) => b === 1)) return (i) => i;
  return (i) => {
    let rest = i;
    let at = 0;
    for (let a = shape.length - 1; a >= 0; a--) {
      const d = shape[a]!;
      const c = rest % d;
      rest = (rest - c) / d;
      const b = blocks[a]!;
      if (b !== 0) at += Math.floor(c / b) * strides[a]!;
    }
    return at;
  };
}

/** A parameter of rank 0 or 1 (on `axis`) promoted to the data's rank (`promote_rank_to_same_as_data`). */
function promoted(param: Dense, rank: number, axis: number): readonly number[] {
  if (param.shape.length === rank) return param.shape;
  if (param.shape.length === 0) return new Array<number>(rank).fill(1);
  if (param.shape.length !== 1) throw new ConstexprProblem(`a parameter of rank ${param.shape.length} for data of rank ${rank}`);
  return Array.from({ length: rank }, (_, a) => (a === axis ? param.shape[0]! : 1));
}

/** iOS16 constexpr_affine_dequantize: (float32(q) - float32(zero_point)) * scale in float32, cast to scale's dtype. */
export function affineDequantize(q: Dense, zeroPoint: Dense, scale: Dense, axis: number, out: number): Dense {
  const rank = q.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) throw new ConstexprProblem(`axis ${axis} is outside the data's rank ${rank}`);
  if (out !== scale.code) throw new ConstexprProblem(`the output is ${milTypeName(out)} but scale is ${milTypeName(scale.code)}`);
  const round = rounder(out);
  const zi = paramIndex(q.shape, promoted(zeroPoint, rank, ax), 'zero_point');
  const si = paramIndex(q.shape, promoted(scale, rank, ax), 'scale');
  const n = count(q.shape);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = round(Math.fround(Math.fround(q.values[i]! - zeroPoint.values[zi(i)]!) * scale.values[si(i)]!));
  return { code: out, shape: q.shape, values };
}

/** iOS18 constexpr_blockwise_shift_scale: data cast to scale's dtype, minus offset, times scale, each step in that dtype. */
export function blockwiseShiftScale(data: Dense, scale: Dense, offset: Dense | undefined, out: number): Dense {
  if (out !== scale.code) throw new ConstexprProblem(`the output is ${milTypeName(out)} but scale is ${milTypeName(scale.code)}`);
  const round = rounder(out);
  const si = paramIndex(data.shape, scale.shape, 'scale');
  const oi = offset === undefined ? undefined : paramIndex(data.shape, offset.shape, 'offset');
  // numpy: an fp16 array minus an int8/uint8 array stays fp16; an fp32 one stays fp32 (the offset is exact in either).
  const n = count(data.shape);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let d = round(data.values[i]!);
    if (offset !== undefined) d = round(d - round(offset.values[oi!(i)]!));
    values[i] = round(scale.values[si(i)]! * d);
  }
  return { code: out, shape: data.shape, values };
}

/** iOS16 constexpr_lut_to_dense: indices packed LSB first in uint8 bytes, log2(lut size) bits each, looked up in a 1-D lut. */
export function lutToDense16(indices: Dense, lut: Dense, shape: readonly number[]): Dense {
  if (lut.shape.length !== 1) throw new ConstexprProblem(`lut has rank ${lut.shape.length}, not 1`);
  const size = lut.shape[0]!;
  const bits = Math.log2(size);
  if (![1, 2, 3, 4, 6, 8].includes(bits)) throw new ConstexprProblem(`lut has ${size} entries, not 2, 4, 8, 16, 64 or 256`);
  const n = count(shape);
  const packed = Uint8Array.from(indices.values);
  if (packed.length !== Math.ceil((n * bits) / 8)) throw new ConstexprProblem(`indices has ${packed.length} bytes; ${n} ${bits}-bit indices take ${Math.ceil((n * bits) / 8)}`);
  const idx = unpackBits(packed, bits, n, 'lsb', false);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = lut.values[idx[i]!]!;
  return { code: lut.code, shape, values };
}

/**
 * iOS18 constexpr_lut_to_dense: per-block lookup tables (lut rank = indices rank + 2: blocks, palette,
 * vector). With vector palettization (vector size V > 1, `vector_axis` a), each index stands for V
 * consecutive values along axis a: out[…, c_a·V + v, …] = lut[block, index, v] (coremltools'
 * `lut_to_dense` swaps axis a last, looks up, and swaps back: the same placement).
 */
export function lutToDense18(indices: Dense, lut: Dense, vectorAxis?: number): Dense {
  const rank = indices.shape.length;
  if (lut.shape.length !== rank + 2) throw new ConstexprProblem(`lut has rank ${lut.shape.length}, not the indices' rank + 2 (${rank + 2})`);
  const palette = lut.shape[rank]!;
  const vector = lut.shape[rank + 1]!;
  let axis = rank - 1;
  if (vector !== 1) {
    if (vectorAxis === undefined) throw new ConstexprProblem(`lut has vectors of ${vector} values but no vector_axis`);
    axis = vectorAxis < 0 ? vectorAxis + rank : vectorAxis;
    if (!Number.isInteger(axis) || axis < 0 || axis >= rank) throw new ConstexprProblem(`vector_axis ${vectorAxis} is outside the indices' rank ${rank}`);
  }
  const block = paramIndex(indices.shape, lut.shape.slice(0, rank), 'lut');
  const outShape = indices.shape.map((d, a) => (a === axis ? d * vector : d));
  const n = count(indices.shape);
  const values = new Float64Array(n * vector);
  // Strides of the output: an index's coordinate on `axis` becomes V coordinates there.
  const strides: number[] = [];
  let st = 1;
  for (let a = rank - 1; a >= 0; a--) {
    strides[a] = st;
    st *= outShape[a]!;
  }
  for (let i = 0; i < n; i++) {
    const k = indices.values[i]!;
    if (k >= palette) throw new ConstexprProblem(`index ${k} at element ${i} is past the palette's ${palette} entries`);
    const from = (block(i) * palette + k) * vector;
    if (vector === 1) {
      values[i] = lut.values[from]!;
      continue;
    }
    let rest = i;
    let at = 0;
    for (let a = rank - 1; a >= 0; a--) {
      const d = indices.shape[a]!;
      const c = rest % d;
      rest = (rest - c) / d;
      at += (a === axis ? c * vector : c) * strides[a]!;
    }
    for (let v = 0; v < vector; v++) values[at + v * strides[axis]!] = lut.values[from + v]!;
  }
  return { code: lut.code, shape: outShape, values };
}

/** constexpr_sparse_to_dense: the mask's set bits, in order, take the nonzero values; the rest is 0. iOS16: mask bytes, LSB first, and a shape; iOS18: a uint1 mask of the output's shape. */
export function sparseToDense(nonzero: Dense, mask: Dense, shape: readonly number[] | undefined): Dense {
  const outShape = shape ?? mask.shape;
  const n = count(outShape);
  const bitsSet = shape === undefined ? mask.values : unpackBits(Uint8Array.from(mask.values), 1, mask.values.length * 8, 'lsb', false);
  if (shape !== undefined && mask.values.length !== Math.ceil(n / 8)) throw new ConstexprProblem(`mask has ${mask.values.length} bytes; ${n} elements take ${Math.ceil(n / 8)}`);
  const values = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < bitsSet.length; i++) {
    if (bitsSet[i] === 0) continue;
    if (i >= n) throw new ConstexprProblem(`mask bit ${i} is set, past the output's ${n} elements`);
    if (k >= nonzero.values.length) throw new ConstexprProblem(`mask sets more bits than nonzero_data's ${nonzero.values.length} values`);
    values[i] = nonzero.values[k++]!;
  }
  if (k !== nonzero.values.length) throw new ConstexprProblem(`mask sets ${k} bits, nonzero_data has ${nonzero.values.length} values`);
  return { code: nonzero.code, shape: outShape, values };
}

/** The values of `dense` where `mask` is set, in order (the nonzero data of a sparse output). */
function masked(dense: Dense, mask: Dense): Dense {
  if (dense.values.length !== mask.values.length) throw new ConstexprProblem(`the mask has ${mask.values.length} elements, the data ${dense.values.length}`);
  const out: number[] = [];
  for (let i = 0; i < mask.values.length; i++) if (mask.values[i] !== 0) out.push(dense.values[i]!);
  return { code: dense.code, shape: [out.length], values: Float64Array.from(out) };
}

/** iOS18 constexpr_lut_to_sparse: its two outputs, the mask and the looked-up nonzero values (palettization on sparse data). */
export function lutToSparse(indicesMask: Dense, indicesNonzero: Dense, lut: Dense, vectorAxis?: number): [Dense, Dense] {
  const indices = sparseToDense(indicesNonzero, indicesMask, undefined);
  const dense = lutToDense18(indices, lut, vectorAxis);
  const vector = lut.shape[lut.shape.length - 1]!;
  if (vector === 1) return [indicesMask, masked(dense, indicesMask)];
  // The mask repeated along the vector axis, each bit V times in place (numpy's repeat), as the output's.
  const rank = indicesMask.shape.length;
  const axis = vectorAxis! < 0 ? vectorAxis! + rank : vectorAxis!;
  const repeated = lutToDense18(indicesMask, { code: indicesMask.code, shape: [...new Array<number>(rank).fill(1), 2, vector], values: Float64Array.from([...new Array<number>(vector).fill(0), ...new Array<number>(vector).fill(1)]) }, axis);
  return [{ ...repeated, code: indicesMask.code }, masked(dense, repeated)];
}

/** iOS18 constexpr_sparse_blockwise_shift_scale: its two outputs, the mask and the dequantized nonzero values. */
export function sparseBlockwiseShiftScale(dataMask: Dense, nonzero: Dense, scale: Dense, offset: Dense | undefined, out: number): [Dense, Dense] {
  const data = sparseToDense(nonzero, dataMask, undefined);
  return [dataMask, masked(blockwiseShiftScale(data, scale, offset, out), dataMask)];
}

/** constexpr_cast: fp16 to fp32 (every fp16 value is exact in fp32). */
export function cast(source: Dense, out: number): Dense {
  if (source.code !== FP16 || out !== FP32) throw new ConstexprProblem(`a cast from ${milTypeName(source.code)} to ${milTypeName(out)}, not fp16 to fp32`);
  return { code: out, shape: source.shape, values: source.values };
}

/** A Dense as the bytes of its MIL dtype (little-endian), sub-byte dtypes unpacked to a byte each. */
export function denseBytes(d: Dense): Uint8Array {
  const info = MIL_DTYPES.get(d.code);
  if (info === undefined) throw new ConstexprProblem(`no bytes for ${milTypeName(d.code)}`);
  const n = d.values.length;
  switch (info.dtype) {
    case 'F32':
      return new Uint8Array(Float32Array.from(d.values).buffer);
    case 'F16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToF16(d.values[i]!);
      return new Uint8Array(out.buffer);
    }
    case 'I8':
      return new Uint8Array(Int8Array.from(d.values).buffer);
    case 'U8':
    case 'BOOL':
      return Uint8Array.from(d.values);
    case 'I16':
      return new Uint8Array(Int16Array.from(d.values).buffer);
    case 'U16':
      return new Uint8Array(Uint16Array.from(d.values).buffer);
    case 'I32':
      return new Uint8Array(Int32Array.from(d.values).buffer);
    case 'U32':
      return new Uint8Array(Uint32Array.from(d.values).buffer);
    default:
      throw new ConstexprProblem(`no bytes for ${milTypeName(d.code)}`);
  }
}
