/**
 * Decodes ggml blocks somewhere other than the calling thread: a pool of worker threads in Node
 * (node/decode-workers.ts). Readers take one as an option (formats/ stay free of Node's modules) and
 * keep `parallelism` chunks decoding at once, yielded in order; without one they decode in place.
 */
export interface BlockDecoder {
  /** Decodes that may usefully run at once: a reader keeps at most this many chunks in flight. */
  readonly parallelism: number;
  /**
   * `blocks` whole blocks of the ggml type `typeName` (a name of tensor/ggml-blocks.ts) from `src`, as
   * float32. The caller gives `src` up: its buffer may be transferred to another thread (detached here).
   */
  decode(typeName: string, src: Uint8Array, blocks: number): Promise<Float32Array>;
}
