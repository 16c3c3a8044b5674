import { malformed } from '../../io/format-problem.js';
import type { Hdf5Geometry } from './geometry.js';
import { Fields } from './fields.js';
import { MAX_HDF5_LAYOUT_DIMS } from './storage-limits.js';

/** How a version 4 chunked layout finds its chunks (the layout message's `Chunk Indexing Type`). */
export type ChunkIndexParams =
  | { readonly type: 'btree-v1' }
  | { readonly type: 'single'; readonly filteredSize?: number; readonly filterMask?: number }
  | { readonly type: 'implicit' }
  | { readonly type: 'fixed-array'; readonly pageBits: number }
  | {
      readonly type: 'extensible-array';
      readonly maxElementsBits: number;
      readonly indexBlockElements: number;
      readonly superBlockMinDataPointers: number;
      readonly dataBlockMinElements: number;
      readonly maxDataBlockPageBits: number;
    }
  | { readonly type: 'btree-v2'; readonly nodeSize: number; readonly splitPercent: number; readonly mergePercent: number };

export const CHUNK_INDEX_NAMES: Record<ChunkIndexParams['type'], string> = {
  'btree-v1': 'v1 B-tree index',
  single: 'single chunk index',
  implicit: 'implicit index',
  'fixed-array': 'fixed array index',
  'extensible-array': 'extensible array index',
  'btree-v2': 'v2 B-tree index',
};

export type Layout =
  | { readonly kind: 'compact'; readonly version: number; readonly data: Uint8Array }
  | { readonly kind: 'contiguous'; readonly version: number; readonly address: number | undefined; readonly size: number | undefined }
  | {
      readonly kind: 'chunked';
      readonly version: number;
      /** Chunk extent per dataspace dimension (the layout's trailing element-size dimension left off). */
      readonly chunkDims: readonly number[];
      /** The layout's last chunk dimension: the element size the chunks were written with. */
      readonly chunkElementSize: number;
      /** Layout flags (version 4): bit 0, edge chunks are stored unfiltered. */
      readonly flags: number;
      readonly index: ChunkIndexParams;
      /** Address of the index (or of the single chunk, or of the implicit chunks); undefined: nothing written. */
      readonly address: number | undefined;
    }
  | { readonly kind: 'virtual'; readonly version: number };

/** Layout flag bit 0: partial edge chunks are written without the filters. */
export const LAYOUT_DONT_FILTER_PARTIAL_EDGE_CHUNKS = 0x01;
/** Layout flag bit 1: the single chunk is filtered (its size and filter mask follow). */
const LAYOUT_SINGLE_INDEX_WITH_FILTER = 0x02;

const CLASS_COMPACT = 0;
const CLASS_CONTIGUOUS = 1;
const CLASS_CHUNKED = 2;
const CLASS_VIRTUAL = 3;

/** Decodes a Data Layout message body (versions 1 to 4). */
export function parseLayoutMessage(body: Uint8Array, g: Hdf5Geometry, where: string): Layout {
  const f = new Fields(body, undefined, `dataset ${where}: data layout message`);
  const version = f.u8('version');
  if (version < 1 || version > 4) throw malformed(`${f.what}: version ${version} is not one HDF5 defines (1 to 4)`);
  if (version < 3) return parseOldLayout(f, version, g);
  const cls = f.u8('layout class');
  switch (cls) {
    case CLASS_COMPACT: {
      const size = f.uint(2, 'compact data size');
      return { kind: 'compact', version, data: f.take(size, 'compact data') };
    }
    case CLASS_CONTIGUOUS: {
      const address = f.relativeAddress(g.offsetSize, 'data address');
      const size = f.uint(g.lengthSize, 'data size');
      return { kind: 'contiguous', version, address, size };
    }
    case CLASS_CHUNKED:
      return version === 3 ? parseChunkedV3(f, g) : parseChunkedV4(f, g);
    case CLASS_VIRTUAL:
      if (version < 4) throw malformed(`${f.what}: a virtual layout needs version 4, not ${version}`);
      return { kind: 'virtual', version };
    default:
      throw malformed(`${f.what}: layout class ${cls} is not one HDF5 defines (0 compact, 1 contiguous, 2 chunked, 3 virtual)`);
  }
}

/** Versions 1 and 2: dimensionality, class, then dimensions that include the element's (chunked) or are ignored. */
function parseOldLayout(f: Fields, version: number, g: Hdf5Geometry): Layout {
  const ndims = f.u8('dimensionality');
  if (ndims < 1 || ndims > MAX_HDF5_LAYOUT_DIMS) throw malformed(`${f.what}: dimensionality ${ndims} is out of range (1 to ${MAX_HDF5_LAYOUT_DIMS})`);
  const cls = f.u8('layout class');
  f.skip(5, 'reserved bytes');
  if (cls === CLASS_COMPACT) {
    f.skip(ndims * 4, 'dimension sizes');
    const size = f.uint(4, 'compact data size');
    return { kind: 'compact', version, data: f.take(size, 'compact data') };
  }
  if (cls === CLASS_CONTIGUOUS) {
    const address = f.relativeAddress(g.offsetSize, 'data address');
    f.skip(ndims * 4, 'dimension sizes');
    // The size is the dataspace's: these versions stored dimensions truncated to 32 bits.
    return { kind: 'contiguous', version, address, size: undefined };
  }
  if (cls === CLASS_CHUNKED) {
    const address = f.relativeAddress(g.offsetSize, 'B-tree address');
    const dims = chunkDims(f, ndims, 4);
    return { kind: 'chunked', version, chunkDims: dims.slice(0, -1), chunkElementSize: dims[dims.length - 1]!, flags: 0, index: { type: 'btree-v1' }, address };
  }
  throw malformed(`${f.what}: layout class ${cls} is not one version ${version} defines (0 compact, 1 contiguous, 2 chunked)`);
}

function parseChunkedV3(f: Fields, g: Hdf5Geometry): Layout {
  const ndims = f.u8('dimensionality');
  const address = f.relativeAddress(g.offsetSize, 'B-tree address');
  const dims = chunkDims(f, ndims, 4);
  return { kind: 'chunked', version: 3, chunkDims: dims.slice(0, -1), chunkElementSize: dims[dims.length - 1]!, flags: 0, index: { type: 'btree-v1' }, address };
}

function parseChunkedV4(f: Fields, g: Hdf5Geometry): Layout {
  const flags = f.u8('flags');
  if (flags & ~0x03) throw malformed(`${f.what}: flags 0x${flags.toString(16)} set bits HDF5 does not define`);
  const ndims = f.u8('dimensionality');
  const encoded = f.u8('dimension size encoded length');
  if (encoded < 1 || encoded > 8) throw malformed(`${f.what}: dimension sizes of ${encoded} bytes (1 to 8)`);
  const dims = chunkDims(f, ndims, encoded);
  const indexType = f.u8('chunk indexing type');
  let index: ChunkIndexParams;
  switch (indexType) {
    case 1:
      index =
        flags & LAYOUT_SINGLE_INDEX_WITH_FILTER
          ? { type: 'single', filteredSize: f.uint(g.lengthSize, 'filtered chunk size'), filterMask: f.uint(4, 'filter mask') }
          : { type: 'single' };
      break;
    case 2:
      index = { type: 'implicit' };
      break;
    case 3: {
      const pageBits = f.u8('page bits');
      if (pageBits === 0 || pageBits > 32) throw malformed(`${f.what}: fixed array page bits ${pageBits} out of range (1 to 32)`);
      index = { type: 'fixed-array', pageBits };
      break;
    }
    case 4: {
      const p = {
        type: 'extensible-array' as const,
        maxElementsBits: f.u8('maximum elements bits'),
        indexBlockElements: f.u8('index elements'),
        superBlockMinDataPointers: f.u8('minimum pointers in a super block'),
        dataBlockMinElements: f.u8('minimum elements in a data block'),
        maxDataBlockPageBits: f.u8('data block page bits'),
      };
      if (!p.maxElementsBits || p.maxElementsBits > 64 || !p.indexBlockElements || !p.superBlockMinDataPointers || !p.dataBlockMinElements || !p.maxDataBlockPageBits || p.maxDataBlockPageBits > 32) {
        throw malformed(`${f.what}: extensible array parameters ${[p.maxElementsBits, p.indexBlockElements, p.superBlockMinDataPointers, p.dataBlockMinElements, p.maxDataBlockPageBits].join('/')} out of range`);
      }
      if (!isPowerOfTwo(p.superBlockMinDataPointers) || !isPowerOfTwo(p.dataBlockMinElements)) {
        throw malformed(`${f.what}: extensible array minimum pointers ${p.superBlockMinDataPointers} and elements ${p.dataBlockMinElements} must be powers of two`);
      }
      index = p;
      break;
    }
    case 5:
      index = { type: 'btree-v2', nodeSize: f.uint(4, 'node size'), splitPercent: f.u8('split percent'), mergePercent: f.u8('merge percent') };
      break;
    case 0:
      throw malformed(`${f.what}: a v1 B-tree index (type 0) never appears in a version 4 layout`);
    default:
      throw malformed(`${f.what}: chunk indexing type ${indexType} is not one HDF5 defines (1 to 5)`);
  }
  const address = f.relativeAddress(g.offsetSize, 'chunk index address');
  return { kind: 'chunked', version: 4, chunkDims: dims.slice(0, -1), chunkElementSize: dims[dims.length - 1]!, flags, index, address };
}

function chunkDims(f: Fields, ndims: number, size: number): number[] {
  if (ndims < 2 || ndims > MAX_HDF5_LAYOUT_DIMS) throw malformed(`${f.what}: chunk dimensionality ${ndims} is out of range (2 to ${MAX_HDF5_LAYOUT_DIMS}, the element's included)`);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) {
    const d = f.uint(size, `chunk dimension ${i}`);
    if (d === 0) throw malformed(`${f.what}: chunk dimension ${i} is 0`);
    dims.push(d);
  }
  return dims;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
