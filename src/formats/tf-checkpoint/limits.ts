/** Limits of the TensorFlow checkpoint reader: each bounds what a hostile index, bundle or SavedModel can make it do. */

/** Bytes of a tensor bundle's .index file, read whole (real ones: KiB to a few MiB; one entry per variable): bounds memory. */
export const MAX_TF_INDEX_BYTES = 256 << 20;
/** Bytes of one table block once decompressed (TF writes 256 KiB blocks): bounds a Snappy bomb. */
export const MAX_TF_BLOCK_BYTES = 64 << 20;
/** Bytes of all of an index's blocks once decompressed (Snappy expands up to ~20×): bounds the memory a small index can take. */
export const MAX_TF_TABLE_BYTES = 1 << 30;
/** Entries of one index (one per variable and slice; real models: thousands): bounds the parse's time and memory. */
export const MAX_TF_ENTRIES = 1_000_000;
/** Bytes of one key (a variable's checkpoint key; real ones below 300): bounds names carried into reports and outputs. */
export const MAX_TF_KEY_BYTES = 16 * 1024;
/** Dimensions of one tensor (TensorFlow's own limit is 254): bounds shape handling. */
export const MAX_TF_DIMS = 64;
/** Data shards a bundle may declare (num_shards; TF writes one per device): bounds the files opened. */
export const MAX_TF_SHARDS = 10_000;
/** Slices of one partitioned variable (tf.Variable partitions: tens): bounds the assembly's overlap checks (quadratic). */
export const MAX_TF_SLICES = 4096;
/** Bytes of a partitioned variable assembled in memory from its slices: bounds memory. */
export const MAX_TF_ASSEMBLED_BYTES = 2 ** 31;
/** Bytes of the object graph (_CHECKPOINTABLE_OBJECT_GRAPH, a string tensor read for names): bounds memory. */
export const MAX_TF_OBJECT_GRAPH_BYTES = 64 << 20;
/** Bytes of saved_model.pb walked by the scan (real ones: KiB to a few hundred MiB with constants folded in): bounds the scan's reads. */
export const MAX_TF_SAVED_MODEL_BYTES = 2 ** 31;
/** Protobuf fields visited in one SavedModel or object graph: bounds the walk's time. */
export const MAX_TF_PROTO_FIELDS = 50_000_000;
/** Bytes of Keras layer metadata (SavedUserObject JSON) kept from one SavedModel for the scan (real ones: KiB per layer): bounds memory. */
export const MAX_TF_KERAS_METADATA_BYTES = 64 << 20;
