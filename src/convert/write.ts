import type { ByteSink } from '../io/byte-sink.js';
import type { Metadata, SafetensorsLayout } from '../safetensors/layout.js';
import { SafetensorsStreamWriter } from '../safetensors/stream-writer.js';
import type { TensorEntry } from '../tensor/tensor-set.js';

/** Progress of a long write: bytes of tensor data done and in all, and the tensor being written. */
export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  tensor: string;
  /** Set while a file checked only once whole (a GGUF, an npz) is read back and compared: the bytes of its tensors compared so far. */
  phase?: 'write' | 'verify';
}

export interface WriteTensorsOptions {
  metadata?: Metadata | null;
  /** Called after every chunk. */
  onProgress?: (p: Progress) => void;
  /** Bytes already done before this file (several files of one job share a progress count). */
  progressBase?: number;
  progressTotal?: number;
  chunkBytes?: number;
  /** Called once the header is on the sink, before any tensor byte. */
  afterHeader?: (layout: SafetensorsLayout) => Promise<void>;
}

/**
 * Streams tensors into a safetensors file on `sink`: the header from their specs, then each
 * tensor's bytes in bounded chunks straight from its source; memory does not grow with the model.
 */
export async function writeTensors(entries: readonly TensorEntry[], sink: ByteSink, options: WriteTensorsOptions = {}): Promise<SafetensorsLayout> {
  const writer = await SafetensorsStreamWriter.create(sink, entries, { metadata: options.metadata ?? null });
  if (options.afterHeader) {
    try {
      await options.afterHeader(writer.layout);
    } catch (e) {
      await writer.abort();
      throw e;
    }
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  const order = writer.order.map((name) => byName.get(name)!);
  const total = options.progressTotal ?? writer.layout.dataLength;
  let done = options.progressBase ?? 0;
  // The first read of the next tensor starts while the last chunk of this one is written, so that
  // reading and writing overlap across tensors, not only within one.
  // A tensor the sink may take by reference (its bytes as they lie in a source) is not read ahead.
  const byReference = (entry: TensorEntry | undefined): boolean => entry?.stored !== undefined && sink.appendStored !== undefined;
  const open = (i: number, ahead = true): { it: AsyncIterator<Uint8Array>; first: Promise<IteratorResult<Uint8Array>> } | undefined => {
    const entry = order[i];
    if (!entry || (ahead && byReference(entry))) return undefined;
    const it = entry.chunks(options.chunkBytes)[Symbol.asyncIterator]();
    return { it, first: it.next() };
  };
  let upcoming = open(0);
  try {
    for (let i = 0; i < order.length; i++) {
      const entry = order[i]!;
      if (byReference(entry) && (await writer.appendStored(entry.name, entry.stored!))) {
        done += entry.byteLength;
        options.onProgress?.({ bytesDone: done, bytesTotal: total, tensor: entry.name });
        upcoming = open(i + 1);
        continue;
      }
      const { it, first } = upcoming ?? open(i, false)!;
      upcoming = undefined;
      let pending = first;
      let written = 0;
      for (;;) {
        const r = await pending;
        if (r.done) break;
        written += r.value.byteLength;
        if (written >= entry.byteLength && !upcoming) upcoming = open(i + 1);
        await writer.write(entry.name, r.value);
        done += r.value.byteLength;
        options.onProgress?.({ bytesDone: done, bytesTotal: total, tensor: entry.name });
        pending = it.next();
      }
      upcoming ??= open(i + 1);
    }
  } catch (e) {
    await upcoming?.it.return?.();
    await writer.abort();
    throw e;
  }
  await writer.close();
  return writer.layout;
}
