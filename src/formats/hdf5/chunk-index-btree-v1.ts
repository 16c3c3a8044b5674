import { limitExceeded, malformed } from '../../io/format-problem.js';
import type { ChunkIndexContext } from './chunk-index.js';
import { Fields } from './fields.js';
import { MAX_HDF5_BTREE_DEPTH } from './limits.js';

/** Most entries a v1 B-tree node can hold (2K, K a 16-bit field of the superblock). */
const MAX_V1_NODE_ENTRIES = 2 * 0xffff;
/** B-tree node type of raw data chunks. */
const NODE_TYPE_CHUNKS = 1;

/**
 * The v1 B-tree chunk index (layout versions 1 to 3): nodes `TREE` of type 1, whose keys hold each
 * chunk's stored size, filter mask and element offsets (plus a trailing 0 for the element dimension),
 * and whose leaves' children are the chunks. No checksums in this structure: every node is visited
 * once (a cycle is malformed) and its level must fall by one per step.
 */
export async function readBtreeV1Index(ctx: ChunkIndexContext, root: number): Promise<void> {
  const visited = new Set<number>();
  const rank = ctx.dims.length;
  const os = ctx.g.offsetSize;
  const keySize = 8 + 8 * (rank + 1);
  const headerSize = 8 + 2 * os;

  const walk = async (address: number, expectedLevel: number | undefined, depth: number): Promise<void> => {
    const at = ctx.g.base + address;
    const name = `${ctx.what}: v1 B-tree node at offset ${at}`;
    if (depth > MAX_HDF5_BTREE_DEPTH) throw limitExceeded(`${name}: deeper than ${MAX_HDF5_BTREE_DEPTH} levels (MAX_HDF5_BTREE_DEPTH)`, at);
    if (visited.has(address)) throw malformed(`${name}: reached twice (the tree has a cycle)`, at);
    visited.add(address);
    const head = new Fields(await ctx.r.bytes(at, headerSize, name), at, name);
    const sig = head.take(4, 'signature');
    if (String.fromCharCode(...sig) !== 'TREE') throw malformed(`${name}: signature is not TREE`, at);
    const type = head.u8('node type');
    if (type !== NODE_TYPE_CHUNKS) throw malformed(`${name}: node type ${type}, not ${NODE_TYPE_CHUNKS} (raw data chunks)`, at);
    const level = head.u8('node level');
    if (expectedLevel !== undefined && level !== expectedLevel) throw malformed(`${name}: level ${level} where ${expectedLevel} was expected`, at);
    if (level > MAX_HDF5_BTREE_DEPTH) throw limitExceeded(`${name}: level ${level}, deeper than ${MAX_HDF5_BTREE_DEPTH} (MAX_HDF5_BTREE_DEPTH)`, at);
    const entries = head.uint(2, 'entries used');
    if (entries > MAX_V1_NODE_ENTRIES) throw malformed(`${name}: ${entries} entries`, at);
    const bodyLength = entries * (keySize + os) + keySize;
    const f = new Fields(await ctx.r.bytes(at + headerSize, bodyLength, name), at + headerSize, name);
    for (let i = 0; i < entries; i++) {
      const size = f.uint(4, `key ${i} chunk size`);
      const filterMask = f.uint(4, `key ${i} filter mask`);
      const scaled: number[] = [];
      for (let k = 0; k <= rank; k++) {
        const offset = f.uint(8, `key ${i} offset ${k}`);
        if (k === rank) {
          if (offset !== 0) throw malformed(`${name}: key ${i} has element offset ${offset}, not 0`, f.offsetOf());
        } else {
          if (offset % ctx.chunkDims[k]! !== 0) throw malformed(`${name}: key ${i} offset ${offset} in dimension ${k} is not on a chunk boundary (${ctx.chunkDims[k]})`, f.offsetOf());
          scaled.push(offset / ctx.chunkDims[k]!);
        }
      }
      const child = f.relativeAddress(os, `child ${i}`);
      if (child === undefined) throw malformed(`${name}: child ${i} has the undefined address`, f.offsetOf());
      if (level === 0) {
        if (!ctx.filtered && size !== ctx.chunkBytes) throw malformed(`${name}: unfiltered chunk of ${size} bytes, not ${ctx.chunkBytes}`, f.offsetOf());
        ctx.add({ scaled, address: child, size, filterMask });
      } else {
        await walk(child, level - 1, depth + 1);
      }
    }
  };
  await walk(root, undefined, 0);
}
