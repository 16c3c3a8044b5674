import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';
import { TensorsafeError } from '../errors.js';
import { toFloat32 } from '../dtype/float-codecs.js';

/**
 * Tensor bytes as numbers, for comparisons within a tolerance: floats through the codecs, integers
 * as doubles (exact up to 2^53), BOOL as 0/1, C64 as its real and imaginary parts in turn.
 */
export function valuesOf(dtype: Dtype, bytes: Uint8Array): Float64Array {
  const info = DTYPE_INFO[dtype];
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const view = <T>(Ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T =>
    new Ctor(aligned.buffer, aligned.byteOffset, aligned.byteLength / Ctor.BYTES_PER_ELEMENT);
  switch (dtype) {
    case 'F64':
      return Float64Array.from(view(Float64Array));
    case 'I64':
      return Float64Array.from(view(BigInt64Array), Number);
    case 'U64':
      return Float64Array.from(view(BigUint64Array), Number);
    case 'BOOL':
    case 'U8':
      return Float64Array.from(aligned);
    case 'I8':
      return Float64Array.from(view(Int8Array));
    case 'I16':
      return Float64Array.from(view(Int16Array));
    case 'U16':
      return Float64Array.from(view(Uint16Array));
    case 'I32':
      return Float64Array.from(view(Int32Array));
    case 'U32':
      return Float64Array.from(view(Uint32Array));
    default:
      if (info.kind === 'float' || info.kind === 'complex') return Float64Array.from(toFloat32(dtype, aligned));
      throw new TensorsafeError('InternalError', `no numeric view of ${dtype}`);
  }
}

/** Number of values a tensor of `elements` elements decodes to (C64: two per element). */
export function valueCount(dtype: Dtype, elements: number): number {
  return dtype === 'C64' ? elements * 2 : elements;
}
