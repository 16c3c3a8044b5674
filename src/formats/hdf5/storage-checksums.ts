/**
 * The checksums the storage side verifies: Jenkins' lookup3 (HDF5's metadata checksum over fixed and
 * extensible arrays and v2 B-trees), HDF5's Fletcher-32 (the fletcher32 filter) and Adler-32 (the zlib
 * stream inside the deflate filter).
 */

function rot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Jenkins' lookup3 `hashlittle` over bytes, as HDF5's H5_checksum_lookup3 computes it (metadata: initval 0). */
export function lookup3(data: Uint8Array, initval = 0): number {
  let length = data.length;
  let a = (0xdeadbeef + length + initval) | 0;
  let b = a;
  let c = a;
  let p = 0;
  while (length > 12) {
    a = (a + (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24))) | 0;
    b = (b + (data[p + 4]! | (data[p + 5]! << 8) | (data[p + 6]! << 16) | (data[p + 7]! << 24))) | 0;
    c = (c + (data[p + 8]! | (data[p + 9]! << 8) | (data[p + 10]! << 16) | (data[p + 11]! << 24))) | 0;
    // mix(a, b, c)
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    length -= 12;
    p += 12;
  }
  if (length === 0) return c >>> 0;
  // The last 1 to 12 bytes, zero-padded.
  const tail = new Uint8Array(12);
  tail.set(data.subarray(p, p + length));
  a = (a + (tail[0]! | (tail[1]! << 8) | (tail[2]! << 16) | (tail[3]! << 24))) | 0;
  b = (b + (tail[4]! | (tail[5]! << 8) | (tail[6]! << 16) | (tail[7]! << 24))) | 0;
  c = (c + (tail[8]! | (tail[9]! << 8) | (tail[10]! << 16) | (tail[11]! << 24))) | 0;
  // final(a, b, c)
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

/** HDF5's Fletcher-32 (H5_checksum_fletcher32): big-endian 16-bit words, sums from 0, folded every 360 words. */
export function fletcher32(data: Uint8Array): number {
  let sum1 = 0;
  let sum2 = 0;
  let words = data.length >>> 1;
  let p = 0;
  while (words > 0) {
    let n = words > 360 ? 360 : words;
    words -= n;
    do {
      sum1 += (data[p]! << 8) | data[p + 1]!;
      p += 2;
      sum2 += sum1;
    } while (--n);
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  if (data.length % 2) {
    sum1 += data[p]! << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  return ((sum2 << 16) | sum1) >>> 0;
}

/** Adler-32 (RFC 1950), summed in blocks short enough that the sums never overflow before the modulo. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  const BLOCK = 5552;
  for (let start = 0; start < data.length; start += BLOCK) {
    const end = Math.min(data.length, start + BLOCK);
    for (let i = start; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}
