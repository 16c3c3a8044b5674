/** Runs this short (a chunk one element wide) are copied byte by byte: cheaper than a view and a set per run. */
const SHORT_RUN = 32;

/**
 * Copies one decoded chunk into a slab (the rows of the dataset that one row of chunks along dimension 0
 * covers), cutting it at the dataset's edges. Copies are runs: along the last dimension, or longer where
 * the chunk spans whole trailing dimensions of the dataset (then its rows are contiguous in both).
 */
export function copyChunkIntoSlab(slab: Uint8Array, chunk: Uint8Array, scaled: readonly number[], dims: readonly number[], chunkDims: readonly number[], elementSize: number): void {
  const rank = dims.length;
  const origin = new Array<number>(rank);
  const extent = new Array<number>(rank);
  const chunkStride = new Array<number>(rank);
  const slabStride = new Array<number>(rank);
  let cs = elementSize;
  let ss = elementSize;
  for (let k = rank - 1; k >= 0; k--) {
    origin[k] = k === 0 ? 0 : scaled[k]! * chunkDims[k]!;
    extent[k] = Math.min(chunkDims[k]!, dims[k]! - scaled[k]! * chunkDims[k]!);
    chunkStride[k] = cs;
    slabStride[k] = ss;
    cs *= chunkDims[k]!;
    ss *= dims[k]!;
  }
  // Dimensions j+1.. that the chunk spans whole are contiguous in chunk and slab alike: one run covers them.
  let j = rank - 1;
  while (j > 0 && chunkDims[j] === dims[j]) j--;
  const run = extent[j]! * chunkStride[j]!;
  const base = origin[j]! * slabStride[j]!;
  if (j === 0) {
    slab.set(chunk.subarray(0, run), base);
    return;
  }
  // Odometer over dimensions 0..j-1 of the chunk's part inside the dataset.
  const index = new Array<number>(j).fill(0);
  for (;;) {
    let src = 0;
    let dst = base;
    for (let k = 0; k < j; k++) {
      src += index[k]! * chunkStride[k]!;
      dst += (index[k]! + origin[k]!) * slabStride[k]!;
    }
    if (run <= SHORT_RUN) for (let i = 0; i < run; i++) slab[dst + i] = chunk[src + i]!;
    else slab.set(chunk.subarray(src, src + run), dst);
    let k = j - 1;
    while (k >= 0 && ++index[k]! >= extent[k]!) {
      index[k] = 0;
      k--;
    }
    if (k < 0) return;
  }
}
