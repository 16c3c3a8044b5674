import { SafetensorError } from '../errors.js';
import { DTYPE_INFO, isDtype, type Dtype, type DtypeArrays } from './dtypes.js';

/**
 * A tensor in memory: its dtype, its shape, and its elements in row-major order. A union over the
 * dtypes, discriminated by `dtype`: after `if (t.dtype === 'F32')`, `t.data` is a Float32Array.
 * `Tensor<'F32'>` is that one member. (What the writers accept is TensorLike: raw bytes too.)
 */
export type Tensor<D extends Dtype = Dtype> = D extends Dtype ? TensorOf<D> : never;

/** One member of the Tensor union. */
export interface TensorOf<D extends Dtype> {
  readonly dtype: D;
  readonly shape: readonly number[];
  /** The dtype's natural typed array, or its raw little-endian bits (see DtypeInfo.array and DtypeArrays). */
  readonly data: DtypeArrays[D];
}

/** A tensor over bytes read from a file: the data is the dtype's typed array (see typedArrayFromBytes). */
export function tensorFromBytes<D extends Dtype>(dtype: D, shape: readonly number[], bytes: Uint8Array): Tensor<D> {
  return { dtype, shape, data: typedArrayFromBytes(dtype, bytes) } as TensorOf<D> as Tensor<D>;
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The tensor's bytes as a typed array of its dtype, without a copy when `bytes` is aligned
 * for that array type (the usual case in files the reference or tensorsafe wrote), and with
 * one copy when it is not.
 */
export function typedArrayFromBytes<D extends Dtype>(dtype: D, bytes: Uint8Array): DtypeArrays[D] {
  const Ctor = DTYPE_INFO[dtype].array;
  // DTYPE_INFO[dtype].array is DtypeArrays[dtype]'s constructor (test/tensor-types.test.ts checks).
  type Out = DtypeArrays[D];
  if (Ctor === Uint8Array) return bytes as Out;
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % size === 0) {
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size) as Out;
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, bytes.byteLength / size) as Out;
}

/** The raw little-endian bytes of a typed array: always a view, never a copy. */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Checks a tensor given to a writer and returns its bytes; coded errors name the tensor. */
export function tensorBytes(name: string, tensor: { dtype: unknown; shape: unknown; data: unknown }): Uint8Array {
  const { dtype, shape, data } = tensor;
  if (!isDtype(dtype)) {
    throw new SafetensorError('InvalidDtype', `tensor \`${name}\`: unknown dtype ${JSON.stringify(dtype)}; expected one of the safetensors dtypes (F32, BF16, …)`, {
      location: `tensor ${name}`,
    });
  }
  checkShape(name, shape);
  const info = DTYPE_INFO[dtype];
  if (!(data instanceof Uint8Array) && !(data instanceof info.array)) {
    const got = data === null || typeof data !== 'object' ? typeof data : (data as object).constructor.name;
    throw new SafetensorError(
      'InvalidTensorView',
      `tensor \`${name}\`: data for ${dtype} must be a ${info.array.name} or its raw bytes as a Uint8Array, not ${got}`,
      { location: `tensor ${name}` },
    );
  }
  const bytes = bytesOf(data);
  const bits = elementCount(shape) * info.bits;
  if (bits % 8 !== 0) {
    throw new SafetensorError('MisalignedSlice', `tensor \`${name}\`: ${dtype} [${shape.join(', ')}] is ${bits} bits, not a whole number of bytes`, {
      location: `tensor ${name}`,
    });
  }
  if (bytes.byteLength !== bits / 8) {
    throw new SafetensorError(
      'InvalidTensorView',
      `tensor \`${name}\`: tensor of type ${dtype} and shape (${shape.join(', ')}) can't be created from ${bytes.byteLength} bytes (it needs ${bits / 8})`,
      { location: `tensor ${name}` },
    );
  }
  return bytes;
}

/** A shape must be an array of non-negative safe integers. */
export function checkShape(name: string, shape: unknown): asserts shape is readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorError('InvalidShape', `tensor \`${name}\`: shape must be an array of non-negative integers, got ${safeJson(shape)}`, {
      location: `tensor ${name}`,
    });
  }
}

function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}
