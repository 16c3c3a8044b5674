import { TensorsafeError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';
import { dtypeOfRuntimeType, TFJS_NATIVE_DTYPES } from '../dtype/runtime-dtypes.js';
import { bytesOf, elementCount, tensorFromBytes, type Tensor } from '../dtype/tensor.js';
import type { TensorLike } from '../safetensors/tensor-input.js';
import { namedTensors, type TensorSource } from './tensor-source.js';
import { dataOf, decodedFloats, f32As, f64AsF32, i32As, intsAsI32, unsupportedError } from './values.js';

/**
 * Tensors to and from TensorFlow.js (@tensorflow/tfjs, or @tensorflow/tfjs-core with a backend). Nothing
 * here imports tfjs: the functions that make its tensors take its namespace (`import * as tf from
 * '@tensorflow/tfjs'`), so this module loads without it, and the tensors made belong to the caller's
 * own tfjs engine (two copies of tfjs-core would not share tensors).
 */

/** The dtypes of tfjs tensors that hold numbers. */
export type TfjsDtype = 'float32' | 'int32' | 'bool' | 'complex64';

/** What tensorsafe reads of a tfjs tensor (tf.Tensor has it). */
export interface TfjsTensorLike {
  readonly dtype: string;
  readonly shape: readonly number[];
  data(): Promise<unknown>;
}

/** tfjs's namespace, or any object with its `tensor` and `complex` functions. */
export interface TfjsRuntime<T extends TfjsTensorLike = TfjsTensorLike> {
  tensor(values: never, shape: never, dtype: never): T;
  complex(real: never, imag: never): T;
}

/**
 * The tfjs dtype each safetensors dtype becomes. tfjs has float32, int32, bool and complex64 only:
 * F16, BF16, F8, F6 and F4 are widened to float32 and I8, U8, I16, U16 to int32 (every value exact);
 * U32, I64 and U64 become int32 when every value fits (else LossyConversion); F64 becomes float32 when
 * every value is a float32, or rounded with `lossy: true`.
 */
export const TFJS_DTYPE_OF: Readonly<Record<Dtype, TfjsDtype>> = Object.freeze({
  F32: 'float32', F16: 'float32', BF16: 'float32', F64: 'float32',
  F8_E5M2: 'float32', F8_E4M3: 'float32', F8_E8M0: 'float32', F8_E4M3FNUZ: 'float32', F8_E5M2FNUZ: 'float32',
  F6_E2M3: 'float32', F6_E3M2: 'float32', F4: 'float32',
  I32: 'int32', I8: 'int32', U8: 'int32', I16: 'int32', U16: 'int32', U32: 'int32', I64: 'int32', U64: 'int32',
  BOOL: 'bool', C64: 'complex64',
});

/** The safetensors dtype each tfjs dtype is read as. */
const DTYPE_OF_TFJS: ReadonlyMap<string, Dtype> = new Map([...dtypeOfRuntimeType(TFJS_NATIVE_DTYPES), ['complex64', 'C64']]);

export interface ToTfjsOptions {
  /** The tensor's name, for error messages. */
  name?: string;
  /** Let F64 values round to float32 (tfjs has no float64); default: a value that would change throws LossyConversion. */
  lossy?: boolean;
}

/**
 * A tensorsafe tensor (or any { dtype, shape, data }, data being the dtype's typed array or its raw
 * little-endian bytes) as a tfjs tensor of `TFJS_DTYPE_OF[dtype]`. F32, I32 and BOOL data is shared,
 * not copied, when aligned (the CPU backend keeps that very array); the others are converted.
 */
export function toTfjsTensor<T extends TfjsTensorLike>(tf: TfjsRuntime<T>, tensor: TensorLike, options: ToTfjsOptions = {}): T {
  const name = options.name ?? 'tensor';
  const { dtype } = tensor;
  const type = Object.hasOwn(TFJS_DTYPE_OF, dtype) ? TFJS_DTYPE_OF[dtype] : undefined;
  if (type === undefined) throw new TensorsafeError('InvalidArgument', `tensor \`${name}\`: unknown dtype ${JSON.stringify(dtype)}`, { location: `tensor ${name}` });
  const shape = [...tensor.shape];
  const make = (values: ArrayBufferView): T => tf.tensor(values as never, shape as never, type as never);
  switch (dtype) {
    case 'F32':
    case 'I32':
    case 'BOOL':
      return make(dataOf(name, tensor));
    case 'F64':
      return make(f64AsF32(name, dataOf(name, { ...tensor, dtype }), options.lossy ?? false, 'tfjs'));
    case 'C64': {
      const pairs = complexPairs(name, tensor);
      const n = elementCount(shape);
      const re = new Float32Array(n);
      const im = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        re[i] = pairs[2 * i]!;
        im[i] = pairs[2 * i + 1]!;
      }
      const real = tf.tensor(re as never, shape as never, 'float32' as never);
      const imag = tf.tensor(im as never, shape as never, 'float32' as never);
      try {
        return tf.complex(real as never, imag as never);
      } finally {
        dispose(real);
        dispose(imag);
      }
    }
    default:
      return make(type === 'float32' ? decodedFloats(name, tensor) : intsAsI32(name, dtype, dataOf(name, tensor), 'tfjs'));
  }
}

export interface FromTfjsOptions {
  /** The tensor's name, for error messages. */
  name?: string;
  /**
   * The safetensors dtype to store the values as: one whose tfjs dtype is the tensor's (F16, BF16, F64 …
   * for float32; I8, U8, I64 … for int32), to undo the widening of toTfjsTensor. Default: the tensor's own.
   */
  dtype?: Dtype;
  /** Let float values round to `dtype` (float32 → F16 …); default: a value that would change throws LossyConversion. */
  lossy?: boolean;
}

/** A tfjs tensor as a tensorsafe tensor (its values read with `await tensor.data()`); string tensors throw RuntimeDtype. */
export async function fromTfjsTensor(tensor: TfjsTensorLike, options: FromTfjsOptions = {}): Promise<Tensor> {
  const name = options.name ?? 'tensor';
  const own = DTYPE_OF_TFJS.get(tensor.dtype);
  if (own === undefined) throw unsupportedError(name, `tfjs dtype ${JSON.stringify(tensor.dtype)} has no safetensors dtype`);
  const shape = [...tensor.shape];
  const values = await tensor.data();
  if (!ArrayBuffer.isView(values)) throw new TensorsafeError('InvalidArgument', `tensor \`${name}\`: its data is not a typed array`, { location: `tensor ${name}` });
  const dtype = options.dtype ?? own;
  if (dtype === own) return tensorFromBytes(dtype, shape, bytesOf(values));
  if (TFJS_DTYPE_OF[dtype] !== tensor.dtype) {
    throw new TensorsafeError('InvalidArgument', `tensor \`${name}\`: a tfjs ${tensor.dtype} tensor cannot be stored as ${dtype} (its dtype is ${own})`, { location: `tensor ${name}` });
  }
  const bytes = tensor.dtype === 'float32' ? f32As(name, values as Float32Array, dtype, options.lossy ?? false) : i32As(name, values as Int32Array, dtype);
  return tensorFromBytes(dtype, shape, bytes);
}

/** Every tensor of a source (safetensors bytes, `load`'s Map, an open file, a TensorSet) as tfjs tensors by name (a NamedTensorMap). */
export async function toTfjsTensors<T extends TfjsTensorLike>(tf: TfjsRuntime<T>, source: TensorSource, options: Omit<ToTfjsOptions, 'name'> = {}): Promise<Record<string, T>> {
  const tensors = namedTensors(source);
  const out: Record<string, T> = {};
  try {
    for (const name of tensors.names) out[name] = toTfjsTensor(tf, await tensors.read(name), { ...options, name });
  } catch (e) {
    for (const t of Object.values(out)) dispose(t);
    throw e;
  }
  return out;
}

/** tfjs tensors by name as tensorsafe tensors, ready for `save`. */
export async function fromTfjsTensors(tensors: Readonly<Record<string, TfjsTensorLike>> | ReadonlyMap<string, TfjsTensorLike>): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors instanceof Map ? [...tensors] : Object.entries(tensors)) out.set(name, await fromTfjsTensor(t, { name }));
  return out;
}

/** A C64 tensor's interleaved (real, imaginary) float32 pairs. */
function complexPairs(name: string, tensor: TensorLike): Float32Array {
  const bytes = bytesOf(dataOf(name, tensor));
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Frees a tfjs tensor made here and not handed out. */
export function dispose(t: unknown): void {
  (t as { dispose?: () => void }).dispose?.();
}
