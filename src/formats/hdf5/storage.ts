import type { ByteSource } from '../../io/byte-source.js';
import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { fillWith } from './fill.js';
import type { Hdf5Geometry } from './geometry.js';
import { parseLayoutMessage, type Layout } from './layout-message.js';
import type { DatasetStorage, StorageMessages } from './storage-contract.js';
import { HDF5_STREAM_PIECE_BYTES, MAX_HDF5_SLAB_BYTES } from './storage-limits.js';
import { UnsupportedStorage } from './storage-problem.js';
import { openChunkedStorage } from './chunked-storage.js';

/**
 * The storage side of the HDF5 reader: from a dataset's Data Layout (and Filter Pipeline) message to its
 * bytes in row-major order, streamed in bounded pieces. Contiguous data is read straight from the source;
 * compact data is the message's own bytes; chunked data is found through its chunk index, decoded and
 * assembled a slab of chunk rows at a time; never-written data reads as the fill value.
 */
export async function openDatasetStorage(source: ByteSource, r: PagedReader, g: Hdf5Geometry, m: StorageMessages): Promise<DatasetStorage> {
  const byteLength = datasetBytes(m);
  const layout = parseLayoutMessage(m.layout, g, m.where);
  switch (layout.kind) {
    case 'compact':
      return compactStorage(layout, byteLength, m);
    case 'contiguous':
      return contiguousStorage(source, g, layout, byteLength, m);
    case 'chunked':
      return openChunkedStorage(source, r, g, layout, byteLength, m);
    case 'virtual':
      throw new UnsupportedStorage(`dataset ${m.where}: a virtual dataset (its data lives in other datasets or files) is not read`, 'virtual layout');
  }
}

/** dims × elementSize, checked. */
export function datasetBytes(m: StorageMessages): number {
  let n = m.elementSize;
  if (!Number.isSafeInteger(n) || n <= 0) throw malformed(`dataset ${m.where}: element size ${n} is not a positive size`);
  for (const d of m.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw malformed(`dataset ${m.where}: dimension ${d} is not a size`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw limitExceeded(`dataset ${m.where}: ${m.dims.join('×')} elements of ${m.elementSize} bytes is more bytes than can be addressed`);
  return n;
}

function compactStorage(layout: Extract<Layout, { kind: 'compact' }>, byteLength: number, m: StorageMessages): DatasetStorage {
  if (layout.data.length !== byteLength) {
    throw malformed(`dataset ${m.where}: compact data holds ${layout.data.length} bytes, not the ${byteLength} its dataspace and datatype need`);
  }
  const data = layout.data;
  return {
    kind: 'compact',
    description: `compact, ${byteLength} bytes in the object header`,
    filters: [],
    byteLength,
    unwrittenBytes: 0,
    async *chunks(chunkBytes = HDF5_STREAM_PIECE_BYTES) {
      const step = Math.max(1, chunkBytes);
      for (let at = 0; at < data.length; at += step) yield data.subarray(at, Math.min(data.length, at + step));
    },
  };
}

function contiguousStorage(source: ByteSource, g: Hdf5Geometry, layout: Extract<Layout, { kind: 'contiguous' }>, byteLength: number, m: StorageMessages): DatasetStorage {
  if (layout.address === undefined) return unallocatedStorage(byteLength, m, 'contiguous, never written (fill value)');
  if (layout.size !== undefined && layout.size < byteLength) {
    throw malformed(`dataset ${m.where}: contiguous storage of ${layout.size} bytes is smaller than the ${byteLength} its dataspace and datatype need`);
  }
  const start = g.base + layout.address;
  if (!Number.isSafeInteger(start) || start + byteLength > source.size) {
    throw malformed(`dataset ${m.where}: contiguous data (${byteLength} bytes at offset ${start}) runs past the end of the file (${source.size} bytes)`, Number.isSafeInteger(start) ? start : undefined);
  }
  return {
    kind: 'contiguous',
    description: `contiguous, ${byteLength} bytes at offset ${start}`,
    filters: [],
    byteLength,
    unwrittenBytes: 0,
    chunks: (chunkBytes = HDF5_STREAM_PIECE_BYTES) => readChunks(source, start, byteLength, chunkBytes),
  };
}

/** A dataset none of whose bytes were ever written: the fill value, streamed. */
export function unallocatedStorage(byteLength: number, m: StorageMessages, description: string): DatasetStorage {
  return {
    kind: 'unallocated',
    description,
    filters: [],
    byteLength,
    unwrittenBytes: byteLength,
    async *chunks(chunkBytes = HDF5_STREAM_PIECE_BYTES) {
      if (byteLength === 0) return;
      const es = m.elementSize;
      const step = Math.max(1, Math.min(chunkBytes, MAX_HDF5_SLAB_BYTES));
      // The pattern repeats every element: the piece at output offset `at` starts at `at % es` of a buffer one element longer than a piece.
      const buf = new Uint8Array(Math.min(byteLength + es, (Math.ceil(step / es) + 1) * es));
      fillWith(buf, m.fillValue);
      for (let at = 0; at < byteLength; at += step) {
        const from = at % es;
        yield buf.subarray(from, from + Math.min(step, byteLength - at));
      }
    },
  };
}
