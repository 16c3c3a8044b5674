import { TensorsafeError } from '../errors.js';
import { encodeFloat32BitsInto } from '../dtype/float-codecs.js';
import { DEFAULT_CHUNK_BYTES, type TensorEntry } from './tensor-set.js';

/**
 * Casting F32 tensors to F16 or BF16 as they stream (convert's --dtype): each value rounded to nearest,
 * ties to even, overflow to ±inf, as torch's `.to(torch.float16 / torch.bfloat16)` rounds the same
 * float32 (dtype/float-codecs.ts; a NaN stays a NaN of the same sign). Applied to the tensors whose
 * values were computed as F32 (dequantized: `derived`, `decoded`); a tensor stored as it is keeps its dtype.
 */

export type CastDtype = 'F16' | 'BF16';

/** Whether `--dtype` applies to an entry: F32 values a decoder computed (dequantized blocks). */
export function castable(entry: TensorEntry): boolean {
  return entry.dtype === 'F32' && entry.encoding.layout === 'decoded' && entry.fidelity === 'derived';
}

/** The entry cast to `to`: the same name and shape, half the bytes, its decoder named `<decoder>+<to>`. */
export function castEntry(entry: TensorEntry, to: CastDtype): TensorEntry {
  return {
    ...entry,
    dtype: to,
    byteLength: entry.byteLength / 2,
    fidelity: 'derived',
    stored: undefined,
    encoding: { ...entry.encoding, decoder: `${entry.encoding.decoder ?? ''}+${to.toLowerCase()}` },
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => castChunks(entry.chunks(Math.max(4, chunkBytes * 2)), to, chunkBytes),
  };
}

/**
 * The F16/BF16 bytes of a stream of F32 bytes: converted into one reused buffer, handed out in pieces
 * of at most `chunkBytes` (valid until the next is asked for). Chunks may split an element: the
 * partial element waits for the next chunk.
 */
export async function* castChunks(chunks: AsyncIterable<Uint8Array>, to: CastDtype, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  let scratch = new Uint32Array(0);
  let out = new Uint16Array(0);
  const carry = new Uint8Array(4);
  let carried = 0;
  const step = Math.max(2, Math.floor(chunkBytes / 2) * 2);
  for await (const chunk of chunks) {
    let c = chunk;
    if (carried > 0) {
      const take = Math.min(4 - carried, c.byteLength);
      carry.set(c.subarray(0, take), carried);
      carried += take;
      c = c.subarray(take);
      if (carried < 4) continue;
    }
    const body = c.byteLength - (c.byteLength % 4);
    const n = (carried === 4 ? 1 : 0) + body / 4;
    let bits: Uint32Array;
    if (carried === 0 && c.byteOffset % 4 === 0) {
      bits = new Uint32Array(c.buffer, c.byteOffset, n); // aligned: read in place
    } else {
      if (n > scratch.length) scratch = new Uint32Array(n);
      const bytes = new Uint8Array(scratch.buffer, 0, n * 4);
      if (carried === 4) bytes.set(carry, 0);
      bytes.set(c.subarray(0, body), carried);
      bits = scratch.subarray(0, n);
    }
    carried = c.byteLength - body;
    carry.set(c.subarray(body), 0);
    if (n > out.length) out = new Uint16Array(Math.max(n, out.length * 2));
    encodeFloat32BitsInto(to, bits, out.subarray(0, n));
    const outBytes = new Uint8Array(out.buffer, 0, n * 2);
    for (let at = 0; at < outBytes.length; at += step) yield outBytes.subarray(at, Math.min(outBytes.length, at + step));
  }
  if (carried > 0) throw new TensorsafeError('InvalidTensor', `an F32 tensor cast to ${to} ends with ${carried} bytes, not a whole element`);
}
