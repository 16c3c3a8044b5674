import type { Dtype } from '../dtype/dtypes.js';

/**
 * GGUF's and ggml's numbering and ggml's own limits, as the GGUF reader (formats/gguf/) and the GGUF
 * writer (convert/gguf-output.ts) both need them: one table each, so that what is written is what is read.
 */

/** GGUF's value type ids (docs/gguf.md's gguf_type): a type's id is its index. */
export const GGUF_VALUE_TYPES = ['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY', 'UINT64', 'INT64', 'FLOAT64'] as const;
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];
/** Bytes of a fixed-size value type, by id (0 for STRING and ARRAY). */
export const GGUF_VALUE_BYTES: readonly number[] = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];

/** ggml_type id -> [elements per block, bytes per block, name] (format-specs §1.5; removed ids are absent). */
export const GGML_TYPES: ReadonlyMap<number, readonly [number, number, string]> = new Map([
  [0, [1, 4, 'F32']], [1, [1, 2, 'F16']], [2, [32, 18, 'Q4_0']], [3, [32, 20, 'Q4_1']], [6, [32, 22, 'Q5_0']],
  [7, [32, 24, 'Q5_1']], [8, [32, 34, 'Q8_0']], [9, [32, 36, 'Q8_1']], [10, [256, 84, 'Q2_K']], [11, [256, 110, 'Q3_K']],
  [12, [256, 144, 'Q4_K']], [13, [256, 176, 'Q5_K']], [14, [256, 210, 'Q6_K']], [15, [256, 292, 'Q8_K']],
  [16, [256, 66, 'IQ2_XXS']], [17, [256, 74, 'IQ2_XS']], [18, [256, 98, 'IQ3_XXS']], [19, [256, 50, 'IQ1_S']],
  [20, [32, 18, 'IQ4_NL']], [21, [256, 110, 'IQ3_S']], [22, [256, 82, 'IQ2_S']], [23, [256, 136, 'IQ4_XS']],
  [24, [1, 1, 'I8']], [25, [1, 2, 'I16']], [26, [1, 4, 'I32']], [27, [1, 8, 'I64']], [28, [1, 8, 'F64']],
  [29, [256, 56, 'IQ1_M']], [30, [1, 2, 'BF16']], [34, [256, 54, 'TQ1_0']], [35, [256, 66, 'TQ2_0']],
  [39, [32, 17, 'MXFP4']], [40, [64, 36, 'NVFP4']], [41, [128, 18, 'Q1_0']], [42, [64, 18, 'Q2_0']],
] as const);

/** The ggml types whose data is the safetensors dtype of the same name (read and written as they are), with their ids. */
export const GGML_PLAIN_TYPE_IDS: ReadonlyMap<string, number> = new Map<Dtype, number>([
  ['F32', 0], ['F16', 1], ['BF16', 30], ['F64', 28], ['I8', 24], ['I16', 25], ['I32', 26], ['I64', 27],
]);

/** ggml's GGML_MAX_DIMS: ggml holds at most this many dimensions; llama.cpp rejects a tensor with more. */
export const GGML_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: a tensor name must be shorter; ggml rejects one of this many bytes or more. */
export const GGML_MAX_NAME_BYTES = 64;
/** The alignment of tensor data when `general.alignment` does not say (ggml's GGUF_DEFAULT_ALIGNMENT). */
export const GGUF_DEFAULT_ALIGNMENT = 32;
