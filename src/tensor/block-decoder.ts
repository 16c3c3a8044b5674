/**
 * Decodes ggml blocks somewhere other than the calling thread: a pool of worker threads in Node
 * (node/decode-workers.ts). Readers take one as an option (formats/ stay free of Node's modules) and
 * keep `parallelism` chunks decoding at once, yielded in order; without one they decode in place.
 */
export interface BlockDecoder {
  /** Decodes that may usefully run at once: a reader keeps at most this many chunks in flight. */
  readonly parallelism: number;
  /**
   * Decodes `blocks` whole blocks of the ggml type `typeName` (a name of tensor/ggml-blocks.ts) from
   * `src` into the start of `out`, and hands both back. The caller gives both up until then: their
   * buffers may be transferred to another thread (and are detached here meanwhile), so each must be
   * a buffer of the caller's own, not a view into memory that holds anything else.
   */
  decode(typeName: string, src: Uint8Array, blocks: number, out: Float32Array): Promise<{ src: Uint8Array; out: Float32Array }>;
}
