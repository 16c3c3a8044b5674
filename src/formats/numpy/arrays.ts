import type { Dtype } from '../../dtype/dtypes.js';
import type { ByteSource } from '../../io/byte-source.js';
import { readChunks } from '../../io/read-chunks.js';
import { swapChunks } from '../../tensor/byte-swap.js';
import { streamWindow } from '../../tensor/stream-window.js';
import { checkGatherable, stridedChunks, type StridedView } from '../../tensor/strided.js';
import { DEFAULT_CHUNK_BYTES, type TensorEncoding, type TensorEntry } from '../../tensor/tensor-set.js';
import { show } from '../scan-rules.js';
import type { NpyDtype } from './dtype.js';
import { NumpyError } from './errors.js';
import type { NpyHeader } from './header.js';

/**
 * One .npy array as a TensorEntry: its dtype as safetensors names it (or a refusal with the reason),
 * and its bytes as numpy's C-order little-endian array: stored ones read as they lie, big-endian ones
 * byte-swapped, Fortran-order ones gathered to row-major, all in bounded chunks.
 */

/** Dimensions of one array: numpy's own NPY_MAXDIMS (64); a header of a million dimensions would make every gather step walk a million counters. */
export const MAX_NPY_DIMS = 64;

/** How an array's bytes are reached: random access (a file, a stored member), or a stream read in order (a deflated member). */
export type ArrayBytes =
  | { readonly kind: 'random'; readonly source: ByteSource }
  | {
      readonly kind: 'stream';
      /** The whole member's bytes, from its first (header) byte, inflated as they are read. */
      readonly stream: () => AsyncIterable<Uint8Array>;
      /** The whole member in memory, for the random access a Fortran-order gather needs. */
      readonly whole: () => Promise<ByteSource>;
    };

/** The safetensors dtype of a numpy one and its byte-swap unit, or the reason safetensors cannot hold it. */
export function safetensorsDtype(d: NpyDtype, descr: string): { dtype: Dtype; swapUnit: number } | { refusal: string; object?: true } {
  const size = Number(d.itemsize);
  const table: Partial<Record<NpyDtype['kind'], Record<number, Dtype>>> = {
    bool: { 1: 'BOOL' },
    int: { 1: 'I8', 2: 'I16', 4: 'I32', 8: 'I64' },
    uint: { 1: 'U8', 2: 'U16', 4: 'U32', 8: 'U64' },
    float: { 2: 'F16', 4: 'F32', 8: 'F64' },
    complex: { 8: 'C64' },
  };
  const dtype = table[d.kind]?.[size];
  if (dtype !== undefined) return { dtype, swapUnit: d.kind === 'complex' ? size / 2 : size };
  if (d.hasObject) {
    const inside = d.kind === 'structured' ? 'a structured dtype with an object field' : 'an object array';
    return { refusal: `${inside} (dtype ${show(descr)}): its data is a pickle, which tensorsafe never reads or runs (numpy loads it only with allow_pickle=True)`, object: true };
  }
  const why: Record<NpyDtype['kind'], string> = {
    bool: 'a bool of an odd size',
    int: 'an integer of an odd size',
    uint: 'an unsigned integer of an odd size',
    float: size > 8 ? 'long double (float96/float128), which safetensors has no dtype for' : 'a float of an odd size',
    complex: `complex with ${size}-byte elements; safetensors holds complex64 (C64) only`,
    bytes: 'a byte-string array, which safetensors has no dtype for',
    str: 'a unicode string array, which safetensors has no dtype for',
    void: 'raw void (opaque bytes) elements, which safetensors has no dtype for',
    datetime: 'a datetime64 array, which safetensors has no dtype for',
    timedelta: 'a timedelta64 array, which safetensors has no dtype for',
    structured: 'a structured dtype (record fields): safetensors holds one plain dtype per tensor',
    object: 'an object array',
  };
  return { refusal: `dtype ${show(descr)} is ${why[d.kind]}` };
}

/**
 * The entry for one array whose header is parsed. `dataBytes` is what follows the header (the
 * member's or file's size minus the header): at least the array's bytes, or the file is truncated.
 * `where` names the file (and member) in messages.
 */
export function arrayEntry(name: string, header: NpyHeader, bytes: ArrayBytes, dataBytes: number, where: string): TensorEntry {
  const mapped = safetensorsDtype(header.dtype, header.descr);
  if ('refusal' in mapped) {
    throw new NumpyError(mapped.object ? 'ObjectArray' : 'UnsupportedTensor', `${where}: ${mapped.refusal}; nothing is converted`, { location: where });
  }
  if (header.boolInShape) {
    throw new NumpyError('InvalidNumpy', `${where}: shape is not a tuple of non-negative integers: it holds True or False, which numpy.load refuses ("an integer is required"); nothing is converted`, { location: where });
  }
  const shape = header.shape;
  if (shape.length > MAX_NPY_DIMS) {
    throw new NumpyError('NumpyLimit', `${where}: the array has ${shape.length} dimensions, more than MAX_NPY_DIMS (${MAX_NPY_DIMS})`, { location: where });
  }
  const count = shape.reduce((a, b) => a * BigInt(b), 1n);
  const byteLength = count * header.itemsize;
  if (byteLength > BigInt(dataBytes)) {
    throw new NumpyError(
      'InvalidNumpy',
      `${where}: the data is ${dataBytes} bytes, but dtype ${show(header.descr)} and shape (${shape.join(', ')}) need ${byteLength} (truncated file)`,
      { location: `${where}@${header.dataOffset}` },
    );
  }
  const length = Number(byteLength);
  const es = Number(header.itemsize);
  const swap = header.dtype.bigEndian && mapped.swapUnit > 1 ? mapped.swapUnit : 0;
  // Fortran order is column-major: the first index moves fastest. One dimension (or none) reads the same either way.
  const fortran = header.fortranOrder && shape.filter((n) => n !== 1).length > 1;
  const encoding: TensorEncoding = { layout: fortran ? 'strided' : 'stored', ...(swap ? { byteSwap: swap } : {}) };
  const view = { base: header.dataOffset, elementSize: es, shape, stride: fortranStrides(shape), swap, name };
  const step = (chunkBytes: number): number => Math.max(es, Math.floor(chunkBytes / es) * es);
  const chunks = (chunkBytes = DEFAULT_CHUNK_BYTES): AsyncIterable<Uint8Array> => {
    if (length === 0) return empty();
    if (bytes.kind === 'random') {
      if (fortran) return stridedChunks(bytes.source, view, chunkBytes);
      return swapChunks(readChunks(bytes.source, header.dataOffset, length, step(chunkBytes)), swap);
    }
    if (fortran) return gatherWhole(bytes, view, (s) => stridedChunks(s, view, chunkBytes));
    return swapChunks(streamWindow(bytes.stream(), header.dataOffset, length, step(chunkBytes), where), swap);
  };
  return { name, dtype: mapped.dtype, shape: [...shape], byteLength: length, encoding, fidelity: 'exact', chunks };
}

/** Element strides of a Fortran-order (column-major) array. */
export function fortranStrides(shape: readonly number[]): number[] {
  const stride: number[] = [];
  let s = 1;
  for (const n of shape) {
    stride.push(s);
    s *= n;
  }
  return stride;
}

async function* empty(): AsyncGenerator<Uint8Array> {}

/** A deflated Fortran-order member: inflated whole for the gather, unless the gather would be refused anyway (checked first). */
async function* gatherWhole(bytes: Extract<ArrayBytes, { kind: 'stream' }>, view: StridedView, gather: (s: ByteSource) => AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  checkGatherable(view);
  yield* gather(await bytes.whole());
}
