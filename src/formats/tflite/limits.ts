import type { FlatBufferLimits } from '../flatbuffers/tables.js';

/** Tables visited: bounds the time a hostile file can cost (real models have thousands). */
export const MAX_TFLITE_TABLES = 500_000;
/** Elements of one vector of tables walked (tensors, operators, buffers); byte vectors are bounded by the file only. */
export const MAX_TFLITE_VECTOR_LENGTH = 500_000;
/** Longest string read (tensor and subgraph names, custom op names, external file names). */
export const MAX_TFLITE_STRING_BYTES = 64 * 1024;
/** Scales (and zero points) of one tensor kept as metadata: a per-axis tensor has one per channel; bounds the JSON a tensor adds. */
export const MAX_TFLITE_QUANTIZATION_PARAMS = 65_536;
/** Bytes of all quantization metadata of a model (JSON): bounds the output header a hostile file can make. */
export const MAX_TFLITE_QUANTIZATION_METADATA_BYTES = 16 << 20;

/** FlatBuffer limits of a TFLite model, named in messages. */
export const TFLITE_LIMITS: FlatBufferLimits = {
  tables: { value: MAX_TFLITE_TABLES, name: 'MAX_TFLITE_TABLES' },
  vectorLength: { value: MAX_TFLITE_VECTOR_LENGTH, name: 'MAX_TFLITE_VECTOR_LENGTH' },
  stringBytes: { value: MAX_TFLITE_STRING_BYTES, name: 'MAX_TFLITE_STRING_BYTES' },
};
/** Bytes of the dense tensor a sparse one expands to: it is built in memory, and a few index entries can describe a huge one. */
export const MAX_TFLITE_SPARSE_DENSE_BYTES = 256 * 1024 * 1024;
/**
 * Dense bytes per byte a sparse tensor occupies (its values, segments and indices), past the first
 * MAX_TFLITE_SPARSE_FREE_BYTES: a few bytes must not expand to hundreds of MiB (real sparse weights are
 * at most a few hundred times smaller than dense).
 */
export const MAX_TFLITE_SPARSE_EXPANSION = 1024;
/** Dense bytes of a sparse tensor allowed whatever its size. */
export const MAX_TFLITE_SPARSE_FREE_BYTES = 1024 * 1024;
/** Entries of a sparse tensor's segment and index vectors, read into memory (4 bytes each) to densify it. */
export const MAX_TFLITE_SPARSE_INDEX_ENTRIES = 16 * 1024 * 1024;
/**
 * Segment and index entries and stored values of all the sparse tensors of a model, walked on open to
 * check them: tensors may share one sparsity and one buffer, so the per-tensor limits alone do not bound the time.
 */
export const MAX_TFLITE_SPARSE_MODEL_ENTRIES = 128 * 1024 * 1024;
