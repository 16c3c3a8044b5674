import type { Dtype } from '../../dtype/dtypes.js';

/** A TFLite TensorType kept: its safetensors dtype, bytes per element, and whether it is INT4 (two a byte, unpacked to I8). */
export interface TfliteDtype {
  readonly dtype: Dtype;
  readonly size: number;
  readonly int4?: true;
}

/** TensorType (schema.fbs) → safetensors dtype. */
export const TFLITE_DTYPES: ReadonlyMap<number, TfliteDtype> = new Map<number, TfliteDtype>([
  [0, { dtype: 'F32', size: 4 }],
  [1, { dtype: 'F16', size: 2 }],
  [2, { dtype: 'I32', size: 4 }],
  [3, { dtype: 'U8', size: 1 }],
  [4, { dtype: 'I64', size: 8 }],
  [6, { dtype: 'BOOL', size: 1 }],
  [7, { dtype: 'I16', size: 2 }],
  [8, { dtype: 'C64', size: 8 }],
  [9, { dtype: 'I8', size: 1 }],
  [10, { dtype: 'F64', size: 8 }],
  [12, { dtype: 'U64', size: 8 }],
  [15, { dtype: 'U32', size: 4 }],
  [16, { dtype: 'U16', size: 2 }],
  [17, { dtype: 'I8', size: 1, int4: true }],
  [18, { dtype: 'BF16', size: 2 }],
]);

/** TensorType names, for messages and inspect. */
const NAMES = ['FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8', 'FLOAT64', 'COMPLEX128', 'UINT64', 'RESOURCE', 'VARIANT', 'UINT32', 'UINT16', 'INT4', 'BFLOAT16'];

export function tfliteTypeName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}
