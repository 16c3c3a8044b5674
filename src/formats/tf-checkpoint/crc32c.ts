/**
 * CRC-32C (Castagnoli, polynomial 0x82f63b78), the checksum of LevelDB blocks and of TensorFlow's
 * tensor bundles: table-driven, sixteen bytes per step ("slicing by 16") read as four 32-bit words
 * (little-endian, as tensorsafe assumes its platform is), about 1.5 times slicing by 8 byte by byte.
 * The tables are built on first use.
 */

let tables: Int32Array | undefined;
const EMPTY = new Int32Array(0);

function buildTables(): Int32Array {
  const t = new Int32Array(256 * 16);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/** The CRC-32C of `bytes` (unsigned); `seed` is the CRC of the bytes before them, so a tensor is checked chunk by chunk. */
export function crc32c(bytes: Uint8Array, seed = 0): number {
  const t = (tables ??= buildTables());
  let c = ~seed | 0;
  const n = bytes.length;
  let i = 0;
  // Bytes up to a 4-byte boundary one at a time, then 16 at a time as words, then the rest.
  const lead = Math.min(n, (4 - (bytes.byteOffset & 3)) & 3);
  for (; i < lead; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  const blocks = (n - i) >>> 4;
  const w = blocks > 0 ? new Int32Array(bytes.buffer, bytes.byteOffset + i, blocks * 4) : EMPTY;
  for (let k = 0; k < w.length; k += 4) {
    const a = c ^ w[k]!;
    const b = w[k + 1]!;
    const d = w[k + 2]!;
    const e = w[k + 3]!;
    c =
      t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^ t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]! ^
      t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^ t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^
      t[1792 + (d & 0xff)]! ^ t[1536 + ((d >>> 8) & 0xff)]! ^ t[1280 + ((d >>> 16) & 0xff)]! ^ t[1024 + (d >>> 24)]! ^
      t[768 + (e & 0xff)]! ^ t[512 + ((e >>> 8) & 0xff)]! ^ t[256 + ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
  }
  i += blocks * 16;
  for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** LevelDB's and TensorFlow's stored form of a CRC (crc32c::Mask): rotated and offset, so a CRC of bytes holding CRCs is not degenerate. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** The CRC a stored (masked) value stands for. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
