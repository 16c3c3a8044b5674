import type { ByteSource } from '../io/byte-source.js';
import { readChunks } from '../io/read-chunks.js';
import { swapChunks, swapInto } from './byte-swap.js';
import { DEFAULT_CHUNK_BYTES } from './tensor-set.js';

/**
 * Bytes of a strided view (torch and numpy tensors: an offset, a shape and strides into a
 * storage) as a contiguous row-major stream, in bounded chunks. Contiguous views are copied
 * range by range; others (transposes, slices with steps, expanded tensors with zero strides)
 * are gathered from the span of storage they touch.
 */

/** Largest storage span gathered in memory for one non-contiguous view; larger ones are read run by run. */
export const MAX_GATHER_SPAN = 64 << 20;

export interface StridedView {
  /** Byte offset of element [0, 0, …] in the source. */
  readonly base: number;
  readonly elementSize: number;
  readonly shape: readonly number[];
  /** Strides in elements; non-negative. */
  readonly stride: readonly number[];
  /** Byte-swap units of this width (2, 4 or 8) after reading: big-endian storages. 0 for none. */
  readonly swap?: number;
}

/** Number of elements of a shape. */
function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** True when the view is plain row-major over consecutive elements (an empty view has nothing to gather). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  if (shape.includes(0)) return true;
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && stride[d]! !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/** Bytes from the first to one past the last element the view touches (0 for an empty view). */
export function spanBytes(view: StridedView): number {
  if (count(view.shape) === 0) return 0;
  let last = 0;
  view.shape.forEach((n, d) => (last += (n - 1) * view.stride[d]!));
  return (last + 1) * view.elementSize;
}

export async function* stridedChunks(source: ByteSource, view: StridedView, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const es = view.elementSize;
  const total = count(view.shape) * es;
  if (total === 0) return;
  const step = Math.max(es, Math.floor(chunkBytes / es) * es);
  if (isContiguous(view.shape, view.stride)) {
    yield* swapChunks(readChunks(source, view.base, total, step), view.swap);
    return;
  }
  const span = spanBytes(view);
  // Runs: the innermost dimensions that are laid out consecutively form one contiguous run.
  const dims = view.shape.length;
  let inner = dims;
  let runElements = 1;
  while (inner > 0 && (view.shape[inner - 1] === 1 || view.stride[inner - 1] === runElements)) {
    runElements *= view.shape[inner - 1]!;
    inner--;
  }
  const runBytes = runElements * es;
  const outerShape = view.shape.slice(0, inner);
  const outerStride = view.stride.slice(0, inner);
  const runs = count(outerShape);
  const block = span <= MAX_GATHER_SPAN ? aligned(await source.read(view.base, span), es) : undefined;
  const counters = new Array<number>(inner).fill(0);
  let out = new Uint8Array(Math.min(step, total));
  let filled = 0;
  let offset = 0; // element offset of the current run
  for (let r = 0; r < runs; r++) {
    const from = offset * es;
    const bytes = block ? undefined : await source.read(view.base + from, runBytes);
    let copied = 0;
    while (copied < runBytes) {
      const n = Math.min(runBytes - copied, out.byteLength - filled);
      if (block) copyRun(block, from + copied, out, filled, n, es);
      else out.set(bytes!.subarray(copied, copied + n), filled);
      copied += n;
      filled += n;
      if (filled === out.byteLength) {
        yield inPlaceSwapped(out, view.swap);
        out = new Uint8Array(Math.min(step, total - (r * runBytes + copied)));
        filled = 0;
      }
    }
    // Advance the odometer over the outer dimensions.
    for (let d = inner - 1; d >= 0; d--) {
      offset += outerStride[d]!;
      if (++counters[d]! < outerShape[d]!) break;
      offset -= outerStride[d]! * outerShape[d]!;
      counters[d] = 0;
    }
  }
  if (filled > 0) yield inPlaceSwapped(out.subarray(0, filled), view.swap);
}

/** Copies n bytes; short runs (single elements of a transpose) element-wise through integer views. */
function copyRun(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number, es: number): void {
  if (n > 16 || (from | to) % es !== 0) {
    dst.set(src.subarray(from, from + n), to);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

function aligned(bytes: Uint8Array, es: number): Uint8Array {
  if (bytes.byteOffset % Math.min(es, 8) === 0) return bytes;
  return bytes.slice();
}

/** A gathered chunk is this function's own buffer: swapped where it is. */
function inPlaceSwapped(bytes: Uint8Array, unit: number | undefined): Uint8Array {
  if (unit && unit > 1) swapInto(bytes, bytes, unit);
  return bytes;
}
