import type { ByteSource } from '../io/byte-source.js';
import { TensorsafeError } from '../errors.js';
import { GGML_BLOCK_FORMATS, type GgmlBlockFormat } from './ggml-blocks.js';

/**
 * Decodes ggml blocks, on this thread or elsewhere: a pool of worker threads in Node
 * (node/decode-workers.ts). Readers take one as an option (formats/ stay free of Node's modules);
 * decodedChunks keeps `parallelism` chunks reading and decoding at once and yields them in order.
 */
export interface BlockDecoder {
  /** Decodes that may usefully run at once: decodedChunks keeps at most this many chunks in flight. */
  readonly parallelism: number;
  /**
   * Decodes `blocks` whole blocks of the ggml type `typeName` (a name of tensor/ggml-blocks.ts) from
   * `src` into the start of `out`, and hands both back. The caller gives both up until then: their
   * buffers may be transferred to another thread (and are detached here meanwhile), so each must be
   * a buffer of the caller's own, not a view into memory that holds anything else.
   */
  decode(typeName: string, src: Uint8Array, blocks: number, out: Float32Array): Promise<{ src: Uint8Array; out: Float32Array }>;
}

/**
 * Decodes `blocks` blocks of the ggml type named `typeName` from `src` into `out`: what a decoding
 * worker does with a request (a type name only: nothing from a file is run or loaded). A name
 * tensor/ggml-blocks.ts does not decode, or buffers too small, are defects of the caller: coded errors.
 */
export function decodeBlocks(typeName: string, src: Uint8Array, blocks: number, out: Float32Array): void {
  const format = GGML_BLOCK_FORMATS.get(typeName);
  if (format === undefined) throw new TensorsafeError('InternalError', `decoding was asked for ggml type ${JSON.stringify(typeName)}, which tensorsafe does not decode`);
  if (src.byteLength < blocks * format.bytes || out.length < blocks * format.elements) {
    throw new TensorsafeError('InternalError', `decoding was given ${src.byteLength} bytes and room for ${out.length} floats for ${blocks} ${typeName} blocks`);
  }
  format.decode(src, blocks, out);
}

/** Buffers kept for the next tensor, per size (source blocks and floats): fresh ones cost page faults. */
const POOL_MAX_BUFFERS = 8;
const srcPool = new Map<number, Uint8Array[]>();
const outPool = new Map<number, Float32Array[]>();

function take<T extends Uint8Array | Float32Array>(pool: Map<number, T[]>, length: number, make: (n: number) => T): T {
  return pool.get(length)?.pop() ?? make(length);
}

function give<T extends Uint8Array | Float32Array>(pool: Map<number, T[]>, buffers: T[]): void {
  for (const b of buffers) {
    const list = pool.get(b.length) ?? [];
    if (list.length < POOL_MAX_BUFFERS) list.push(b);
    pool.set(b.length, list);
  }
}

/** Decoding on this thread, one chunk ahead of the consumer (the next chunk's read overlaps this one's use). */
function inPlace(format: GgmlBlockFormat): BlockDecoder {
  return {
    parallelism: 1,
    decode: async (_typeName, src, blocks, out) => {
      format.decode(src, blocks, out);
      return { src, out };
    },
  };
}

/**
 * A quantized tensor's F32 bytes, from the `byteLength` bytes of whole blocks at `offset`: whole blocks
 * read (about `chunkBytes` of output at a time), up to `decoder.parallelism` chunks reading and decoding
 * at once (without a decoder: on this thread, one ahead), yielded in order in pieces of at most
 * `chunkBytes`. Buffers go to the decoder and come back, and are used again (fresh memory costs a page
 * fault per 4 KiB): memory stays at parallelism + 1 chunks in and out, whatever the tensor's size. A
 * piece handed out is valid until the next is asked for. A failed read or decode fails the iteration;
 * a caller that stops early leaves nothing running behind it.
 */
export async function* decodedChunks(
  source: ByteSource,
  offset: number,
  byteLength: number,
  typeName: string,
  format: GgmlBlockFormat,
  chunkBytes: number,
  decoder: BlockDecoder = inPlace(format),
): AsyncGenerator<Uint8Array> {
  const totalBlocks = byteLength / format.bytes;
  const perRead = Math.max(1, Math.floor(chunkBytes / (format.elements * 4)));
  const step = Math.max(4, Math.floor(chunkBytes / 4) * 4);
  const depth = Math.max(1, Math.floor(decoder.parallelism));
  const srcFree: Uint8Array[] = [];
  const outFree: Float32Array[] = [];
  const inFlight: Promise<{ src: Uint8Array; out: Float32Array; blocks: number }>[] = [];
  let next = 0;
  // The decoder may take the buffers it is given to another thread: only buffers of this generator's own go.
  const job = async (first: number, blocks: number): Promise<{ src: Uint8Array; out: Float32Array; blocks: number }> => {
    const length = blocks * format.bytes;
    const at = offset + first * format.bytes;
    const own = blocks === perRead ? (srcFree.pop() ?? take(srcPool, length, (n) => new Uint8Array(n))) : new Uint8Array(length);
    if (source.readInto) await source.readInto(own, at);
    else own.set(await source.read(at, length));
    const done = await decoder.decode(typeName, own, blocks, outFree.pop() ?? take(outPool, perRead * format.elements, (n) => new Float32Array(n)));
    return { ...done, blocks };
  };
  const refill = (): void => {
    while (inFlight.length < depth && next < totalBlocks) {
      const blocks = Math.min(perRead, totalBlocks - next);
      const started = job(next, blocks);
      started.catch(() => undefined); // awaited in order below; this only keeps a later failure from being "unhandled" meanwhile
      inFlight.push(started);
      next += blocks;
    }
  };
  try {
    refill();
    while (inFlight.length > 0) {
      const { src, out, blocks } = await inFlight.shift()!;
      if (src.byteLength === perRead * format.bytes) srcFree.push(src);
      refill();
      const bytes = new Uint8Array(out.buffer, out.byteOffset, blocks * format.elements * 4);
      for (let at = 0; at < bytes.byteLength; at += step) yield bytes.subarray(at, Math.min(bytes.byteLength, at + step));
      outFree.push(out);
    }
  } finally {
    // Reads and decodes still running (the caller stopped early, or one failed) end before the source may close.
    await Promise.allSettled(inFlight);
    give(srcPool, srcFree);
    give(outPool, outFree);
  }
}
