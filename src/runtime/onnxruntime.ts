import { TensorsafeError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';
import { bytesOf, elementCount, tensorFromBytes, type Tensor } from '../dtype/tensor.js';
import type { TensorLike } from '../safetensors/tensor-input.js';
import { unpackNibbles } from '../tensor/nibbles.js';
import { namedTensors, type TensorSource } from './tensor-source.js';
import { dataOf, decodedFloats, f32As, unsupportedError } from './values.js';

/**
 * Tensors to and from ONNX Runtime (onnxruntime-node, onnxruntime-web, onnxruntime-react-native: they
 * share onnxruntime-common's Tensor). Nothing here imports ONNX Runtime: the functions that make its
 * tensors take its namespace (or any object with its `Tensor` class), so this module loads without it,
 * in Node and in browsers, and the tensors made are the caller's own runtime's.
 */

/** The onnxruntime-common tensor types tensorsafe makes and reads. */
export type OrtType = 'bool' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'float16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'int64' | 'uint64';

/** What tensorsafe reads of an ONNX Runtime tensor (onnxruntime-common's `Tensor` has it). */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  /** The values, for a tensor on the CPU. */
  readonly data: unknown;
  /** `cpu` or `cpu-pinned` for tensors tensorsafe can read; a GPU tensor must be downloaded first (`await t.getData()`). */
  readonly location?: string;
}

/** ONNX Runtime's namespace (`import * as ort from 'onnxruntime-node'`), or any object with its `Tensor` class. */
export interface OrtRuntime<T extends OrtTensorLike = OrtTensorLike> {
  readonly Tensor: new (type: never, data: never, dims: never) => T;
}

/**
 * The ONNX Runtime type of each safetensors dtype: its own where ORT has one (F16 is `float16`), float32
 * for the floats ORT lacks (BF16, F8, F6, F4: widened, every value exact), none for C64 (ORT's JavaScript
 * API has no complex tensors).
 */
export const ORT_TYPE_OF: Readonly<Record<Dtype, OrtType | undefined>> = Object.freeze({
  BOOL: 'bool', U8: 'uint8', I8: 'int8', U16: 'uint16', I16: 'int16', F16: 'float16', I32: 'int32', U32: 'uint32',
  F32: 'float32', F64: 'float64', I64: 'int64', U64: 'uint64',
  BF16: 'float32', F8_E5M2: 'float32', F8_E4M3: 'float32', F8_E8M0: 'float32', F8_E4M3FNUZ: 'float32', F8_E5M2FNUZ: 'float32',
  F6_E2M3: 'float32', F6_E3M2: 'float32', F4: 'float32',
  C64: undefined,
});

/** The safetensors dtype each ORT type is read as (int4 and uint4 are unpacked to I8 and U8, one a byte). */
const DTYPE_OF_ORT: Readonly<Record<string, Dtype>> = {
  bool: 'BOOL', uint8: 'U8', int8: 'I8', uint16: 'U16', int16: 'I16', float16: 'F16', int32: 'I32', uint32: 'U32',
  float32: 'F32', float64: 'F64', int64: 'I64', uint64: 'U64', int4: 'I8', uint4: 'U8',
};

export interface ToOrtOptions {
  /** The tensor's name, for error messages. */
  name?: string;
}

/**
 * A tensorsafe tensor (or any { dtype, shape, data }, data being the dtype's typed array or its raw
 * little-endian bytes) as an ONNX Runtime Tensor of `ORT_TYPE_OF[dtype]`. The data is shared, not
 * copied, wherever ORT holds the dtype and the bytes are aligned for it; BF16, F8, F6 and F4 are
 * decoded to float32. C64 throws RuntimeDtype.
 */
export function toOrtTensor<T extends OrtTensorLike>(ort: OrtRuntime<T>, tensor: TensorLike, options: ToOrtOptions = {}): T {
  const name = options.name ?? 'tensor';
  const type = ORT_TYPE_OF[tensor.dtype];
  if (type === undefined) {
    if (tensor.dtype === 'C64') throw unsupportedError(name, 'C64: ONNX Runtime has no complex tensors in JavaScript');
    throw new TensorsafeError('InvalidArgument', `tensor \`${name}\`: unknown dtype ${JSON.stringify(tensor.dtype)}`, { location: `tensor ${name}` });
  }
  const data = type === 'float32' && tensor.dtype !== 'F32' ? decodedFloats(name, tensor) : dataOf(name, tensor);
  return new ort.Tensor(type as never, data as never, [...tensor.shape] as never);
}

export interface FromOrtOptions {
  /** The tensor's name, for error messages. */
  name?: string;
  /**
   * The safetensors dtype to store the values as: one whose ORT type is the tensor's (BF16, F8, F6 or F4
   * for a float32 tensor, to undo the widening of toOrtTensor). Default: the tensor's own.
   */
  dtype?: Dtype;
  /** Let values round to `dtype` (float32 → BF16 …); default: a value that would change throws LossyConversion. */
  lossy?: boolean;
}

/**
 * An ONNX Runtime tensor (on the CPU) as a tensorsafe tensor: its data is shared, not copied, unless
 * `dtype` narrows it. int4 and uint4 are unpacked to I8 and U8; string tensors throw RuntimeDtype.
 */
export function fromOrtTensor(tensor: OrtTensorLike, options: FromOrtOptions = {}): Tensor {
  const name = options.name ?? 'tensor';
  if (tensor.location !== undefined && tensor.location !== 'cpu' && tensor.location !== 'cpu-pinned') {
    throw new TensorsafeError('InvalidArgument', `tensor \`${name}\` is on ${tensor.location}, not on the CPU: download it first (await tensor.getData())`, { location: `tensor ${name}` });
  }
  const own = Object.hasOwn(DTYPE_OF_ORT, tensor.type) ? DTYPE_OF_ORT[tensor.type]! : undefined;
  if (own === undefined) throw unsupportedError(name, `ONNX Runtime type ${JSON.stringify(tensor.type)} has no safetensors dtype`);
  const shape = [...tensor.dims];
  const data = tensor.data;
  if (!ArrayBuffer.isView(data)) throw new TensorsafeError('InvalidArgument', `tensor \`${name}\`: its data is not a typed array`, { location: `tensor ${name}` });
  let bytes = bytesOf(data);
  if (tensor.type === 'int4' || tensor.type === 'uint4') {
    const unpacked = new Uint8Array(elementCount(shape));
    unpackNibbles(bytes, tensor.type === 'int4', unpacked);
    bytes = unpacked;
  }
  const dtype = options.dtype ?? own;
  if (dtype === own) return tensorFromBytes(dtype, shape, bytes);
  if (ORT_TYPE_OF[dtype] !== tensor.type || tensor.type !== 'float32') {
    throw new TensorsafeError('InvalidArgument', `tensor \`${name}\`: an ONNX Runtime ${tensor.type} tensor cannot be stored as ${dtype} (its dtype is ${own})`, { location: `tensor ${name}` });
  }
  return tensorFromBytes(dtype, shape, f32As(name, data as Float32Array, dtype, options.lossy ?? false));
}

/**
 * Every tensor of a source (safetensors bytes, `load`'s Map, an open file, a TensorSet) as ONNX Runtime
 * tensors by name: an InferenceSession's feeds. `names` picks some (a session's `inputNames`).
 */
export async function toOrtTensors<T extends OrtTensorLike>(ort: OrtRuntime<T>, source: TensorSource, names?: readonly string[]): Promise<Record<string, T>> {
  const tensors = namedTensors(source);
  const known = new Set(tensors.names);
  const out: Record<string, T> = {};
  for (const name of names ?? tensors.names) {
    if (!known.has(name)) throw new TensorsafeError('TensorNotFound', `no tensor named ${JSON.stringify(name)}`, { location: `tensor ${name}` });
    out[name] = toOrtTensor(ort, await tensors.read(name), { name });
  }
  return out;
}

/** ONNX Runtime tensors by name (an InferenceSession's results) as tensorsafe tensors, ready for `save`. */
export function fromOrtTensors(tensors: Readonly<Record<string, OrtTensorLike>> | ReadonlyMap<string, OrtTensorLike>): Map<string, Tensor> {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  return new Map(entries.map(([name, t]) => [name, fromOrtTensor(t, { name })]));
}
