import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';
import { TensorsafeError } from '../errors.js';
import { toFloat32 } from '../dtype/float-codecs.js';

/** The numbers a chunk of tensor bytes holds, as the typed array that reads them (see numericView). */
export type NumericView = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * Tensor bytes as a typed array of their numbers: a view of the bytes where the dtype has a native
 * array (F32, F64, the integers, BOOL as 0/1 bytes; copied only when misaligned), the float codecs'
 * Float32Array for F16, BF16, the F8, F6 and F4 types, and C64 as interleaved real and imaginary
 * float32 parts. `elements` caps the count (F4 and F6, whose last byte may be part padding).
 */
export function numericView(dtype: Dtype, bytes: Uint8Array, elements?: number): NumericView {
  const info = DTYPE_INFO[dtype];
  switch (dtype) {
    case 'BOOL':
    case 'U8':
      return elements === undefined ? bytes : bytes.subarray(0, elements);
    case 'F32':
    case 'F64':
    case 'I8':
    case 'I16':
    case 'U16':
    case 'I32':
    case 'U32':
    case 'I64':
    case 'U64': {
      const Ctor = info.array;
      const size = Ctor.BYTES_PER_ELEMENT;
      const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
      const n = Math.min(elements ?? Infinity, Math.floor(aligned.byteLength / size));
      return new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, n) as NumericView;
    }
    case 'C64': {
      const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
      const n = Math.min(elements ?? Infinity, Math.floor(aligned.byteLength / 8));
      return new Float32Array(aligned.buffer, aligned.byteOffset, 2 * n);
    }
    default:
      if (info.kind === 'float') return toFloat32(dtype, bytes, elements);
      throw new TensorsafeError('InternalError', `no numeric view of ${dtype}`);
  }
}

/**
 * Tensor bytes as numbers, for comparisons within a tolerance: floats through the codecs, integers
 * as doubles (exact up to 2^53), BOOL as 0/1, C64 as its real and imaginary parts in turn.
 */
export function valuesOf(dtype: Dtype, bytes: Uint8Array): Float64Array {
  const view = numericView(dtype, bytes);
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) return Float64Array.from(view, Number);
  return Float64Array.from(view);
}

/** Number of values a tensor of `elements` elements decodes to (C64: two per element). */
export function valueCount(dtype: Dtype, elements: number): number {
  return dtype === 'C64' ? elements * 2 : elements;
}
