/**
 * 4-bit integers packed two a byte, element 0 in the low nibble (ONNX INT4/UINT4), unpacked to one
 * byte each: signed values sign-extended (0xF → -1 as 0xFF), unsigned ones as they are. A 256-entry
 * table gives both output bytes of an input byte at once; no per-element branch.
 */

function table(signed: boolean): Uint16Array {
  const t = new Uint16Array(256);
  const ext = (n: number): number => (signed && n >= 8 ? n - 16 : n) & 0xff;
  // Little-endian pairs: the low output byte (the low nibble) comes first in memory.
  for (let b = 0; b < 256; b++) t[b] = ext(b & 0x0f) | (ext(b >> 4) << 8);
  return t;
}

const SIGNED = table(true);
const UNSIGNED = table(false);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Unpacks `packed` into `out` (two bytes per input byte; `out` may be one byte short for an odd count). */
export function unpackNibbles(packed: Uint8Array, signed: boolean, out: Uint8Array): void {
  const t = signed ? SIGNED : UNSIGNED;
  const whole = Math.min(packed.byteLength, out.byteLength >> 1);
  if (LITTLE_ENDIAN && out.byteOffset % 2 === 0) {
    const pairs = new Uint16Array(out.buffer, out.byteOffset, whole);
    for (let i = 0; i < whole; i++) pairs[i] = t[packed[i]!]!;
  } else {
    for (let i = 0; i < whole; i++) {
      const v = t[packed[i]!]!;
      out[2 * i] = v & 0xff;
      out[2 * i + 1] = v >> 8;
    }
  }
  // An odd count: the last byte's high nibble is padding.
  if (out.byteLength > 2 * whole && packed.byteLength > whole) out[2 * whole] = t[packed[whole]!]! & 0xff;
}

/**
 * Packed chunks (any sizes) as unpacked chunks of `count` elements in all: the stream's bytes are
 * consumed whole, the last one's high nibble dropped when `count` is odd.
 */
export async function* unpackNibbleChunks(packed: AsyncIterable<Uint8Array>, signed: boolean, count: number): AsyncGenerator<Uint8Array> {
  let done = 0;
  for await (const chunk of packed) {
    const n = Math.min(chunk.byteLength * 2, count - done);
    if (n <= 0) continue;
    const out = new Uint8Array(n);
    unpackNibbles(chunk, signed, out);
    done += n;
    yield out;
  }
}
