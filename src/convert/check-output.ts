import type { TensorEntry, TensorSet } from '../tensor/tensor-set.js';
import { firstDifference } from './compare.js';

/** Why a written tensor does not match its source. */
export interface Mismatch {
  readonly name: string;
  readonly reason: string;
}

/**
 * Compares what was written with the source, tensor by tensor, bit for bit: every source tensor must
 * be in the output under its name (or, for a removed tied name, under the name kept) with the same
 * dtype, shape and bytes, and the output must hold nothing else.
 */
export async function checkOutput(written: TensorSet, source: readonly TensorEntry[], removed: ReadonlyMap<string, string>, chunkBytes?: number): Promise<Mismatch[]> {
  const out = new Map(written.tensors.map((t) => [t.name, t]));
  const mismatches: Mismatch[] = [];
  const expectedNames = new Set(source.map((e) => removed.get(e.name) ?? e.name));
  for (const name of out.keys()) if (!expectedNames.has(name)) mismatches.push({ name, reason: 'in the output but not in the source' });
  for (const e of source) {
    const name = removed.get(e.name) ?? e.name;
    const w = out.get(name);
    if (!w) {
      mismatches.push({ name: e.name, reason: 'missing from the output' });
      continue;
    }
    if (w.dtype !== e.dtype || w.shape.join(',') !== e.shape.join(',')) {
      mismatches.push({ name: e.name, reason: `written as ${w.dtype} [${w.shape.join(', ')}], source is ${e.dtype} [${e.shape.join(', ')}]` });
      continue;
    }
    const at = await firstDifference(w.chunks(chunkBytes), e.chunks(chunkBytes));
    if (at >= 0) mismatches.push({ name: e.name, reason: `bytes differ from byte ${at} on` });
  }
  return mismatches;
}
