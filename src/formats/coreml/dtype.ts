import type { Dtype } from '../../dtype/dtypes.js';

/**
 * MIL data types (MIL.proto `DataType`), the blob data types of weight.bin (MILBlob BlobDataType.hpp)
 * and the safetensors dtype each is read as. Sub-byte integers (int4, uint1/2/3/4/6) are unpacked to
 * one byte each (I8 sign-extended, U8), as they are packed: LSB first, element i at bit i·bits.
 */
export interface MilDtypeInfo {
  /** MIL's name (`fp16`, `uint4`): as MIL text writes it. */
  readonly name: string;
  readonly dtype: Dtype;
  /** Bits per stored element. */
  readonly bits: number;
  /** BlobDataType of a blob holding it, or undefined when a blob cannot hold it. */
  readonly blob?: number;
  readonly signed?: boolean;
}

export const MIL_DTYPES: ReadonlyMap<number, MilDtypeInfo> = new Map([
  [1, { name: 'bool', dtype: 'BOOL', bits: 8 }],
  [40, { name: 'fp8e4m3fn', dtype: 'F8_E4M3', bits: 8, blob: 16 }],
  [41, { name: 'fp8e5m2', dtype: 'F8_E5M2', bits: 8, blob: 17 }],
  [10, { name: 'fp16', dtype: 'F16', bits: 16, blob: 1 }],
  [11, { name: 'fp32', dtype: 'F32', bits: 32, blob: 2 }],
  [12, { name: 'fp64', dtype: 'F64', bits: 64 }],
  [13, { name: 'bf16', dtype: 'BF16', bits: 16, blob: 5 }],
  [21, { name: 'int8', dtype: 'I8', bits: 8, blob: 4, signed: true }],
  [22, { name: 'int16', dtype: 'I16', bits: 16, blob: 6, signed: true }],
  [23, { name: 'int32', dtype: 'I32', bits: 32, blob: 14, signed: true }],
  [24, { name: 'int64', dtype: 'I64', bits: 64, signed: true }],
  [25, { name: 'int4', dtype: 'I8', bits: 4, blob: 8, signed: true }],
  [31, { name: 'uint8', dtype: 'U8', bits: 8, blob: 3 }],
  [32, { name: 'uint16', dtype: 'U16', bits: 16, blob: 7 }],
  [33, { name: 'uint32', dtype: 'U32', bits: 32, blob: 15 }],
  [34, { name: 'uint64', dtype: 'U64', bits: 64 }],
  [35, { name: 'uint4', dtype: 'U8', bits: 4, blob: 11 }],
  [36, { name: 'uint2', dtype: 'U8', bits: 2, blob: 10 }],
  [37, { name: 'uint1', dtype: 'U8', bits: 1, blob: 9 }],
  [38, { name: 'uint6', dtype: 'U8', bits: 6, blob: 13 }],
  [39, { name: 'uint3', dtype: 'U8', bits: 3, blob: 12 }],
] as const);

/** MIL dtype by its MIL text name (`fp16`). */
export const MIL_DTYPE_BY_NAME: ReadonlyMap<string, number> = new Map([...MIL_DTYPES].map(([code, info]) => [info.name, code]));

/** A MIL dtype's name for messages (`fp16`, or `DataType 99`). */
export function milTypeName(code: number): string {
  return MIL_DTYPES.get(code)?.name ?? (code === 2 ? 'string' : `DataType ${code}`);
}

/** Whether a MIL dtype is a sub-byte integer (unpacked to one byte per element). */
export function isSubByte(info: MilDtypeInfo): boolean {
  return info.bits < 8;
}

/** Bytes `count` elements of a dtype take stored (sub-byte ones packed). */
export function storedBytes(info: MilDtypeInfo, count: number): number {
  return Math.ceil((count * info.bits) / 8);
}
