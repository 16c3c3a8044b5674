import type { TensorEntry, TensorSet } from '../tensor/tensor-set.js';
import { firstDifference } from './compare.js';

/** Tensors compared at once: enough to keep reads and comparisons overlapping, few enough to bound memory. */
export const CHECK_CONCURRENCY = 2;

/** Why a written tensor does not match its source. */
export interface Mismatch {
  readonly name: string;
  readonly reason: string;
}

export interface CheckOptions {
  chunkBytes?: number;
  /**
   * Resolves when the written tensor `name` can be read back from the output (its bytes are in the
   * file): to check a file while it is being written. Tensors are then checked in file order.
   */
  ready?: (name: string) => Promise<void>;
  /** Called after each source tensor is compared, with its size. */
  onChecked?: (bytes: number) => void;
}

/**
 * Compares what was written with the source, tensor by tensor, bit for bit: every source tensor must
 * be in the output under its name (or, for a removed tied name, under the name kept) with the same
 * dtype, shape and bytes, and the output must hold nothing else.
 */
export async function checkOutput(
  written: TensorSet,
  source: readonly TensorEntry[],
  removed: ReadonlyMap<string, string>,
  options: number | CheckOptions = {},
): Promise<Mismatch[]> {
  const { chunkBytes, ready, onChecked } = typeof options === 'number' ? { chunkBytes: options } : options;
  const out = new Map(written.tensors.map((t) => [t.name, t]));
  const mismatches: Mismatch[] = [];
  const expectedNames = new Set(source.map((e) => removed.get(e.name) ?? e.name));
  for (const name of out.keys()) if (!expectedNames.has(name)) mismatches.push({ name, reason: 'in the output but not in the source' });
  // Two tensors are compared at a time, so that one pair's reads overlap the other's comparison.
  const check = async (e: TensorEntry): Promise<Mismatch | undefined> => {
    const name = removed.get(e.name) ?? e.name;
    const w = out.get(name);
    if (!w) return { name: e.name, reason: 'missing from the output' };
    if (w.dtype !== e.dtype || w.shape.join(',') !== e.shape.join(',')) {
      return { name: e.name, reason: `written as ${w.dtype} [${w.shape.join(', ')}], source is ${e.dtype} [${e.shape.join(', ')}]` };
    }
    if (ready) await ready(name);
    const at = await firstDifference(w.chunks(chunkBytes), e.chunks(chunkBytes));
    onChecked?.(e.byteLength);
    return at >= 0 ? { name: e.name, reason: `bytes differ from byte ${at} on` } : undefined;
  };
  // While the file is being written, follow the writer: tensors in the order they sit in the file.
  const position = new Map(written.tensors.map((t, i) => [t.name, i]));
  const order = source.map((_, i) => i);
  if (ready) order.sort((a, b) => (position.get(removed.get(source[a]!.name) ?? source[a]!.name) ?? -1) - (position.get(removed.get(source[b]!.name) ?? source[b]!.name) ?? -1));
  let next = 0;
  const results: (Mismatch | undefined)[] = new Array(source.length);
  const lane = async (): Promise<void> => {
    while (next < source.length) {
      const i = order[next++]!;
      results[i] = await check(source[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, source.length) }, lane));
  for (const m of results) if (m) mismatches.push(m);
  return mismatches;
}
