/** Named limits of the safetensors reader and writer, each with the threat it guards against. */

/** Largest header the reference accepts (decimal bytes). Guards against huge-JSON memory exhaustion (reference MAX_HEADER_SIZE). */
export const MAX_HEADER_SIZE = 100_000_000;

/** Nesting depth of JSON values inside the header, as serde_json's recursion limit: guards against stack exhaustion. */
export const MAX_JSON_DEPTH = 128;

/** Bytes the header length field occupies. */
export const HEADER_LENGTH_BYTES = 8;

/** Header bytes are padded with spaces to a multiple of this, so the data buffer starts 8-aligned. */
export const HEADER_ALIGNMENT = 8;

/** Largest unsigned integer the header may hold (u64). */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;
