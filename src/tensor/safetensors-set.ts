import type { SafetensorsHandle } from '../safetensors/reader.js';
import { SafetensorsFile } from '../safetensors/reader.js';
import { ShardedSafetensors } from '../safetensors/sharded.js';
import { readChunks } from '../io/read-chunks.js';
import { DEFAULT_CHUNK_BYTES, STORED, type TensorEntry, type TensorSet } from './tensor-set.js';

/** A safetensors file or sharded set as a TensorSet: entries in file order, bytes read in chunks. */
export function safetensorsTensorSet(handle: SafetensorsHandle): TensorSet {
  const fileOf = (name: string): SafetensorsFile => (handle instanceof ShardedSafetensors ? handle.shardOf(name) : (handle as SafetensorsFile));
  const tensors: TensorEntry[] = handle.offsetKeys().map((name) => {
    const info = handle.info(name);
    const source = fileOf(name).source;
    return {
      name,
      dtype: info.dtype,
      shape: info.shape,
      byteLength: info.byteLength,
      encoding: STORED,
      fidelity: 'exact',
      stored: { source, offset: info.byteOffset },
      chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => readChunks(source, info.byteOffset, info.byteLength, chunkBytes),
    };
  });
  return {
    format: handle instanceof ShardedSafetensors ? 'safetensors-sharded' : 'safetensors',
    tensors,
    metadata: handle.metadata() ?? undefined,
    leftOut: [],
    notes: [],
    close: () => handle.close(),
  };
}
