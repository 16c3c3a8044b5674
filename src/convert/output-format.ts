import type { ByteSource } from '../io/byte-source.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import type { Progress } from './write.js';
import type { CheckedSink, CheckedWrite, WrittenFile } from './write-checked.js';

/**
 * A format the conversion pipeline (pipeline.ts) writes: how its files are named, how tensors are
 * written to one while being checked against their source, how a written file is read back, and the
 * index of a sharded output. The implementations: safetensors (safetensors-output.ts), npz and npy
 * (numpy-output.ts), listed in outputs.ts.
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
   * The same output storing tensors whose dtype it has no equivalent for as raw unsigned integers of
   * the same width, bits unchanged (`--allow-raw`); undefined when every dtype has one (safetensors).
   */
  withRawBits?(): OutputFormat;
  /** Notes for the summary on how these tensors are written (which ones are stored as raw bits). */
  notesFor?(entries: readonly TensorEntry[]): string[];
  /**
   * A file's metadata: the framework the tensors follow (`pt`), the tied names written once
   * (removed → kept, as the reference converter records them), then the caller's records.
   */
  metadata(framework: string | undefined, removed: ReadonlyMap<string, string>, records: Record<string, string>): Record<string, string>;
  /** A written file parsed again by this format's reader. */
  reopen(source: ByteSource): Promise<WrittenFile>;
  /** The index of a sharded output: every tensor → its file, the total data size, extra metadata. */
  index(totalBytes: number, weightMap: ReadonlyMap<string, string>, metadata: Record<string, string>): Uint8Array;
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
