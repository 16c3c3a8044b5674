import type { ByteSource } from '../../io/byte-source.js';
import { MAX_TFLITE_SPARSE_DENSE_BYTES, MAX_TFLITE_SPARSE_EXPANSION, MAX_TFLITE_SPARSE_FREE_BYTES, MAX_TFLITE_SPARSE_INDEX_ENTRIES, MAX_TFLITE_SPARSE_MODEL_ENTRIES } from './limits.js';
import type { TfliteIndexVector, TfliteSparsity } from './sparsity.js';

/**
 * A sparse TFLite tensor made dense, as TFLite's FormatConverter (SparseToDense) does it, from the
 * schema's semantics:
 *  - a tensor of rank n with a k-dimensional block (block_map: the k original dimensions that are
 *    blocked, ascending) is traversed over n + k dimensions: the n original ones (a blocked one counts
 *    its blocks, size / block size) then the k block dimensions; `traversal_order` orders them, its first
 *    n a permutation of 0..n-1, its last k of n..n+k-1;
 *  - `dim_metadata[p]` describes the p-th traversed dimension: DENSE, all `dense_size` of its indices; or
 *    SPARSE_CSR, where the children of the node numbered i of the level above are the entries
 *    segments[i] .. segments[i+1] of `array_indices` (the node numbers of this level);
 *  - a DENSE level numbers its nodes parent * size + index; the stored values are the leaves, in order;
 *  - an element's dense position: each original dimension's index is its block index × block size plus
 *    its index in the block.
 * Everything TFLite's converter would silently skip or write out of bounds is refused here: dense sizes
 * other than the dimension's, segments that do not start at 0, decrease, or are not one per node above
 * plus one, indices outside the dimension or not ascending in a segment (a repeated index would write
 * one position twice), a value count other than the leaves. Block dimensions must be DENSE (the only
 * kind TFLite's converter writes), and block sizes are read where the schema puts them; TFLite's
 * converter reads them from `dim_metadata[traversal_order[n + b]]`: a model where the two differ is refused.
 */

export type Refuse = (why: string, limit?: boolean) => Error;

/** The dense element index of each stored value, in storage order; checked throughout. */
export async function densePositions(source: ByteSource, shape: readonly number[], sp: TfliteSparsity, size: number, values: number, refuse: Refuse, budget?: { left: number }): Promise<Int32Array> {
  const n = shape.length;
  const k = sp.blockMap.length;
  const rank = n + k;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count * size > MAX_TFLITE_SPARSE_DENSE_BYTES) throw refuse(`is ${count * size} bytes dense, more than MAX_TFLITE_SPARSE_DENSE_BYTES (${MAX_TFLITE_SPARSE_DENSE_BYTES})`, true);
  const order = sp.traversalOrder;
  if (order.length !== rank) throw refuse(`has a traversal order of ${order.length} dimensions, but its rank ${n} and ${k} block dimensions make ${rank}`);
  if (sp.dims.length !== rank) throw refuse(`has metadata for ${sp.dims.length} dimensions, but traverses ${rank}`);
  const permutes = (from: number, to: number): boolean => {
    const seen = new Set(order.slice(from, to));
    return seen.size === to - from && [...seen].every((d) => d >= from && d < to);
  };
  if (!permutes(0, n) || !permutes(n, rank)) throw refuse(`has the traversal order [${order.join(', ')}]: its first ${n} entries must order 0..${n - 1} and the last ${k} ${n}..${rank - 1}`);
  for (let b = 0; b < k; b++) {
    const d = sp.blockMap[b]!;
    if (!(d >= 0 && d < n) || (b > 0 && d <= sp.blockMap[b - 1]!)) throw refuse(`has the block map [${sp.blockMap.join(', ')}]: it must list dimensions of its shape, ascending`);
  }

  // Sizes and strides (in dense elements) of the n + k traversed dimensions.
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const sizes = [...shape];
  const steps = [...strides];
  for (let b = 0; b < k; b++) {
    const p = order.indexOf(n + b);
    const meta = sp.dims[p]!;
    if (meta.sparse) throw refuse(`has a SPARSE_CSR block dimension (dimension metadata ${p}): only DENSE blocks are densified, as TFLite's converter writes them`);
    const block = meta.denseSize;
    const d = sp.blockMap[b]!;
    if (!(block > 0) || shape[d]! % block !== 0) throw refuse(`has blocks of ${block} along dimension ${d} of size ${shape[d]}: the size must be a whole number of blocks`);
    if (sp.dims[order[n + b]!]!.denseSize !== block) throw refuse(`has block sizes TFLite's converter reads otherwise (it takes block ${b}'s size from dimension metadata ${order[n + b]}, not ${p})`);
    sizes[d] = shape[d]! / block;
    steps[d] = strides[d]! * block;
    sizes.push(block);
    steps.push(strides[d]!);
  }

  // Node counts, level by level, before anything is read or allocated.
  let nodes = 1;
  let entries = 0;
  for (let p = 0; p < rank; p++) {
    const meta = sp.dims[p]!;
    const dim = order[p]!;
    if (!meta.sparse) {
      if (meta.denseSize !== sizes[dim]) throw refuse(`has a DENSE dimension (metadata ${p}) of size ${meta.denseSize}, but that dimension is ${sizes[dim]}`);
      nodes *= sizes[dim]!;
      continue;
    }
    if (meta.segments!.count !== nodes + 1) throw refuse(`has ${meta.segments!.count} segments for SPARSE_CSR dimension metadata ${p}, not one per node above plus one (${nodes + 1})`);
    entries += meta.segments!.count + meta.indices!.count;
    if (entries > MAX_TFLITE_SPARSE_INDEX_ENTRIES) throw refuse(`has more than MAX_TFLITE_SPARSE_INDEX_ENTRIES (${MAX_TFLITE_SPARSE_INDEX_ENTRIES}) segment and index entries`, true);
    nodes = meta.indices!.count;
  }
  if (nodes !== values) throw refuse(`stores ${values} values, but its sparsity describes ${nodes}`);
  const stored = values * size + sp.dims.reduce((a, m) => a + (m.sparse ? m.segments!.count * m.segments!.width + m.indices!.count * m.indices!.width : 0), 0);
  if (count * size > Math.max(MAX_TFLITE_SPARSE_FREE_BYTES, stored * MAX_TFLITE_SPARSE_EXPANSION)) {
    throw refuse(`is ${count * size} bytes dense from ${stored} bytes of values and indices, more than MAX_TFLITE_SPARSE_EXPANSION (${MAX_TFLITE_SPARSE_EXPANSION}) times as many (past MAX_TFLITE_SPARSE_FREE_BYTES, ${MAX_TFLITE_SPARSE_FREE_BYTES})`, true);
  }
  if (budget !== undefined) {
    budget.left -= entries + values;
    if (budget.left < 0) throw refuse(`brings the model's sparse tensors past MAX_TFLITE_SPARSE_MODEL_ENTRIES (${MAX_TFLITE_SPARSE_MODEL_ENTRIES}) segment and index entries and stored values`, true);
  }

  // Dense offsets of the nodes of each level, from the root down; the last level's are the values'.
  let offsets = new Int32Array(1);
  for (let p = 0; p < rank; p++) {
    const meta = sp.dims[p]!;
    const dim = order[p]!;
    const size = sizes[dim]!;
    const step = steps[dim]!;
    if (!meta.sparse) {
      const next = new Int32Array(offsets.length * size);
      for (let i = 0, o = 0; i < offsets.length; i++) for (let j = 0; j < size; j++) next[o++] = offsets[i]! + j * step;
      offsets = next;
      continue;
    }
    const segments = await indexValues(source, meta.segments!);
    const indices = await indexValues(source, meta.indices!);
    if (segments[0] !== 0 || segments[segments.length - 1] !== indices.length) {
      throw refuse(`has segments [${segments[0]}, …, ${segments[segments.length - 1]}] for SPARSE_CSR dimension metadata ${p}: they must run from 0 to its ${indices.length} indices`);
    }
    // Ascending from 0 to the index count: every segment then lies among the indices.
    for (let i = 0; i < offsets.length; i++) {
      if (segments[i + 1]! < segments[i]!) throw refuse(`has unsorted segments for SPARSE_CSR dimension metadata ${p}: segment ${i + 1} (${segments[i + 1]}) is before segment ${i} (${segments[i]})`);
    }
    const next = new Int32Array(indices.length);
    for (let i = 0; i < offsets.length; i++) {
      const from = segments[i]!;
      const to = segments[i + 1]!;
      for (let e = from, last = -1; e < to; e++) {
        const x = indices[e]!;
        if (x < 0 || x >= size) throw refuse(`has index ${x} (entry ${e} of SPARSE_CSR dimension metadata ${p}), outside its dimension of size ${size}`);
        if (x <= last) throw refuse(`has index ${x} after ${last} in segment ${i} of SPARSE_CSR dimension metadata ${p}: indices must ascend within a segment`);
        last = x;
        next[e] = offsets[i]! + x * step;
      }
    }
    offsets = next;
  }
  return offsets;
}

/** An index vector's values as int32 (Int32Vector entries may be negative: refused by the caller). */
async function indexValues(source: ByteSource, v: TfliteIndexVector): Promise<Int32Array> {
  const bytes = (await source.read(v.start, v.count * v.width)).slice(); // a copy: aligned, and ours
  if (v.width === 1) return Int32Array.from(bytes);
  const view = new DataView(bytes.buffer);
  const out = new Int32Array(v.count);
  for (let i = 0; i < v.count; i++) out[i] = v.width === 2 ? view.getUint16(2 * i, true) : view.getInt32(4 * i, true);
  return out;
}

/** The dense bytes: zeros, then each stored value (of `size` bytes) copied to its position. */
export async function densified(source: ByteSource, start: number, length: number, positions: Int32Array, size: number, count: number): Promise<Uint8Array> {
  const dense = new Uint8Array(count * size);
  const stored = (await source.read(start, length)).slice();
  // Copied as integers of the element's width (never as floats: NaN payloads are kept bit for bit).
  if (size === 1) for (let i = 0; i < positions.length; i++) dense[positions[i]!] = stored[i]!;
  else if (size === 2) {
    const to = new Uint16Array(dense.buffer);
    const from = new Uint16Array(stored.buffer);
    for (let i = 0; i < positions.length; i++) to[positions[i]!] = from[i]!;
  } else {
    const words = size / 4;
    const to = new Int32Array(dense.buffer);
    const from = new Int32Array(stored.buffer);
    for (let i = 0; i < positions.length; i++) for (let w = 0; w < words; w++) to[positions[i]! * words + w] = from[i * words + w]!;
  }
  return dense;
}

/** Bytes in chunks of at most `chunkBytes` (whole elements). */
export async function* inChunks(bytes: () => Promise<Uint8Array>, chunkBytes: number, size: number): AsyncGenerator<Uint8Array> {
  const all = await bytes();
  const step = Math.max(size, Math.floor(chunkBytes / size) * size);
  for (let at = 0; at < all.length; at += step) yield all.subarray(at, Math.min(all.length, at + step));
}
