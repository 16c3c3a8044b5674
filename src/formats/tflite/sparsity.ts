import { malformed } from '../../io/format-problem.js';
import type { FlatBuffer, Table } from '../flatbuffers/tables.js';

/**
 * A tensor's SparsityParameters (schema.fbs), located, not read: the traversal order of its dimensions,
 * the block map, and each traversed dimension's metadata (DENSE with its size, or SPARSE_CSR with its
 * segment and index vectors, each an Int32Vector, Uint16Vector or Uint8Vector). The index vectors can be
 * long (one entry per stored block): they are read by densify.ts when the tensor is, bounded there.
 */

/** Where the values of an index vector lie in the file: `count` entries of `width` bytes from `start`. */
export interface TfliteIndexVector {
  readonly start: number;
  readonly count: number;
  readonly width: 1 | 2 | 4;
}

export interface TfliteDimensionMetadata {
  /** DimensionType SPARSE_CSR (else DENSE). */
  readonly sparse: boolean;
  readonly denseSize: number;
  readonly segments?: TfliteIndexVector;
  readonly indices?: TfliteIndexVector;
}

export interface TfliteSparsity {
  readonly traversalOrder: number[];
  readonly blockMap: number[];
  /** In traversal order: `dims[p]` describes dimension `traversalOrder[p]`. */
  readonly dims: TfliteDimensionMetadata[];
}

/** DimensionType (schema.fbs). */
const DENSE = 0;
const SPARSE_CSR = 1;
/** SparseIndexVector union members: their element widths. */
const INDEX_WIDTHS: Readonly<Record<number, 1 | 2 | 4>> = { 1: 4, 2: 2, 3: 1 };

export async function sparsityOf(fb: FlatBuffer, s: Table, tensor: string, int32s: (t: Table, index: number, what: string) => Promise<number[]>): Promise<TfliteSparsity> {
  const what = `the sparsity of ${tensor}`;
  const traversalOrder = await int32s(s, 0, `${what} (traversal_order)`);
  const blockMap = await int32s(s, 1, `${what} (block_map)`);
  const dims: TfliteDimensionMetadata[] = [];
  for await (const [d, p] of fb.tablesOf(s, 2, `${what} (dim_metadata)`)) {
    const at = `dimension metadata ${p} of ${what}`;
    const format = await fb.scalarI8(d, 0, at);
    if (format !== DENSE && format !== SPARSE_CSR) throw malformed(`${at} has the format ${format}, neither DENSE (0) nor SPARSE_CSR (1)`, d.pos);
    const denseSize = await fb.scalarI32(d, 1, at);
    if (format === DENSE) {
      dims.push({ sparse: false, denseSize });
      continue;
    }
    const segments = await indexVector(fb, d, 2, `the array_segments of ${at}`);
    const indices = await indexVector(fb, d, 4, `the array_indices of ${at}`);
    if (segments === undefined || indices === undefined) throw malformed(`${at} is SPARSE_CSR without ${segments === undefined ? 'array_segments' : 'array_indices'}`, d.pos);
    dims.push({ sparse: true, denseSize, segments, indices });
  }
  return { traversalOrder, blockMap, dims };
}

/** A SparseIndexVector union: its type at field `index`, its table at `index + 1`. */
async function indexVector(fb: FlatBuffer, d: Table, index: number, what: string): Promise<TfliteIndexVector | undefined> {
  const type = (await fb.scalarI8(d, index, what)) & 0xff;
  const f = await fb.field(d, index + 1, what);
  if (f === undefined) return undefined;
  const width = INDEX_WIDTHS[type];
  if (width === undefined) throw malformed(`${what} is a SparseIndexVector of type ${type}, not Int32Vector (1), Uint16Vector (2) or Uint8Vector (3)`, f);
  const v = await fb.table(await fb.ref(f, what), what);
  // Read as bytes, so the FlatBuffer vector-length limit does not apply: densify.ts bounds the entries.
  const values = await fb.vector(v, 0, 1, what);
  if (values === undefined) return { start: 0, count: 0, width };
  const [start, count] = values; // vector() checked `count` bytes; the entries are `width` bytes each
  fb.r.check(start, count * width, what);
  return { start, count, width };
}
