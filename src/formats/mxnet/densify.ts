import type { ByteSource } from '../../io/byte-source.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import type { MxnetArray, MxnetAux } from './header.js';
import { MAX_MXNET_CSR_ROW_BYTES, MAX_MXNET_DENSE_BYTES, MAX_MXNET_SPARSE_EXPANSION, MAX_MXNET_SPARSE_INDEX_BYTES } from './limits.js';

/**
 * MXNet's sparse NDArrays as the dense arrays they stand for (what `tostype('default')` gives), bit for
 * bit: a row-sparse array's stored rows at their indices and zero rows between them; a CSR matrix's
 * values at (row, column) and zeros elsewhere. The indices are read and checked when the file is
 * opened (sorted, unique, in range, as MXNet's `check_format` wants them), so a malformed array is
 * refused by name before anything is written. The output streams in bounded chunks; stored rows are
 * copied in runs, never one element at a time, and a CSR row is scattered into a buffer of its own.
 */

/** Indices of a sparse array, checked. */
export interface SparseIndices {
  /** Row-sparse: the stored rows' indices. CSR: the column of every non-zero. */
  readonly indices: Float64Array;
  /** CSR: where each row's non-zeros start (rows + 1 entries). */
  readonly indptr?: Float64Array;
}

/** Reads and checks the indices of a sparse array; `budget` is what the file's arrays may still hold in memory. Throws FormatProblem. */
export async function readSparseIndices(source: ByteSource, a: MxnetArray, what: string, budget: { bytes: number }): Promise<SparseIndices> {
  const dense = a.shape.reduce((x, d) => x * BigInt(d), 1n) * BigInt(a.elementSize);
  if (dense > BigInt(MAX_MXNET_DENSE_BYTES)) throw limitExceeded(`${what} densifies to ${dense} bytes, more than MAX_MXNET_DENSE_BYTES (${MAX_MXNET_DENSE_BYTES})`, a.at);
  const stored = a.dataBytes + a.aux.reduce((n, x) => n + x.bytes, 0);
  if (dense > 1n << 20n && dense > BigInt(stored) * BigInt(MAX_MXNET_SPARSE_EXPANSION)) {
    throw limitExceeded(`${what} densifies to ${dense} bytes from ${stored} stored, more than MAX_MXNET_SPARSE_EXPANSION (${MAX_MXNET_SPARSE_EXPANSION}) times as many past 1 MiB`, a.at);
  }
  const read = async (aux: MxnetAux): Promise<Float64Array> => {
    budget.bytes -= aux.bytes;
    if (budget.bytes < 0) throw limitExceeded(`${what}'s ${aux.role} take the file's sparse indices past MAX_MXNET_SPARSE_INDEX_BYTES (${MAX_MXNET_SPARSE_INDEX_BYTES})`, aux.offset);
    const bytes = await source.read(aux.offset, aux.bytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = aux.bytes / aux.elementSize;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = aux.elementSize === 8 ? dv.getBigInt64(i * 8, true) : BigInt(dv.getInt32(i * 4, true));
      // Anything past 2^53 is past every dimension anyway: kept as Infinity, refused by the range checks below.
      out[i] = v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : v < 0n ? -1 : Number(v);
    }
    return out;
  };
  if (a.storage === 'row_sparse') {
    const aux = a.aux[0]!;
    const indices = await read(aux);
    const rows = a.shape[0]!;
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i]!;
      if (r < 0 || r >= rows) throw malformed(`${what}: row index ${r} (entry ${i}) is outside 0..${rows - 1}`, aux.offset + i * aux.elementSize);
      if (i > 0 && r <= indices[i - 1]!) throw malformed(`${what}: row indices are not strictly increasing (entry ${i}: ${r} after ${indices[i - 1]})`, aux.offset + i * aux.elementSize);
    }
    return { indices };
  }
  const [ptrAux, idxAux] = [a.aux[0]!, a.aux[1]!];
  const rowBytes = a.shape[1]! * a.elementSize;
  if (rowBytes > MAX_MXNET_CSR_ROW_BYTES) throw limitExceeded(`${what}: a dense row is ${rowBytes} bytes, more than MAX_MXNET_CSR_ROW_BYTES (${MAX_MXNET_CSR_ROW_BYTES})`, a.at);
  const indptr = await read(ptrAux);
  const indices = await read(idxAux);
  const [rows, cols] = [a.shape[0]!, a.shape[1]!];
  if (indptr[0] !== 0) throw malformed(`${what}: indptr starts at ${indptr[0]}, not 0`, ptrAux.offset);
  if (indptr[rows] !== indices.length) throw malformed(`${what}: indptr ends at ${indptr[rows]}, not at the ${indices.length} non-zeros`, ptrAux.offset + rows * ptrAux.elementSize);
  for (let r = 0; r < rows; r++) {
    const [start, end] = [indptr[r]!, indptr[r + 1]!];
    if (end < start) throw malformed(`${what}: indptr decreases at row ${r} (${start} then ${end})`, ptrAux.offset + (r + 1) * ptrAux.elementSize);
    // Checked before the row's walk: a pointer past the non-zeros (or past 2^53) would make it endless.
    if (end > indices.length) throw malformed(`${what}: indptr[${r + 1}] is ${end}, past the ${indices.length} non-zeros`, ptrAux.offset + (r + 1) * ptrAux.elementSize);
    for (let k = start; k < end; k++) {
      const col = indices[k]!;
      if (col < 0 || col >= cols) throw malformed(`${what}: column index ${col} (non-zero ${k}, row ${r}) is outside 0..${cols - 1}`, idxAux.offset + k * idxAux.elementSize);
      if (k > start && col <= indices[k - 1]!) throw malformed(`${what}: the column indices of row ${r} are not strictly increasing (${col} after ${indices[k - 1]})`, idxAux.offset + k * idxAux.elementSize);
    }
  }
  return { indptr, indices };
}

/** The dense bytes of a sparse array, in chunks of at most chunkBytes. */
export async function* densifiedChunks(source: ByteSource, a: MxnetArray, idx: SparseIndices, chunkBytes: number): AsyncGenerator<Uint8Array> {
  const rows = a.shape[0]!;
  const rowBytes = Number(a.shape.slice(1).reduce((x, d) => x * BigInt(d), 1n)) * a.elementSize;
  if (rows === 0 || rowBytes === 0) return;
  const blockRows = Math.max(1, Math.floor(chunkBytes / rowBytes));
  for (let r0 = 0; r0 < rows; r0 += blockRows) {
    const r1 = Math.min(rows, r0 + blockRows);
    const block = a.storage === 'row_sparse' ? await rowSparseBlock(source, a, idx.indices, rowBytes, r0, r1) : await csrBlock(source, a, idx, rowBytes, r0, r1);
    for (let at = 0; at < block.length; at += chunkBytes) yield block.subarray(at, Math.min(block.length, at + chunkBytes));
  }
}

/** Rows [r0, r1) of a row-sparse array: runs of stored rows copied with one read each. */
async function rowSparseBlock(source: ByteSource, a: MxnetArray, indices: Float64Array, rowBytes: number, r0: number, r1: number): Promise<Uint8Array> {
  const out = new Uint8Array((r1 - r0) * rowBytes);
  let k = lowerBound(indices, r0);
  while (k < indices.length && indices[k]! < r1) {
    // A run of consecutive stored rows is one read.
    let end = k + 1;
    while (end < indices.length && indices[end] === indices[end - 1]! + 1 && indices[end]! < r1) end++;
    const bytes = await source.read(a.dataOffset + k * rowBytes, (end - k) * rowBytes);
    out.set(bytes, (indices[k]! - r0) * rowBytes);
    k = end;
  }
  return out;
}

/** Rows [r0, r1) of a CSR matrix: their non-zeros read with one read, scattered to their columns. */
async function csrBlock(source: ByteSource, a: MxnetArray, idx: SparseIndices, rowBytes: number, r0: number, r1: number): Promise<Uint8Array> {
  const es = a.elementSize;
  const out = new Uint8Array((r1 - r0) * rowBytes);
  const indptr = idx.indptr!;
  const [k0, k1] = [indptr[r0]!, indptr[r1]!];
  if (k1 === k0) return out;
  const values = await source.read(a.dataOffset + k0 * es, (k1 - k0) * es);
  for (let r = r0; r < r1; r++) {
    const base = (r - r0) * rowBytes;
    for (let k = indptr[r]!; k < indptr[r + 1]!; k++) {
      const from = (k - k0) * es;
      out.set(values.subarray(from, from + es), base + idx.indices[k]! * es);
    }
  }
  return out;
}

function lowerBound(sorted: Float64Array, value: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
