import type { SafetensorsHandle } from '../safetensors/reader.js';
import { SafetensorsFile } from '../safetensors/reader.js';
import { ShardedSafetensors } from '../safetensors/sharded.js';
import { DEFAULT_CHUNK_BYTES, type TensorEntry, type TensorSet } from './tensor-set.js';

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
      async *chunks(chunkBytes = DEFAULT_CHUNK_BYTES) {
        for (let at = 0; at < info.byteLength; at += chunkBytes) yield await source.read(info.byteOffset + at, Math.min(chunkBytes, info.byteLength - at));
      },
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
