import { IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID, KSIGNS_IQ2XS, KVALUES_FP4, KVALUES_IQ4NL, type GgmlCodebook } from './ggml-codebooks.js';
import { f16Values, u16At, u32At } from './ggml-f16.js';

/**
 * ggml's codebook block formats decoded to float32: the IQ types (a block stores indices into a grid
 * of 4 or 8 magnitudes, sign bits and sub-block scales) and the FP4 types (E2M1 codes under an E8M0
 * or UE4M3 scale). Written from the block layouts of ggml-common.h and the tables it defines
 * (tensor/ggml-codebooks.ts, generated from it). Each table is expanded once, on first use, into
 * float32 values, so an element is a lookup or two and one product. Where ggml's C rounds an
 * intermediate float (a sub-block scale), it is rounded here with Math.fround; a final product of
 * float32 values and small integers is exact in a double and rounded once by the Float32Array store,
 * as C rounds it once: the values equal libggml's dequantize_row_* bit for bit.
 */

const fr = Math.fround;

/** A codebook's bytes, decoded from its base64 (once per table). */
function bytesOf(c: GgmlCodebook): Uint8Array {
  const s = atob(c.base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A grid of unsigned byte codes as float32 values (same length: one value per code). */
const gridValues = (c: GgmlCodebook): Float32Array => Float32Array.from(bytesOf(c));

interface Tables {
  /** ±1 for each bit of each byte: SIGNS[b·8 + j] is -1 when bit j of b is set. */
  signs: Float32Array;
  /** ggml's ksigns: 7 stored sign bits → the sign byte (an eighth bit for even parity). */
  ksigns: Uint8Array;
  iq2xxs: Float32Array;
  iq2xs: Float32Array;
  iq2s: Float32Array;
  iq3xxs: Float32Array;
  iq3s: Float32Array;
  /** IQ1 grid values plus the delta: 0–16383 with +1/8, 16384–32767 with -1/8 (all exact in float32). */
  iq1: Float32Array;
  iq4nl: Float32Array;
  fp4: Float32Array;
  /** MXFP4's E8M0 scale halved (the FP4 values are doubled), for each byte. */
  e8m0Half: Float32Array;
  /** NVFP4's UE4M3 scale halved, for each byte. */
  ue4m3Half: Float32Array;
}

let tables: Tables | undefined;
function t(): Tables {
  if (tables !== undefined) return tables;
  const signs = new Float32Array(256 * 8);
  for (let b = 0; b < 256; b++) for (let j = 0; j < 8; j++) signs[b * 8 + j] = (b >> j) & 1 ? -1 : 1;
  const grid1 = new Int8Array(bytesOf(IQ1S_GRID).buffer);
  const iq1 = new Float32Array(2 * grid1.length);
  for (let i = 0; i < grid1.length; i++) {
    iq1[i] = grid1[i]! + 0.125;
    iq1[grid1.length + i] = grid1[i]! - 0.125;
  }
  const e8m0Half = new Float32Array(256);
  const bits = new Uint32Array(e8m0Half.buffer);
  // 2^(e-128): below 2 the subnormals 2^-128 and 2^-127, above as exponent field e - 1.
  for (let e = 0; e < 256; e++) bits[e] = e < 2 ? 0x00200000 << e : (e - 1) << 23;
  const ue4m3Half = new Float32Array(256);
  for (let x = 0; x < 256; x++) {
    // ggml reads 4 exponent bits (bias 7) and 3 mantissa bits; bit 7 is ignored; 0 and 0x7F are zero.
    const exp = (x >> 3) & 15, man = x & 7;
    const v = x === 0 || x === 0x7f ? 0 : exp === 0 ? man * 2 ** -9 : (1 + man / 8) * 2 ** (exp - 7);
    ue4m3Half[x] = v * 0.5;
  }
  tables = {
    signs,
    ksigns: bytesOf(KSIGNS_IQ2XS),
    iq2xxs: gridValues(IQ2XXS_GRID),
    iq2xs: gridValues(IQ2XS_GRID),
    iq2s: gridValues(IQ2S_GRID),
    iq3xxs: gridValues(IQ3XXS_GRID),
    iq3s: gridValues(IQ3S_GRID),
    iq1,
    iq4nl: Float32Array.from(new Int8Array(bytesOf(KVALUES_IQ4NL).buffer)),
    fp4: Float32Array.from(new Int8Array(bytesOf(KVALUES_FP4).buffer)),
    e8m0Half,
    ue4m3Half,
  };
  return tables;
}

/**
 * IQ2_XXS (66 bytes): f16 d, then per 32 elements 8 bytes: 4 grid indices (8 values each) and a u32
 * whose top 4 bits are the scale and whose 4×7 low bits pick the sign bytes; x = (d·(0.5+s)/4)·g·±1.
 */
export function iq2_xxs(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { signs: S, ksigns: K, iq2xxs: G } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 66) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const q = p + 2 + 8 * ib;
      const aux = u32At(s, q + 4);
      const db = fr(fr(d * (0.5 + (aux >>> 28))) * 0.25);
      for (let l = 0; l < 4; l++, y += 8) {
        const g = s[q + l]! * 8;
        const sg = K[(aux >>> (7 * l)) & 127]! * 8;
        for (let j = 0; j < 8; j++) out[y + j] = db * G[g + j]! * S[sg + j]!;
      }
    }
  }
}

/** IQ2_XS (74 bytes): f16 d, 32 u16 (9-bit grid index, 7 sign bits), 8 bytes of two 4-bit scales. */
export function iq2_xs(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { signs: S, ksigns: K, iq2xs: G } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 74) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const sc = s[p + 66 + ib]!;
      const db0 = fr(fr(d * (0.5 + (sc & 15))) * 0.25);
      const db1 = fr(fr(d * (0.5 + (sc >> 4))) * 0.25);
      for (let l = 0; l < 4; l++, y += 8) {
        const q = u16At(s, p + 2 + 2 * (4 * ib + l));
        const g = (q & 511) * 8;
        const sg = K[q >> 9]! * 8;
        const db = l < 2 ? db0 : db1;
        for (let j = 0; j < 8; j++) out[y + j] = db * G[g + j]! * S[sg + j]!;
      }
    }
  }
}

/** IQ2_S (82 bytes): f16 d, 32 grid index bytes, 32 sign bytes, 8 bytes of index high bits, 8 of scales. */
export function iq2_s(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { signs: S, iq2s: G } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 82) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const sc = s[p + 74 + ib]!;
      const qh = s[p + 66 + ib]!;
      const db0 = fr(fr(d * (0.5 + (sc & 15))) * 0.25);
      const db1 = fr(fr(d * (0.5 + (sc >> 4))) * 0.25);
      for (let l = 0; l < 4; l++, y += 8) {
        const g = (s[p + 2 + 4 * ib + l]! | ((qh << (8 - 2 * l)) & 0x300)) * 8;
        const sg = s[p + 34 + 4 * ib + l]! * 8;
        const db = l < 2 ? db0 : db1;
        for (let j = 0; j < 8; j++) out[y + j] = db * G[g + j]! * S[sg + j]!;
      }
    }
  }
}

/**
 * IQ3_XXS (98 bytes): f16 d, 64 grid index bytes (4 values each), 8 u32 of a 4-bit scale and 4×7 sign
 * bits; x = (d·(0.5+s)/2)·g·±1.
 */
export function iq3_xxs(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { signs: S, ksigns: K, iq3xxs: G } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 98) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const aux = u32At(s, p + 66 + 4 * ib);
      const db = fr(fr(d * (0.5 + (aux >>> 28))) * 0.5);
      const q = p + 2 + 8 * ib;
      for (let l = 0; l < 4; l++, y += 8) {
        const g1 = s[q + 2 * l]! * 4;
        const g2 = s[q + 2 * l + 1]! * 4;
        const sg = K[(aux >>> (7 * l)) & 127]! * 8;
        for (let j = 0; j < 4; j++) {
          out[y + j] = db * G[g1 + j]! * S[sg + j]!;
          out[y + j + 4] = db * G[g2 + j]! * S[sg + j + 4]!;
        }
      }
    }
  }
}

/**
 * IQ3_S (110 bytes): f16 d, 64 grid index bytes, 8 bytes of index ninth bits, 32 sign bytes, 4 bytes
 * of two 4-bit scales; x = (d·(1+2s))·g·±1.
 */
export function iq3_s(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { signs: S, iq3s: G } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 110) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const sc = s[p + 106 + (ib >> 1)]!;
      const db = fr(d * (1 + 2 * (ib & 1 ? sc >> 4 : sc & 15)));
      const qh = s[p + 66 + ib]!;
      const q = p + 2 + 8 * ib;
      for (let l = 0; l < 4; l++, y += 8) {
        const g1 = (s[q + 2 * l]! | ((qh << (8 - 2 * l)) & 256)) * 4;
        const g2 = (s[q + 2 * l + 1]! | ((qh << (7 - 2 * l)) & 256)) * 4;
        const sg = s[p + 74 + 4 * ib + l]! * 8;
        for (let j = 0; j < 4; j++) {
          out[y + j] = db * G[g1 + j]! * S[sg + j]!;
          out[y + j + 4] = db * G[g2 + j]! * S[sg + j + 4]!;
        }
      }
    }
  }
}

/**
 * IQ1_S (50 bytes): f16 d, 32 grid index bytes, 8 u16 of 4×3 index high bits, a 3-bit scale and the
 * delta's sign; x = (d·(2s+1))·(g ± 1/8), g in {-1, 0, 1}.
 */
export function iq1_s(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { iq1: G } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 50) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const qh = u16At(s, p + 34 + 2 * ib);
      const dl = fr(d * (2 * ((qh >> 12) & 7) + 1));
      const half = qh & 0x8000 ? 16384 : 0;
      for (let l = 0; l < 4; l++, y += 8) {
        const g = half + (s[p + 2 + 4 * ib + l]! | (((qh >> (3 * l)) & 7) << 8)) * 8;
        for (let j = 0; j < 8; j++) out[y + j] = dl * G[g + j]!;
      }
    }
  }
}

/**
 * IQ1_M (56 bytes): 32 grid index bytes, 16 bytes of 3 index high bits and a delta sign per 8 values,
 * 8 bytes of 3-bit scales whose top nibbles together are the f16 d; x = (d·(2s+1))·(g ± 1/8).
 */
export function iq1_m(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { iq1: G } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 56) {
    const sc0 = u16At(s, p + 48), sc1 = u16At(s, p + 50), sc2 = u16At(s, p + 52), sc3 = u16At(s, p + 54);
    const d = d16[(sc0 >> 12) | ((sc1 >> 8) & 0x00f0) | ((sc2 >> 4) & 0x0f00) | (sc3 & 0xf000)]!;
    for (let ib = 0; ib < 8; ib++) {
      const sc = u16At(s, p + 48 + 2 * (ib >> 1));
      const shift = 6 * (ib & 1);
      const dl1 = fr(d * (2 * ((sc >> shift) & 7) + 1));
      const dl2 = fr(d * (2 * ((sc >> (shift + 3)) & 7) + 1));
      for (let l = 0; l < 4; l++, y += 8) {
        const qh = s[p + 32 + 2 * ib + (l >> 1)]!;
        const hi = l & 1 ? qh >> 4 : qh;
        const g = (hi & 8 ? 16384 : 0) + (s[p + 4 * ib + l]! | ((hi & 7) << 8)) * 8;
        const dl = l < 2 ? dl1 : dl2;
        for (let j = 0; j < 8; j++) out[y + j] = dl * G[g + j]!;
      }
    }
  }
}

/** IQ4_NL (18 bytes): f16 d, 16 bytes of 4-bit indices into 16 non-linear values; low nibbles first. */
export function iq4_nl(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { iq4nl: V } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 18, y += 32) {
    const d = d16[u16At(s, p)]!;
    for (let j = 0; j < 16; j++) {
      const q = s[p + 2 + j]!;
      out[y + j] = d * V[q & 15]!;
      out[y + j + 16] = d * V[q >> 4]!;
    }
  }
}

/** IQ4_XS (136 bytes): f16 d, u16 of 2-bit scale highs, 4 bytes of 4-bit scale lows, 128 bytes of indices; x = (d·(s-32))·v. */
export function iq4_xs(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const { iq4nl: V } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 136) {
    const d = d16[u16At(s, p)]!;
    const sh = u16At(s, p + 2);
    for (let ib = 0; ib < 8; ib++, y += 32) {
      const ls = ((s[p + 4 + (ib >> 1)]! >> (4 * (ib & 1))) & 15) | (((sh >> (2 * ib)) & 3) << 4);
      const dl = fr(d * (ls - 32));
      const q0 = p + 8 + 16 * ib;
      for (let j = 0; j < 16; j++) {
        const q = s[q0 + j]!;
        out[y + j] = dl * V[q & 15]!;
        out[y + j + 16] = dl * V[q >> 4]!;
      }
    }
  }
}

/** MXFP4 (17 bytes): an E8M0 scale byte, 16 bytes of E2M1 codes; low nibbles are the first 16 elements. */
export function mxfp4(s: Uint8Array, blocks: number, out: Float32Array): void {
  const { fp4: V, e8m0Half: E } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 17, y += 32) {
    const d = E[s[p]!]!;
    for (let j = 0; j < 16; j++) {
      const q = s[p + 1 + j]!;
      out[y + j] = V[q & 15]! * d;
      out[y + j + 16] = V[q >> 4]! * d;
    }
  }
}

/** NVFP4 (36 bytes, 64 elements): 4 UE4M3 scale bytes, one per 16 elements, then 4×8 bytes of E2M1 codes. */
export function nvfp4(s: Uint8Array, blocks: number, out: Float32Array): void {
  const { fp4: V, ue4m3Half: U } = t();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 36) {
    for (let sub = 0; sub < 4; sub++, y += 16) {
      const d = U[s[p + sub]!]!;
      const q0 = p + 4 + 8 * sub;
      for (let j = 0; j < 8; j++) {
        const q = s[q0 + j]!;
        out[y + j] = V[q & 15]! * d;
        out[y + j + 8] = V[q >> 4]! * d;
      }
    }
  }
}
