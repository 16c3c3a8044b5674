import { TensorsafeError } from '../errors.js';

/**
 * Big-endian tensor data to little-endian: the bytes of every `unit`-byte group reversed (2 for
 * 16-bit types, 4 for 32-bit ones and each half of a complex64, 8 for 64-bit ones). Written once for
 * every format with big-endian data (legacy torch storages, `>` NumPy arrays, big-endian GGUF).
 * The swap works a word at a time through 16- and 32-bit views, never byte by byte.
 */

/** Byte-swap units that exist: the element sizes of numeric dtypes. */
export const SWAP_UNITS: readonly number[] = [2, 4, 8];

/** Reverses every `unit`-byte group of `src` into `dst` (same length; may be the same array). */
export function swapInto(src: Uint8Array, dst: Uint8Array, unit: number): void {
  const n = src.byteLength;
  if (n % unit !== 0) throw new TensorsafeError('InvalidTensor', `cannot byte-swap ${n} bytes in units of ${unit}`);
  if (dst.byteLength !== n) throw new TensorsafeError('InvalidTensor', `byte swap into ${dst.byteLength} bytes from ${n}`);
  if (!SWAP_UNITS.includes(unit)) throw new TensorsafeError('InvalidTensor', `no byte swap in units of ${unit}`);
  const word = unit === 2 ? 2 : 4;
  // Views need aligned offsets: copy an unaligned source once (a chunk is rarely unaligned).
  const from = src.byteOffset % word === 0 ? src : src.slice();
  if (dst.byteOffset % word !== 0) {
    const tmp = new Uint8Array(n);
    swapInto(from, tmp, unit);
    dst.set(tmp);
    return;
  }
  if (unit === 2) {
    const a = new Uint16Array(from.buffer, from.byteOffset, n / 2);
    const b = new Uint16Array(dst.buffer, dst.byteOffset, n / 2);
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      b[i] = ((x & 0xff) << 8) | (x >>> 8);
    }
    return;
  }
  // Int32 views: every value is a small integer to the engine (a Uint32 over 2^31 would be a double).
  const a = new Int32Array(from.buffer, from.byteOffset, n / 4);
  const b = new Int32Array(dst.buffer, dst.byteOffset, n / 4);
  if (unit === 4) {
    for (let i = 0; i < a.length; i++) b[i] = swap32(a[i]!);
    return;
  }
  for (let i = 0; i < a.length; i += 2) {
    // Read both halves first: src and dst may be one array.
    const lo = a[i]!;
    const hi = a[i + 1]!;
    b[i] = swap32(hi);
    b[i + 1] = swap32(lo);
  }
}

function swap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** The bytes with every `unit`-byte group reversed, in a new array; the bytes themselves when there is nothing to swap. */
export function swapped(bytes: Uint8Array, unit: number | undefined): Uint8Array {
  if (!unit || unit === 1) return bytes;
  const out = new Uint8Array(bytes.byteLength);
  swapInto(bytes, out, unit);
  return out;
}

/**
 * A stream of big-endian chunks as little-endian ones. Chunks must hold whole groups (readers cut them
 * at element boundaries). The output reuses one buffer: a chunk is valid until the next is asked for,
 * as TensorEntry.chunks promises. The input's chunks are never written to (they may be a source's memory).
 */
export async function* swapChunks(chunks: AsyncIterable<Uint8Array>, unit: number | undefined): AsyncGenerator<Uint8Array> {
  if (!unit || unit === 1) {
    yield* chunks;
    return;
  }
  let buffer = new Uint8Array(0);
  for await (const chunk of chunks) {
    if (buffer.byteLength < chunk.byteLength) buffer = new Uint8Array(chunk.byteLength);
    const out = buffer.subarray(0, chunk.byteLength);
    swapInto(chunk, out, unit);
    yield out;
  }
}
