/**
 * Limits of the storage side of the HDF5 reader (layouts, chunk indexes, filters). Each guards against a
 * file that would make reading it cost more than its data.
 */

/** One chunk's bytes, stored or decoded: a deflate bomb in a chunk cannot decode past this (nor past its own expected size). */
export const MAX_HDF5_CHUNK_BYTES = 256 * 1024 * 1024;
/** A slab (one row of chunks along dimension 0) assembled in memory before it is streamed out. */
export const MAX_HDF5_SLAB_BYTES = 512 * 1024 * 1024;
/** Chunks one dataset's index may list (each is kept in memory until it is copied): bounds the walk over B-trees, fixed and extensible arrays. */
export const MAX_HDF5_CHUNKS = 1_000_000;
/** Filters in one pipeline (HDF5's own H5Z_MAX_NFILTERS). */
export const MAX_HDF5_FILTERS = 32;
/** Dimensions of a chunk (HDF5's own H5O_LAYOUT_NDIMS: 32 plus the element's). */
export const MAX_HDF5_LAYOUT_DIMS = 33;
/** Decoded chunks held ahead of the one being copied (so that several inflate at once): bounds the memory the look-ahead holds. */
export const HDF5_DECODE_AHEAD_BYTES = 16 * 1024 * 1024;
/** Chunks decoded ahead at most, whatever their size: more than the platform's inflate threads gains nothing. */
export const HDF5_DECODE_AHEAD_CHUNKS = 8;
/** Default size of the pieces a dataset's bytes are streamed in. */
export const HDF5_STREAM_PIECE_BYTES = 8 * 1024 * 1024;
