import type { Dtype } from './dtypes.js';

/**
 * The dtypes ONNX Runtime and TensorFlow.js hold as they are, by the runtimes' own type names: shared by
 * the runtime adapters (src/runtime, which also widen the others) and the behaviour check's runners
 * (src/formats/onnx/runner.ts, src/formats/tfjs/runner.ts, which run only these). The typed array of
 * each is the dtype's own (DTYPE_INFO[dtype].array: F16 as its bits in a Uint16Array, BOOL as bytes).
 */

/** The onnxruntime-common tensor types tensorsafe makes and reads. */
export type OrtType = 'bool' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'float16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'int64' | 'uint64';

/** ONNX Runtime's tensor type of each dtype it holds as it is. */
export const ORT_NATIVE_TYPES: Readonly<Partial<Record<Dtype, OrtType>>> = Object.freeze({
  BOOL: 'bool', U8: 'uint8', I8: 'int8', U16: 'uint16', I16: 'int16', F16: 'float16', I32: 'int32', U32: 'uint32',
  F32: 'float32', F64: 'float64', I64: 'int64', U64: 'uint64',
});

/** The tfjs dtype of each dtype tfjs holds as it is. */
export const TFJS_NATIVE_DTYPES: Readonly<Partial<Record<Dtype, string>>> = Object.freeze({ F32: 'float32', I32: 'int32', BOOL: 'bool' });

/** The dtype each of a table's runtime types is (its inverse). */
export function dtypeOfRuntimeType(table: Readonly<Partial<Record<Dtype, string>>>): ReadonlyMap<string, Dtype> {
  return new Map(Object.entries(table).map(([dtype, type]) => [type, dtype as Dtype]));
}
