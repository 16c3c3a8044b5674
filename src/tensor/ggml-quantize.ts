import type { Dtype } from '../dtype/dtypes.js';
import { f32BitsToBf16, f32BitsToF16 } from '../dtype/float-codecs.js';
import { TensorsafeError } from '../errors.js';
import { kScalesMins, type GgmlBlockFormat } from './ggml-blocks.js';
import { f16Values } from './ggml-f16.js';
import type { TensorEntry } from './tensor-set.js';

/**
 * float32 rows encoded as ggml's tensor types, written from the rounding ggml describes for its
 * reference ("_ref") quantizers, so that a file written here holds the bytes llama.cpp's reference
 * tools write for the same input: F16 (round to nearest even, NaN → the quiet NaN 0x7E00 with its
 * sign, as ggml_fp32_to_fp16), BF16 (round to nearest even, NaN quieted keeping its high bits, as
 * ggml_fp32_to_bf16), Q8_0, Q4_0 and Q4_K (quantize_row_q8_0_ref, quantize_row_q4_0_ref,
 * quantize_row_q4_K_ref). Every product, sum and quotient is rounded to float32 where ggml's C code
 * computes in float (Math.fround), so the bytes are ggml's bit for bit (checked against libggml's
 * own output: test/ggml-quantize.test.ts). Typed arrays only; no allocation per block or element.
 *
 * The block quantizers have no defined result for NaN or infinity (ggml's C code converts a NaN to
 * an integer there): such a value throws NonFiniteValue with its index, and the caller names the tensor.
 */

/** One ggml type written from float32: elements per block, bytes per block, and its encoder. */
export interface GgmlQuantizer {
  /** ggml's type name (`Q8_0`) and id (format-specs §1.5). */
  readonly typeName: string;
  readonly typeId: number;
  readonly elements: number;
  readonly bytes: number;
  /** Encodes `blocks` whole blocks of `src` (from element 0) into `out` (from byte 0). */
  encode(src: Float32Array, blocks: number, out: Uint8Array): void;
}

/**
 * A value a block quantizer cannot encode (`index`: the element within the `src` given). Internal control
 * flow: it never escapes encodedChunks, which throws an InvalidTensor TensorsafeError naming the tensor.
 */
export class NonFiniteValue extends Error {
  constructor(readonly index: number) {
    super(`element ${index} is NaN or infinite`);
  }
}

const fr = Math.fround;
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/**
 * ggml_fp32_to_fp16 of float32 bits: torch's rounding (dtype/float-codecs.ts: to nearest even, overflow
 * to ±inf, subnormals), except that every NaN becomes sign | 0x7E00, its payload dropped.
 */
function f32BitsToGgmlF16(w: number): number {
  return (w & 0x7fffffff) > 0x7f800000 ? ((w >>> 16) & 0x8000) | 0x7e00 : f32BitsToF16(w);
}

/** Writes float32 `x` as ggml's F16 at `out[at]` (little-endian); returns the code written. */
function putF16(out: Uint8Array, at: number, x: number): number {
  scratch[0] = x;
  const code = f32BitsToGgmlF16(scratchBits[0]!);
  out[at] = code & 0xff;
  out[at + 1] = code >>> 8;
  return code;
}

function checkFinite(src: Float32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const v = src[i]!;
    if (v - v !== 0) throw new NonFiniteValue(i);
  }
}

/** C's roundf: half away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** ggml's nearest_int: float32 round to nearest even by adding 1.5·2^23 (|x| < 2^22). */
function nearestInt(x: number): number {
  return fr(x + 12582912) - 12582912;
}

const F32_VIEW = (out: Uint8Array, n: number): Float32Array => new Float32Array(out.buffer, out.byteOffset, n);

const f32: GgmlQuantizer = {
  typeName: 'F32', typeId: 0, elements: 1, bytes: 4,
  encode: (src, n, out) => {
    if (out.byteOffset % 4 === 0) F32_VIEW(out, n).set(src.subarray(0, n));
    else out.set(new Uint8Array(src.buffer, src.byteOffset, n * 4));
  },
};

function halfEncoder(typeName: 'F16' | 'BF16', typeId: number, code: (bits: number) => number): GgmlQuantizer {
  return {
    typeName, typeId, elements: 1, bytes: 2,
    encode: (src, n, out) => {
      const bits = new Uint32Array(src.buffer, src.byteOffset, n);
      for (let i = 0, o = 0; i < n; i++, o += 2) {
        const c = code(bits[i]!);
        out[o] = c & 0xff;
        out[o + 1] = c >>> 8;
      }
    },
  };
}

/** Q8_0: d = amax/127 (F16), q = roundf(x/d) as int8, 32 per block (34 bytes). */
const q8_0: GgmlQuantizer = {
  typeName: 'Q8_0', typeId: 8, elements: 32, bytes: 34,
  encode: (src, blocks, out) => {
    checkFinite(src, 0, blocks * 32);
    for (let b = 0, x = 0, p = 0; b < blocks; b++, x += 32, p += 34) {
      let amax = 0;
      for (let j = 0; j < 32; j++) {
        const v = Math.abs(src[x + j]!);
        if (v > amax) amax = v;
      }
      const d = fr(amax / 127);
      const id = d !== 0 ? fr(1 / d) : 0;
      putF16(out, p, d);
      for (let j = 0; j < 32; j++) out[p + 2 + j] = roundHalfAway(fr(src[x + j]! * id)) & 0xff;
    }
  },
};

/** Q4_0: d = (the value of largest magnitude)/-8 (F16), q = min(15, trunc(x/d + 8.5)), 32 per block (18 bytes). */
const q4_0: GgmlQuantizer = {
  typeName: 'Q4_0', typeId: 2, elements: 32, bytes: 18,
  encode: (src, blocks, out) => {
    checkFinite(src, 0, blocks * 32);
    for (let b = 0, x = 0, p = 0; b < blocks; b++, x += 32, p += 18) {
      let amax = 0;
      let max = 0;
      for (let j = 0; j < 32; j++) {
        const v = src[x + j]!;
        if (amax < Math.abs(v)) {
          amax = Math.abs(v);
          max = v;
        }
      }
      const d = fr(max / -8);
      const id = d !== 0 ? fr(1 / d) : 0;
      putF16(out, p, d);
      for (let j = 0; j < 16; j++) {
        const q0 = Math.min(15, Math.trunc(fr(fr(src[x + j]! * id) + 8.5)));
        const q1 = Math.min(15, Math.trunc(fr(fr(src[x + 16 + j]! * id) + 8.5)));
        out[p + 2 + j] = q0 | (q1 << 4);
      }
    }
  },
};

// Q4_K's working arrays, reused for every block.
const kL = new Uint8Array(256);
const kLaux = new Uint8Array(32);
const kWeights = new Float32Array(32);
const kScales = new Float32Array(8);
const kMins = new Float32Array(8);
const kSc = new Uint8Array(12);
const kDecoded = new Float32Array(16);

/**
 * ggml's make_qkx2_quants for one 32-element sub-block of `x` at `at` (nmax 15, rmin -1, rdelta 0.1,
 * 20 steps, squared error): the scale returned, the negated minimum in kMins[j], the levels in kL.
 */
function fitSubBlock(x: Float32Array, at: number, j: number): number {
  const n = 32;
  const nmax = 15;
  const L = 32 * j;
  let min = x[at]!;
  let max = x[at]!;
  let sumW = kWeights[0]!;
  let sumX = fr(sumW * x[at]!);
  for (let i = 1; i < n; i++) {
    const v = x[at + i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = kWeights[i]!;
    sumW = fr(sumW + w);
    sumX = fr(sumX + fr(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    kL.fill(0, L, L + n);
    kMins[j] = -min;
    return 0;
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(x[at + i]! - min)))));
    kL[L + i] = l;
    let diff = fr(fr(fr(scale * l) + min) - x[at + i]!);
    diff = fr(diff * diff);
    bestError = fr(bestError + fr(kWeights[i]! * diff));
  }
  for (let is = 0; is <= 20; is++) {
    iscale = fr(fr(fr(-1 + fr(fr(0.1) * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i]!;
      const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(v - min)))));
      kLaux[i] = l;
      const wl = fr(kWeights[i]! * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * v));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fr(fr(fr(thisScale * kLaux[i]!) + thisMin) - x[at + i]!);
        diff = fr(diff * diff);
        curError = fr(curError + fr(kWeights[i]! * diff));
      }
      if (curError < bestError) {
        kL.set(kLaux, L);
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  kMins[j] = -min;
  return scale;
}

/**
 * Q4_K: 256 elements in 8 sub-blocks of 32, each with a 6-bit scale and min (packed in 12 bytes),
 * scaled by an F16 d and dmin; 4-bit levels (144 bytes). Each sub-block's scale and min are fitted
 * as make_qkx2_quants does, weighted by rms + |x|.
 */
const q4_K: GgmlQuantizer = {
  typeName: 'Q4_K', typeId: 12, elements: 256, bytes: 144,
  encode: (src, blocks, out) => {
    checkFinite(src, 0, blocks * 256);
    for (let b = 0, x = 0, p = 0; b < blocks; b++, x += 256, p += 144) {
      let maxScale = 0;
      let maxMin = 0;
      for (let j = 0; j < 8; j++) {
        const at = x + 32 * j;
        let sumX2 = 0;
        for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(src[at + l]! * src[at + l]!));
        const avX = fr(Math.sqrt(fr(sumX2 / 32)));
        for (let l = 0; l < 32; l++) kWeights[l] = avX + Math.abs(src[at + l]!);
        const scale = fitSubBlock(src, at, j);
        kScales[j] = scale;
        if (scale > maxScale) maxScale = scale;
        if (kMins[j]! > maxMin) maxMin = kMins[j]!;
      }
      const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
      const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
      kSc.fill(0);
      for (let j = 0; j < 8; j++) {
        const ls = Math.min(63, nearestInt(fr(invScale * kScales[j]!)) & 0xff);
        const lm = Math.min(63, nearestInt(fr(invMin * kMins[j]!)) & 0xff);
        if (j < 4) {
          kSc[j] = ls;
          kSc[j + 4] = lm;
        } else {
          kSc[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
          kSc[j - 4]! |= (ls >> 4) << 6;
          kSc[j]! |= (lm >> 4) << 6;
        }
      }
      const dCode = putF16(out, p, fr(maxScale / 63));
      const mCode = putF16(out, p + 2, fr(maxMin / 63));
      out.set(kSc, p + 4);
      // The levels are refitted to the scales and mins as the decoder will read them back.
      kScalesMins(kSc, 0, f16Values()[dCode]!, f16Values()[mCode]!, kDecoded);
      for (let j = 0; j < 8; j++) {
        const d = kDecoded[j]!;
        if (d === 0) continue;
        const dm = kDecoded[j + 8]!;
        for (let i = 0; i < 32; i++) {
          const l = nearestInt(fr(fr(src[x + 32 * j + i]! + dm) / d));
          kL[32 * j + i] = Math.max(0, Math.min(15, l));
        }
      }
      for (let j = 0, q = p + 16; j < 256; j += 64, q += 32) {
        for (let l = 0; l < 32; l++) out[q + l] = kL[j + l]! | (kL[j + l + 32]! << 4);
      }
    }
  },
};

/** The types `--quantize` writes, by lower-case name. */
export const GGML_QUANTIZERS: ReadonlyMap<string, GgmlQuantizer> = new Map([
  ['f32', f32],
  ['f16', halfEncoder('F16', 1, f32BitsToGgmlF16)],
  // ggml_fp32_to_bf16 rounds as torch does: NaN quieted, keeping its high bits; else to nearest even.
  ['bf16', halfEncoder('BF16', 30, f32BitsToBf16)],
  ['q8_0', q8_0],
  ['q4_0', q4_0],
  ['q4_k', q4_K],
]);


/** The dtypes the encoders take: widened to float32 first (exactly), then encoded. */
export const ENCODABLE_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(['F32', 'F16', 'BF16']);

/**
 * A tensor's values (F32, F16 or BF16) encoded as `q`, streamed: whole blocks are gathered from the
 * source's chunks into one reused float32 buffer of about `chunkBytes`, encoded into one reused
 * output buffer and handed out. With `decodeBack`, the encoded blocks are decoded again and their
 * float32 bytes handed out instead: what a reader of the written file gets (the write's check).
 * The tensor's element count must be a whole number of blocks.
 */
export async function* encodedChunks(entry: TensorEntry, q: GgmlQuantizer, chunkBytes: number, decodeBack?: GgmlBlockFormat): AsyncGenerator<Uint8Array> {
  const unit = entry.dtype === 'F32' ? 4 : 2;
  const perStep = Math.max(q.elements, Math.floor(chunkBytes / 4 / q.elements) * q.elements);
  const values = new Float32Array(perStep);
  const valueBytes = new Uint8Array(values.buffer);
  const valueBits = new Uint32Array(values.buffer);
  const staging = unit === 4 ? valueBytes : new Uint8Array(perStep * 2);
  const staged16 = unit === 4 ? undefined : new Uint16Array(staging.buffer);
  const out = new Uint8Array((perStep / q.elements) * q.bytes);
  const back = decodeBack ? new Float32Array(perStep) : undefined;
  const table = entry.dtype === 'F16' ? f16Values() : undefined;
  let filled = 0;
  let done = 0;
  const encode = (n: number): Uint8Array => {
    if (staged16) {
      if (table) for (let i = 0; i < n; i++) values[i] = table[staged16[i]!]!;
      else for (let i = 0; i < n; i++) valueBits[i] = staged16[i]! << 16;
    }
    const blocks = n / q.elements;
    try {
      q.encode(values, blocks, out);
    } catch (e) {
      if (!(e instanceof NonFiniteValue)) throw e;
      throw new TensorsafeError(
        'InvalidTensor',
        `tensor \`${entry.name}\`: element ${done + e.index} is NaN or infinite, which ggml's ${q.typeName} quantizer has no defined result for; write it unquantized (without --quantize, or --quantize f16)`,
        { location: entry.name },
      );
    }
    done += n;
    if (!back) return out.subarray(0, blocks * q.bytes);
    decodeBack!.decode(out, blocks, back);
    return new Uint8Array(back.buffer, 0, n * 4);
  };
  for await (const chunk of entry.chunks(perStep * unit)) {
    for (let at = 0; at < chunk.byteLength; ) {
      const n = Math.min(chunk.byteLength - at, staging.byteLength - filled);
      staging.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === staging.byteLength) {
        yield encode(perStep);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield encode(filled / unit);
}
