/** GGUF's limits: ggml's own (a file past them is not one ggml reads) and the bounds on what a header makes this parse do. */

/** Key-value pairs read: a header declaring billions would keep the parse busy for ever. */
export const MAX_GGUF_KV = 65_536;
/**
 * Tensor descriptions read. Real GGUF models hold a few thousand (llama.cpp merges MoE experts into one
 * tensor per layer); each description costs some 2 KiB once opened, so a 40 MB header declaring a
 * million tiny tensors took 1.85 GB to inspect: 262,144 keeps that under 500 MB.
 */
export const MAX_GGUF_TENSORS = 262_144;
/** Longest key (docs/gguf.md: keys are at most 65535 bytes). */
export const MAX_GGUF_KEY_BYTES = 65_535;
/** Elements in one array value (the largest vocabularies have ~260k tokens): bounds the parse's time. */
export const MAX_GGUF_ARRAY_LENGTH = 4_194_304;
/** Header and metadata bytes walked before the parse stops: a header can declare gigabytes of strings. */
export const MAX_GGUF_METADATA_BYTES = 256 * 1024 * 1024;
/* ggml's own limits on a tensor (GGML_MAX_DIMS, GGML_MAX_NAME_BYTES) are in tensor/gguf-types.ts: the GGUF writer keeps to them too. */

/** Nesting of arrays inside arrays: each level is a recursion; ggml writes none, the spec allows them. */
export const MAX_GGUF_ARRAY_DEPTH = 8;
/** Elements of an array value kept in memory (as a value for metadata); longer arrays are walked and left out. */
export const MAX_GGUF_KEPT_ARRAY = 1024;
/** Bytes of one string value kept (a chat template is a few KiB); longer strings are walked and left out. */
export const MAX_GGUF_KEPT_STRING = 1024 * 1024;
