import type { Hdf5Geometry } from './geometry.js';

/**
 * What the object-header side of the HDF5 reader hands the storage side for one dataset: the raw bodies
 * of the header messages that say where its bytes are and how they are encoded. The storage side
 * (storage.ts: layouts, chunk indexes, filters) turns them into the dataset's row-major bytes.
 */
export interface StorageMessages {
  /** Body of the Data Layout message (type 0x0008), versions 1 to 4. */
  readonly layout: Uint8Array;
  /** Body of the Filter Pipeline message (type 0x000B), if the dataset has one. */
  readonly filters?: Uint8Array;
  /** One element's fill value (from the Fill Value message) for chunks never written; absent: zeros. */
  readonly fillValue?: Uint8Array;
  /** The dataspace's current dimensions ([] for a scalar). */
  readonly dims: readonly number[];
  /**
   * The dataspace's maximum dimensions (an unlimited one as Infinity); absent: the current ones. The
   * implicit, fixed array and extensible array chunk indexes number chunks over the maximum extent.
   */
  readonly maxDims?: readonly number[];
  /** Bytes per element (the datatype's size). */
  readonly elementSize: number;
  /** The dataset's path, for messages (`/model_weights/dense/dense/kernel:0`). */
  readonly where: string;
}

/** A dataset's bytes, found and ready to be read in row-major order. */
export interface DatasetStorage {
  readonly kind: 'contiguous' | 'compact' | 'chunked' | 'virtual' | 'unallocated';
  /** For inspect: `chunked 64×64, fixed array index, shuffle + deflate(4)`. */
  readonly description: string;
  /** Filter names in pipeline order (`shuffle`, `deflate`, `fletcher32`). */
  readonly filters: readonly string[];
  /** dims × elementSize. */
  readonly byteLength: number;
  /** Bytes of it never written (read as the fill value): made from nothing the file stores. */
  readonly unwrittenBytes: number;
  /** The bytes, row-major, in pieces of at most `chunkBytes`; a piece may be a reused buffer. */
  chunks(chunkBytes?: number): AsyncIterable<Uint8Array>;
}

export type { Hdf5Geometry };
