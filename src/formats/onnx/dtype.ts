import type { Dtype } from '../../dtype/dtypes.js';

/**
 * ONNX TensorProto.DataType → the safetensors dtype that holds the same values bit for bit, and the
 * typed field `onnx.numpy_helper.to_array` reads when there is no raw_data. Types safetensors has no
 * dtype for are refused by name.
 */

/** The typed repeated fields of TensorProto (field numbers). */
export const FLOAT_DATA = 4;
export const INT32_DATA = 5;
export const STRING_DATA = 6;
export const INT64_DATA = 7;
export const DOUBLE_DATA = 10;
export const UINT64_DATA = 11;

export interface OnnxDtype {
  readonly onnx: string;
  readonly dtype: Dtype;
  /** Bytes per element in safetensors. */
  readonly size: number;
  /** The typed field holding the values when raw_data is absent. */
  readonly field: number;
  /**
   * 4-bit types, packed two elements a byte, element 0 in the low nibble (raw_data, and each int32_data
   * entry's low 8 bits): `int4`/`uint4` are unpacked to one byte each (I8 sign-extended, U8);
   * `f4` (FLOAT4E2M1) is kept packed as safetensors' F4, whose packing is the same.
   */
  readonly packed?: 'int4' | 'uint4' | 'f4';
}

const T = (onnx: string, dtype: Dtype, size: number, field: number, packed?: OnnxDtype['packed']): OnnxDtype => ({ onnx, dtype, size, field, ...(packed ? { packed } : {}) });

export const ONNX_DTYPES: ReadonlyMap<number, OnnxDtype> = new Map([
  [1, T('FLOAT', 'F32', 4, FLOAT_DATA)],
  [2, T('UINT8', 'U8', 1, INT32_DATA)],
  [3, T('INT8', 'I8', 1, INT32_DATA)],
  [4, T('UINT16', 'U16', 2, INT32_DATA)],
  [5, T('INT16', 'I16', 2, INT32_DATA)],
  [6, T('INT32', 'I32', 4, INT32_DATA)],
  [7, T('INT64', 'I64', 8, INT64_DATA)],
  [9, T('BOOL', 'BOOL', 1, INT32_DATA)],
  [10, T('FLOAT16', 'F16', 2, INT32_DATA)],
  [11, T('DOUBLE', 'F64', 8, DOUBLE_DATA)],
  [12, T('UINT32', 'U32', 4, UINT64_DATA)],
  [13, T('UINT64', 'U64', 8, UINT64_DATA)],
  [14, T('COMPLEX64', 'C64', 8, FLOAT_DATA)],
  [16, T('BFLOAT16', 'BF16', 2, INT32_DATA)],
  // FNUZ types have their own safetensors dtypes (a different encoding from F8_E4M3/F8_E5M2: no
  // negative zero, NaN 0x80, bias one more), never the FN ones.
  [17, T('FLOAT8E4M3FN', 'F8_E4M3', 1, INT32_DATA)],
  [18, T('FLOAT8E4M3FNUZ', 'F8_E4M3FNUZ', 1, INT32_DATA)],
  [19, T('FLOAT8E5M2', 'F8_E5M2', 1, INT32_DATA)],
  [20, T('FLOAT8E5M2FNUZ', 'F8_E5M2FNUZ', 1, INT32_DATA)],
  [21, T('UINT4', 'U8', 1, INT32_DATA, 'uint4')],
  [22, T('INT4', 'I8', 1, INT32_DATA, 'int4')],
  [23, T('FLOAT4E2M1', 'F4', 1, INT32_DATA, 'f4')],
  [24, T('FLOAT8E8M0', 'F8_E8M0', 1, INT32_DATA)],
]);

/** Types that exist in ONNX but that safetensors cannot hold (yet): the reason a tensor is refused. */
export const REFUSED_ONNX_DTYPES: ReadonlyMap<number, string> = new Map([
  [0, 'UNDEFINED: no data type'],
  [8, 'STRING: safetensors holds numbers only'],
  [15, 'COMPLEX128: safetensors holds complex64 (C64) only'],
]);

export function onnxDtypeName(code: number): string {
  return ONNX_DTYPES.get(code)?.onnx ?? REFUSED_ONNX_DTYPES.get(code)?.split(':')[0] ?? `data type ${code} (unknown)`;
}
