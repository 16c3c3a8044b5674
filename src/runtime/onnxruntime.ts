import { TensorsafeError } from '../errors.js';
import { DTYPES, type Dtype } from '../dtype/dtypes.js';
import { dtypeOfRuntimeType, ORT_NATIVE_TYPES, type OrtType } from '../dtype/runtime-dtypes.js';
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

export type { OrtType };

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
export const ORT_TYPE_OF: Readonly<Record<Dtype, OrtType | undefined>> = Object.freeze(
  Object.fromEntries(DTYPES.map((d) => [d, ORT_NATIVE_TYPES[d] ?? (d === 'C64' ? undefined : 'float32')])) as Record<Dtype, OrtType | undefined>,
);

/** The safetensors dtype each ORT type is read as (int4 and uint4 are unpacked to I8 and U8, one a byte). */
const DTYPE_OF_ORT: ReadonlyMap<string, Dtype> = new Map([...dtypeOfRuntimeType(ORT_NATIVE_TYPES), ['int4', 'I8'], ['uint4', 'U8']]);

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
  const own = DTYPE_OF_ORT.get(tensor.type);
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
