/**
 * The checksums of chunk data: HDF5's Fletcher-32 (the fletcher32 filter) and Adler-32 (the zlib stream
 * inside the deflate filter). Metadata checksums are lookup3 (lookup3.ts).
 */

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
