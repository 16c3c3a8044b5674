/**
 * SHA-256 (FIPS 180-4) in TypeScript, incremental, for browsers: WebCrypto's `digest` cannot hash a
 * stream, and a model's tensors must be hashed chunk by chunk without holding them in memory.
 * Node injects its faster `node:crypto` hasher instead (see node/integrity.ts).
 *
 * Blocks are read straight from the caller's bytes into a reused 32-bit typed-array schedule (Int32Array:
 * the words stay small integers to V8, where a Uint32Array's upper half would become doubles); nothing is
 * allocated per block or per byte. About 150–200 MB/s on a current x64 core, against Node's 1.5+ GB/s.
 */

import { TensorsafeError } from '../errors.js';

/** What a manifest needs of a hash function: bytes in, in order; the digest once at the end. */
export interface Hasher {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
}

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19] as const;

const BLOCK = 64;

/** An incremental SHA-256; `digest()` ends it (a later `update` or `digest` throws). */
export function createSha256(): Hasher {
  return new Sha256();
}

/** SHA-256 of bytes already in memory. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const h = new Sha256();
  h.update(bytes);
  return h.digest();
}

class Sha256 implements Hasher {
  private readonly state = new Int32Array(INITIAL);
  private readonly w = new Int32Array(64);
  /** The bytes of an incomplete block, waiting for more input. */
  private readonly pending = new Uint8Array(BLOCK);
  private pendingLength = 0;
  private total = 0;
  private finished = false;

  update(bytes: Uint8Array): void {
    if (this.finished) throw new TensorsafeError('Closed', 'sha256: update() after digest()');
    let at = 0;
    const n = bytes.byteLength;
    this.total += n;
    if (this.pendingLength > 0) {
      const take = Math.min(BLOCK - this.pendingLength, n);
      this.pending.set(bytes.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      at = take;
      if (this.pendingLength < BLOCK) return;
      this.blocks(this.pending, 0, BLOCK);
      this.pendingLength = 0;
    }
    const whole = at + Math.floor((n - at) / BLOCK) * BLOCK;
    if (whole > at) this.blocks(bytes, at, whole);
    if (whole < n) {
      this.pending.set(bytes.subarray(whole, n), 0);
      this.pendingLength = n - whole;
    }
  }

  digest(): Uint8Array {
    if (this.finished) throw new TensorsafeError('Closed', 'sha256: digest() called twice');
    this.finished = true;
    const p = this.pending;
    let len = this.pendingLength;
    p[len++] = 0x80;
    if (len > BLOCK - 8) {
      p.fill(0, len);
      this.blocks(p, 0, BLOCK);
      len = 0;
    }
    p.fill(0, len, BLOCK - 8);
    // The message length in bits, as a big-endian 64-bit number (exact up to 2^53 bytes).
    const hi = Math.floor(this.total / 0x2000_0000);
    const lo = (this.total % 0x2000_0000) * 8;
    writeU32(p, 56, hi);
    writeU32(p, 60, lo);
    this.blocks(p, 0, BLOCK);
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) writeU32(out, i * 4, this.state[i]!);
    return out;
  }

  /** Compresses the whole 64-byte blocks of bytes[from, to). */
  private blocks(bytes: Uint8Array, from: number, to: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const w = this.w;
    const s = this.state;
    let a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!, e = s[4]!, f = s[5]!, g = s[6]!, h = s[7]!;
    for (let at = from; at < to; at += BLOCK) {
      for (let i = 0; i < 16; i++) w[i] = view.getInt32(at + (i << 2)); // big-endian words
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15]!;
        const y = w[i - 2]!;
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
      }
      let A = a, B = b, C = c, D = d, E = e, F = f, G = g, H = h;
      for (let i = 0; i < 64; i++) {
        const S1 = ((E >>> 6) | (E << 26)) ^ ((E >>> 11) | (E << 21)) ^ ((E >>> 25) | (E << 7));
        const t1 = (H + S1 + (G ^ (E & (F ^ G))) + K[i]! + w[i]!) | 0; // Ch(E, F, G)
        const S0 = ((A >>> 2) | (A << 30)) ^ ((A >>> 13) | (A << 19)) ^ ((A >>> 22) | (A << 10));
        const t2 = (S0 + ((A & B) | (C & (A | B)))) | 0; // Maj(A, B, C)
        H = G;
        G = F;
        F = E;
        E = (D + t1) | 0;
        D = C;
        C = B;
        B = A;
        A = (t1 + t2) | 0;
      }
      a = (a + A) | 0;
      b = (b + B) | 0;
      c = (c + C) | 0;
      d = (d + D) | 0;
      e = (e + E) | 0;
      f = (f + F) | 0;
      g = (g + G) | 0;
      h = (h + H) | 0;
    }
    s[0] = a;
    s[1] = b;
    s[2] = c;
    s[3] = d;
    s[4] = e;
    s[5] = f;
    s[6] = g;
    s[7] = h;
  }
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** Lower-case hexadecimal of bytes (digests). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.byteLength; i++) s += HEX[bytes[i]!];
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
