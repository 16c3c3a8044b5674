/** Flax msgpack checkpoints' limits: bounds on what the msgpack makes the parse do. */

/** Nesting of maps, arrays and extensions (a model's state dict is under 10 deep): bounds the parse's recursion. */
export const MAX_FLAX_DEPTH = 64;
/** Values walked in one file (map entries and array items): a count of billions in a header would keep the parse busy. */
export const MAX_FLAX_ITEMS = 10_000_000;
/** Bytes of one string (a key, a dtype name, a string value) held in memory. */
export const MAX_FLAX_STRING_BYTES = 1024 * 1024;
/** Dimensions of one array (numpy's NPY_MAXDIMS). */
export const MAX_FLAX_DIMS = 64;
/** Chunks of one chunked array (Flax cuts at 1 GiB: 100,000 chunks is 100 TiB). */
export const MAX_FLAX_CHUNKS = 100_000;
