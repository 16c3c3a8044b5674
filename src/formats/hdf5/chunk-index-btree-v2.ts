import { malformed } from '../../io/format-problem.js';
import { btree2Records } from './btree2.js';
import type { ChunkIndexContext } from './chunk-index.js';
import { Fields } from './fields.js';

/** v2 B-tree record types of chunk indexes. */
const RECORD_CHUNKS = 10;
const RECORD_FILTERED_CHUNKS = 11;

/**
 * The v2 B-tree chunk index (layout version 4, more than one unlimited dimension): the generic v2
 * B-tree walker (btree2.ts: checksums, depth and record limits) over records of type 10 (address,
 * then the chunk's scaled offsets, 8 bytes each) or 11 (address, stored size, filter mask, offsets).
 */
export async function readBtreeV2Index(ctx: ChunkIndexContext, headerAddress: number): Promise<void> {
  const type = ctx.filtered ? RECORD_FILTERED_CHUNKS : RECORD_CHUNKS;
  const rank = ctx.dims.length;
  const os = ctx.g.offsetSize;
  const records = await btree2Records(ctx.r, ctx.g, ctx.g.base + headerAddress, type, `the chunks of ${ctx.what}`);
  for (const [i, bytes] of records.entries()) {
    const sizeBytes = bytes.length - os - 8 * rank - (ctx.filtered ? 4 : 0);
    if (ctx.filtered ? sizeBytes < 1 || sizeBytes > 8 : sizeBytes !== 0) {
      throw malformed(`${ctx.what}: v2 B-tree chunk records of ${bytes.length} bytes do not fit a rank-${rank} ${ctx.filtered ? 'filtered ' : ''}chunk`);
    }
    const f = new Fields(bytes, undefined, `${ctx.what}: v2 B-tree chunk record ${i}`);
    const address = f.relativeAddress(os, 'address');
    const size = ctx.filtered ? f.uint(sizeBytes, 'chunk size') : ctx.chunkBytes;
    const filterMask = ctx.filtered ? f.uint(4, 'filter mask') : 0;
    const scaled: number[] = [];
    for (let k = 0; k < rank; k++) scaled.push(f.uint(8, `scaled offset ${k}`));
    if (address === undefined) throw malformed(`${ctx.what}: v2 B-tree chunk record ${i} has the undefined address`);
    ctx.add({ scaled, address, size, filterMask });
  }
}
