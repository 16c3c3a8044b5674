/**
 * CRC-32C (Castagnoli, polynomial 0x82f63b78), the checksum of LevelDB blocks and of TensorFlow's
 * tensor bundles: table-driven, sixteen bytes per step ("slicing by 16") read as four 32-bit words
 * (little-endian, as tensorsafe assumes its platform is), about 1.5 times slicing by 8 byte by byte.
 * Long runs go through the same loop written in WebAssembly (below, about twice as fast as the JS
 * loop, which stays for short runs and where WebAssembly is missing). The tables are built on first use.
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
  if (n >= WASM_MIN_BYTES) {
    const w = (wasm ??= instantiate(t));
    if (w) {
      // Whole 16-byte blocks through the module's staging area, a piece at a time; the rest below.
      const whole = n - (n & 15);
      for (; i < whole; i += WASM_STAGING_BYTES) {
        const piece = bytes.subarray(i, Math.min(whole, i + WASM_STAGING_BYTES));
        w.staging.set(piece);
        c = w.crc(WASM_DATA_AT, piece.length, c);
      }
      i = whole;
      for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
      return ~c >>> 0;
    }
  }
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

/** Runs shorter than this stay in JS (copying them to the module and calling it costs more than it saves). */
const WASM_MIN_BYTES = 4096;
/** The tables (16 × 256 words) sit at 0 in the module's memory, the bytes being checked after them. */
const WASM_DATA_AT = 16 * 1024;
/** Bytes copied into the module per call: bounds its memory (16 pages of 64 KiB, plus the tables' page). */
const WASM_STAGING_BYTES = 1 << 20;

interface CrcModule {
  /** CRC of `length` bytes (a multiple of 16) at `at` in the module's memory, from and to the inverted register as the JS loop keeps it. */
  readonly crc: (at: number, length: number, c: number) => number;
  readonly staging: Uint8Array;
}

let wasm: CrcModule | null | undefined;

/** The WebAssembly loop with the tables copied into its memory, or null where WebAssembly cannot run (the JS loop is used). */
function instantiate(t: Int32Array): CrcModule | null {
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(crcModuleBytes()));
    const memory = instance.exports.mem as WebAssembly.Memory;
    memory.grow(Math.ceil((WASM_DATA_AT + WASM_STAGING_BYTES) / 65536) - 1);
    new Int32Array(memory.buffer, 0, t.length).set(t);
    return { crc: instance.exports.crc as CrcModule['crc'], staging: new Uint8Array(memory.buffer, WASM_DATA_AT, WASM_STAGING_BYTES) };
  } catch {
    return null;
  }
}

/**
 * The module, assembled here (about 400 bytes): one memory ("mem") and one function ("crc", params
 * at, length, c; locals a, b, d, e) doing what the JS loop's 16-byte step does, the table lookups as
 * i32.load with the table's byte offset (k × 1024) as the load's constant offset.
 */
function crcModuleBytes(): Uint8Array<ArrayBuffer> {
  const leb = (v: number): number[] => {
    const out: number[] = [];
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      out.push(b);
    } while (v !== 0);
    return out;
  };
  const get = (l: number): number[] => [0x20, l];
  const set = (l: number): number[] => [0x21, l];
  // i32.const takes a signed LEB128: a non-negative constant whose last group has bit 6 set needs one more (zero) group.
  const i32 = (v: number): number[] => {
    const out = leb(v);
    if (out[out.length - 1]! & 0x40) {
      out[out.length - 1]! |= 0x80;
      out.push(0);
    }
    return [0x41, ...out];
  };
  const load = (offset: number): number[] => [0x28, 2, ...leb(offset)];
  const XOR = 0x73;
  // t[k*256 + ((v >>> shift) & 0xff)], as a byte address scaled by 4, then loaded at table k.
  const lookup = (k: number, v: number, shift: number): number[] => [
    ...get(v),
    ...(shift > 0 ? [...i32(shift), 0x76] : []),
    ...(shift < 24 ? [...i32(0xff), 0x71] : []),
    ...i32(2), 0x74,
    ...load(k * 1024),
  ];
  const [AT, LEN, C, A, B, D, E] = [0, 1, 2, 3, 4, 5, 6];
  const words: [number, number][] = [[A, 15], [B, 11], [D, 7], [E, 3]];
  const step: number[] = [];
  words.forEach(([v, top], w) => {
    for (let j = 0; j < 4; j++) {
      step.push(...lookup(top - j, v, 8 * j));
      if (w > 0 || j > 0) step.push(XOR);
    }
  });
  const body = [
    0x01, 0x04, 0x7f, // four i32 locals: a, b, d, e
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(LEN), 0x45, 0x0d, 0x01, // length == 0: out of the block
    ...get(AT), ...load(0), ...get(C), XOR, ...set(A),
    ...get(AT), ...load(4), ...set(B),
    ...get(AT), ...load(8), ...set(D),
    ...get(AT), ...load(12), ...set(E),
    ...step, ...set(C),
    ...get(AT), ...i32(16), 0x6a, ...set(AT),
    ...get(LEN), ...i32(16), 0x6b, ...set(LEN),
    0x0c, 0x00, // again
    0x0b, 0x0b, // end loop, end block
    ...get(C), 0x0b,
  ];
  const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
  const name = (s: string): number[] => [s.length, ...[...s].map((ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]), // type: (i32, i32, i32) -> i32
    ...section(3, [1, 0]), // one function of that type
    ...section(5, [1, 0x00, 1]), // one memory, one page to begin with
    ...section(7, [2, ...name('crc'), 0x00, 0, ...name('mem'), 0x02, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}
