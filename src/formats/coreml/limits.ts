/** Limits of the Core ML reader: each bounds what a hostile model can make it do. */

/** Protobuf fields visited in one model (real models: a field per layer parameter, thousands to a few million): bounds the parse's time. */
export const MAX_COREML_FIELDS = 20_000_000;
/** Nesting of models in pipelines and of networks in loop and branch layers, and of MIL blocks: bounds the recursion. */
export const MAX_COREML_NESTING = 64;
/** Weights (WeightParams, MIL constants) in one model: bounds the parse's memory. */
export const MAX_COREML_WEIGHTS = 1_000_000;
/** Bytes of a string read (layer and operation names, class names, file names): bounds names carried into reports. */
export const MAX_COREML_STRING_BYTES = 64 * 1024;
/** Dimensions of one MIL tensor type (real ones: up to 6): bounds shape handling. */
export const MAX_COREML_DIMS = 32;
/** Quantization parameters of one weight (scales, biases, a lookup table): bounds the JSON one weight adds and the parameters held. */
export const MAX_COREML_QUANTIZATION_PARAMS = 1 << 20;
/** Bytes of all quantization metadata of a model (JSON): bounds the output header a hostile file can make. */
export const MAX_COREML_QUANTIZATION_METADATA_BYTES = 16 << 20;
/** Bytes of one weight decoded in memory (unpacked sub-byte values, dequantized or decompressed output, an immediate value): bounds the memory a few packed bytes can claim. */
export const MAX_COREML_DECODE_BYTES = 1 << 30;
/** Bytes of a Manifest.json read (real ones: under 1 KiB): bounds the JSON parse. */
export const MAX_COREML_MANIFEST_BYTES = 1 << 20;
/** Bytes of a MIL text program (model.mil) read: it is parsed in memory; real ones are a few MiB. */
export const MAX_COREML_MIL_TEXT_BYTES = 256 << 20;
/** Compile-time operations one weight's decoding runs, each read counted (real ones: one to three): bounds the time a lattice of operations reading each other twice can take, nothing decoded being kept. */
export const MAX_COREML_CONSTEXPR_EVALUATIONS = 1024;
