import type { ByteSource } from '../../io/byte-source.js';
import type { PagedReader } from '../../io/cursor.js';
import type { Hdf5Geometry } from './geometry.js';
import { CHUNK_INDEX_NAMES, type Layout } from './layout-message.js';
import type { DatasetStorage, StorageMessages } from './storage-contract.js';
import { UnsupportedStorage } from './storage-problem.js';

/** Chunked datasets: not read yet (this first version reads contiguous and compact layouts). */
export function openChunkedStorage(
  _source: ByteSource,
  _r: PagedReader,
  _g: Hdf5Geometry,
  layout: Extract<Layout, { kind: 'chunked' }>,
  _byteLength: number,
  m: StorageMessages,
): Promise<DatasetStorage> {
  return Promise.reject(new UnsupportedStorage(`dataset ${m.where}: chunked storage (${CHUNK_INDEX_NAMES[layout.index.type]}) is not read yet`, `chunked layout, ${CHUNK_INDEX_NAMES[layout.index.type]}`));
}
