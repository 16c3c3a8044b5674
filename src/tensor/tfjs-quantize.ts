import { f32BitsToF16 } from '../dtype/float-codecs.js';
import type { TfjsQuantization } from './tfjs-dequantize.js';

/**
 * tfjs-converter's weight quantization (tensorflowjs/quantization.py `quantize_weights`, as
 * write_weights.py applies it to float32 weights only), computed as it computes it under NumPy 1.x:
 *
 * uint8 / uint16 (affine, per tensor): min and max of the tensor (float32, widened to double). When
 * they are equal every code is 0, scale 1 and min that value. Otherwise scale = (max - min) / qmax in
 * double (qmax 255 or 65535); when min <= 0 <= max the range is nudged so that 0 is a code:
 * zp = round_half_even((0 - min) / scale), min' = -zp * scale, max' = qmax * scale + min' (double),
 * else min' = min, max' = max. The codes: round_half_even((clip(x, min', max') - min') / scale),
 * where NumPy 1.x's value-based casting makes every step float32 arithmetic (min', max' and scale
 * rounded to float32 first; each operation rounded to float32). The manifest gets min' and scale as
 * doubles (`{"dtype", "min", "scale", "original_dtype": "float32"}`).
 *
 * float16: `astype(np.float16)`, round to nearest even, overflow to infinity, and NumPy's NaN rule
 * (the top 10 payload bits kept, a payload that would vanish becomes 1; not quieted).
 *
 * A tensor holding NaN or infinity has no affine range (NumPy would write NaN into the JSON): it is
 * refused, as is a range so narrow that its float32 scale is 0 (NumPy would divide by zero).
 * scripts/make-tfjs-quantize-expected.py runs tfjs-converter's own quantization.py on committed inputs;
 * test/tfjs-quantize.test.ts compares these codes and parameters with its output, bit for bit.
 */

export type TfjsQuantizeType = 'uint8' | 'uint16' | 'float16';
export const TFJS_QUANTIZE_TYPES: readonly TfjsQuantizeType[] = ['uint8', 'uint16', 'float16'];

/** The affine parameters of a tensor, and the float32 constants its codes are computed with. */
export interface AffineQuantization {
  readonly dtype: 'uint8' | 'uint16';
  /** Written to the manifest (doubles, as tfjs-converter writes them). */
  readonly scale: number;
  readonly min: number;
  /** Every code is 0 (a constant tensor). */
  readonly constant: boolean;
  /** float32 roundings of min', max' and scale. */
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
}

/**
 * Why a tensor's values have no affine quantization. Internal control flow: the TF.js writer
 * (convert/tfjs-output.ts) turns it into InvalidTensor naming the tensor; none escapes.
 */
export class NoAffineRange extends Error {}

/** Min and max of float32 values, or a NoAffineRange for a NaN or an infinity (its index). */
export function valueRange(values: Float32Array, into: { min: number; max: number; seen: number }): void {
  let { min, max } = into;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    // NaN fails both tests, ±Infinity passes one: one check per element outside the common path.
    if (!(v - v === 0)) throw new NoAffineRange(`element ${into.seen + i} is ${v}, which has no place in an affine range`);
  }
  into.min = min;
  into.max = max;
  into.seen += values.length;
}

/** The parameters of an affine quantization of values spanning [min, max] (finite, min <= max). */
export function affineQuantization(dtype: 'uint8' | 'uint16', min: number, max: number): AffineQuantization {
  if (min === max) return { dtype, scale: 1, min, constant: true, lo: 0, hi: 0, step: 1 };
  const qmax = dtype === 'uint8' ? 255 : 65535;
  const scale = (max - min) / qmax;
  let lo = min;
  let hi = max;
  if (min <= 0 && 0 <= max) {
    const zp = roundHalfEven((0 - min) / scale);
    lo = -zp * scale;
    hi = qmax * scale + lo;
  }
  const step = Math.fround(scale);
  if (step === 0 || !Number.isFinite(step) || !Number.isFinite(Math.fround(hi)) || !Number.isFinite(Math.fround(lo))) {
    throw new NoAffineRange(`its range [${min}, ${max}] gives a scale of ${scale}, which float32 arithmetic cannot quantize with`);
  }
  return { dtype, scale, min: lo, constant: false, lo: Math.fround(lo), hi: Math.fround(hi), step };
}

/** The codes of `values` (little-endian bytes: 1 or 2 per element). */
export function quantizeAffine(q: AffineQuantization, values: Float32Array): Uint8Array {
  const n = values.length;
  const out = q.dtype === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
  if (q.constant) return new Uint8Array(out.buffer);
  const { lo, hi, step } = q;
  const fround = Math.fround;
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    // float32 clip, then float32 subtraction and division (each rounded once: exact double results
    // rounded to float32 equal the float32 operations), then rint.
    const t = fround(fround((x < lo ? lo : x > hi ? hi : x) - lo) / step);
    let r = Math.round(t);
    if (r - t === 0.5 && (r & 1) === 1) r--;
    out[i] = r;
  }
  // Uint16Array stores little-endian on every platform Node runs on.
  return new Uint8Array(out.buffer);
}

/** float16 codes (little-endian bytes) of float32 values, as NumPy's `astype(np.float16)` rounds them. */
export function quantizeFloat16(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = numpyHalfBits(bits[i]!);
  return new Uint8Array(out.buffer);
}

/**
 * NumPy's float32 → float16 (npy_floatbits_to_halfbits): round to nearest even as f32BitsToF16, but
 * NaN keeps the top 10 payload bits unquieted (a payload that would vanish becomes 1).
 */
function numpyHalfBits(u: number): number {
  const a = u & 0x7fffffff;
  if (a <= 0x7f800000) return f32BitsToF16(u);
  const h = 0x7c00 + ((a & 0x7fffff) >>> 13);
  return ((u >>> 16) & 0x8000) | (h === 0x7c00 ? 0x7c01 : h);
}

/** NumPy's np.round for one value: to nearest, ties to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The manifest's quantization of a weight quantized with these parameters (the form the reader parses). */
export function manifestQuantization(q: AffineQuantization | 'float16'): TfjsQuantization {
  return q === 'float16' ? { dtype: 'float16' } : { dtype: q.dtype, scale: q.scale, min: q.min };
}
