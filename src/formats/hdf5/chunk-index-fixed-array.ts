import { limitExceeded, malformed } from '../../io/format-problem.js';
import { bitSet, checkArrayBlockOwner, checkChecksum, chunksAlong, readArrayElement, readArrayHeaderStart, readBlock, unravel, type ChunkIndexContext } from './chunk-index.js';
import { Fields } from './fields.js';
import { MAX_HDF5_CHUNKS } from './storage-limits.js';

/**
 * The fixed array chunk index (layout version 4, no unlimited dimension): a header `FAHD` and one data
 * block `FADB` holding an element per chunk of the maximum extent, in row-major chunk order; a large
 * block is split into pages of 2^pageBits elements, each with its own checksum, and a bitmap says which
 * pages were ever written (the others hold no chunks).
 */
export async function readFixedArrayIndex(ctx: ChunkIndexContext, headerAddress: number): Promise<void> {
  const os = ctx.g.offsetSize;
  const ls = ctx.g.lengthSize;
  const h = await readBlock(ctx, headerAddress, 4 + 4 + ls + os + 4, 'FAHD', 'fixed array header');
  const { client, entrySize } = readArrayHeaderStart(ctx, h, 'fixed array');
  const pageBits = h.u8('page bits');
  if (pageBits === 0 || pageBits > 32) throw malformed(`${h.what}: page bits ${pageBits} out of range`, h.offsetOf());
  const count = h.uint(ls, 'number of elements');
  const blockAddress = h.relativeAddress(os, 'data block address');

  const max = chunksAlong(ctx.maxDims, ctx.chunkDims);
  if (max.some((n) => n === Infinity)) throw malformed(`${ctx.what}: a fixed array chunk index on a dataspace with an unlimited dimension`);
  const expected = max.reduce((a, b) => a * b, 1);
  if (count !== expected) throw malformed(`${h.what}: ${count} elements, not the ${expected} chunks of the maximum extent`, h.offsetOf());
  if (count > MAX_HDF5_CHUNKS) throw limitExceeded(`${h.what}: ${count} elements, more than ${MAX_HDF5_CHUNKS} (MAX_HDF5_CHUNKS)`, h.offsetOf());
  if (blockAddress === undefined || count === 0) return;

  const emit = (f: Fields, first: number, n: number): void => {
    for (let i = 0; i < n; i++) {
      const e = readArrayElement(f, ctx, entrySize, `element ${first + i}`);
      if (e.address !== undefined) ctx.add({ scaled: unravel(first + i, max), address: e.address, size: e.size, filterMask: e.filterMask });
    }
  };
  const headerBytes = 4 + 1 + 1 + os;
  const pageElements = 2 ** pageBits;
  const checkOwner = (b: Fields): void => checkArrayBlockOwner(b, client, headerAddress, os);
  if (count <= pageElements) {
    const b = await readBlock(ctx, blockAddress, headerBytes + count * entrySize + 4, 'FADB', 'fixed array data block');
    checkOwner(b);
    emit(b, 0, count);
    return;
  }
  const pages = Math.ceil(count / pageElements);
  const bitmapBytes = Math.ceil(pages / 8);
  const prefix = headerBytes + bitmapBytes + 4;
  const b = await readBlock(ctx, blockAddress, prefix, 'FADB', 'fixed array data block');
  checkOwner(b);
  const bitmap = b.take(bitmapBytes, 'page bitmap');
  const pageBytes = pageElements * entrySize + 4;
  for (let p = 0; p < pages; p++) {
    if (!bitSet(bitmap, p)) continue;
    const n = Math.min(pageElements, count - p * pageElements);
    const pageAt = ctx.g.base + blockAddress + prefix + p * pageBytes;
    const bytes = await ctx.r.bytes(pageAt, n * entrySize + 4, `${ctx.what}: fixed array page ${p}`);
    checkChecksum(bytes, `${ctx.what}: fixed array page ${p} at offset ${pageAt}`, pageAt);
    emit(new Fields(bytes, pageAt, `${ctx.what}: fixed array page ${p}`), p * pageElements, n);
  }
}
