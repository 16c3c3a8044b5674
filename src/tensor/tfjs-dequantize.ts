/** A weight's quantization as a TF.js manifest gives it (formats/tfjs/manifest.ts parses it). */
export type TfjsQuantization =
  | { readonly dtype: 'uint8' | 'uint16'; readonly scale: number; readonly min: number }
  | { readonly dtype: 'float16' };


/**
 * TF.js's dequantization, as tfjs-core's `io.decodeWeights` computes it, bit for bit:
 *  - uint8 and uint16 to float32: `q * scale + min` in double precision (scale and min are the JSON
 *    numbers), rounded once to float32 when stored in a Float32Array;
 *  - uint8 and uint16 to int32: `Math.round(q * scale + min)` in double precision, stored in an
 *    Int32Array (so wrapped modulo 2^32 as ToInt32 does, NaN and infinities to 0);
 *  - float16 to float32: the exact widening, NaN payloads and signalling bits kept as they are (tfjs's
 *    table decoder never quiets a NaN).
 * Quantized bytes are read through a DataView: shards pack weights without alignment.
 */

/** Bytes of one quantized element. */
export function quantizedBytes(q: TfjsQuantization): number {
  return q.dtype === 'uint8' ? 1 : 2;
}

/** The float32 or int32 bytes (little-endian) of `bytes`, whole quantized elements of `q`. */
export function dequantize(q: TfjsQuantization, dtype: 'float32' | 'int32', bytes: Uint8Array): Uint8Array {
  const n = bytes.byteLength / quantizedBytes(q);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (q.dtype === 'float16') {
    const out = new Uint32Array(n);
    const table = f16Table();
    for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)]!;
    return new Uint8Array(out.buffer);
  }
  const { scale, min } = q;
  const out = dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
  if (q.dtype === 'uint8') {
    // One value per code: 256 computations instead of one per element.
    const table = dtype === 'float32' ? new Float32Array(256) : new Int32Array(256);
    for (let c = 0; c < 256; c++) table[c] = dtype === 'float32' ? c * scale + min : Math.round(c * scale + min);
    for (let i = 0; i < n; i++) out[i] = table[bytes[i]!]!;
  } else if (dtype === 'float32') {
    for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true) * scale + min;
  } else {
    for (let i = 0; i < n; i++) out[i] = Math.round(view.getUint16(2 * i, true) * scale + min);
  }
  return new Uint8Array(out.buffer);
}

let F16: Uint32Array | undefined;

/** Float32 bits of every float16 code, built once (256 KiB). */
function f16Table(): Uint32Array {
  if (F16) return F16;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = f16Bits(h);
  return (F16 = t);
}

/** Float32 bits of a float16 code: exact, NaN bits kept (not quieted). */
function f16Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return (sign | 0x7f800000 | (m << 13)) >>> 0;
  if (e !== 0) return (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
  if (m === 0) return sign >>> 0;
  // Subnormal m·2^-24: move the leading 1 of m to bit 10, lowering the exponent as much.
  const shift = Math.clz32(m) - 21;
  return (sign | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)) >>> 0;
}
