import type { Dtype } from '../../dtype/dtypes.js';

/**
 * MXNet's type flags (mshadow/base.h `TypeFlag`, which NDArray::Save writes as an int32): the name
 * MXNet gives each, the safetensors dtype it is, and its element size (mshadow_sizeof).
 */
export const MXNET_TYPES: ReadonlyMap<number, readonly [name: string, dtype: Dtype, size: number]> = new Map([
  [0, ['float32', 'F32', 4]],
  [1, ['float64', 'F64', 8]],
  [2, ['float16', 'F16', 2]],
  [3, ['uint8', 'U8', 1]],
  [4, ['int32', 'I32', 4]],
  [5, ['int8', 'I8', 1]],
  [6, ['int64', 'I64', 8]],
  [7, ['bool', 'BOOL', 1]],
  [8, ['int16', 'I16', 2]],
  [9, ['uint16', 'U16', 2]],
  [10, ['uint32', 'U32', 4]],
  [11, ['uint64', 'U64', 8]],
  [12, ['bfloat16', 'BF16', 2]],
] as const);

/** MXNet's device types (include/mxnet/base.h `Context::DeviceType`), for inspect. */
export const MXNET_DEVICES: ReadonlyMap<number, string> = new Map([
  [1, 'cpu'],
  [2, 'gpu'],
  [3, 'cpu_pinned'],
  [5, 'cpu_shared'],
]);
