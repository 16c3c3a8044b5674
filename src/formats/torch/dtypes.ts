import type { Dtype } from '../../dtype/dtypes.js';

/** A torch dtype as the pickle names it (`float32`, `bfloat16`, …), with its element size and safetensors dtype. */
export interface TorchDtype {
  readonly name: string;
  /** Bytes of one storage element. */
  readonly size: number;
  /** The safetensors dtype, or undefined when safetensors cannot hold it (complex128, quantized, …). */
  readonly safetensors: Dtype | undefined;
  /** Width of the byte-swap unit for big-endian storages (C64 swaps each F32 half). */
  readonly swapUnit: number;
}

const d = (name: string, size: number, safetensors: Dtype | undefined, swapUnit = size): TorchDtype => ({ name, size, safetensors, swapUnit });

const DTYPES: readonly TorchDtype[] = [
  d('float64', 8, 'F64'),
  d('float32', 4, 'F32'),
  d('float16', 2, 'F16'),
  d('bfloat16', 2, 'BF16'),
  d('int64', 8, 'I64'),
  d('int32', 4, 'I32'),
  d('int16', 2, 'I16'),
  d('int8', 1, 'I8'),
  d('uint8', 1, 'U8'),
  d('bool', 1, 'BOOL'),
  d('uint16', 2, 'U16'),
  d('uint32', 4, 'U32'),
  d('uint64', 8, 'U64'),
  d('complex64', 8, 'C64', 4),
  d('complex128', 16, undefined, 8),
  d('complex32', 4, undefined, 2),
  d('float8_e5m2', 1, 'F8_E5M2'),
  d('float8_e4m3fn', 1, 'F8_E4M3'),
  d('float8_e5m2fnuz', 1, 'F8_E5M2FNUZ'),
  d('float8_e4m3fnuz', 1, 'F8_E4M3FNUZ'),
  d('float8_e8m0fnu', 1, 'F8_E8M0'),
  d('float4_e2m1fn_x2', 1, 'F4'),
  d('qint8', 1, undefined),
  d('quint8', 1, undefined),
  d('qint32', 4, undefined),
  d('quint4x2', 1, undefined),
  d('quint2x4', 1, undefined),
  d('bits8', 1, undefined),
  d('bits16', 2, undefined),
  d('bits1x8', 1, undefined),
  d('bits2x4', 1, undefined),
  d('bits4x2', 1, undefined),
];

const ALIASES: Readonly<Record<string, string>> = {
  double: 'float64',
  float: 'float32',
  half: 'float16',
  long: 'int64',
  int: 'int32',
  short: 'int16',
  cfloat: 'complex64',
  cdouble: 'complex128',
  chalf: 'complex32',
};

const BY_NAME = new Map(DTYPES.map((t) => [t.name, t]));

/** `torch.float32` (or an alias such as `torch.float`) → its dtype. */
export function torchDtype(name: string): TorchDtype | undefined {
  return BY_NAME.get(ALIASES[name] ?? name);
}

/** Typed storage classes (`torch.FloatStorage`, `torch.cuda.HalfStorage`) → the dtype of their elements. */
const STORAGE_DTYPES: Readonly<Record<string, string>> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
  QInt8Storage: 'qint8',
  QUInt8Storage: 'quint8',
  QInt32Storage: 'qint32',
  QUInt4x2Storage: 'quint4x2',
  QUInt2x4Storage: 'quint2x4',
  // Untyped storages count bytes; the tensor's dtype comes from _rebuild_tensor_v3.
  UntypedStorage: 'uint8',
};

/** The element dtype of a storage class global, by its qualified name; undefined for anything else. */
export function storageDtype(qualifiedName: string): TorchDtype | undefined {
  const m = /^torch\.(?:cuda\.|storage\.)?([A-Za-z0-9]+Storage)$/.exec(qualifiedName);
  const dtype = m ? STORAGE_DTYPES[m[1]!] : undefined;
  return dtype === undefined ? undefined : torchDtype(dtype);
}
