/** Named limits of the integrity tools, each with the threat it guards against. */

/** Largest PEM key file read: an Ed25519 key is under 200 bytes; guards against reading a huge file given by mistake as a key. */
export const MAX_PEM_BYTES = 64 * 1024;

/**
 * Largest .sig file read: a manifest takes about 150 bytes per tensor, and a safetensors header
 * (at most 100 MB) holds well under 2 million tensors. Guards against memory exhaustion by a forged .sig.
 */
export const MAX_SIGNATURE_FILE_BYTES = 512 * 1024 * 1024;

/** Chunk in which tensor bytes are read and hashed: memory stays at two chunks whatever the file's size. */
export const HASH_CHUNK_BYTES = 8 << 20;
