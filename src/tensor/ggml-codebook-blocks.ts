import { IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID, KSIGNS_IQ2XS, KVALUES_FP4, KVALUES_IQ4NL, type GgmlCodebook } from './ggml-codebooks.js';
import { f16Values, u16At, u32At } from './ggml-f16.js';

/**
 * ggml's codebook block formats decoded to float32: the IQ types (a block stores indices into a grid
 * of 4 or 8 magnitudes, sign bits and sub-block scales) and the FP4 types (E2M1 codes under an E8M0
 * or UE4M3 scale). Written from the block layouts of ggml-common.h and the tables it defines
 * (tensor/ggml-codebooks.ts, generated from it). Each table is expanded on first use into float32
 * values (the IQ2/IQ3 grids with their sign patterns folded in), so an element is one lookup and one
 * product. Where ggml's C rounds an intermediate float (a sub-block scale) it is rounded here with
 * Math.fround; a final product of a float32 and a small integer or an E2M1 value is exact in a double
 * and rounded once by the Float32Array store, as C rounds it once: the values equal libggml's
 * dequantize_row_* bit for bit.
 */

const fr = Math.fround;

/** A codebook's bytes, decoded from its base64 (once per table). */
function bytesOf(c: GgmlCodebook): Uint8Array {
  const s = atob(c.base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A table made on first use (each is used only by the types that need it). */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * A grid of unsigned byte codes with its signs folded in, as float32: the grid read as groups of 4
 * values (an 8-value grid point is 2 groups), and for each group its 16 sign patterns:
 * out[(group·16 + signs)·4 + j] is -v when bit j of the 4 sign bits is set, else v. So an element
 * is one lookup and one product with the scale: -(d·v) and d·(-v) are the same float (round to
 * nearest is symmetric), and the table is 64 floats per grid point of 4 (512 KiB for IQ2_S's 1024).
 */
function signedQuads(c: GgmlCodebook): Float32Array {
  const v = bytesOf(c);
  const out = new Float32Array(v.length * 16);
  for (let g = 0; g < v.length; g += 4) {
    for (let n = 0; n < 16; n++) for (let j = 0; j < 4; j++) out[g * 16 + n * 4 + j] = (n >> j) & 1 ? -v[g + j]! : v[g + j]!;
  }
  return out;
}

const iq2xxsGrid = once(() => signedQuads(IQ2XXS_GRID));
const iq2xsGrid = once(() => signedQuads(IQ2XS_GRID));
const iq2sGrid = once(() => signedQuads(IQ2S_GRID));
const iq3xxsGrid = once(() => signedQuads(IQ3XXS_GRID));
const iq3sGrid = once(() => signedQuads(IQ3S_GRID));
/** ggml's ksigns: 7 stored sign bits → the sign byte (an eighth bit makes the count of minus signs even). */
const ksigns = once(() => bytesOf(KSIGNS_IQ2XS));
/** IQ1 grid values plus the delta: 0–16383 with +1/8, 16384–32767 with -1/8 (all exact in float32). */
const iq1Grid = once(() => {
  const grid = new Int8Array(bytesOf(IQ1S_GRID).buffer);
  const out = new Float32Array(2 * grid.length);
  for (let i = 0; i < grid.length; i++) {
    out[i] = grid[i]! + 0.125;
    out[grid.length + i] = grid[i]! - 0.125;
  }
  return out;
});
const iq4nlValues = once(() => Float32Array.from(new Int8Array(bytesOf(KVALUES_IQ4NL).buffer)));
const fp4Values = once(() => Float32Array.from(new Int8Array(bytesOf(KVALUES_FP4).buffer)));
/** MXFP4's E8M0 scale halved (the FP4 values are doubled) for each byte: 2^(e-128), as float32 bits. */
const e8m0Half = once(() => {
  const bits = new Uint32Array(256);
  // Below 2 the subnormals 2^-128 and 2^-127; above, exponent field e - 1.
  for (let e = 0; e < 256; e++) bits[e] = e < 2 ? 0x00200000 << e : (e - 1) << 23;
  return new Float32Array(bits.buffer);
});
/** NVFP4's UE4M3 scale halved for each byte: 4 exponent bits (bias 7), 3 mantissa bits; bit 7 ignored; 0 and 0x7F are zero. */
const ue4m3Half = once(() => {
  const out = new Float32Array(256);
  for (let x = 0; x < 256; x++) {
    const exp = (x >> 3) & 15, man = x & 7;
    out[x] = (x === 0 || x === 0x7f ? 0 : exp === 0 ? man * 2 ** -9 : (1 + man / 8) * 2 ** (exp - 7)) * 0.5;
  }
  return out;
});

/** IQ2's sub-block scale for 4-bit s: (d·(0.5+s))/4, each step rounded to float32 as ggml rounds it. */
function iq2Scale(d: number, s: number): number {
  return fr(fr(d * (0.5 + s)) * 0.25);
}

/** Eight elements at y: the scale times the 4 table values at a, then the 4 at c (unrolled: the hot loop). */
function eight(out: Float32Array, y: number, db: number, T: Float32Array, a: number, c: number): void {
  out[y] = db * T[a]!;
  out[y + 1] = db * T[a + 1]!;
  out[y + 2] = db * T[a + 2]!;
  out[y + 3] = db * T[a + 3]!;
  out[y + 4] = db * T[c]!;
  out[y + 5] = db * T[c + 1]!;
  out[y + 6] = db * T[c + 2]!;
  out[y + 7] = db * T[c + 3]!;
}

/**
 * IQ2_XXS (66 bytes): f16 d, then per 32 elements 8 bytes: 4 grid indices (8 values each) and a u32
 * whose top 4 bits are the scale and whose 4×7 low bits pick the sign bytes; x = (d·(0.5+s)/4)·g·±1.
 */
export function iq2_xxs(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const K = ksigns();
  const T = iq2xxsGrid();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 66) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const q = p + 2 + 8 * ib;
      const aux = u32At(s, q + 4);
      const db = iq2Scale(d, aux >>> 28);
      for (let l = 0; l < 4; l++, y += 8) {
        const g = s[q + l]! * 128;
        const sg = K[(aux >>> (7 * l)) & 127]!;
        eight(out, y, db, T, g + (sg & 15) * 4, g + 64 + (sg >> 4) * 4);
      }
    }
  }
}

/** IQ2_XS (74 bytes): f16 d, 32 u16 (9-bit grid index, 7 sign bits), 8 bytes of two 4-bit scales. */
export function iq2_xs(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const K = ksigns();
  const T = iq2xsGrid();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 74) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const sc = s[p + 66 + ib]!;
      const db0 = iq2Scale(d, sc & 15);
      const db1 = iq2Scale(d, sc >> 4);
      for (let l = 0; l < 4; l++, y += 8) {
        const q = u16At(s, p + 2 + 2 * (4 * ib + l));
        const g = (q & 511) * 128;
        const sg = K[q >> 9]!;
        eight(out, y, l < 2 ? db0 : db1, T, g + (sg & 15) * 4, g + 64 + (sg >> 4) * 4);
      }
    }
  }
}

/** IQ2_S (82 bytes): f16 d, 32 grid index bytes, 32 sign bytes, 8 bytes of index high bits, 8 of scales. */
export function iq2_s(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const T = iq2sGrid();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 82) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const sc = s[p + 74 + ib]!;
      const qh = s[p + 66 + ib]!;
      const db0 = iq2Scale(d, sc & 15);
      const db1 = iq2Scale(d, sc >> 4);
      for (let l = 0; l < 4; l++, y += 8) {
        const g = (s[p + 2 + 4 * ib + l]! | ((qh << (8 - 2 * l)) & 0x300)) * 128;
        const sg = s[p + 34 + 4 * ib + l]!;
        eight(out, y, l < 2 ? db0 : db1, T, g + (sg & 15) * 4, g + 64 + (sg >> 4) * 4);
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
  const K = ksigns();
  const T = iq3xxsGrid();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 98) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const aux = u32At(s, p + 66 + 4 * ib);
      const db = fr(fr(d * (0.5 + (aux >>> 28))) * 0.5);
      const q = p + 2 + 8 * ib;
      for (let l = 0; l < 4; l++, y += 8) {
        const sg = K[(aux >>> (7 * l)) & 127]!;
        eight(out, y, db, T, s[q + 2 * l]! * 64 + (sg & 15) * 4, s[q + 2 * l + 1]! * 64 + (sg >> 4) * 4);
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
  const T = iq3sGrid();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 110) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const sc = s[p + 106 + (ib >> 1)]!;
      const db = fr(d * (1 + 2 * (ib & 1 ? sc >> 4 : sc & 15)));
      const qh = s[p + 66 + ib]!;
      const q = p + 2 + 8 * ib;
      for (let l = 0; l < 4; l++, y += 8) {
        const g1 = (s[q + 2 * l]! | ((qh << (8 - 2 * l)) & 256)) * 64;
        const g2 = (s[q + 2 * l + 1]! | ((qh << (7 - 2 * l)) & 256)) * 64;
        const sg = s[p + 74 + 4 * ib + l]!;
        eight(out, y, db, T, g1 + (sg & 15) * 4, g2 + (sg >> 4) * 4);
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
  const G = iq1Grid();
  for (let b = 0, p = 0, y = 0; b < blocks; b++, p += 50) {
    const d = d16[u16At(s, p)]!;
    for (let ib = 0; ib < 8; ib++) {
      const qh = u16At(s, p + 34 + 2 * ib);
      const dl = fr(d * (2 * ((qh >> 12) & 7) + 1));
      const half = qh & 0x8000 ? 16384 : 0;
      for (let l = 0; l < 4; l++, y += 8) {
        const g = half + (s[p + 2 + 4 * ib + l]! | (((qh >> (3 * l)) & 7) << 8)) * 8;
        eight(out, y, dl, G, g, g + 4);
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
  const G = iq1Grid();
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
        eight(out, y, dl, G, g, g + 4);
      }
    }
  }
}

/** IQ4_NL (18 bytes): f16 d, 16 bytes of 4-bit indices into 16 non-linear values; low nibbles first. */
export function iq4_nl(s: Uint8Array, blocks: number, out: Float32Array): void {
  const d16 = f16Values();
  const V = iq4nlValues();
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
  const V = iq4nlValues();
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
  const V = fp4Values();
  const E = e8m0Half();
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
  const V = fp4Values();
  const U = ue4m3Half();
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
