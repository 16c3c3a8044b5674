import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { Fields, latin } from './fields.js';
import type { Hdf5Geometry } from './geometry.js';
import { MAX_HDF5_BTREE_DEPTH, MAX_HDF5_BTREE_RECORDS, MAX_HDF5_HEADER_BLOCK_BYTES } from './limits.js';
import { checksum } from './object-header.js';

/** Bytes that hold any count up to `n` (HDF5's H5VM_limit_enc_size): floor(log2(n) / 8) + 1. */
export function encodedSize(n: number): number {
  let bits = 0;
  while (n >= 2 ** (bits + 1)) bits++;
  return Math.floor(bits / 8) + 1;
}

/** Bytes of a node's signature, version, type and checksum. */
const NODE_PREFIX = 10;

/**
 * Every record of a version-2 B-tree (BTHD) of `type` (5: link names, 8: attribute names, 1: huge heap
 * objects), leaves in key order, each checksum checked. Records are views of `recordSize` bytes.
 */
export async function btree2Records(r: PagedReader, g: Hdf5Geometry, address: number, type: number, what: string): Promise<Uint8Array[]> {
  const headLength = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + g.offsetSize + 2 + g.lengthSize + 4;
  const head = await r.bytes(address, headLength, `the B-tree of ${what}`);
  checksum(head, address, `the B-tree header of ${what}`);
  const f = new Fields(head, address, `the B-tree header of ${what}`);
  if (latin(f.take(4)) !== 'BTHD') throw malformed(`no v2 B-tree header (BTHD) for ${what}`, address);
  f.skip(1);
  const actualType = f.u8();
  if (actualType !== type) throw malformed(`the B-tree of ${what} is of type ${actualType} (${type} expected)`, address + 5);
  const nodeSize = f.u32();
  const recordSize = f.u16();
  const depth = f.u16();
  f.skip(2);
  const root = f.address(g);
  const rootRecords = f.u16();
  const total = f.length(g);
  if (root === undefined || total === 0) return [];
  if (depth > MAX_HDF5_BTREE_DEPTH) throw limitExceeded(`a B-tree of depth ${depth}, more than MAX_HDF5_BTREE_DEPTH (${MAX_HDF5_BTREE_DEPTH}), for ${what}`, address);
  if (total > MAX_HDF5_BTREE_RECORDS) throw limitExceeded(`a B-tree of ${total} records, more than MAX_HDF5_BTREE_RECORDS (${MAX_HDF5_BTREE_RECORDS}), for ${what}`, address);
  if (recordSize === 0 || nodeSize <= NODE_PREFIX || nodeSize > MAX_HDF5_HEADER_BLOCK_BYTES) throw malformed(`a B-tree of ${what} with nodes of ${nodeSize} bytes and records of ${recordSize}`, address);
  // Sizes of the counts in internal nodes' child pointers (H5B2 node info).
  const maxRecords = [Math.floor((nodeSize - NODE_PREFIX) / recordSize)];
  const maxRecordsSize = encodedSize(maxRecords[0]!);
  const cumulative = [maxRecords[0]!];
  const cumulativeSize = [0];
  const pointerSize = (d: number): number => g.offsetSize + maxRecordsSize + (d > 1 ? cumulativeSize[d - 1]! : 0);
  for (let d = 1; d <= depth; d++) {
    const m = Math.floor((nodeSize - (NODE_PREFIX + pointerSize(d))) / (recordSize + pointerSize(d)));
    maxRecords.push(m);
    cumulative.push(Math.min(Number.MAX_SAFE_INTEGER, (m + 1) * cumulative[d - 1]! + m));
    cumulativeSize.push(encodedSize(cumulative[d]!));
  }
  const out: Uint8Array[] = [];
  let nodes = 0;
  const node = async (at: number, records: number, d: number): Promise<void> => {
    if (++nodes > MAX_HDF5_BTREE_RECORDS || out.length + records > MAX_HDF5_BTREE_RECORDS) throw limitExceeded(`more than MAX_HDF5_BTREE_RECORDS (${MAX_HDF5_BTREE_RECORDS}) records or nodes in the B-tree of ${what}`, at);
    if (records > maxRecords[d]!) throw malformed(`a B-tree node of ${what} with ${records} records, more than fit (${maxRecords[d]})`, at);
    const length = 6 + records * recordSize + (d > 0 ? (records + 1) * pointerSize(d) : 0) + 4;
    const bytes = await r.bytes(at, length, `a B-tree node of ${what}`);
    checksum(bytes, at, `a B-tree node of ${what}`);
    const n = new Fields(bytes, at, `a B-tree node of ${what}`);
    const sig = latin(n.take(4));
    if (sig !== (d > 0 ? 'BTIN' : 'BTLF')) throw malformed(`a B-tree node of ${what} without its ${d > 0 ? 'BTIN' : 'BTLF'} signature`, at);
    n.skip(1);
    if (n.u8() !== type) throw malformed(`a B-tree node of ${what} of another type`, at + 5);
    const recs: Uint8Array[] = [];
    for (let i = 0; i < records; i++) recs.push(n.take(recordSize));
    if (d === 0) {
      out.push(...recs);
      return;
    }
    for (let i = 0; i <= records; i++) {
      const child = n.address(g);
      const childRecords = n.uint(maxRecordsSize);
      if (d > 1) n.skip(cumulativeSize[d - 1]!);
      if (child === undefined) throw malformed(`a B-tree node of ${what} with an undefined child`, at);
      await node(child, childRecords, d - 1);
      if (i < records) out.push(recs[i]!);
    }
  };
  await node(root, rootRecords, depth);
  return out;
}
