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

/** `maxGatherSpan` is MAX_GATHER_SPAN; tests set it lower to reach the paths of large views with small ones. */
export async function* stridedChunks(source: ByteSource, view: StridedView, chunkBytes = DEFAULT_CHUNK_BYTES, maxGatherSpan = MAX_GATHER_SPAN): AsyncGenerator<Uint8Array> {
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
  if (span > maxGatherSpan && runBytes === es && columnBlockRows(view, maxGatherSpan) > 1) {
    yield* columnBlocks(source, view, step, maxGatherSpan);
    return;
  }
  const outerShape = view.shape.slice(0, inner);
  const outerStride = view.stride.slice(0, inner);
  const runs = count(outerShape);
  const block = span <= maxGatherSpan ? aligned(await source.read(view.base, span), es) : undefined;
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

/**
 * Rows of output assembled per block when a large view is gathered column by column: a view whose
 * first dimension is unit-stride (a Fortran-order array, a transposed matrix) and whose output row
 * would otherwise be read one element at a time. 0 when the view is not such a view.
 */
function columnBlockRows(view: StridedView, budget: number): number {
  if (view.shape.length < 2 || view.stride[0] !== 1 || view.shape[0]! < 2) return 0;
  const rowBytes = count(view.shape.slice(1)) * view.elementSize;
  return Math.min(view.shape[0]!, Math.floor(budget / rowBytes));
}

/**
 * A large view with a unit-stride first dimension, in row-major order: blocks of output rows, each
 * block filled from one contiguous read per column (the rows of the block in that column) and
 * scattered into place a word at a time. Reads per block: one per column, instead of one per element.
 */
async function* columnBlocks(source: ByteSource, view: StridedView, step: number, budget: number): AsyncGenerator<Uint8Array> {
  const es = view.elementSize;
  const rows = view.shape[0]!;
  const restShape = view.shape.slice(1);
  const restStride = view.stride.slice(1);
  const columns = count(restShape);
  const perBlock = columnBlockRows(view, budget);
  const word = es % 4 === 0 ? 4 : es % 2 === 0 ? 2 : 1;
  const k = es / word; // words per element
  for (let r0 = 0; r0 < rows; r0 += perBlock) {
    const n = Math.min(perBlock, rows - r0);
    const block = new Uint8Array(n * columns * es);
    const dst = words(block, word);
    const counters = new Array<number>(restShape.length).fill(0);
    let offset = 0; // element offset of the column's first element (row 0)
    for (let j = 0; j < columns; j++) {
      const run = aligned(await source.read(view.base + (r0 + offset) * es, n * es), word);
      const src = words(run, word);
      for (let r = 0; r < n; r++) for (let t = 0; t < k; t++) dst[(r * columns + j) * k + t] = src[r * k + t]!;
      for (let d = restShape.length - 1; d >= 0; d--) {
        offset += restStride[d]!;
        if (++counters[d]! < restShape[d]!) break;
        offset -= restStride[d]! * restShape[d]!;
        counters[d] = 0;
      }
    }
    inPlaceSwapped(block, view.swap);
    for (let at = 0; at < block.byteLength; at += step) yield block.subarray(at, Math.min(block.byteLength, at + step));
  }
}

function words(bytes: Uint8Array, word: number): Uint8Array | Uint16Array | Uint32Array {
  if (word === 4) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (word === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return bytes;
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
