import { limitExceeded, malformed } from '../../io/format-problem.js';
import { bitSet, checkArrayBlockOwner, checkChecksum, chunksAlong, readArrayElement, readArrayHeaderStart, readBlock, type ChunkIndexContext } from './chunk-index.js';
import { Fields } from './fields.js';
import { MAX_HDF5_CHUNKS } from './storage-limits.js';

/** Where the elements of one super block's data blocks start, and how they are split. */
interface SuperBlockInfo {
  readonly dataBlocks: number;
  readonly elementsPerBlock: number;
  /** First element (after the index block's own elements). */
  readonly startIndex: number;
  /** First data block's number, counting from the first super block. */
  readonly startBlock: number;
}

/**
 * The extensible array chunk index (layout version 4, one unlimited dimension). Header `EAHD`; an
 * index block `EAIB` holds the first elements, then the addresses of the first data blocks and of the
 * super blocks `EASB`, which hold the addresses of later data blocks `EADB` (large ones split into
 * checksummed pages, a bitmap in the super block saying which were written). Elements are numbered over
 * the chunk grid with the unlimited dimension moved first ("swizzled"), the other dimensions at their
 * maximum extent.
 */
export async function readExtensibleArrayIndex(ctx: ChunkIndexContext, headerAddress: number): Promise<void> {
  const os = ctx.g.offsetSize;
  const ls = ctx.g.lengthSize;
  const h = await readBlock(ctx, headerAddress, 12 + 6 * ls + os + 4, 'EAHD', 'extensible array header');
  const { client, entrySize } = readArrayHeaderStart(ctx, h, 'extensible array');
  const maxBits = h.u8('maximum elements bits');
  const indexElements = h.u8('index block elements');
  const minBlockElements = h.u8('minimum data block elements');
  const minPointers = h.u8('minimum super block pointers');
  const pageBits = h.u8('data block page bits');
  for (let i = 0; i < 4; i++) h.uint(ls, 'statistics');
  const maxIndexSet = h.uint(ls, 'maximum index set');
  h.uint(ls, 'elements realized');
  const indexBlockAddress = h.relativeAddress(os, 'index block address');
  const log2 = (n: number): number => Math.log2(n);
  if (maxBits === 0 || maxBits > 64 || pageBits === 0 || pageBits > 32 || !isPow2(minBlockElements) || !isPow2(minPointers) || log2(minBlockElements) > maxBits) {
    throw malformed(`${h.what}: parameters ${maxBits}/${indexElements}/${minBlockElements}/${minPointers}/${pageBits} out of range`, h.offsetOf());
  }
  if (indexBlockAddress === undefined || maxIndexSet === 0) return;

  // Chunk numbering: the unlimited dimension first, the others at their maximum extent.
  const unlimited = ctx.maxDims.findIndex((d) => d === Infinity);
  if (unlimited < 0 || ctx.maxDims.filter((d) => d === Infinity).length !== 1) {
    throw malformed(`${ctx.what}: an extensible array chunk index needs exactly one unlimited dimension (maximum dimensions ${ctx.maxDims.map((d) => (d === Infinity ? 'unlimited' : d)).join('×')})`);
  }
  const maxChunks = chunksAlong(ctx.maxDims, ctx.chunkDims);
  const others = maxChunks.filter((_, k) => k !== unlimited) as number[];
  const stride = others.reduce((a, b) => a * b, 1);
  const current = Math.ceil(ctx.dims[unlimited]! / ctx.chunkDims[unlimited]!);
  // Elements past the current extent hold no chunk that is read.
  const end = Math.min(maxIndexSet, current * stride);
  if (end > MAX_HDF5_CHUNKS) throw limitExceeded(`${h.what}: ${end} elements, more than ${MAX_HDF5_CHUNKS} (MAX_HDF5_CHUNKS)`, h.offsetOf());
  const emit = (index: number, e: { address: number | undefined; size: number; filterMask: number }): void => {
    if (index >= end || e.address === undefined) return;
    const scaled = new Array<number>(ctx.dims.length);
    scaled[unlimited] = Math.floor(index / stride);
    let rest = index % stride;
    for (let k = ctx.dims.length - 1; k >= 0; k--) {
      if (k === unlimited) continue;
      scaled[k] = rest % maxChunks[k]!;
      rest = Math.floor(rest / maxChunks[k]!);
    }
    ctx.add({ scaled, address: e.address, size: e.size, filterMask: e.filterMask });
  };

  const superBlocks = 1 + maxBits - log2(minBlockElements);
  const info: SuperBlockInfo[] = [];
  let startIndex = 0;
  let startBlock = 0;
  for (let u = 0; u < superBlocks; u++) {
    const dataBlocks = 2 ** Math.floor(u / 2);
    const elementsPerBlock = 2 ** Math.floor((u + 1) / 2) * minBlockElements;
    info.push({ dataBlocks, elementsPerBlock, startIndex, startBlock });
    startIndex += dataBlocks * elementsPerBlock;
    startBlock += dataBlocks;
  }
  const indexSuperBlocks = 2 * log2(minPointers);
  const indexDataBlocks = 2 * (minPointers - 1);
  const superBlockPointers = superBlocks - indexSuperBlocks;
  if (superBlockPointers < 0) throw malformed(`${h.what}: ${minPointers} minimum super block pointers, more than ${superBlocks} super blocks`, h.offsetOf());
  const arrayOffsetSize = Math.ceil(maxBits / 8);
  const pageElements = 2 ** pageBits;
  const blockHead = 4 + 1 + 1 + os;

  const checkOwner = (b: Fields): void => checkArrayBlockOwner(b, client, headerAddress, os);

  const ib = await readBlock(ctx, indexBlockAddress, blockHead + indexElements * entrySize + (indexDataBlocks + superBlockPointers) * os + 4, 'EAIB', 'extensible array index block');
  checkOwner(ib);
  for (let i = 0; i < indexElements; i++) emit(i, readArrayElement(ib, ctx, entrySize, `index block element ${i}`));
  const dataBlockAddresses: (number | undefined)[] = [];
  for (let i = 0; i < indexDataBlocks; i++) dataBlockAddresses.push(ib.relativeAddress(os, `data block address ${i}`));
  const superBlockAddresses: (number | undefined)[] = [];
  for (let i = 0; i < superBlockPointers; i++) superBlockAddresses.push(ib.relativeAddress(os, `super block address ${i}`));

  /** One data block of `n` elements whose first is element `first`; paged: its pages' written bits start at `firstBit` of `bitmap`. */
  const readDataBlock = async (address: number, n: number, first: number, paging?: { bitmap: Uint8Array; firstBit: number }): Promise<void> => {
    const prefix = blockHead + arrayOffsetSize;
    const b = await readBlock(ctx, address, prefix + (paging ? 0 : n * entrySize) + 4, 'EADB', 'extensible array data block');
    checkOwner(b);
    // The block's offset in the array is not checked: HDF5 writes a wrong one for the index block's data blocks past the first (and never reads it).
    b.skip(arrayOffsetSize, 'block offset');
    if (!paging) {
      for (let i = 0; i < n && first + i < end; i++) emit(first + i, readArrayElement(b, ctx, entrySize, `element ${first + i}`));
      return;
    }
    const pages = n / pageElements;
    const pageBytes = pageElements * entrySize + 4;
    for (let p = 0; p < pages && first + p * pageElements < end; p++) {
      if (!bitSet(paging.bitmap, paging.firstBit + p)) continue;
      const at = ctx.g.base + address + prefix + 4 + p * pageBytes;
      const name = `${ctx.what}: extensible array data block page at offset ${at}`;
      const bytes = await ctx.r.bytes(at, pageBytes, name);
      checkChecksum(bytes, name, at);
      const f = new Fields(bytes, at, name);
      for (let i = 0; i < pageElements; i++) emit(first + p * pageElements + i, readArrayElement(f, ctx, entrySize, `element ${first + p * pageElements + i}`));
    }
  };

  for (let u = 0; u < superBlocks; u++) {
    const s = info[u]!;
    const base = indexElements + s.startIndex;
    if (base >= end) break;
    const paged = s.elementsPerBlock > pageElements;
    if (u < indexSuperBlocks) {
      for (let d = 0; d < s.dataBlocks; d++) {
        const first = base + d * s.elementsPerBlock;
        if (first >= end) break;
        const address = dataBlockAddresses[s.startBlock + d];
        if (address === undefined) continue;
        if (paged) throw malformed(`${ctx.what}: extensible array data block ${s.startBlock + d} of the index block would be paged`);
        await readDataBlock(address, s.elementsPerBlock, first);
      }
      continue;
    }
    const address = superBlockAddresses[u - indexSuperBlocks];
    if (address === undefined) continue;
    const pagesPerBlock = paged ? s.elementsPerBlock / pageElements : 0;
    const bitmapBytes = paged ? Math.ceil(pagesPerBlock / 8) : 0;
    const sb = await readBlock(ctx, address, blockHead + arrayOffsetSize + s.dataBlocks * (bitmapBytes + os) + 4, 'EASB', 'extensible array super block');
    checkOwner(sb);
    sb.skip(arrayOffsetSize, 'block offset');
    const bitmap = sb.take(s.dataBlocks * bitmapBytes, 'page bitmaps');
    const blocks: (number | undefined)[] = [];
    for (let d = 0; d < s.dataBlocks; d++) blocks.push(sb.relativeAddress(os, `data block address ${d}`));
    for (let d = 0; d < s.dataBlocks; d++) {
      const first = base + d * s.elementsPerBlock;
      if (first >= end) break;
      const block = blocks[d];
      if (block === undefined) continue;
      await readDataBlock(block, s.elementsPerBlock, first, paged ? { bitmap, firstBit: d * pagesPerBlock } : undefined);
    }
  }
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
