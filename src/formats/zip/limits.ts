/** Named limits of the zip reader, each with the threat it guards against. */

/** Entries per archive. Guards against a central directory of millions of tiny records exhausting memory and time. */
export const MAX_ZIP_ENTRIES = 1_000_000;

/** Bytes of central directory read into memory. Guards against a huge declared directory size forcing a huge allocation. */
export const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;

/** Bytes of one entry name. Guards against path-length tricks and names that break the tools a name is handed to (PATH_MAX). */
export const MAX_ENTRY_NAME_BYTES = 4096;

/** Bytes of the archive comment (the format's own maximum). Bounds the backward search for the end record. */
export const MAX_ZIP_COMMENT_BYTES = 0xffff;

/** Bytes of the end-of-central-directory record without its comment. */
export const EOCD_BYTES = 22;

/** How far back from the end the end record is searched for. Guards against scanning a whole file for a signature. */
export const EOCD_SEARCH_BYTES = EOCD_BYTES + MAX_ZIP_COMMENT_BYTES;

/** Bytes one entry may inflate to (and one whole-entry read may return). Guards against zip bombs exhausting memory. */
export const MAX_INFLATED_ENTRY_BYTES = 1024 * 1024 * 1024;

/** Compressed bytes inflated per step. Guards against bombs: at ~1032:1, at most ~16.5 MiB is produced before output is checked against the declared size. */
export const INFLATE_INPUT_CHUNK_BYTES = 16 * 1024;

/** Bytes read from the source at a time when streaming over an entry (CRC checks, inflating). Guards against reading a multi-GB entry into memory at once. */
export const ZIP_READ_CHUNK_BYTES = 1024 * 1024;

/** Findings recorded per archive. Guards against an archive of a million broken entries making a million findings. */
export const MAX_ZIP_FINDINGS = 10_000;

/** Largest single read made to verify a batch of neighbouring local headers. Guards against coalescing into a huge read. */
export const LOCAL_HEADER_BATCH_BYTES = 1024 * 1024;

/**
 * Reads of local headers made at once: bounds the memory and requests in flight (at most this many
 * LOCAL_HEADER_BATCH_BYTES reads) while a Blob or an HTTP source, whose every read is a round trip,
 * answers them together.
 */
export const LOCAL_HEADER_READS_IN_FLIGHT = 16;
