/** Limits of the TF.js reader: each bounds what a hostile model.json can make it do. */

/** Weight specs in one manifest (real models: hundreds to a few thousand): bounds the parse's time and memory. */
export const MAX_TFJS_WEIGHTS = 100_000;
/** Shard paths in one manifest (tfjs-converter writes 4 MB shards: 25,000 is 100 GB): bounds the files opened. */
export const MAX_TFJS_SHARDS = 25_000;
/** Dimensions of one weight (TF.js tensors have at most 6 in practice): bounds shape handling. */
export const MAX_TFJS_DIMS = 32;
/** Elements of one string weight whose length prefixes are walked to skip it: bounds the reads of a string weight left out. */
export const MAX_TFJS_STRING_ELEMENTS = 100_000;
/** Characters of a weight name (real names are below 200): bounds names carried into reports and outputs. */
export const MAX_TFJS_NAME_CHARS = 4096;
/** Bytes of one string weight kept as metadata (vocabularies, labels; real ones are KiB): a larger one is left out, bounding the output's header. */
export const MAX_TFJS_STRING_METADATA_BYTES = 64 * 1024;
/** Bytes of all string weights kept as metadata in one model: bounds the output's header however many there are. */
export const MAX_TFJS_STRING_METADATA_TOTAL = 1024 * 1024;
