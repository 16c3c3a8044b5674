/**
 * Float codecs: the raw bit patterns safetensors stores ⇄ Float32Array, for every float dtype.
 *
 * Browser-safe: no Node built-ins, no dependencies. Like the rest of tensorsafe it assumes a
 * little-endian platform (typed-array views of file bytes are read as little-endian).
 *
 * Decoding is table driven. Every table maps a code to the *bits* of its float32 value (a
 * Uint32Array written through a Uint32Array view of the output), so decoding is one load and
 * one store per element and NaN payloads are never canonicalised by a trip through a JS number.
 * Tables are built on first use, not at module load: 256 entries for each 8-bit format, 64 for
 * each F6, 16 for F4 and 65536 (256 KiB) for F16. BF16 needs no table (`bits << 16`).
 *
 * Formats (S = sign, E = exponent field, M = mantissa field):
 *
 * | dtype        | E | M | bias | inf        | NaN                   | max finite |
 * |--------------|---|---|------|------------|-----------------------|------------|
 * | F16          | 5 | 10| 15   | S.11111.0  | S.11111.≠0            | 65504      |
 * | BF16         | 8 | 7 | 127  | S.FF.0     | S.FF.≠0               | ≈3.39e38   |
 * | F8_E5M2      | 5 | 2 | 15   | S.11111.00 | S.11111.≠0            | 57344      |
 * | F8_E4M3 (fn) | 4 | 3 | 7    | none       | S.1111.111            | 448        |
 * | F8_E4M3FNUZ  | 4 | 3 | 8    | none       | 0x80 only, no −0      | 240        |
 * | F8_E5M2FNUZ  | 5 | 2 | 16   | none       | 0x80 only, no −0      | 57344      |
 * | F8_E8M0      | 8 | 0 | 127  | none       | 0xFF; unsigned, no 0  | 2^127      |
 * | F6_E2M3      | 2 | 3 | 1    | none       | none                  | 7.5        |
 * | F6_E3M2      | 3 | 2 | 3    | none       | none                  | 28         |
 * | F4 (E2M1)    | 2 | 1 | 1    | none       | none                  | 6          |
 *
 * Encoding (fromFloat32) rounds to nearest, ties to even, in every format. Out-of-range values:
 * - F16, BF16, F8_E5M2 (which have infinities): overflow gives ±inf, as IEEE 754 requires and as
 *   torch, numpy and ml_dtypes do.
 * - F8_E4M3, F8_E4M3FNUZ, F8_E5M2FNUZ, F6_E2M3, F6_E3M2, F4: overflow *and ±inf* saturate to
 *   ±max finite. This is the OCP "satfinite" conversion (OCP 8-bit FP spec; PTX
 *   `cvt.rn.satfinite.e4m3x2.f32`), ONNX Cast's default (saturate=1), and what MX quantisers do
 *   (torchao clamps to the max before casting). Note that it is *not* what a plain torch or
 *   ml_dtypes cast does for the F8 fn/fnuz types: c10's fp8e4m3fn_from_fp32_value maps
 *   |x| ≥ 480 and ±inf to NaN (0x7F), and ml_dtypes' default (non-saturating) cast does the same.
 *   We saturate because a NaN produced from a finite value silently poisons a whole MX block;
 *   for F6/F4 every library saturates (ml_dtypes, torchao, ONNX), since they have no NaN.
 * - F8_E8M0 (a scale: unsigned, no zero) saturates into [2^-127, 2^127]: zero, negative values
 *   and −inf give 0x00 (2^-127), large values and +inf give 0xFE (2^127). This is ml_dtypes'
 *   saturating cast. It has no mantissa, so "ties to even" is ill-defined; like ml_dtypes (whose
 *   tie-break looks at the implicit leading 1) a value exactly halfway between 2^k and 2^(k+1),
 *   i.e. 1.5·2^k, rounds up to 2^(k+1).
 * - NaN encodes as NaN where the format has one (sign and, for F16/BF16, the high payload bits
 *   kept, quiet bit set; F8: S.11111.10 for E5M2, S.1111.111 for E4M3, 0x80 for fnuz, 0xFF for
 *   E8M0). F6 and F4 have no NaN: fromFloat32 throws a SafetensorError 'InvalidDtype' naming the
 *   index. We throw rather than pick a value because the libraries disagree (ml_dtypes gives ∓0,
 *   ONNX gives +6 for F4) and any silent choice would lose the fact that the data was corrupt.
 * - Underflow keeps the sign (−0) except for the fnuz types, which have no −0 and give +0.
 *
 * Sub-byte packing (the safetensors repository does not specify it). Both F4 and F6 use the
 * same rule: elements form a little-endian bit stream, element i occupying bits
 * [i·w, (i+1)·w) counted from the least significant bit of byte 0; trailing bits are zero.
 * - F4 (w = 4): element 0 is the LOW nibble. This is PyTorch's `torch.float4_e2m1fn_x2`
 *   (torch/headeronly/util/Float4_e2m1fn_x2.h: "val1 : val0 = bits 7654 : 3210"; the
 *   test_matmul_cuda.py `pack_uint4` helper is `data[1::2] << 4 | data[::2]`), ONNX FLOAT4E2M1
 *   ("the first element in the least significant bits"), Triton's `dot_scaled`, and torchao
 *   after pytorch/ao#2939 / #3123 (torchao used to put element 0 in the high nibble; that issue
 *   changed it to match PyTorch core and the OCP MX spec).
 * - F6 (w = 6): four elements in three bytes, b0 = e0 | e1<<6, b1 = e1>>2 | e2<<4,
 *   b2 = e2>>4 | e3<<2; i.e. the 24-bit little-endian word b0|b1<<8|b2<<16 holds element k in
 *   bits 6k..6k+5. This is AMD's rocRoller `getFp6`/`setFp6` (the FP6x16 register layout of MI350
 *   MFMA scaled instructions) and the zarr `packbits` codec for float6_e2m3fn/float6_e3m2fn. It
 *   is the same rule as F4, which is why we chose it. There is no PyTorch F6 dtype and
 *   safetensors' Python binding cannot write F6; torchao's (since removed) `pack_uint6` used a
 *   kernel-specific 4+4+2 bit split that nothing else reads, and ml_dtypes stores one F6 per byte.
 */
import { SafetensorError } from '../errors.js';
import { DTYPE_INFO, type Dtype } from './dtypes.js';

/** The float dtypes these codecs handle. */
export type FloatDtype =
  | 'F4'
  | 'F6_E2M3'
  | 'F6_E3M2'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'F8_E8M0'
  | 'F8_E4M3FNUZ'
  | 'F8_E5M2FNUZ'
  | 'F16'
  | 'BF16'
  | 'F32'
  | 'C64'
  | 'F64';

/** The dtypes stored as a code of at most 16 bits (everything but F32, F64 and C64). */
export type MinifloatDtype = Exclude<FloatDtype, 'F32' | 'F64' | 'C64'>;

/** Special-value convention of a minifloat format. */
type Specials =
  /** IEEE: all-ones exponent is inf (mantissa 0) or NaN. */
  | 'ieee'
  /** "fn": no inf; only S.1…1.1…1 is NaN. */
  | 'fn'
  /** "fnuz": no inf, no −0; 0x80 (sign bit alone) is the only NaN. */
  | 'fnuz'
  /** OCP MX FP6/FP4: every code is finite. */
  | 'finite'
  /** E8M0: unsigned, exponent only, 0xFF is NaN. */
  | 'e8m0';

interface MiniFormat {
  readonly dtype: MinifloatDtype;
  /** Bits per code, sign included (8 for E8M0, which has no sign). */
  readonly bits: number;
  readonly mbits: number;
  readonly bias: number;
  readonly specials: Specials;
  /** Largest finite positive code. */
  readonly maxCode: number;
  /** Positive infinity code, or -1. */
  readonly infCode: number;
}

function fmt(dtype: MinifloatDtype, bits: number, mbits: number, bias: number, specials: Specials): MiniFormat {
  const signBit = 1 << (bits - 1);
  const ebits = bits - 1 - mbits;
  let maxCode: number;
  let infCode = -1;
  switch (specials) {
    case 'ieee':
      infCode = ((1 << ebits) - 1) << mbits;
      maxCode = infCode - 1;
      break;
    case 'fn':
      maxCode = signBit - 2;
      break;
    case 'fnuz':
    case 'finite':
      maxCode = signBit - 1;
      break;
    case 'e8m0':
      maxCode = 0xfe;
      break;
  }
  return { dtype, bits, mbits, bias, specials, maxCode, infCode };
}

const FORMATS: Readonly<Record<MinifloatDtype, MiniFormat>> = {
  F4: fmt('F4', 4, 1, 1, 'finite'),
  F6_E2M3: fmt('F6_E2M3', 6, 3, 1, 'finite'),
  F6_E3M2: fmt('F6_E3M2', 6, 2, 3, 'finite'),
  F8_E5M2: fmt('F8_E5M2', 8, 2, 15, 'ieee'),
  F8_E4M3: fmt('F8_E4M3', 8, 3, 7, 'fn'),
  F8_E8M0: fmt('F8_E8M0', 8, 0, 127, 'e8m0'),
  F8_E4M3FNUZ: fmt('F8_E4M3FNUZ', 8, 3, 8, 'fnuz'),
  F8_E5M2FNUZ: fmt('F8_E5M2FNUZ', 8, 2, 16, 'fnuz'),
  F16: fmt('F16', 16, 10, 15, 'ieee'),
  BF16: fmt('BF16', 16, 7, 127, 'ieee'),
};

const FLOAT_DTYPES: ReadonlySet<string> = new Set<FloatDtype>([
  'F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F16', 'BF16', 'F32', 'C64', 'F64',
]);

/** True for the dtypes toFloat32/fromFloat32 accept. */
export function isFloatDtype(dtype: unknown): dtype is FloatDtype {
  return typeof dtype === 'string' && FLOAT_DTYPES.has(dtype);
}

function checkFloatDtype(dtype: unknown, fn: string): asserts dtype is FloatDtype {
  if (isFloatDtype(dtype)) return;
  const known = typeof dtype === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_INFO, dtype);
  throw new SafetensorError(
    'InvalidDtype',
    known
      ? `${fn}: ${dtype} is not a float dtype (${DTYPE_INFO[dtype as Dtype].kind}); only F4, F6_*, F8_*, F16, BF16, F32, F64 and C64 convert to and from float32`
      : `${fn}: unknown dtype ${safeString(dtype)}`,
  );
}

function safeString(x: unknown): string {
  try {
    return typeof x === 'string' ? JSON.stringify(x) : String(x);
  } catch {
    return typeof x;
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar bit conversions
// ---------------------------------------------------------------------------------------------

const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

function f32Bits(v: number): number {
  SCRATCH_F32[0] = v;
  return SCRATCH_U32[0]!;
}

function f32FromBits(bits: number): number {
  SCRATCH_U32[0] = bits;
  return SCRATCH_F32[0]!;
}

/** Float32 bits of an F16 code (exact; NaNs are quieted, payload kept). */
function f16BitsToF32Bits(h: number): number {
  const s = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) {
    if (m === 0) return s >>> 0;
    // Subnormal m·2^-24: shift the leading 1 of m up to bit 10 and renormalise.
    const shift = Math.clz32(m) - 21;
    return (s | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)) >>> 0;
  }
  if (e === 31) return (m === 0 ? s | 0x7f800000 : s | 0x7fc00000 | (m << 13)) >>> 0;
  return (s | ((e + 112) << 23) | (m << 13)) >>> 0;
}

/** BF16 code of float32 bits: round to nearest even; NaN keeps sign and high payload, quieted. */
export function f32BitsToBf16(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/** E8M0 code of float32 bits; see the module comment for the saturation rules. */
function f32BitsToE8m0(u: number): number {
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return 0xff; // NaN
  if (u >>> 31 || a < 0x00400000) return 0x00; // ≤ 0 (incl. −0, −inf) or below 2^-127
  if (a < 0x00800000) return a >= 0x00600000 ? 0x01 : 0x00; // [2^-127, 2^-126): f32 subnormals
  if (a >= 0x7f000000) return 0xfe; // ≥ 2^127, incl. +inf
  // 2^e·1.f rounds up when f ≥ 0.5 (see the module comment on ties).
  return (a >>> 23) + ((a >>> 22) & 1);
}

/**
 * Code of float32 bits `u` in a signed minifloat format: round to nearest, ties to even;
 * overflow to inf or to max finite; -1 for a NaN the format cannot represent.
 */
function encodeBits(f: MiniFormat, u: number): number {
  if (f.specials === 'e8m0') return f32BitsToE8m0(u);
  if (f.dtype === 'BF16') return f32BitsToBf16(u);
  const signBit = 1 << (f.bits - 1);
  const sign = u >>> 31 ? signBit : 0;
  const a = u & 0x7fffffff;
  if (a >= 0x7f800000) {
    if (a > 0x7f800000) {
      switch (f.specials) {
        case 'ieee': // quiet NaN; F16 keeps the high payload bits (10 bits fit, 2 for E5M2 do not matter)
          return f.bits === 16 ? sign | 0x7e00 | ((a >>> 13) & 0x3ff) : sign | f.infCode | (1 << (f.mbits - 1));
        case 'fn':
          return sign | (signBit - 1);
        case 'fnuz':
          return signBit;
        default:
          return -1;
      }
    }
    return sign | (f.infCode >= 0 ? f.infCode : f.maxCode);
  }
  const e32 = a >>> 23;
  // The significand as an integer and the unbiased exponent of its leading (implicit) bit; a
  // float32 subnormal is sig·2^-149, which is below every format's normal range here.
  const sig = e32 === 0 ? a : (a & 0x7fffff) | 0x800000;
  const e = (e32 === 0 ? 1 : e32) - 127;
  const minExp = 1 - f.bias;
  const normal = e >= minExp;
  // Round sig·2^(e-23) to a multiple of the target quantum 2^((normal ? e : minExp) - mbits).
  const shift = (normal ? e : minExp) - f.mbits - (e - 23);
  let r = 0;
  if (shift < 25) {
    // shift ≥ 13 here (mbits ≤ 10); from 25 on, the value is below half a quantum
    r = sig >>> shift;
    const rem = sig & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
  }
  // Normal: r ∈ [2^M, 2^(M+1)] carries its leading 1 into the exponent field, so a rounding
  // carry (r = 2^(M+1)) bumps the exponent for free. Subnormal: r ∈ [0, 2^M] is the code itself.
  const code = normal ? ((e + f.bias - 1) << f.mbits) + r : r;
  if (code > f.maxCode) return sign | (f.infCode >= 0 ? f.infCode : f.maxCode);
  if (code === 0 && f.specials === 'fnuz') return 0;
  return sign | code;
}

/** Float32 bits of a minifloat code (the table builder; also the scalar path). */
function decodeBits(f: MiniFormat, code: number): number {
  if (f.dtype === 'F16') return f16BitsToF32Bits(code);
  if (f.dtype === 'BF16') return (code << 16) >>> 0;
  if (f.specials === 'e8m0') return code === 0xff ? 0x7fc00000 : f32Bits(Math.pow(2, code - 127));
  const signBit = 1 << (f.bits - 1);
  const negative = (code & signBit) !== 0;
  const mag = code & (signBit - 1);
  const e = mag >>> f.mbits;
  const m = mag & ((1 << f.mbits) - 1);
  const nan = negative ? 0xffc00000 : 0x7fc00000;
  switch (f.specials) {
    case 'ieee':
      if (e === (1 << (f.bits - 1 - f.mbits)) - 1) return m === 0 ? (negative ? 0xff800000 : 0x7f800000) : nan;
      break;
    case 'fn':
      if (mag === signBit - 1) return nan;
      break;
    case 'fnuz':
      if (code === signBit) return 0x7fc00000;
      break;
    default:
      break;
  }
  // Exact in float32 for every format here: at most 4 significant bits, exponent in [-10, 15].
  const v = e === 0 ? m * Math.pow(2, 1 - f.bias - f.mbits) : ((1 << f.mbits) + m) * Math.pow(2, e - f.bias - f.mbits);
  return f32Bits(negative ? -v : v);
}

function miniFormat(dtype: Dtype, fn: string): MiniFormat {
  const f = (FORMATS as Partial<Record<string, MiniFormat>>)[dtype];
  if (f === undefined) {
    throw new SafetensorError('InvalidDtype', `${fn}: ${safeString(dtype)} is not a minifloat dtype (F4, F6_*, F8_*, F16, BF16)`);
  }
  return f;
}

/** The float value of one F16 code (IEEE binary16 bits). */
export function f16ToF32(bits: number): number {
  return f32FromBits(f16BitsToF32Bits(bits & 0xffff));
}

/** The F16 code of a number (rounded to float32 first, then to nearest even; overflow is ±inf). */
export function f32ToF16(value: number): number {
  return encodeBits(FORMATS.F16, f32Bits(value));
}

/** The float value of one BF16 code. */
export function bf16ToF32(bits: number): number {
  return f32FromBits(((bits & 0xffff) << 16) >>> 0);
}

/** The BF16 code of a number (rounded to float32 first, then to nearest even; overflow is ±inf). */
export function f32ToBf16(value: number): number {
  return f32BitsToBf16(f32Bits(value));
}

/** The float value of one code of a minifloat dtype (F4, F6_*, F8_*, F16, BF16). */
export function decodeElement(dtype: MinifloatDtype, code: number): number {
  const f = miniFormat(dtype, 'decodeElement');
  return f32FromBits(decodeBits(f, code & ((1 << f.bits) - 1)));
}

/**
 * The code of a number in a minifloat dtype (F4, F6_*, F8_*, F16, BF16), with fromFloat32's
 * rounding and overflow rules. Throws a SafetensorError 'InvalidDtype' for NaN in F4/F6.
 */
export function encodeElement(dtype: MinifloatDtype, value: number): number {
  const f = miniFormat(dtype, 'encodeElement');
  const code = encodeBits(f, f32Bits(value));
  if (code < 0) throw noNaN(f.dtype, 0);
  return code;
}

function noNaN(dtype: MinifloatDtype, index: number): SafetensorError {
  return new SafetensorError(
    'InvalidDtype',
    `fromFloat32: ${dtype} has no NaN encoding, but values[${index}] is NaN; replace NaNs (e.g. with 0) before encoding`,
  );
}

// ---------------------------------------------------------------------------------------------
// Lazily built decode tables (code → float32 bits)
// ---------------------------------------------------------------------------------------------

const TABLES: Partial<Record<MinifloatDtype, Uint32Array>> = {};

function table(f: MiniFormat): Uint32Array {
  let t = TABLES[f.dtype];
  if (t === undefined) {
    const n = 1 << f.bits;
    t = new Uint32Array(n);
    for (let code = 0; code < n; code++) t[code] = decodeBits(f, code);
    TABLES[f.dtype] = t;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Sub-byte packing
// ---------------------------------------------------------------------------------------------

/**
 * The codes of the first `elements` packed 4- or 6-bit elements of `bytes` (one code per byte
 * of the result), in the little-endian bit-stream order described in the module comment.
 */
export function unpackSubByte(width: 4 | 6, bytes: Uint8Array, elements?: number): Uint8Array {
  const n = checkElements(elements, Math.floor((bytes.byteLength * 8) / width), `${width}-bit codes`);
  const out = new Uint8Array(n);
  if (width === 4) {
    const pairs = n >>> 1;
    for (let i = 0; i < pairs; i++) {
      const b = bytes[i]!;
      out[2 * i] = b & 15;
      out[2 * i + 1] = b >>> 4;
    }
    if (n & 1) out[n - 1] = bytes[pairs]! & 15;
    return out;
  }
  const groups = n >>> 2;
  for (let g = 0; g < groups; g++) {
    const j = 3 * g;
    const w = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16);
    const i = 4 * g;
    out[i] = w & 63;
    out[i + 1] = (w >>> 6) & 63;
    out[i + 2] = (w >>> 12) & 63;
    out[i + 3] = w >>> 18;
  }
  for (let i = 4 * groups; i < n; i++) out[i] = getBits6(bytes, i);
  return out;
}

/** Packs 4- or 6-bit codes (only their low `width` bits are used); trailing bits are zero. */
export function packSubByte(width: 4 | 6, codes: ArrayLike<number>): Uint8Array {
  const n = codes.length;
  const out = new Uint8Array(Math.ceil((n * width) / 8));
  if (width === 4) {
    for (let i = 0; i < n; i++) out[i >>> 1]! |= (codes[i]! & 15) << ((i & 1) << 2);
    return out;
  }
  const groups = n >>> 2;
  for (let g = 0; g < groups; g++) {
    const i = 4 * g;
    const w = (codes[i]! & 63) | ((codes[i + 1]! & 63) << 6) | ((codes[i + 2]! & 63) << 12) | ((codes[i + 3]! & 63) << 18);
    const j = 3 * g;
    out[j] = w;
    out[j + 1] = w >>> 8;
    out[j + 2] = w >>> 16;
  }
  for (let i = 4 * groups; i < n; i++) {
    const bit = 6 * i;
    const w = (codes[i]! & 63) << (bit & 7);
    out[bit >>> 3]! |= w;
    if ((bit & 7) > 2) out[(bit >>> 3) + 1]! |= w >>> 8;
  }
  return out;
}

function getBits6(bytes: Uint8Array, i: number): number {
  const bit = 6 * i;
  const j = bit >>> 3;
  const lo = bytes[j]!;
  const hi = (bit & 7) > 2 ? bytes[j + 1]! : 0;
  return ((lo | (hi << 8)) >>> (bit & 7)) & 63;
}

// ---------------------------------------------------------------------------------------------
// Array conversions
// ---------------------------------------------------------------------------------------------

function checkElements(elements: number | undefined, capacity: number, what: string): number {
  if (elements === undefined) return capacity;
  if (!Number.isSafeInteger(elements) || elements < 0) {
    throw new SafetensorError('InvalidTensorView', `elements must be a non-negative integer, got ${safeString(elements)}`);
  }
  if (elements > capacity) {
    throw new SafetensorError('InvalidTensorView', `${elements} ${what} do not fit in the data given (it holds ${capacity})`);
  }
  return elements;
}

/** A typed view of `bytes` for element size `size`: zero-copy when aligned, one copy otherwise. */
function aligned<T>(bytes: Uint8Array, size: number, make: (buffer: ArrayBufferLike, offset: number, length: number) => T): T {
  if (bytes.byteOffset % size === 0) return make(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / size));
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return make(copy.buffer, 0, Math.floor(bytes.byteLength / size));
}

/**
 * Decodes a tensor's data to float32.
 *
 * `data` is what the library exposes for `dtype` (Uint16Array of bits for F16/BF16, Uint8Array
 * of raw bytes for F8_*, F6_*, F4 and C64, Float32Array/Float64Array for F32/F64) or, for any
 * dtype, a Uint8Array of the raw little-endian bytes. `elements` (the tensor's element count)
 * defaults to as many as the data holds; it is needed for F4 and F6, whose last byte may be
 * part padding. The result is always a new array; for C64 it interleaves real and imaginary
 * parts, so its length is 2 × elements. F64 values are rounded to nearest float32 (ties to even;
 * beyond float32's range they become ±inf).
 *
 * Throws a SafetensorError: 'InvalidDtype' for a non-float dtype, 'InvalidTensorView' for data
 * of the wrong array type, a byte length that is not a whole number of elements (when
 * `elements` is not given), or an `elements` larger than the data holds.
 */
export function toFloat32(dtype: Dtype, data: ArrayBufferView, elements?: number): Float32Array {
  checkFloatDtype(dtype, 'toFloat32');
  const info = DTYPE_INFO[dtype];
  if (!(data instanceof Uint8Array) && !(data instanceof info.array)) {
    const got = data === null || typeof data !== 'object' ? typeof data : (data as object).constructor.name;
    throw new SafetensorError('InvalidTensorView', `toFloat32: data for ${dtype} must be a ${info.array.name} or its raw bytes as a Uint8Array, not ${got}`);
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

  if (dtype === 'F4' || dtype === 'F6_E2M3' || dtype === 'F6_E3M2') {
    const width = dtype === 'F4' ? 4 : 6;
    const n = checkElements(elements, Math.floor((bytes.byteLength * 8) / width), `${dtype} elements`);
    const t = table(FORMATS[dtype]);
    const out = new Float32Array(n);
    const u32 = new Uint32Array(out.buffer);
    if (width === 4) {
      const pairs = n >>> 1;
      for (let i = 0; i < pairs; i++) {
        const b = bytes[i]!;
        u32[2 * i] = t[b & 15]!;
        u32[2 * i + 1] = t[b >>> 4]!;
      }
      if (n & 1) u32[n - 1] = t[bytes[pairs]! & 15]!;
    } else {
      const groups = n >>> 2;
      for (let g = 0; g < groups; g++) {
        const j = 3 * g;
        const w = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16);
        const i = 4 * g;
        u32[i] = t[w & 63]!;
        u32[i + 1] = t[(w >>> 6) & 63]!;
        u32[i + 2] = t[(w >>> 12) & 63]!;
        u32[i + 3] = t[w >>> 18]!;
      }
      for (let i = 4 * groups; i < n; i++) u32[i] = t[getBits6(bytes, i)]!;
    }
    return out;
  }

  // Byte-aligned dtypes: the data must be whole elements unless `elements` says how many to take.
  const size = info.bits / 8;
  const capacity = Math.floor(bytes.byteLength / size);
  if (elements === undefined && bytes.byteLength % size !== 0) {
    throw new SafetensorError('InvalidTensorView', `toFloat32: ${bytes.byteLength} bytes are not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  const n = checkElements(elements, capacity, `${dtype} elements`);

  switch (dtype) {
    case 'F32':
    case 'C64': {
      const count = dtype === 'C64' ? 2 * n : n;
      if (data instanceof Float32Array) return data.slice(0, count);
      const out = new Float32Array(count);
      new Uint8Array(out.buffer).set(bytes.subarray(0, 4 * count));
      return out;
    }
    case 'F64': {
      const src = data instanceof Float64Array ? data : aligned(bytes, 8, (b, o, l) => new Float64Array(b, o, l));
      const out = new Float32Array(n);
      out.set(src.subarray(0, n)); // Float64 → Float32 conversion: round to nearest, ties to even
      return out;
    }
    case 'F16':
    case 'BF16': {
      const src = data instanceof Uint16Array ? data : aligned(bytes, 2, (b, o, l) => new Uint16Array(b, o, l));
      const out = new Float32Array(n);
      const u32 = new Uint32Array(out.buffer);
      if (dtype === 'BF16') {
        for (let i = 0; i < n; i++) u32[i] = src[i]! << 16;
      } else {
        const t = table(FORMATS.F16);
        for (let i = 0; i < n; i++) u32[i] = t[src[i]!]!;
      }
      return out;
    }
    default: {
      // The 8-bit formats.
      const t = table(FORMATS[dtype]);
      const out = new Float32Array(n);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u32[i] = t[bytes[i]!]!;
      return out;
    }
  }
}

/**
 * Encodes float32 values into `dtype`, as the array type the library uses for it
 * (DTYPE_INFO[dtype].array): Uint16Array of bits for F16/BF16, Uint8Array for F8_*, and the
 * packed bytes for F4 (2 elements per byte) and F6 (4 elements per 3 bytes), Float32Array for
 * F32 (a copy), Float64Array for F64 (exact), and for C64 the bytes of interleaved
 * (real, imaginary) float32 pairs. A number[] is rounded to float32 first.
 *
 * Rounding is to nearest, ties to even; see the module comment for overflow, ±inf, NaN (F4 and
 * F6 have none: a NaN throws a SafetensorError 'InvalidDtype'), −0 and E8M0.
 */
export function fromFloat32(dtype: Dtype, values: Float32Array | number[]): Uint8Array | Uint16Array | Float32Array | Float64Array {
  checkFloatDtype(dtype, 'fromFloat32');
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
  const n = f32.length;
  switch (dtype) {
    case 'F32':
      return f32 === values ? f32.slice() : f32;
    case 'F64':
      return new Float64Array(f32);
    case 'C64': {
      if (n % 2 !== 0) {
        throw new SafetensorError('InvalidTensorView', `fromFloat32: C64 takes interleaved (real, imaginary) pairs, but ${n} values were given`);
      }
      const copy = f32 === values ? f32.slice() : f32;
      return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
    }
    default:
      break;
  }
  const f = FORMATS[dtype];
  const u32 = new Uint32Array(f32.buffer, f32.byteOffset, n);
  if (f.bits === 16) {
    const out = new Uint16Array(n);
    if (dtype === 'BF16') for (let i = 0; i < n; i++) out[i] = f32BitsToBf16(u32[i]!);
    else for (let i = 0; i < n; i++) out[i] = encodeBits(f, u32[i]!);
    return out;
  }
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const code = encodeBits(f, u32[i]!);
    if (code < 0) throw noNaN(f.dtype, i);
    codes[i] = code;
  }
  if (f.bits === 8) return codes;
  return packSubByte(f.bits as 4 | 6, codes);
}

/**
 * F16 or BF16 codes of float32 values given as their bits, into `out` (as long as `bits`): the
 * allocation-free form of fromFloat32 for streaming casts (tensor/cast.ts), with the same rounding.
 */
export function encodeFloat32BitsInto(dtype: 'F16' | 'BF16', bits: Uint32Array, out: Uint16Array): void {
  const n = bits.length;
  if (dtype === 'BF16') {
    for (let i = 0; i < n; i++) out[i] = f32BitsToBf16(bits[i]!);
  } else {
    for (let i = 0; i < n; i++) out[i] = f32BitsToF16(bits[i]!);
  }
}

/**
 * The F16 code of float32 bits, as encodeBits(FORMATS.F16, u) computes it (the test checks every
 * pattern class), with the normal range in three integer operations: a streaming cast's hot loop.
 */
export function f32BitsToF16(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a >= 0x38800000) {
    if (a >= 0x47800000) return a > 0x7f800000 ? sign | 0x7e00 | ((a >>> 13) & 0x3ff) : sign | 0x7c00; // NaN; ≥ 65536 or inf
    // Rebias the exponent (127 → 15) and round to nearest even at bit 13; a carry past 65504 gives inf.
    return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
  }
  if (a < 0x33000000) return sign; // below 2^-25 (half the smallest subnormal, which rounds to even: 0 too)
  // Subnormal: sig·2^(e-150) in units of 2^-24, rounded to nearest even (a carry to 0x400 is the smallest normal).
  const e = a >>> 23;
  const sig = (a & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let r = sig >>> shift;
  const rem = sig & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (r & 1) === 1)) r++;
  return sign | r;
}
