import { TensorsafeError } from '../errors.js';
import { DTYPE_INFO, type Dtype, type DtypeArrays } from '../dtype/dtypes.js';
import { fromFloat32, toFloat32 } from '../dtype/float-codecs.js';
import { bytesOf, elementCount, tensorBytes, typedArrayFromBytes } from '../dtype/tensor.js';
import type { TensorLike } from '../safetensors/tensor-input.js';

/**
 * Values between safetensors dtypes and the few a runtime has. Widening (F16 → float32, I8 → int32) is
 * always exact; narrowing (I64 → int32, float32 → BF16) happens only when every value survives, else
 * a LossyConversion error names the tensor and the first value that would change. The one rounding
 * allowed, with `lossy`, is float: F64 → float32, float32 → F16/BF16/F8/F6/F4.
 */

/** A tensor's data as its dtype's typed array: a view on its bytes when aligned, one copy when not. */
export function dataOf<D extends Dtype>(name: string, tensor: TensorLike & { dtype: D }): DtypeArrays[D] {
  return typedArrayFromBytes(tensor.dtype, tensorBytes(name, tensor));
}

/** The values of a float dtype other than F32 and F64 (F16, BF16, F8, F6, F4) as float32: exact, a new array. */
export function decodedFloats(name: string, tensor: TensorLike): Float32Array {
  return toFloat32(tensor.dtype, tensorBytes(name, tensor), elementCount(tensor.shape));
}

/** F64 values as float32; without `lossy`, only when each is a float32 (NaN stays NaN). */
export function f64AsF32(name: string, f64: Float64Array, lossy: boolean, runtime: string): Float32Array {
  const f32 = new Float32Array(f64); // native conversion: round to nearest, ties to even
  if (!lossy) {
    for (let i = 0; i < f64.length; i++) {
      const v = f64[i]!;
      if (f32[i] !== v && v === v) throw lossyError(name, `F64 value ${v} at element ${i} is not a float32 and ${runtime} has no float64`, 'pass { lossy: true } to round it');
    }
  }
  return f32;
}

/** Integers as int32 when every value fits: U32 as a view on its bytes, I64 and U64 in one pass, the narrow ones widened. */
export function intsAsI32(name: string, dtype: Dtype, data: DtypeArrays[Dtype], runtime: string): Int32Array {
  if (dtype === 'I32') return data as Int32Array;
  if (dtype === 'I8' || dtype === 'U8' || dtype === 'I16' || dtype === 'U16') return new Int32Array(data as Int8Array | Uint8Array | Int16Array | Uint16Array);
  const outOfRange = (i: number, v: bigint | number): TensorsafeError =>
    lossyError(name, `${dtype} value ${v} at element ${i} is outside int32's range, the only integers ${runtime} holds`, 'integers are never rounded');
  if (dtype === 'U32' && data instanceof Uint32Array) {
    const view = new Int32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < view.length; i++) if (view[i]! < 0) throw outOfRange(i, data[i]!);
    return view;
  }
  if ((dtype === 'I64' && data instanceof BigInt64Array) || (dtype === 'U64' && data instanceof BigUint64Array)) {
    // Little-endian words: (low, high). A value fits when high is low's sign (I64) or zero with low ≥ 0 (U64).
    const words = new Int32Array(data.buffer, data.byteOffset, 2 * data.length);
    const out = new Int32Array(data.length);
    const signed = data instanceof BigInt64Array;
    for (let i = 0; i < out.length; i++) {
      const lo = words[2 * i]!;
      const hi = words[2 * i + 1]!;
      if (signed ? hi !== lo >> 31 : hi !== 0 || lo < 0) throw outOfRange(i, data[i]!);
      out[i] = lo;
    }
    return out;
  }
  throw new TensorsafeError('InternalError', `tensor \`${name}\`: ${dtype} is not an integer dtype`);
}

/** The integer dtypes' ranges, for narrowing int32 values back. */
const INT_RANGE: Partial<Record<Dtype, readonly [number, number]>> = {
  I8: [-128, 127],
  U8: [0, 255],
  I16: [-32768, 32767],
  U16: [0, 65535],
  U32: [0, 2 ** 31 - 1],
  U64: [0, 2 ** 31 - 1],
};

/** int32 values as `dtype` (I8 … U64), when every value fits; the bytes of the result. */
export function i32As(name: string, values: Int32Array, dtype: Dtype): Uint8Array {
  if (dtype === 'I32') return bytesOf(values);
  const range = INT_RANGE[dtype];
  if (range) {
    const [min, max] = range;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < min || v > max) throw lossyError(name, `int32 value ${v} at element ${i} does not fit ${dtype}`, 'integers are never rounded');
    }
  }
  if (dtype === 'I64' || dtype === 'U64') {
    const words = new Int32Array(2 * values.length);
    for (let i = 0; i < values.length; i++) {
      words[2 * i] = values[i]!;
      words[2 * i + 1] = values[i]! >> 31;
    }
    return bytesOf(words);
  }
  if (dtype === 'U32') return bytesOf(values); // every value is ≥ 0: the same bits
  const Ctor = DTYPE_INFO[dtype].array as Int8ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor;
  return bytesOf(new Ctor(values));
}

/**
 * float32 values as `dtype` (F32, F64, F16, BF16, F8, F6, F4), the bytes of the result; without `lossy`,
 * only when each value comes back the same (a NaN's payload aside).
 */
export function f32As(name: string, values: Float32Array, dtype: Dtype, lossy: boolean): Uint8Array {
  if (dtype === 'F32') return bytesOf(values);
  if (dtype === 'F64') return bytesOf(new Float64Array(values));
  const encoded = fromFloat32(dtype, values);
  if (!lossy) {
    const back = toFloat32(dtype, encoded, values.length);
    const a = new Uint32Array(values.buffer, values.byteOffset, values.length);
    const b = new Uint32Array(back.buffer, back.byteOffset, back.length);
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i] && !(values[i] !== values[i] && back[i] !== back[i])) {
        throw lossyError(name, `float32 value ${values[i]} at element ${i} is not a ${dtype} (it would be ${back[i]})`, 'pass { lossy: true } to round it');
      }
    }
  }
  return bytesOf(encoded);
}

export function lossyError(name: string, what: string, hint: string): TensorsafeError {
  return new TensorsafeError('LossyConversion', `tensor \`${name}\`: ${what}: ${hint}`, { location: `tensor ${name}` });
}

export function unsupportedError(name: string, what: string): TensorsafeError {
  return new TensorsafeError('RuntimeDtype', `tensor \`${name}\`: ${what}`, { location: `tensor ${name}` });
}
