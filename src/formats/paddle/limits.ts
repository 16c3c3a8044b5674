/** PaddlePaddle files' limits (the pickle machine's own limits apply too: src/formats/pickle/limits.ts). */

/** Bytes of a `.pdparams` or `.pdopt` pickle read into memory to be unpickled: bounds the memory of one open. */
export const MAX_PADDLE_PICKLE_BYTES = 2 * 1024 * 1024 * 1024;
/** Arrays taken from one state dict (a 65B model has under 2,000): bounds the entries a hostile dict makes. */
export const MAX_PADDLE_ARRAYS = 1_000_000;
