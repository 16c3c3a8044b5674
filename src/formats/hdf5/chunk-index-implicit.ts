import { limitExceeded, malformed } from '../../io/format-problem.js';
import { chunksAlong, unravel, type ChunkIndexContext } from './chunk-index.js';
import { MAX_HDF5_CHUNKS } from './storage-limits.js';

/**
 * Implicit index: every chunk of the maximum extent was allocated at once, unfiltered, one after the
 * other in row-major chunk order from the layout's address. Only chunks inside the current extent are listed.
 */
export function readImplicitIndex(ctx: ChunkIndexContext, address: number): void {
  if (ctx.filtered) throw malformed(`${ctx.what}: an implicit chunk index cannot hold filtered chunks`);
  const max = chunksAlong(ctx.maxDims, ctx.chunkDims);
  if (max.some((n) => n === Infinity)) throw malformed(`${ctx.what}: an implicit chunk index on a dataspace with an unlimited dimension`);
  const total = max.reduce((a, b) => a * b, 1);
  const current = chunksAlong(ctx.dims, ctx.chunkDims);
  const listed = current.reduce((a, b) => a * b, 1);
  if (listed > MAX_HDF5_CHUNKS) throw limitExceeded(`${ctx.what}: ${listed} chunks, more than ${MAX_HDF5_CHUNKS} (MAX_HDF5_CHUNKS)`);
  if (!Number.isSafeInteger(total * ctx.chunkBytes)) throw malformed(`${ctx.what}: ${total} implicit chunks of ${ctx.chunkBytes} bytes cannot be addressed`);
  // Strides of the maximum chunk grid (the order the chunks were allocated in).
  const down = max.map((_, k) => max.slice(k + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < listed; i++) {
    const scaled = unravel(i, current);
    let linear = 0;
    for (let k = 0; k < scaled.length; k++) linear += scaled[k]! * down[k]!;
    ctx.add({ scaled, address: address + linear * ctx.chunkBytes, size: ctx.chunkBytes, filterMask: 0 });
  }
}
