/** Legacy GGML files' limits: ggml's own, and the bounds on what a header makes the parse do. */

/** Vocabulary entries walked: a header declaring billions would keep the parse busy for ever (LLaMA has 32,000). */
export const MAX_GGML_VOCAB = 4_194_304;
/** Bytes of one vocabulary entry (llama.cpp's converter rejects 4096 and more): a token is a few bytes. */
export const MAX_GGML_TOKEN_BYTES = 4096;
/** Bytes of the vocabulary walked before the parse stops: bounds the reads a header can ask for. */
export const MAX_GGML_VOCAB_BYTES = 256 * 1024 * 1024;
/** Tensor descriptions walked (a 65B LLaMA has 723): a file of tiny tensors would keep the parse busy. */
export const MAX_GGML_TENSORS = 1_048_576;
/** Bytes of a tensor name (llama.cpp's converter rejects 4096 and more; real names are under 64). */
export const MAX_GGML_NAME_BYTES = 4096;
/* ggml's GGML_MAX_DIMS, shared with GGUF, is in tensor/gguf-types.ts. */
/** The alignment of tensor data in a ggjt file (llama.cpp padded every tensor's data to 32 bytes). */
export const GGJT_ALIGNMENT = 32;
