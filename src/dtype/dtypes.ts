/**
 * The safetensors dtype table. The order of DTYPES is the reference's `enum Dtype`
 * declaration order, which is normative: the writer sorts tensors by it, descending.
 */
export const DTYPES = [
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
] as const;

export type Dtype = (typeof DTYPES)[number];

/** The typed array a tensor's data is exposed as. */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * The typed array of each dtype's `data` (the same as DTYPE_INFO[dtype].array): the natural JS array
 * where one exists, raw bits otherwise.
 */
export interface DtypeArrays {
  BOOL: Uint8Array;
  F4: Uint8Array;
  F6_E2M3: Uint8Array;
  F6_E3M2: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  F8_E5M2: Uint8Array;
  F8_E4M3: Uint8Array;
  F8_E8M0: Uint8Array;
  F8_E4M3FNUZ: Uint8Array;
  F8_E5M2FNUZ: Uint8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  C64: Uint8Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}

/** The typed array of a dtype's data: `DtypeArray<'F32'>` is Float32Array. */
export type DtypeArray<D extends Dtype> = DtypeArrays[D];

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

export interface DtypeInfo {
  readonly name: Dtype;
  /** Position in the reference enum; the writer sorts by it, descending. */
  readonly order: number;
  /** Bits per element (4 for F4, 6 for the F6 types). */
  readonly bits: number;
  /**
   * The array `data` is exposed as: the natural JS array where one exists, raw bits otherwise
   * (Uint16Array for F16/BF16, Uint8Array for BOOL, F8*, F6*, F4 and C64).
   */
  readonly array: TypedArrayConstructor;
  /** True when `array` holds the values themselves rather than their bit patterns. */
  readonly native: boolean;
  readonly kind: 'bool' | 'int' | 'uint' | 'float' | 'complex';
}

function info(name: Dtype, bits: number, array: TypedArrayConstructor, native: boolean, kind: DtypeInfo['kind']): DtypeInfo {
  return { name, order: DTYPES.indexOf(name), bits, array, native, kind };
}

export const DTYPE_INFO: Readonly<Record<Dtype, DtypeInfo>> = {
  BOOL: info('BOOL', 8, Uint8Array, false, 'bool'),
  F4: info('F4', 4, Uint8Array, false, 'float'),
  F6_E2M3: info('F6_E2M3', 6, Uint8Array, false, 'float'),
  F6_E3M2: info('F6_E3M2', 6, Uint8Array, false, 'float'),
  U8: info('U8', 8, Uint8Array, true, 'uint'),
  I8: info('I8', 8, Int8Array, true, 'int'),
  F8_E5M2: info('F8_E5M2', 8, Uint8Array, false, 'float'),
  F8_E4M3: info('F8_E4M3', 8, Uint8Array, false, 'float'),
  F8_E8M0: info('F8_E8M0', 8, Uint8Array, false, 'float'),
  F8_E4M3FNUZ: info('F8_E4M3FNUZ', 8, Uint8Array, false, 'float'),
  F8_E5M2FNUZ: info('F8_E5M2FNUZ', 8, Uint8Array, false, 'float'),
  I16: info('I16', 16, Int16Array, true, 'int'),
  U16: info('U16', 16, Uint16Array, true, 'uint'),
  F16: info('F16', 16, Uint16Array, false, 'float'),
  BF16: info('BF16', 16, Uint16Array, false, 'float'),
  I32: info('I32', 32, Int32Array, true, 'int'),
  U32: info('U32', 32, Uint32Array, true, 'uint'),
  F32: info('F32', 32, Float32Array, true, 'float'),
  C64: info('C64', 64, Uint8Array, false, 'complex'),
  F64: info('F64', 64, Float64Array, true, 'float'),
  I64: info('I64', 64, BigInt64Array, true, 'int'),
  U64: info('U64', 64, BigUint64Array, true, 'uint'),
};

const DTYPE_SET: ReadonlySet<string> = new Set(DTYPES);

export function isDtype(name: unknown): name is Dtype {
  return typeof name === 'string' && DTYPE_SET.has(name);
}

export function dtypeInfo(dtype: Dtype): DtypeInfo {
  return DTYPE_INFO[dtype];
}

/** Bytes per element of the exposed array (1 for the packed sub-byte dtypes, whose arrays hold raw bytes). */
export function arrayElementBytes(dtype: Dtype): number {
  return DTYPE_INFO[dtype].array.BYTES_PER_ELEMENT;
}

/**
 * Byte length of `elements` elements of `dtype`, or undefined when the bit count is not
 * a whole number of bytes (an F4 tensor with an odd element count, say).
 */
export function byteLengthOf(dtype: Dtype, elements: number): number | undefined {
  const bits = elements * DTYPE_INFO[dtype].bits;
  if (bits % 8 !== 0) return undefined;
  return bits / 8;
}
