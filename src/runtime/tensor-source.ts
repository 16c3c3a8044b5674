import { TensorsafeError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';
import type { SafetensorsHandle } from '../safetensors/reader.js';
import { load } from '../safetensors/load.js';
import type { TensorLike, TensorsInput } from '../safetensors/tensor-input.js';
import { readEntry, type TensorEntry, type TensorSet } from '../tensor/tensor-set.js';

/**
 * Where an adapter takes tensors from: safetensors bytes, the tensors `load`/`loadFile` return (or any
 * Map or object of { dtype, shape, data }), an open safetensors file or sharded set (`safeOpen`), or any
 * format's TensorSet. Handles and TensorSets are read lazily: only the tensors asked for.
 */
export type TensorSource = Uint8Array | TensorsInput | SafetensorsHandle | TensorSet;

/** The names, dtypes and shapes of a source before any tensor is read, and a reader for one tensor. */
export interface NamedTensors {
  readonly names: readonly string[];
  spec(name: string): { readonly dtype: Dtype; readonly shape: readonly number[] };
  read(name: string): Promise<TensorLike>;
}

export function namedTensors(source: TensorSource): NamedTensors {
  if (source instanceof Uint8Array) return fromMap(load(source));
  if (source instanceof Map) return fromMap(source as ReadonlyMap<string, TensorLike>);
  if (source === null || typeof source !== 'object') {
    throw new TensorsafeError('InvalidArgument', `expected safetensors bytes, a Map or object of tensors, an open safetensors file or a TensorSet, got ${source === null ? 'null' : typeof source}`);
  }
  if (isHandle(source)) {
    return { names: source.keys(), spec: (name) => source.info(name), read: (name) => source.getTensor(name) };
  }
  if (isTensorSet(source)) {
    const byName = new Map<string, TensorEntry>();
    for (const entry of source.tensors) {
      if (byName.has(entry.name)) throw new TensorsafeError('InvalidArgument', `the ${source.format} set holds two tensors named ${JSON.stringify(entry.name)}`, { location: `tensor ${entry.name}` });
      byName.set(entry.name, entry);
    }
    return {
      names: [...byName.keys()],
      spec: (name) => byName.get(name)!,
      read: async (name) => {
        const entry = byName.get(name)!;
        return { dtype: entry.dtype, shape: entry.shape, data: await readEntry(entry) };
      },
    };
  }
  return fromMap(new Map(Object.entries(source as Readonly<Record<string, TensorLike>>)));
}

function fromMap(map: ReadonlyMap<string, TensorLike>): NamedTensors {
  return { names: [...map.keys()], spec: (name) => map.get(name)!, read: async (name) => map.get(name)! };
}

function isHandle(x: object): x is SafetensorsHandle {
  const h = x as Partial<SafetensorsHandle>;
  return typeof h.keys === 'function' && typeof h.info === 'function' && typeof h.getTensor === 'function';
}

function isTensorSet(x: object): x is TensorSet {
  const s = x as Partial<TensorSet>;
  return Array.isArray(s.tensors) && typeof s.format === 'string';
}
