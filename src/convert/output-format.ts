import type { ByteSource } from '../io/byte-source.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import type { Progress } from './write.js';
import type { CheckedSink, CheckedWrite, WrittenFile } from './write-checked.js';

/**
 * A format the conversion pipeline (pipeline.ts) writes: how its files are named, how tensors are
 * written to one while being checked against their source, how a written file is read back, and the
 * index of a sharded output. The implementations: safetensors (safetensors-output.ts), npz and npy
 * (numpy-output.ts), gguf (gguf-output.ts), listed in outputs.ts.
 */
export interface OutputFormat {
  /** The registry id of the format written (`safetensors`). */
  readonly id: string;
  /** Of a single output file: `.safetensors`. */
  readonly extension: string;
  /** `model` → `model.safetensors`. */
  fileName(stem: string): string;
  /** The k-th of n shards (k from 0): `model-00001-of-00002.safetensors`. */
  shardName(stem: string, index: number, count: number): string;
  /** A sharded output's index: `model.safetensors.index.json`. */
  indexName(stem: string): string;
  /** The stem of a file of this format's output family (a single file, a shard, an index), else undefined. */
  stemOf(fileName: string): string | undefined;
  /**
   * Streams `entries` to `sink` with `metadata`, and compares the output, read back by this format's
   * reader (`reopen`), with `sources` bit for bit: while it is written (safetensors: write-checked.ts),
   * or once it is whole (a zip's directory is at its end).
   */
  writeChecked(entries: readonly TensorEntry[], sink: CheckedSink, sources: readonly TensorEntry[], removed: ReadonlyMap<string, string>, reopen: () => Promise<WrittenFile>, options: OutputWriteOptions): Promise<CheckedWrite>;
  /**
   * A file's metadata: the framework the tensors follow (`pt`), the tied names written once
   * (removed → kept, as the reference converter records them), then the caller's records.
   */
  metadata(framework: string | undefined, removed: ReadonlyMap<string, string>, records: Record<string, string>): Record<string, string>;
  /** A written file parsed again by this format's reader. */
  reopen(source: ByteSource): Promise<WrittenFile>;
  /** The index of a sharded output: every tensor → its file, the total data size, extra metadata. */
  index(totalBytes: number, weightMap: ReadonlyMap<string, string>, metadata: Record<string, string>): Uint8Array;
  /** The writer options `configure` takes (NumPy: `allowRaw`; GGUF: `quantize`, `arch`); a conversion given another is refused. */
  readonly writerOptions?: readonly WriterOption[];
  /** This format with its writer's options (and, for `typedMetadata`, the sources' metadata); absent when it takes none. */
  configure?(options: OutputOptions): OutputFormat;
  /**
   * Carries the sources' metadata itself, with its types (a GGUF, through `configure`'s
   * sourceMetadata): the pipeline then adds only its own records, never the sources' keys as strings.
   */
  readonly typedMetadata?: boolean;
  /**
   * Holds no metadata at all (NumPy): the sources' keys and tensorsafe's own record of its sources are
   * not written, and the summary names them; an existing output is known by no record of its source.
   * The value names the files in those messages (`NumPy`).
   */
  readonly noMetadata?: string;
  /** Every tensor goes to one file, whatever the inputs' sharding (a GGUF). */
  readonly oneFile?: boolean;
  /** Bytes a tensor takes in the output when that is not its source's (TF.js quantized): what shards are filled by. */
  storedBytes?(entry: TensorEntry): number;
  /** The shard size when the caller gives none (TF.js: 4 MB, tfjs-converter's). */
  readonly defaultShardSize?: number;
  /** The output is always shards and an index, even of one shard (TF.js: the shards and model.json). */
  readonly alwaysIndexed?: boolean;
  /** What the summary says about how these tensors are written (quantized, kept as they are, stored as raw bits). */
  notes?(kept: readonly TensorEntry[]): string[];
}

/** An option of a writer (OutputOptions). */
export type WriterOption = 'allowRaw' | 'quantize' | 'arch';

/** What a format's `configure` takes: the options of its writer and what the sources hold besides tensors. */
export interface OutputOptions {
  /**
   * NumPy: store tensors whose dtype NumPy has no equivalent for (BF16, F8_*) as raw unsigned integers of
   * the same width, bits unchanged (`--allow-raw`), instead of refusing them.
   */
  readonly allowRaw?: boolean;
  /** The type tensors are written as (GGUF: f32, f16, bf16, q8_0, q4_0, q4_k; TF.js: uint8, uint16, float16). */
  readonly quantize?: string;
  /** The model's architecture (GGUF's general.architecture), when the sources do not say it. */
  readonly arch?: string;
  /** The sources' metadata (safetensors `__metadata__`). */
  readonly sourceMetadata?: Readonly<Record<string, string>>;
  /** A metadata sidecar found beside the source: its text, and its path for messages. */
  readonly sidecar?: { readonly text: string; readonly name: string };
}

export interface OutputWriteOptions {
  readonly metadata: Record<string, string>;
  /** Bytes of earlier files of the same conversion, and of all, for one progress count. */
  readonly progressBase: number;
  readonly progressTotal: number;
  readonly onProgress?: (p: Progress) => void;
  /** The file's header as written, before any tensor byte (whoever rewrites it in place later needs it); an npz has none. */
  readonly afterHeader?: (header: Uint8Array) => void;
}
