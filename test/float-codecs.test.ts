import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  bf16ToF32,
  decodeElement,
  encodeElement,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  fromFloat32,
  isFloatDtype,
  packSubByte,
  toFloat32,
  unpackSubByte,
  type MinifloatDtype,
} from '../src/dtype/float-codecs.js';
import { DTYPES, DTYPE_INFO, type Dtype } from '../src/dtype/dtypes.js';
import { SafetensorError } from '../src/errors.js';

// ---------------------------------------------------------------------------------------------
// An independent reference: sign/exponent/mantissa arithmetic with Math.pow, and a bit-by-bit
// little-endian packer. Nothing here is shared with the implementation.
// ---------------------------------------------------------------------------------------------

type Kind = 'ieee' | 'fn' | 'fnuz' | 'finite' | 'e8m0';
interface Ref {
  dtype: MinifloatDtype;
  ebits: number;
  mbits: number;
  bias: number;
  kind: Kind;
  /** Bits per element in the file. */
  width: number;
}

const REFS: Ref[] = [
  { dtype: 'F16', ebits: 5, mbits: 10, bias: 15, kind: 'ieee', width: 16 },
  { dtype: 'BF16', ebits: 8, mbits: 7, bias: 127, kind: 'ieee', width: 16 },
  { dtype: 'F8_E5M2', ebits: 5, mbits: 2, bias: 15, kind: 'ieee', width: 8 },
  { dtype: 'F8_E4M3', ebits: 4, mbits: 3, bias: 7, kind: 'fn', width: 8 },
  { dtype: 'F8_E4M3FNUZ', ebits: 4, mbits: 3, bias: 8, kind: 'fnuz', width: 8 },
  { dtype: 'F8_E5M2FNUZ', ebits: 5, mbits: 2, bias: 16, kind: 'fnuz', width: 8 },
  { dtype: 'F8_E8M0', ebits: 8, mbits: 0, bias: 127, kind: 'e8m0', width: 8 },
  { dtype: 'F6_E2M3', ebits: 2, mbits: 3, bias: 1, kind: 'finite', width: 6 },
  { dtype: 'F6_E3M2', ebits: 3, mbits: 2, bias: 3, kind: 'finite', width: 6 },
  { dtype: 'F4', ebits: 2, mbits: 1, bias: 1, kind: 'finite', width: 4 },
];

function refValue(r: Ref, code: number): number {
  if (r.kind === 'e8m0') return code === 0xff ? NaN : Math.pow(2, code - r.bias);
  const signShift = r.ebits + r.mbits;
  const s = (code >> signShift) & 1;
  const e = (code >> r.mbits) & (Math.pow(2, r.ebits) - 1);
  const m = code & (Math.pow(2, r.mbits) - 1);
  const eMax = Math.pow(2, r.ebits) - 1;
  const mMax = Math.pow(2, r.mbits) - 1;
  if (r.kind === 'fnuz' && s === 1 && e === 0 && m === 0) return NaN;
  if (r.kind === 'ieee' && e === eMax) return m === 0 ? (s ? -Infinity : Infinity) : NaN;
  if (r.kind === 'fn' && e === eMax && m === mMax) return NaN;
  const frac = m / Math.pow(2, r.mbits);
  const mag = e === 0 ? Math.pow(2, 1 - r.bias) * frac : Math.pow(2, e - r.bias) * (1 + frac);
  return s ? -mag : mag;
}

function codeCount(r: Ref): number {
  return Math.pow(2, r.width);
}

function signBit(r: Ref): number {
  return r.kind === 'e8m0' ? 0 : Math.pow(2, r.width - 1);
}

/** Bit i·w + k of the stream is bit (i·w + k) mod 8 of byte ⌊(i·w + k) / 8⌋. */
function refPack(width: number, codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((codes.length * width) / 8));
  codes.forEach((code, i) => {
    for (let k = 0; k < width; k++) {
      const g = i * width + k;
      if ((code >> k) & 1) out[Math.floor(g / 8)]! |= 1 << g % 8;
    }
  });
  return out;
}

function refUnpack(width: number, bytes: Uint8Array, n: number): number[] {
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    let code = 0;
    for (let k = 0; k < width; k++) {
      const g = i * width + k;
      code |= ((bytes[Math.floor(g / 8)]! >> g % 8) & 1) << k;
    }
    codes.push(code);
  }
  return codes;
}

/** The data toFloat32 takes for a list of codes: bits, bytes or packed bytes. */
function encodeCodes(r: Ref, codes: readonly number[]): Uint8Array | Uint16Array {
  if (r.width === 16) return Uint16Array.from(codes);
  if (r.width === 8) return Uint8Array.from(codes);
  return refPack(r.width, codes);
}

/** Codes of fromFloat32's output, unpacked with the reference unpacker. */
function codesOf(r: Ref, out: ArrayBufferView, n: number): number[] {
  if (r.width === 16) {
    expect(out).toBeInstanceOf(Uint16Array);
    return Array.from(out as Uint16Array);
  }
  expect(out).toBeInstanceOf(Uint8Array);
  if (r.width === 8) return Array.from(out as Uint8Array);
  return refUnpack(r.width, out as Uint8Array, n);
}

function allCodes(r: Ref): number[] {
  return Array.from({ length: codeCount(r) }, (_, i) => i);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
function bitsOf(x: number): number {
  F32[0] = x;
  return U32[0]!;
}
function fromBits(b: number): number {
  U32[0] = b;
  return F32[0]!;
}
/** Next float32 toward +inf / -inf of a positive float32. */
const nextUp = (x: number): number => fromBits(bitsOf(x) + 1);
const nextDown = (x: number): number => fromBits(bitsOf(x) - 1);

/** Non-negative finite representable values with their codes, ascending (codes are monotonic). */
function positives(r: Ref): { v: number; code: number }[] {
  const list: { v: number; code: number }[] = [];
  for (let code = 0; code < codeCount(r); code++) {
    if (r.kind !== 'e8m0' && code >= signBit(r)) break;
    const v = refValue(r, code);
    if (Number.isFinite(v)) list.push({ v, code });
  }
  return list;
}

/**
 * The reference encoder: nearest representable value by exhaustive search, ties to the even
 * code (E8M0: ties to the larger value), overflow as documented.
 */
function makeRefEncoder(r: Ref): (x: number) => number {
  const pos = positives(r);
  const max = pos[pos.length - 1]!;
  const infCode = r.kind === 'ieee' ? pos.length : -1; // ieee: inf directly follows max
  const sign = signBit(r);
  // ieee overflow threshold: halfway between max and the next binade's first value
  const overflowAt = max.v + Math.pow(2, Math.floor(Math.log2(max.v)) - r.mbits) / 2;
  return (x: number) => {
    if (Number.isNaN(x)) throw new Error('refEncode: NaN');
    if (r.kind === 'e8m0' && !(x > 0)) return 0;
    const neg = x < 0 || Object.is(x, -0);
    const a = Math.abs(x);
    let code: number;
    if (r.kind === 'ieee' && a >= overflowAt) code = infCode;
    else if (a >= max.v) code = max.code;
    else if (a <= pos[0]!.v) code = pos[0]!.code;
    else {
      let lo = 0;
      let hi = pos.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (pos[mid]!.v <= a) lo = mid;
        else hi = mid;
      }
      const dl = a - pos[lo]!.v;
      const dh = pos[hi]!.v - a;
      if (dl < dh) code = pos[lo]!.code;
      else if (dh < dl) code = pos[hi]!.code;
      else if (r.kind === 'e8m0') code = pos[hi]!.code;
      else code = pos[lo]!.code % 2 === 0 ? pos[lo]!.code : pos[hi]!.code;
    }
    if (!neg || r.kind === 'e8m0') return code;
    if (r.kind === 'fnuz' && code === 0) return 0;
    return code | sign;
  };
}

function maxFinite(r: Ref): number {
  const pos = positives(r);
  return pos[pos.length - 1]!.v;
}

function expectCode(e: unknown, code: string): void {
  expect(e).toBeInstanceOf(SafetensorError);
  expect((e as SafetensorError).code).toBe(code);
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

// ---------------------------------------------------------------------------------------------

describe('reference self-check', () => {
  it('the reference formula gives the published constants', () => {
    const by = (d: string) => REFS.find((r) => r.dtype === d)!;
    expect(maxFinite(by('F16'))).toBe(65504);
    expect(maxFinite(by('F8_E4M3'))).toBe(448);
    expect(maxFinite(by('F8_E5M2'))).toBe(57344);
    expect(maxFinite(by('F8_E4M3FNUZ'))).toBe(240);
    expect(maxFinite(by('F8_E5M2FNUZ'))).toBe(57344);
    expect(maxFinite(by('F6_E2M3'))).toBe(7.5);
    expect(maxFinite(by('F6_E3M2'))).toBe(28);
    expect(maxFinite(by('F4'))).toBe(6);
    expect(maxFinite(by('F8_E8M0'))).toBe(Math.pow(2, 127));
    expect(refPack(6, [1, 2, 3, 4])).toEqual(new Uint8Array([0x81, 0x30, 0x10]));
  });
});

describe('exhaustive decode against the formula', () => {
  for (const r of REFS) {
    it(`${r.dtype}: every code`, () => {
      const codes = allCodes(r);
      const got = toFloat32(r.dtype, encodeCodes(r, codes), codes.length);
      expect(got).toBeInstanceOf(Float32Array);
      expect(got.length).toBe(codes.length);
      const bad: string[] = [];
      for (const code of codes) {
        const want = refValue(r, code);
        if (!Object.is(got[code], want)) bad.push(`0x${code.toString(16)}: got ${got[code]}, want ${want}`);
        if (!Object.is(decodeElement(r.dtype, code), want)) bad.push(`decodeElement 0x${code.toString(16)}`);
      }
      expect(bad).toEqual([]);
    });
  }

  it('F16 and BF16 scalar helpers agree with the formula on every code', () => {
    const f16 = REFS[0]!;
    const bf16 = REFS[1]!;
    let bad = 0;
    for (let code = 0; code < 65536; code++) {
      if (!Object.is(f16ToF32(code), refValue(f16, code))) bad++;
      if (!Object.is(bf16ToF32(code), refValue(bf16, code))) bad++;
    }
    expect(bad).toBe(0);
  });

  it('special encodings: NaN, infinities, signed zeros, fnuz has no -0', () => {
    const dec = (d: MinifloatDtype, c: number) => decodeElement(d, c);
    expect(dec('F16', 0x7c00)).toBe(Infinity);
    expect(dec('F16', 0xfc00)).toBe(-Infinity);
    expect(dec('F16', 0x7c01)).toBeNaN();
    expect(Object.is(dec('F16', 0x8000), -0)).toBe(true);
    expect(dec('F8_E5M2', 0x7c)).toBe(Infinity);
    expect(dec('F8_E5M2', 0x7d)).toBeNaN();
    expect(dec('F8_E4M3', 0x7f)).toBeNaN();
    expect(dec('F8_E4M3', 0xff)).toBeNaN();
    expect(dec('F8_E4M3', 0x78)).toBe(256); // S.1111.000 is a normal number in fn
    expect(Object.is(dec('F8_E4M3', 0x80), -0)).toBe(true);
    for (const d of ['F8_E4M3FNUZ', 'F8_E5M2FNUZ'] as const) {
      expect(dec(d, 0x80)).toBeNaN();
      for (let c = 0; c < 256; c++) if (c !== 0x80) expect(Number.isNaN(dec(d, c))).toBe(false);
      expect(dec(d, 0x00)).toBe(0);
    }
    expect(dec('F8_E4M3FNUZ', 0xff)).toBe(-240);
    expect(dec('F8_E8M0', 0xff)).toBeNaN();
    expect(dec('F8_E8M0', 0x00)).toBe(Math.pow(2, -127));
    expect(dec('F8_E8M0', 0xfe)).toBe(Math.pow(2, 127));
    for (const d of ['F6_E2M3', 'F6_E3M2', 'F4'] as const) {
      const n = d === 'F4' ? 16 : 64;
      for (let c = 0; c < n; c++) expect(Number.isFinite(dec(d, c))).toBe(true);
      expect(Object.is(dec(d, n / 2), -0)).toBe(true);
    }
  });
});

describe('known values', () => {
  it('F16', () => {
    const got = toFloat32('F16', new Uint16Array([0x3c00, 0x7bff, 0x0001, 0x03ff, 0x0400, 0xc000, 0x3555]));
    expect(Array.from(got)).toEqual([1, 65504, Math.pow(2, -24), 1023 * Math.pow(2, -24), Math.pow(2, -14), -2, Math.fround(0.333251953125)]);
  });
  it('BF16', () => {
    expect(Array.from(toFloat32('BF16', new Uint16Array([0x3f80, 0xc000, 0x7f7f, 0x0001])))).toEqual([
      1,
      -2,
      Math.fround(3.3895313892515355e38),
      Math.pow(2, -133),
    ]);
  });
  it('8-bit formats', () => {
    expect(toFloat32('F8_E4M3', new Uint8Array([0x7e, 0x38, 0x01, 0x08]))).toEqual(new Float32Array([448, 1, Math.pow(2, -9), Math.pow(2, -6)]));
    expect(toFloat32('F8_E5M2', new Uint8Array([0x7b, 0x3c, 0x01]))).toEqual(new Float32Array([57344, 1, Math.pow(2, -16)]));
    expect(toFloat32('F8_E8M0', new Uint8Array([0x7f, 0x80, 0x7e]))).toEqual(new Float32Array([1, 2, 0.5]));
    expect(toFloat32('F8_E4M3FNUZ', new Uint8Array([0x7f, 0x40, 0x01]))).toEqual(new Float32Array([240, 1, Math.pow(2, -10)]));
    expect(toFloat32('F8_E5M2FNUZ', new Uint8Array([0x7f, 0x40, 0x01]))).toEqual(new Float32Array([57344, 1, Math.pow(2, -17)]));
  });
  it('F6 and F4 (codes 0..7 are the OCP value tables)', () => {
    const f4 = toFloat32('F4', refPack(4, [0, 1, 2, 3, 4, 5, 6, 7]));
    expect(Array.from(f4)).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
    const e2m3 = toFloat32('F6_E2M3', refPack(6, [0x01, 0x08, 0x1f, 0x3f]));
    expect(Array.from(e2m3)).toEqual([0.125, 1, 7.5, -7.5]);
    const e3m2 = toFloat32('F6_E3M2', refPack(6, [0x01, 0x0c, 0x1f, 0x3f]));
    expect(Array.from(e3m2)).toEqual([0.0625, 1, 28, -28]);
  });
});

describe('sub-byte packing', () => {
  it('F4: element 0 is the low nibble (torch.float4_e2m1fn_x2, ONNX, OCP)', () => {
    // 0x21: low nibble 1 (0.5), high nibble 2 (1.0); 0xF7: low 7 (6), high 0xF (-6)
    expect(Array.from(toFloat32('F4', new Uint8Array([0x21, 0xf7])))).toEqual([0.5, 1, 6, -6]);
    expect(fromFloat32('F4', [0.5, 1, 6, -6])).toEqual(new Uint8Array([0x21, 0xf7]));
  });

  it('F6: little-endian bit stream, element k in bits 6k..6k+5 of b0|b1<<8|b2<<16', () => {
    // codes 1,2,3,4 → 0b000100_000011_000010_000001 = 0x1030 81
    expect(packSubByte(6, [1, 2, 3, 4])).toEqual(new Uint8Array([0x81, 0x30, 0x10]));
    expect(Array.from(unpackSubByte(6, new Uint8Array([0x81, 0x30, 0x10])))).toEqual([1, 2, 3, 4]);
    // E2M3 codes 0x08 (1.0), 0x10 (2.0), 0x18 (4.0), 0x3f (-7.5)
    expect(fromFloat32('F6_E2M3', [1, 2, 4, -7.5])).toEqual(refPack(6, [0x08, 0x10, 0x18, 0x3f]));
    expect(Array.from(toFloat32('F6_E2M3', new Uint8Array([0x08, 0x84, 0xfd])))).toEqual([1, 2, 4, -7.5]);
  });

  it('pack/unpack agree with the bit-by-bit reference for random codes and lengths', () => {
    fc.assert(
      fc.property(fc.constantFrom(4 as const, 6 as const), fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 67 }), (width, raw) => {
        const codes = raw.map((c) => c & ((1 << width) - 1));
        const packed = packSubByte(width, codes);
        expect(packed).toEqual(refPack(width, codes));
        expect(Array.from(unpackSubByte(width, packed, codes.length))).toEqual(codes);
        expect(refUnpack(width, packed, codes.length)).toEqual(codes);
      }),
      { numRuns: 300 },
    );
  });

  it('packed F4/F6 values round-trip through fromFloat32/toFloat32 for any element count', () => {
    for (const r of REFS.filter((x) => x.width < 8)) {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: codeCount(r) - 1 }), { maxLength: 41 }), (codes) => {
          const values = codes.map((c) => refValue(r, c));
          const bytes = fromFloat32(r.dtype, values);
          expect(bytes).toEqual(refPack(r.width, codes));
          const back = toFloat32(r.dtype, bytes as Uint8Array, codes.length);
          expect(back.length).toBe(codes.length);
          back.forEach((v, i) => expect(Object.is(v, values[i])).toBe(true));
        }),
        { numRuns: 200 },
      );
    }
  });

  it('default element count is what the bytes hold; a larger one is rejected', () => {
    expect(toFloat32('F4', new Uint8Array(3)).length).toBe(6);
    expect(toFloat32('F6_E3M2', new Uint8Array(3)).length).toBe(4);
    expect(toFloat32('F6_E3M2', new Uint8Array(2)).length).toBe(2); // 16 bits: two 6-bit elements
    expect(toFloat32('F4', new Uint8Array([0x21]), 1)).toEqual(new Float32Array([0.5]));
    expect(toFloat32('F6_E2M3', refPack(6, [8, 16, 24, 63, 8]), 5)).toEqual(new Float32Array([1, 2, 4, -7.5, 1]));
    expectCode(thrown(() => toFloat32('F4', new Uint8Array(1), 3)), 'InvalidTensorView');
    expectCode(thrown(() => toFloat32('F6_E2M3', new Uint8Array(3), 5)), 'InvalidTensorView');
    expectCode(thrown(() => toFloat32('F4', new Uint8Array(1), -1)), 'InvalidTensorView');
    expectCode(thrown(() => toFloat32('F4', new Uint8Array(1), 1.5)), 'InvalidTensorView');
  });
});

describe('encode: round trip of every code', () => {
  for (const r of REFS) {
    it(`${r.dtype}: encode(decode(code)) is the code itself, NaN stays NaN`, () => {
      const codes = allCodes(r);
      const decoded = toFloat32(r.dtype, encodeCodes(r, codes), codes.length);
      const nanCodes = codes.filter((c) => Number.isNaN(refValue(r, c)));
      const finite = codes.filter((c) => !Number.isNaN(refValue(r, c)));
      const enc = codesOf(r, fromFloat32(r.dtype, decoded.filter((v) => !Number.isNaN(v))), finite.length);
      expect(enc).toEqual(finite);
      for (const c of nanCodes) {
        const again = toFloat32(r.dtype, fromFloat32(r.dtype, [refValue(r, c)]) as Uint8Array | Uint16Array, 1);
        expect(again[0]).toBeNaN();
      }
      // decode(encode(decode(bits))) === decode(bits), on random codes too (fast-check)
      fc.assert(
        fc.property(fc.integer({ min: 0, max: codeCount(r) - 1 }), (code) => {
          const v = refValue(r, code);
          if (Number.isNaN(v) && (r.dtype === 'F4' || r.dtype.startsWith('F6'))) return;
          const back = toFloat32(r.dtype, fromFloat32(r.dtype, [v]) as Uint8Array | Uint16Array, 1)[0];
          expect(Object.is(back, v)).toBe(true);
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe('encode: round to nearest, ties to even', () => {
  for (const r of REFS) {
    it(`${r.dtype}: every midpoint between adjacent values, and one float32 either side`, () => {
      const pos = positives(r);
      const xs: number[] = [];
      const want: number[] = [];
      const sign = signBit(r);
      const invalid: string[] = [];
      for (let i = 0; i + 1 < pos.length; i++) {
        const lo = pos[i]!;
        const hi = pos[i + 1]!;
        const mid = (lo.v + hi.v) / 2;
        // adjacent codes, and the midpoint is a float32, so the tie is real
        if (hi.code !== lo.code + 1 || Math.fround(mid) !== mid) invalid.push(`0x${lo.code.toString(16)}`);
        const tie = r.kind === 'e8m0' ? hi.code : lo.code % 2 === 0 ? lo.code : hi.code;
        xs.push(mid, nextDown(mid), nextUp(mid));
        want.push(tie, lo.code, hi.code);
        if (r.kind !== 'e8m0') {
          // negative: the same code with the sign bit, except that fnuz has no -0
          const neg = (c: number) => (r.kind === 'fnuz' && c === 0 ? 0 : c | sign);
          xs.push(-mid, -nextDown(mid), -nextUp(mid));
          want.push(neg(tie), neg(lo.code), neg(hi.code));
        }
      }
      expect(invalid).toEqual([]);
      expect(xs.length).toBeGreaterThan(0);
      const got = codesOf(r, fromFloat32(r.dtype, new Float32Array(xs)), xs.length);
      const bad = got.flatMap((c, i) => (c === want[i] ? [] : [`${xs[i]} → 0x${c.toString(16)}, want 0x${want[i]!.toString(16)}`]));
      expect(bad.slice(0, 10)).toEqual([]);
    });
  }

  it('examples', () => {
    expect(f32ToF16(1 + Math.pow(2, -11))).toBe(0x3c00); // tie, 0x3C00 is even
    expect(f32ToF16(1 + 3 * Math.pow(2, -11))).toBe(0x3c02); // tie, 0x3C02 is even
    expect(f32ToBf16(1 + Math.pow(2, -8))).toBe(0x3f80);
    expect(f32ToBf16(1 + 3 * Math.pow(2, -8))).toBe(0x3f82);
    expect(encodeElement('F8_E4M3', 1.0625)).toBe(0x38); // between 1 (0x38) and 1.125 (0x39)
    expect(encodeElement('F8_E4M3', 1.1875)).toBe(0x3a); // between 1.125 (0x39) and 1.25 (0x3A)
    expect(encodeElement('F4', 2.5)).toBe(0x4); // between 2 (0x4) and 3 (0x5)
    expect(encodeElement('F4', 3.5)).toBe(0x6); // between 3 (0x5) and 4 (0x6)
    expect(encodeElement('F4', 0.25)).toBe(0x0); // between 0 and 0.5: to 0
    expect(encodeElement('F4', 0.75)).toBe(0x2); // between 0.5 (0x1) and 1 (0x2)
    expect(encodeElement('F8_E8M0', 1.5)).toBe(0x80); // documented: ties go up
    expect(encodeElement('F8_E8M0', Math.fround(1.4999))).toBe(0x7f);
    expect(encodeElement('F8_E8M0', 3)).toBe(0x81);
    expect(encodeElement('F8_E8M0', 1.75 * Math.pow(2, -127))).toBe(0x01); // float32 subnormal input
    expect(encodeElement('F8_E8M0', 1.25 * Math.pow(2, -127))).toBe(0x00);
  });
});

describe('encode: nearest value by exhaustive search (fast-check)', () => {
  for (const r of REFS) {
    it(`${r.dtype}`, () => {
      const ref = makeRefEncoder(r);
      const max = maxFinite(r);
      const bound = Math.fround(Math.min(4 * max, 3.4e38));
      const arb = fc.oneof(
        fc.float({ noNaN: true }),
        fc.float({ noNaN: true, min: -bound, max: bound }),
        fc.float({ noNaN: true, min: Math.fround(-Math.pow(2, -r.bias - r.mbits + 2)), max: Math.fround(Math.pow(2, -r.bias - r.mbits + 2)) }),
      );
      fc.assert(
        fc.property(arb, (x) => {
          const got = codesOf(r, fromFloat32(r.dtype, [x]), 1)[0];
          expect(got).toBe(ref(x));
          if (r.width <= 16 && r.dtype !== 'F16' && r.dtype !== 'BF16') expect(encodeElement(r.dtype, x)).toBe(got);
        }),
        { numRuns: 1500 },
      );
    });
  }

  it('scalar F16/BF16 helpers agree with the arrays', () => {
    fc.assert(
      fc.property(fc.float(), (x) => {
        expect(f32ToF16(x)).toBe((fromFloat32('F16', [x]) as Uint16Array)[0]);
        expect(f32ToBf16(x)).toBe((fromFloat32('BF16', [x]) as Uint16Array)[0]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('encode: overflow, infinities, NaN, signed zero', () => {
  it('F16, BF16, F8_E5M2 overflow to infinity', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // halfway to 2^16: ties to the even code, inf
    expect(f32ToF16(-1e10)).toBe(0xfc00);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds up to inf
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    expect(Array.from(fromFloat32('F8_E5M2', [57344, 61439, 61440, -1e6, Infinity, -Infinity]))).toEqual([0x7b, 0x7b, 0x7c, 0xfc, 0x7c, 0xfc]);
  });

  it('fn, fnuz, F6 and F4 saturate to ±max finite (inputs and infinities)', () => {
    const cases: [MinifloatDtype, number, number][] = [
      ['F8_E4M3', 0x7e, 0xfe],
      ['F8_E4M3FNUZ', 0x7f, 0xff],
      ['F8_E5M2FNUZ', 0x7f, 0xff],
      ['F6_E2M3', 0x1f, 0x3f],
      ['F6_E3M2', 0x1f, 0x3f],
      ['F4', 0x7, 0xf],
    ];
    for (const [d, pmax, nmax] of cases) {
      const r = REFS.find((x) => x.dtype === d)!;
      const m = maxFinite(r);
      for (const x of [m, m * 1.0625, m * 1.5, m * 100, 3.4e38, Infinity]) {
        expect(encodeElement(d, x), `${d} ${x}`).toBe(pmax);
        expect(encodeElement(d, -x), `${d} ${-x}`).toBe(nmax);
      }
    }
    expect(encodeElement('F8_E4M3', 464)).toBe(0x7e); // would round to the NaN code; saturates
    expect(encodeElement('F8_E4M3', 480)).toBe(0x7e);
  });

  it('F8_E8M0 saturates into [2^-127, 2^127]', () => {
    const got = Array.from(fromFloat32('F8_E8M0', [0, -0, -1, -Infinity, Math.pow(2, -140), Math.pow(2, 127), 1.5 * Math.pow(2, 127), Infinity, 1]));
    expect(got).toEqual([0, 0, 0, 0, 0, 0xfe, 0xfe, 0xfe, 0x7f]);
  });

  it('NaN encodes to each format’s NaN', () => {
    const negNaN = fromBits(0xffc00000);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToBf16(NaN)).toBe(0x7fc0);
    expect(fromFloat32('BF16', new Float32Array([negNaN]))).toEqual(new Uint16Array([0xffc0]));
    expect(fromFloat32('F8_E5M2', [NaN])).toEqual(new Uint8Array([0x7e]));
    expect(fromFloat32('F8_E4M3', new Float32Array([NaN, negNaN]))).toEqual(new Uint8Array([0x7f, 0xff]));
    expect(fromFloat32('F8_E4M3FNUZ', new Float32Array([NaN, negNaN]))).toEqual(new Uint8Array([0x80, 0x80]));
    expect(fromFloat32('F8_E5M2FNUZ', [NaN])).toEqual(new Uint8Array([0x80]));
    expect(fromFloat32('F8_E8M0', [NaN])).toEqual(new Uint8Array([0xff]));
    expect(toFloat32('F32', fromFloat32('F32', [NaN]) as Float32Array)[0]).toBeNaN();
  });

  it('NaNs with any payload (signalling, low bits only) stay NaN, never become inf', () => {
    const nans = new Float32Array(new Uint32Array([0x7f800001, 0xff800001, 0x7fffffff, 0x7fc00000, 0x7f802000]).buffer);
    for (const d of ['F16', 'BF16', 'F8_E5M2', 'F8_E4M3', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F8_E8M0'] as const) {
      const back = toFloat32(d, fromFloat32(d, nans) as Uint8Array | Uint16Array);
      expect(Array.from(back).map(Number.isNaN), d).toEqual([true, true, true, true, true]);
    }
  });

  it('F6 and F4 have no NaN: encoding one throws InvalidDtype naming the index', () => {
    for (const d of ['F4', 'F6_E2M3', 'F6_E3M2'] as const) {
      const e = thrown(() => fromFloat32(d, [1, 2, NaN]));
      expectCode(e, 'InvalidDtype');
      expect((e as Error).message).toContain('values[2]');
      expect((e as Error).message).toContain(d);
      expectCode(thrown(() => encodeElement(d, NaN)), 'InvalidDtype');
    }
  });

  it('signed zero and underflow keep the sign, except fnuz (no -0) and E8M0', () => {
    const tiny = -Math.pow(2, -60);
    expect(Array.from(fromFloat32('F16', [-0, tiny]))).toEqual([0x8000, 0x8000]);
    expect(Array.from(fromFloat32('BF16', [-0]))).toEqual([0x8000]);
    expect(Array.from(fromFloat32('F8_E4M3', [-0, tiny]))).toEqual([0x80, 0x80]);
    expect(Array.from(fromFloat32('F8_E5M2', [-0, tiny]))).toEqual([0x80, 0x80]);
    expect(Array.from(fromFloat32('F8_E4M3FNUZ', [-0, tiny, 0]))).toEqual([0, 0, 0]);
    expect(Array.from(fromFloat32('F8_E5M2FNUZ', [-0, tiny]))).toEqual([0, 0]);
    expect(refUnpack(6, fromFloat32('F6_E2M3', [-0, tiny]) as Uint8Array, 2)).toEqual([0x20, 0x20]);
    expect(refUnpack(4, fromFloat32('F4', [-0, tiny]) as Uint8Array, 2)).toEqual([0x8, 0x8]);
  });
});

describe('F32, F64, C64', () => {
  it('F32 is an identity copy in both directions', () => {
    const src = new Float32Array([1.5, -0, NaN, Infinity, Math.pow(2, -149)]);
    const out = toFloat32('F32', src);
    expect(out).not.toBe(src);
    expect(Array.from(out).map((v, i) => Object.is(v, src[i]))).toEqual([true, true, true, true, true]);
    out[0] = 7;
    expect(src[0]).toBe(1.5);
    const enc = fromFloat32('F32', src);
    expect(enc).toBeInstanceOf(Float32Array);
    expect(enc).not.toBe(src);
    expect(enc).toEqual(src);
  });

  it('F32 from unaligned raw little-endian bytes', () => {
    const backing = new Uint8Array(9);
    backing.set(new Uint8Array(new Float32Array([3.25, -2]).buffer), 1);
    expect(toFloat32('F32', backing.subarray(1))).toEqual(new Float32Array([3.25, -2]));
    expect(toFloat32('F32', backing.subarray(1), 1)).toEqual(new Float32Array([3.25]));
  });

  it('F64 rounds to nearest float32, ties to even; out of range is ±inf', () => {
    const src = new Float64Array([1 + Math.pow(2, -24), 1 + 3 * Math.pow(2, -24), 1 + Math.pow(2, -24) + Math.pow(2, -50), 1e300, -1e300, 1e-50, 0.1]);
    const want = [1, 1 + Math.pow(2, -22), 1 + Math.pow(2, -23), Infinity, -Infinity, 0, Math.fround(0.1)];
    expect(Array.from(toFloat32('F64', src))).toEqual(want);
    const backing = new Uint8Array(src.byteLength + 3);
    backing.set(new Uint8Array(src.buffer), 3);
    expect(Array.from(toFloat32('F64', backing.subarray(3)))).toEqual(want);
    const enc = fromFloat32('F64', [0.1, -2]);
    expect(enc).toBeInstanceOf(Float64Array);
    expect(Array.from(enc)).toEqual([Math.fround(0.1), -2]);
  });

  it('C64 is interleaved (real, imaginary) float32 pairs', () => {
    const bytes = new Uint8Array(new Float32Array([1, 2, -3, 4.5]).buffer);
    expect(Array.from(toFloat32('C64', bytes))).toEqual([1, 2, -3, 4.5]);
    expect(Array.from(toFloat32('C64', bytes, 1))).toEqual([1, 2]);
    const enc = fromFloat32('C64', [1, 2, -3, 4.5]);
    expect(enc).toBeInstanceOf(Uint8Array);
    expect(enc).toEqual(bytes);
    expectCode(thrown(() => fromFloat32('C64', [1, 2, 3])), 'InvalidTensorView');
    expectCode(thrown(() => toFloat32('C64', bytes, 3)), 'InvalidTensorView');
  });
});

describe('API contract', () => {
  const floats = DTYPES.filter((d) => isFloatDtype(d));
  const others = DTYPES.filter((d) => !isFloatDtype(d));

  it('the float dtypes are exactly the float and complex kinds of the dtype table', () => {
    expect(floats.sort()).toEqual(DTYPES.filter((d) => DTYPE_INFO[d].kind === 'float' || DTYPE_INFO[d].kind === 'complex').sort());
    expect(others.sort()).toEqual(['BOOL', 'I16', 'I32', 'I64', 'I8', 'U16', 'U32', 'U64', 'U8']);
  });

  it('non-float dtypes throw SafetensorError InvalidDtype', () => {
    for (const d of [...others, 'F128' as Dtype]) {
      const e1 = thrown(() => toFloat32(d, new Uint8Array(8)));
      expectCode(e1, 'InvalidDtype');
      expect((e1 as Error).message).toContain(d);
      expectCode(thrown(() => fromFloat32(d, [1])), 'InvalidDtype');
    }
    expectCode(thrown(() => decodeElement('F32' as MinifloatDtype, 0)), 'InvalidDtype');
  });

  it('fromFloat32 returns the dtype’s array type, and number[] equals Float32Array input', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 4, maxLength: 4 }), (values) => {
        for (const d of floats) {
          const out = fromFloat32(d, values);
          expect(out).toBeInstanceOf(DTYPE_INFO[d].array);
          expect(fromFloat32(d, new Float32Array(values))).toEqual(out);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('raw little-endian bytes decode like the exposed array, aligned or not', () => {
    const bits = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3f80]);
    const raw = new Uint8Array(bits.buffer);
    const backing = new Uint8Array(raw.byteLength + 1);
    backing.set(raw, 1);
    for (const d of ['F16', 'BF16'] as const) {
      const want = toFloat32(d, bits);
      expect(toFloat32(d, raw)).toEqual(want);
      expect(toFloat32(d, backing.subarray(1))).toEqual(want);
      expect(toFloat32(d, backing.subarray(1, 4), 1)).toEqual(want.subarray(0, 1));
      expectCode(thrown(() => toFloat32(d, backing.subarray(1, 4))), 'InvalidTensorView'); // 3 bytes
    }
  });

  it('a typed array of the wrong kind is rejected, not reinterpreted', () => {
    expectCode(thrown(() => toFloat32('F16', new Float32Array(2))), 'InvalidTensorView');
    expectCode(thrown(() => toFloat32('F64', new Float32Array(2))), 'InvalidTensorView');
    expectCode(thrown(() => toFloat32('F8_E4M3', new Uint16Array(2))), 'InvalidTensorView');
  });

  it('empty inputs', () => {
    for (const d of floats) {
      expect(toFloat32(d, new Uint8Array(0)).length).toBe(0);
      expect(fromFloat32(d, []).length).toBe(0);
    }
  });
});
