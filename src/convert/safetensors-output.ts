import type { ByteSource } from '../io/byte-source.js';
import { SafetensorsFile } from '../safetensors/reader.js';
import { formatShardIndex, safetensorsStem, shardFileName } from '../safetensors/sharded.js';
import { safetensorsTensorSet } from '../tensor/safetensors-set.js';
import type { OutputFormat } from './output-format.js';
import { writeChecked, type WrittenFile } from './write-checked.js';

/** safetensors as the pipeline's output: the streaming writer, the strict reader, transformers' names and index. */
export const safetensorsOutput: OutputFormat = {
  id: 'safetensors',
  extension: '.safetensors',
  fileName: (stem) => `${stem}.safetensors`,
  shardName: (stem, index, count) => shardFileName(stem, index, count),
  indexName: (stem) => `${stem}.safetensors.index.json`,
  stemOf: (fileName) => safetensorsStem(fileName),
  writeChecked: (entries, sink, sources, removed, reopen, options) =>
    writeChecked(entries, sink, sources, removed, reopen, {
      metadata: options.metadata,
      progressBase: options.progressBase,
      progressTotal: options.progressTotal,
      onProgress: options.onProgress,
      afterHeader: async (plan) => options.afterHeader?.(plan.header),
    }),
  // `format` is what loaders check (transformers wants `pt`); key order as the reference converter's.
  metadata: (framework, removed, records) => ({ ...(framework !== undefined ? { format: framework } : {}), ...Object.fromEntries(removed), ...records }),
  reopen: reopenSafetensors,
  index: (total, weightMap, metadata) => new TextEncoder().encode(formatShardIndex(total, weightMap, metadata)),
};

/** A written safetensors file parsed again by the reader (not the writer): its tensors and where they are. */
async function reopenSafetensors(source: ByteSource): Promise<WrittenFile> {
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(source);
  } catch (e) {
    await source.close?.();
    throw e;
  }
  return {
    tensors: safetensorsTensorSet(file),
    dataStart: file.header.dataStart,
    endOf: (name) => {
      const info = file.info(name);
      return info.byteOffset + info.byteLength;
    },
    close: () => file.close(),
  };
}
