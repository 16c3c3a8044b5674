import { SafetensorError } from '../errors.js';
import { tensorBytes, type Tensor } from '../dtype/tensor.js';
import type { Dtype } from '../dtype/dtypes.js';
import type { TensorSpec } from './layout.js';

/** Tensors to write: a Map or a plain object from name to tensor. */
export type TensorsInput =
  | ReadonlyMap<string, TensorLike>
  | Readonly<Record<string, TensorLike>>;

/** A tensor to write: data is the dtype's typed array or its raw little-endian bytes. */
export interface TensorLike {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView;
}

export interface CheckedTensor extends TensorSpec {
  readonly bytes: Uint8Array;
}

/** Checks every tensor (dtype, shape, data length) and pairs it with its bytes. */
export function checkTensors(tensors: TensorsInput): CheckedTensor[] {
  if (tensors === null || typeof tensors !== 'object') {
    throw new SafetensorError('InvalidTensorView', `expected a Map or an object of tensors, got ${tensors === null ? 'null' : typeof tensors}`);
  }
  const entries: [string, TensorLike][] =
    tensors instanceof Map ? [...(tensors as ReadonlyMap<string, TensorLike>)] : Object.entries(tensors as Record<string, TensorLike>);
  return entries.map(([name, t]) => {
    if (t === null || typeof t !== 'object') {
      throw new SafetensorError('InvalidTensorView', `tensor \`${name}\` is ${t === null ? 'null' : typeof t}, expected { dtype, shape, data }`, {
        location: `tensor ${name}`,
      });
    }
    const bytes = tensorBytes(name, t as Tensor);
    return { name, dtype: t.dtype, shape: t.shape, bytes };
  });
}
