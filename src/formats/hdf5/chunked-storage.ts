import type { ByteSource } from '../../io/byte-source.js';
import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { readBtreeV1Index } from './chunk-index-btree-v1.js';
import { readBtreeV2Index } from './chunk-index-btree-v2.js';
import { readExtensibleArrayIndex } from './chunk-index-extensible-array.js';
import { readFixedArrayIndex } from './chunk-index-fixed-array.js';
import { readImplicitIndex } from './chunk-index-implicit.js';
import { readSingleChunkIndex } from './chunk-index-single.js';
import { ChunkCollector, chunksAlong, type ChunkIndexContext, type ChunkRecord } from './chunk-index.js';
import { copyChunkIntoSlab } from './chunk-assembly.js';
import { unfilterChunk } from './chunk-filters.js';
import { fillWith } from './fill.js';
import { describeFilters, parseFilterPipeline, type Filter } from './filter-pipeline.js';
import type { Hdf5Geometry } from './geometry.js';
import { CHUNK_INDEX_NAMES, LAYOUT_DONT_FILTER_PARTIAL_EDGE_CHUNKS, type Layout } from './layout-message.js';
import type { DatasetStorage, StorageMessages } from './storage-contract.js';
import { HDF5_DECODE_AHEAD_BYTES, HDF5_DECODE_AHEAD_CHUNKS, HDF5_STREAM_PIECE_BYTES, MAX_HDF5_CHUNK_BYTES, MAX_HDF5_SLAB_BYTES } from './storage-limits.js';

type ChunkedLayout = Extract<Layout, { kind: 'chunked' }>;

/**
 * A chunked dataset: its index is walked when it is opened (every chunk record checked), and its bytes
 * are assembled a slab at a time, one row of chunks along dimension 0, each chunk decoded, cut at the
 * dataset's edges and copied in runs along its last dimensions; chunks never written read as the fill value.
 */
export async function openChunkedStorage(source: ByteSource, r: PagedReader, g: Hdf5Geometry, layout: ChunkedLayout, byteLength: number, m: StorageMessages): Promise<DatasetStorage> {
  const what = `dataset ${m.where}`;
  const dims = m.dims;
  const rank = dims.length;
  const es = m.elementSize;
  if (rank === 0) throw malformed(`${what}: a scalar dataset with a chunked layout`);
  if (layout.chunkDims.length !== rank) throw malformed(`${what}: chunks of ${layout.chunkDims.length} dimensions for a dataspace of ${rank}`);
  if (layout.chunkElementSize !== es) throw malformed(`${what}: chunks of ${layout.chunkElementSize}-byte elements for a datatype of ${es} bytes`);
  const maxDims = m.maxDims ?? dims;
  if (maxDims.length !== rank) throw malformed(`${what}: ${maxDims.length} maximum dimensions for a dataspace of ${rank}`);
  if (maxDims.some((d, k) => d < dims[k]!)) throw malformed(`${what}: maximum dimensions ${maxDims.join('×')} smaller than its dimensions ${dims.join('×')}`);
  const filters = m.filters ? parseFilterPipeline(m.filters, m.where) : [];
  const chunkDims = layout.chunkDims;
  const chunkBytes = chunkDims.reduce((a, b) => a * b, es);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes > MAX_HDF5_CHUNK_BYTES) {
    throw limitExceeded(`${what}: chunks of ${chunkDims.join('×')} elements of ${es} bytes are larger than ${MAX_HDF5_CHUNK_BYTES} bytes (MAX_HDF5_CHUNK_BYTES)`);
  }
  if (m.fillValue && m.fillValue.length !== es) throw malformed(`${what}: a fill value of ${m.fillValue.length} bytes for ${es}-byte elements`);
  const rowBytes = dims.slice(1).reduce((a, b) => a * b, es);
  const slabBytes = Math.min(chunkDims[0]!, dims[0]!) * rowBytes;
  if (slabBytes > MAX_HDF5_SLAB_BYTES) {
    throw limitExceeded(`${what}: a row of chunks along dimension 0 holds ${slabBytes} bytes, more than ${MAX_HDF5_SLAB_BYTES} (MAX_HDF5_SLAB_BYTES)`);
  }
  const filterNames = filters.map((f) => f.name);
  const head = `chunked ${chunkDims.join('×')}, ${CHUNK_INDEX_NAMES[layout.index.type]}${filters.length ? `, ${describeFilters(filters).join(' + ')}` : ''}`;
  const grid = chunksAlong(dims, chunkDims);
  const collector = new ChunkCollector(grid, what);
  if (layout.address !== undefined && byteLength > 0) {
    const ctx: ChunkIndexContext = {
      source, r, g, layout, what, dims, maxDims, chunkDims, chunkBytes,
      filtered: filters.length > 0,
      add: (record) => collector.add(record),
    };
    await walkIndex(ctx, layout.address);
  }
  const records = [...collector.records.entries()].sort((a, b) => a[0] - b[0]).map(([, rec]) => rec);
  const total = grid.reduce((a, b) => a * b, 1);
  const description = `${head}, ${records.length} of ${total} chunks written`;
  // The bytes the written chunks cover inside the dataset (edge chunks are cut at its edges); the rest is fill.
  let written = 0;
  for (const rec of records) written += rec.scaled.reduce((n, s, k) => n * Math.max(0, Math.min(chunkDims[k]!, dims[k]! - s * chunkDims[k]!)), es);
  const decode = chunkDecoder(source, g, layout, filters, dims, chunkDims, chunkBytes, what);
  return {
    kind: 'chunked',
    description,
    filters: filterNames,
    byteLength,
    unwrittenBytes: Math.max(0, byteLength - written),
    async *chunks(pieceBytes = HDF5_STREAM_PIECE_BYTES) {
      if (byteLength === 0) return;
      const step = Math.max(1, pieceBytes);
      const buffer = new Uint8Array(slabBytes);
      // Chunks are decoded a few ahead, in file order, so that several inflate at once (off the main
      // thread where the platform has a zlib); a failure surfaces when its chunk's turn comes.
      const ahead: Promise<Uint8Array>[] = [];
      const most = Math.max(1, Math.min(HDF5_DECODE_AHEAD_CHUNKS, Math.floor(HDF5_DECODE_AHEAD_BYTES / chunkBytes)));
      let queued = 0;
      const decodeAhead = (): void => {
        while (queued < records.length && ahead.length < most) {
          const p = decode(records[queued++]!);
          p.catch(() => undefined); // rejections are handled when awaited; this one marks them so until then
          ahead.push(p);
        }
      };
      let next = 0;
      for (let s = 0; s < grid[0]!; s++) {
        const rows = Math.min(chunkDims[0]!, dims[0]! - s * chunkDims[0]!);
        const slab = buffer.subarray(0, rows * rowBytes);
        fillWith(slab, m.fillValue);
        for (; next < records.length && records[next]!.scaled[0] === s; next++) {
          const record = records[next]!;
          decodeAhead();
          const chunk = await ahead.shift()!;
          decodeAhead();
          copyChunkIntoSlab(slab, chunk, record.scaled, dims, chunkDims, es);
        }
        for (let at = 0; at < slab.length; at += step) yield slab.subarray(at, Math.min(slab.length, at + step));
      }
    },
  };
}

async function walkIndex(ctx: ChunkIndexContext, address: number): Promise<void> {
  switch (ctx.layout.index.type) {
    case 'btree-v1':
      return readBtreeV1Index(ctx, address);
    case 'single':
      return readSingleChunkIndex(ctx, address);
    case 'implicit':
      return readImplicitIndex(ctx, address);
    case 'fixed-array':
      return readFixedArrayIndex(ctx, address);
    case 'extensible-array':
      return readExtensibleArrayIndex(ctx, address);
    case 'btree-v2':
      return readBtreeV2Index(ctx, address);
  }
}

/** Reads one chunk's stored bytes and undoes its filters (not for edge chunks the layout says were stored unfiltered). */
function chunkDecoder(source: ByteSource, g: Hdf5Geometry, layout: ChunkedLayout, filters: readonly Filter[], dims: readonly number[], chunkDims: readonly number[], chunkBytes: number, what: string) {
  return async (record: ChunkRecord): Promise<Uint8Array> => {
    const at = g.base + record.address;
    const name = `${what}: chunk [${record.scaled.join(', ')}] (${record.size} bytes at offset ${at})`;
    if (record.size > MAX_HDF5_CHUNK_BYTES) throw limitExceeded(`${name}: larger than ${MAX_HDF5_CHUNK_BYTES} bytes (MAX_HDF5_CHUNK_BYTES)`, at);
    if (!Number.isSafeInteger(at) || at + record.size > source.size) throw malformed(`${name}: runs past the end of the file (${source.size} bytes)`, Number.isSafeInteger(at) ? at : undefined);
    const stored = await source.read(at, record.size);
    const edge = record.scaled.some((s, k) => (s + 1) * chunkDims[k]! > dims[k]!);
    const unfiltered = filters.length === 0 || (edge && (layout.flags & LAYOUT_DONT_FILTER_PARTIAL_EDGE_CHUNKS) !== 0);
    if (unfiltered) {
      if (stored.length !== chunkBytes) throw malformed(`${name}: an unfiltered chunk of ${stored.length} bytes, not ${chunkBytes}`, at);
      return stored;
    }
    return unfilterChunk(stored, filters, record.filterMask, chunkBytes, name, at);
  };
}
