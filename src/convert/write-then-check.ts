import type { Dtype } from '../dtype/dtypes.js';
import type { ByteSource } from '../io/byte-source.js';
import { formatById, readerOf } from '../formats/registry.js';
import type { FormatReader, ParsedModel } from '../formats/format.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import { checkOutput } from './check-output.js';
import type { OutputWriteOptions } from './output-format.js';
import { CHECKED_CHUNK_BYTES, type CheckedSink, type CheckedWrite, type WrittenFile, placementOf } from './write-checked.js';

/**
 * The check of an output whose file can only be parsed once it is whole (a zip's directory is at
 * its end; a GGUF's quantized tensors are compared with their encoder's output): write everything,
 * close, read the file back with the format's reader (not the writer), compare with the sources.
 */

/**
 * Parses a written file with its format's reader (`open` when the reader needs more than the file, as
 * TF.js its manifest); the source is closed if the parse fails.
 */
export async function openWritten(formatId: string, source: ByteSource, open?: (reader: FormatReader) => Promise<ParsedModel>): Promise<ParsedModel> {
  try {
    const reader = await readerOf(formatById(formatId)!);
    return await (open ? open(reader) : reader.open!(source));
  } catch (e) {
    await source.close?.();
    throw e;
  }
}

/** Streams one tensor's data after another onto the sink, counting progress; `seen` gets each chunk before it is written. */
export function dataWriter(sink: CheckedSink, options: OutputWriteOptions): (entry: TensorEntry, seen?: (chunk: Uint8Array) => void) => Promise<void> {
  let done = options.progressBase;
  return async (entry, seen) => {
    for await (const chunk of entry.chunks(CHECKED_CHUNK_BYTES)) {
      seen?.(chunk);
      await sink.write(chunk);
      done += chunk.byteLength;
      options.onProgress?.({ bytesDone: done, bytesTotal: options.progressTotal, tensor: entry.name });
    }
  };
}

/**
 * Writes the file (`write` returns the length its layout plans), closes the sink, then reads the whole
 * file back and compares it with the sources.
 */
export async function writeThenCheck(
  write: () => Promise<number>,
  sink: CheckedSink,
  sources: readonly TensorEntry[],
  removed: ReadonlyMap<string, string>,
  reopen: () => Promise<WrittenFile>,
  /** A .npy holds no name: its one tensor is compared under the source's (the reader names it after the file). */
  npyName?: string,
  /** Tensors stored as raw bits (name → their dtype): read back as U16/U8, compared as what they are. */
  rawDtypes: ReadonlyMap<string, Dtype> = new Map(),
  /** Where the check's progress goes (phase `verify`): reading back a large file takes as long as writing it. */
  progress?: OutputWriteOptions,
): Promise<CheckedWrite> {
  let total: number;
  try {
    total = await write();
    await sink.close();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  const file = await reopen();
  try {
    const asWritten = (t: TensorEntry): TensorEntry => {
      const name = npyName ?? t.name;
      const dtype = rawDtypes.get(name);
      return name === t.name && dtype === undefined ? t : retyped(t, name, dtype);
    };
    const tensors = npyName === undefined && rawDtypes.size === 0 ? file.tensors : { ...file.tensors, tensors: file.tensors.tensors.map(asWritten) };
    // Progress as a share of this file's tensor bytes, by tensors compared (the check reads them concurrently).
    const fileBytes = sources.reduce((n, s) => n + s.byteLength, 0);
    const onProgress = progress?.onProgress
      ? (done: number, count: number): void =>
          progress.onProgress!({ phase: 'verify', bytesDone: progress.progressBase + (count === 0 ? fileBytes : Math.round((fileBytes * done) / count)), bytesTotal: progress.progressTotal, tensor: '' })
      : undefined;
    const mismatches = await checkOutput(tensors, sources, removed, { chunkBytes: CHECKED_CHUNK_BYTES, ...(onProgress ? { onProgress } : {}) });
    if (sink.flushedEnd !== total) mismatches.push({ name: sink.name, reason: `${sink.flushedEnd} bytes were written, the layout plans ${total}` });
    return { mismatches, placement: placementOf(file) };
  } finally {
    await file.close();
  }
}

/** The same tensor under another name, and dtype when given (its reads are the original's). */
function retyped(t: TensorEntry, name: string, dtype: Dtype | undefined): TensorEntry {
  return Object.create(t, { name: { value: name, enumerable: true }, ...(dtype ? { dtype: { value: dtype, enumerable: true } } : {}) }) as TensorEntry;
}

