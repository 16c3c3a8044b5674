/**
 * SHA-1 (FIPS 180-4), incremental: ONNX's external_data `checksum` is a SHA-1 hex digest, checked
 * while a tensor's bytes stream past (WebCrypto's digest cannot hash a stream). Used only to compare
 * with a digest the model gives, never as a security boundary.
 */
export class Sha1 {
  private readonly h = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]);
  private readonly w = new Int32Array(80);
  private readonly block = new Uint8Array(64);
  private filled = 0;
  private total = 0;

  update(bytes: Uint8Array): void {
    this.total += bytes.byteLength;
    let i = 0;
    if (this.filled > 0) {
      const n = Math.min(64 - this.filled, bytes.byteLength);
      this.block.set(bytes.subarray(0, n), this.filled);
      this.filled += n;
      i = n;
      if (this.filled < 64) return;
      this.compress(this.block, 0);
      this.filled = 0;
    }
    for (; i + 64 <= bytes.byteLength; i += 64) this.compress(bytes, i);
    if (i < bytes.byteLength) {
      this.block.set(bytes.subarray(i), 0);
      this.filled = bytes.byteLength - i;
    }
  }

  /** The digest as lower-case hex; ends the hash. */
  hex(): string {
    const bits = this.total * 8;
    const tail = new Uint8Array(((this.filled + 8) >> 6) * 64 + 64 - this.filled);
    tail[0] = 0x80;
    const v = new DataView(tail.buffer);
    v.setUint32(tail.byteLength - 8, Math.floor(bits / 2 ** 32));
    v.setUint32(tail.byteLength - 4, bits >>> 0);
    this.total -= tail.byteLength;
    this.update(tail);
    return [...this.h].map((x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  }

  private compress(b: Uint8Array, o: number): void {
    const w = this.w;
    for (let t = 0; t < 16; t++) w[t] = (b[o + 4 * t]! << 24) | (b[o + 4 * t + 1]! << 16) | (b[o + 4 * t + 2]! << 8) | b[o + 4 * t + 3]!;
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
      w[t] = (x << 1) | (x >>> 31);
    }
    let [a, bb, c, d, e] = this.h as unknown as [number, number, number, number, number];
    for (let t = 0; t < 80; t++) {
      const f = t < 20 ? (bb & c) | (~bb & d) : t < 40 ? bb ^ c ^ d : t < 60 ? (bb & c) | (bb & d) | (c & d) : bb ^ c ^ d;
      const k = t < 20 ? 0x5a827999 : t < 40 ? 0x6ed9eba1 : t < 60 ? 0x8f1bbcdc | 0 : 0xca62c1d6 | 0;
      const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    this.h[0] = (this.h[0]! + a) | 0;
    this.h[1] = (this.h[1]! + bb) | 0;
    this.h[2] = (this.h[2]! + c) | 0;
    this.h[3] = (this.h[3]! + d) | 0;
    this.h[4] = (this.h[4]! + e) | 0;
  }
}
