import { TensorsafeError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';

/** numpy's typestr for each safetensors dtype that has a NumPy equivalent (little-endian, as written). */
const NPY_DESCR: Partial<Record<Dtype, string>> = {
  BOOL: '|b1', U8: '|u1', I8: '|i1', I16: '<i2', U16: '<u2', F16: '<f2', I32: '<i4', U32: '<u4', F32: '<f4', C64: '<c8', F64: '<f8', I64: '<i8', U64: '<u8',
};

/** numpy aligns the data of a .npy file to this many bytes (numpy.lib.format.ARRAY_ALIGN). */
const NPY_ARRAY_ALIGN = 64;
/** Spaces numpy leaves after the dict for the growth axis to gain digits in place (GROWTH_AXIS_MAX_DIGITS). */
const NPY_GROWTH_AXIS_MAX_DIGITS = 21;
/** A version 1.0 header's length field is 16 bits; longer headers need version 2.0. */
const NPY_V1_MAX_HEADER = 0xffff;

/**
 * Dtypes NumPy has no dtype for, stored with `--allow-raw` as unsigned integers of the same width, bits
 * unchanged: a reader gets the bit patterns (`.view(ml_dtypes.bfloat16)` gives the values back).
 */
export const NPY_RAW_DESCR: Partial<Record<Dtype, string>> = {
  BF16: '<u2', F8_E5M2: '|u1', F8_E4M3: '|u1', F8_E8M0: '|u1', F8_E4M3FNUZ: '|u1', F8_E5M2FNUZ: '|u1',
};

/**
 * The .npy descr of a tensor's dtype (with `raw`, NPY_RAW_DESCR's for BF16 and F8_*); throws a coded
 * error naming the tensor when NumPy has none.
 */
export function npyDescr(name: string, dtype: Dtype, raw = false): string {
  const descr = NPY_DESCR[dtype] ?? (raw ? NPY_RAW_DESCR[dtype] : undefined);
  if (descr === undefined) {
    const hint = NPY_RAW_DESCR[dtype] !== undefined ? ` (--allow-raw stores its bits as ${NPY_RAW_DESCR[dtype]})` : '';
    throw new TensorsafeError('UnsupportedTensor', `tensor ${JSON.stringify(name)} is ${dtype}, which has no NumPy dtype: it cannot be written as .npy${hint}`, { location: name });
  }
  return descr;
}

/**
 * The header of a .npy file (magic, version, length, dict, padding) exactly as numpy.lib.format
 * writes it for a C-ordered array: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`,
 * growth-axis spaces, then spaces and a newline up to a multiple of 64 bytes.
 */
export function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, NPY_GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const wrap = (lengthBytes: number): string => {
    const hlen = dict.length + 1;
    const padlen = NPY_ARRAY_ALIGN - ((8 + lengthBytes + hlen) % NPY_ARRAY_ALIGN);
    return dict + ' '.repeat(padlen) + '\n';
  };
  let text = wrap(2);
  const major = text.length > NPY_V1_MAX_HEADER ? 2 : 1;
  if (major === 2) text = wrap(4);
  const lengthBytes = major === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lengthBytes + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  // The dict is ASCII: names are not in it, only the descr and the shape.
  for (let i = 0; i < text.length; i++) out[8 + lengthBytes + i] = text.charCodeAt(i);
  return out;
}
