import { malformed } from '../../io/format-problem.js';
import type { ChunkIndexContext } from './chunk-index.js';

/** Single chunk index: the layout's address is the one chunk (its size and filter mask in the layout when filtered). */
export function readSingleChunkIndex(ctx: ChunkIndexContext, address: number): void {
  const index = ctx.layout.index;
  if (index.type !== 'single') return;
  if (ctx.filtered !== (index.filteredSize !== undefined)) {
    throw malformed(`${ctx.what}: single chunk index ${ctx.filtered ? 'without' : 'with'} a filtered size, for a dataset ${ctx.filtered ? 'with' : 'without'} filters`);
  }
  // The one chunk covers the whole (maximum) extent.
  for (let k = 0; k < ctx.dims.length; k++) {
    if (ctx.chunkDims[k]! < ctx.dims[k]!) throw malformed(`${ctx.what}: single chunk index, but the chunk (${ctx.chunkDims.join('×')}) is smaller than the dataset (${ctx.dims.join('×')})`);
  }
  ctx.add({ scaled: ctx.dims.map(() => 0), address, size: index.filteredSize ?? ctx.chunkBytes, filterMask: index.filterMask ?? 0 });
}
