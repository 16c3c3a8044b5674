import { planLayout, type Metadata } from './layout.js';
import { checkTensors, type TensorsInput } from './tensor-input.js';

export interface SaveOptions {
  /** String-to-string metadata, written as `__metadata__` with keys sorted. */
  metadata?: Metadata | null;
}

/** Serializes tensors to safetensors bytes, byte-identical to the reference writer. */
export function save(tensors: TensorsInput, options: SaveOptions = {}): Uint8Array {
  const checked = checkTensors(tensors);
  const byName = new Map(checked.map((t) => [t.name, t.bytes]));
  const layout = planLayout(checked, options.metadata);
  const out = new Uint8Array(layout.totalSize);
  out.set(layout.header, 0);
  for (const t of layout.tensors) out.set(byName.get(t.name)!, t.byteOffset);
  return out;
}
