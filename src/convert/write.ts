import type { ByteSink } from '../io/byte-sink.js';
import type { Metadata, SafetensorsLayout } from '../safetensors/layout.js';
import { SafetensorsStreamWriter } from '../safetensors/stream-writer.js';
import type { TensorEntry } from '../tensor/tensor-set.js';

/** Progress of a long write: bytes of tensor data done and in all, and the tensor being written. */
export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  tensor: string;
}

export interface WriteTensorsOptions {
  metadata?: Metadata | null;
  /** Called after every chunk. */
  onProgress?: (p: Progress) => void;
  /** Bytes already done before this file (several files of one job share a progress count). */
  progressBase?: number;
  progressTotal?: number;
  chunkBytes?: number;
}

/**
 * Streams tensors into a safetensors file on `sink`: the header from their specs, then each
 * tensor's bytes in bounded chunks straight from its source; memory does not grow with the model.
 */
export async function writeTensors(entries: readonly TensorEntry[], sink: ByteSink, options: WriteTensorsOptions = {}): Promise<SafetensorsLayout> {
  const writer = await SafetensorsStreamWriter.create(sink, entries, { metadata: options.metadata ?? null });
  const byName = new Map(entries.map((e) => [e.name, e]));
  const total = options.progressTotal ?? writer.layout.dataLength;
  let done = options.progressBase ?? 0;
  try {
    for (const name of writer.order) {
      for await (const chunk of byName.get(name)!.chunks(options.chunkBytes)) {
        await writer.write(name, chunk);
        done += chunk.byteLength;
        options.onProgress?.({ bytesDone: done, bytesTotal: total, tensor: name });
      }
    }
  } catch (e) {
    await writer.abort();
    throw e;
  }
  await writer.close();
  return writer.layout;
}
