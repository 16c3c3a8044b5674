import { f16ToF32 } from '../dtype/float-codecs.js';

/** What every ggml block decoder reads first: F16 scales, little-endian u16 fields. */

let f16Table: Float32Array | undefined;
/** Every F16 code's float value, built once (256 KiB): a block's scale is one lookup. */
export function f16Values(): Float32Array {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  return f16Table;
}

/** The little-endian u16 at `at`. */
export const u16At = (s: Uint8Array, at: number): number => s[at]! | (s[at + 1]! << 8);

/** The little-endian u32 at `at`, unsigned. */
export const u32At = (s: Uint8Array, at: number): number => (s[at]! | (s[at + 1]! << 8) | (s[at + 2]! << 16) | (s[at + 3]! << 24)) >>> 0;
