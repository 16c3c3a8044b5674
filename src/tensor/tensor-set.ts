import type { TensorsafeError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';
import type { SourceRange } from '../io/byte-source.js';

/**
 * The shape every format reader produces and every consumer (writer, verify, CLI) takes:
 * named tensors with dtype and shape whose bytes are read lazily, in bounded chunks.
 */

/** One tensor of a set: what it is, and how to get its bytes (contiguous, row-major, little-endian). */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** How the bytes of the source become the output's (see TensorEncoding). */
  readonly encoding: TensorEncoding;
  /** How faithful the output is to what the source holds (see TensorFidelity). */
  readonly fidelity: TensorFidelity;
  /**
   * Equal for entries that are the same view of the same bytes (tied weights): they hold the
   * same values by construction, and a writer may keep one of them.
   */
  readonly aliasKey?: string;
  /**
   * Where the tensor's bytes lie, when `chunks()` yields exactly the `byteLength` bytes from there, as
   * they are (no gather, swap or decode): a writer may take them by reference (ByteSink.appendStored),
   * and two entries whose bytes have the same origin (originOf) are equal without reading them.
   */
  readonly stored?: SourceRange;
  /**
   * The tensor's bytes, in order, in chunks of at most `chunkBytes` (default DEFAULT_CHUNK_BYTES).
   * A chunk may be a reused buffer: it is valid until the next chunk is asked for.
   */
  chunks(chunkBytes?: number): AsyncIterable<Uint8Array>;
}

/**
 * How a tensor's bytes become the output, in the order applied:
 * - `layout: 'stored'`: read as they lie in the source (contiguous, row-major);
 * - `layout: 'strided'`: gathered from a strided view (a transpose, a slice with steps, Fortran order)
 *   into row-major order (tensor/strided.ts);
 * - `layout: 'decoded'`: computed from other bytes by `decoder` (dequantized, unpacked, densified);
 * - `byteSwap`: the source is big-endian; every group of this many bytes is reversed after reading
 *   (tensor/byte-swap.ts). A complex64 swaps its two float32 halves apart: 4, not 8.
 * Decoders are streaming transforms over chunks in src/tensor/, shared by every format that needs them.
 */
export interface TensorEncoding {
  readonly layout: 'stored' | 'strided' | 'decoded';
  /** Bytes per swapped group (2, 4 or 8) when the source is big-endian; absent otherwise. */
  readonly byteSwap?: number;
  /** For `decoded`: which decoder (`q4_0`, `int4-unpack`, `sparse-densify`). */
  readonly decoder?: string;
}

/**
 * How faithful the output is:
 * - `exact`: the same values in the same dtype, bit for bit (stored, swapped or gathered bytes);
 * - `lossless`: a decoder changed the representation but every value is kept exactly
 *   (INT4 unpacked to I8, a sparse tensor densified);
 * - `derived`: values computed from the source that are not its own (dequantized blocks, casts).
 */
export type TensorFidelity = 'exact' | 'lossless' | 'derived';

/** The encoding of bytes read as they lie. */
export const STORED: TensorEncoding = Object.freeze({ layout: 'stored' });

/** Something a reader found but did not turn into a tensor: optimizer state, hyperparameters, … */
export interface LeftOut {
  /** Where it is: a key path such as `optimizer` or `hyper_parameters.lr`. */
  readonly path: string;
  /** What it is, for people: `dict of 12`, `int 3`, `placeholder for omegaconf.DictConfig`. */
  readonly what: string;
}

export interface TensorSet {
  /** Format and container, e.g. `pytorch-zip`, `pytorch-legacy`, `safetensors`. */
  readonly format: string;
  readonly tensors: readonly TensorEntry[];
  /** String metadata the source carries (safetensors `__metadata__`), if any. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Everything the reader did not take as a tensor. */
  readonly leftOut: readonly LeftOut[];
  /** Notes for the summary: placeholders created, byte order swapped, … */
  readonly notes: readonly string[];
  /** Where in the file the weights were found, when a reader looks for them (`state_dict`; '' for the file itself). */
  readonly weightsPath?: string;
  /** Classes of the module objects the weights were read from (a whole-model pickle), read as data, never imported. */
  readonly moduleClasses?: readonly string[];
  /** Files a conversion writes beside its output: what the output's metadata cannot hold (GGUF vocabularies). */
  readonly companions?: readonly Companion[];
  /**
   * Why the set is read for inspect, scan and verify but never converted (a PaddlePaddle optimizer's
   * state: moments, not weights): convert throws it before planning anything.
   */
  readonly notConvertible?: TensorsafeError;
  close(): Promise<void>;
}

/**
 * A file written beside a conversion's output, with it and like it (atomically, never over a file
 * without --force): what the source holds that the output's own metadata cannot, such as GGUF's
 * tokenizer vocabularies (tensor/gguf-metadata.ts).
 */
export interface Companion {
  /** Appended to the output's stem: `.gguf-metadata.json`. */
  readonly suffix: string;
  /** The keys it holds, for the summary. */
  readonly keys: readonly string[];
  /** What it holds, for the summary: `metadata: 3 large values`. */
  readonly what: string;
  /** Its bytes, in pieces (`source`: the input's file name, which it records). Throws a coded error past a limit. */
  bytes(source: string): Promise<Uint8Array[]>;
}

/** Chunk size for streaming tensor bytes: large enough for fast I/O, small enough to bound memory. */
export const DEFAULT_CHUNK_BYTES = 8 << 20;

/** Reads a whole tensor into one array (for small tensors and tests). */
export async function readEntry(entry: TensorEntry): Promise<Uint8Array> {
  const out = new Uint8Array(entry.byteLength);
  let at = 0;
  for await (const chunk of entry.chunks()) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
