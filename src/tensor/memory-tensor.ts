import type { Dtype } from '../dtype/dtypes.js';
import { DEFAULT_CHUNK_BYTES, STORED, type TensorEntry } from './tensor-set.js';

/**
 * A tensor whose values a reader computed into memory from text (PMML's decimal numbers, PFA's JSON
 * arrays): its little-endian bytes, streamed in chunks of whole elements. `fidelity` is `exact` when the
 * values are the source's own, read as its producer reads them.
 */
export function memoryTensor(name: string, dtype: Dtype, shape: readonly number[], bytes: Uint8Array, elementBytes: number): TensorEntry {
  return {
    name,
    dtype,
    shape: [...shape],
    byteLength: bytes.byteLength,
    encoding: STORED,
    fidelity: 'exact',
    async *chunks(chunkBytes = DEFAULT_CHUNK_BYTES) {
      const step = Math.max(elementBytes, chunkBytes - (chunkBytes % elementBytes));
      for (let at = 0; at < bytes.byteLength; at += step) yield bytes.subarray(at, Math.min(bytes.byteLength, at + step));
    },
  };
}

/** A float64 tensor of these values (host order is little-endian on every platform Node and browsers run on; checked). */
export function float64Tensor(name: string, shape: readonly number[], values: Float64Array): TensorEntry {
  return memoryTensor(name, 'F64', shape, littleEndianBytes(values), 8);
}

/** An int64 tensor of these values. */
export function int64Tensor(name: string, shape: readonly number[], values: BigInt64Array): TensorEntry {
  return memoryTensor(name, 'I64', shape, littleEndianBytes(values), 8);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(values: Float64Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 8) for (let k = 0; k < 8; k++) out[i + k] = bytes[i + 7 - k]!;
  return out;
}
