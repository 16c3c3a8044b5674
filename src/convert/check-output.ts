import { compareSets } from '../tensor/compare-sets.js';
import { BIT_EXACT } from '../tensor/compare-tensors.js';
import type { TensorEntry, TensorSet } from '../tensor/tensor-set.js';

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
  /** After each tensor compared: how many of how many. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Compares what was written with the source, tensor by tensor, bit for bit (the tensor-set
 * comparison of tensor/compare-sets.ts): every source tensor must be in the output under its name
 * (or, for a removed tied name, under the name kept) with the same dtype, shape and bytes, and the
 * output must hold nothing else.
 */
export async function checkOutput(
  written: TensorSet,
  source: readonly TensorEntry[],
  removed: ReadonlyMap<string, string>,
  options: number | CheckOptions = {},
): Promise<Mismatch[]> {
  const { chunkBytes, ready, onProgress } = typeof options === 'number' ? { chunkBytes: options } : options;
  const compared = await compareSets(source, written.tensors, BIT_EXACT, {
    renamedInB: removed,
    concurrency: CHECK_CONCURRENCY,
    chunkBytes,
    valueStats: false,
    ready,
    ...(onProgress ? { onProgress: (p: { done: number; total: number }) => onProgress(p.done, p.total) } : {}),
  });
  const extra: Mismatch[] = [];
  const wrong: Mismatch[] = [];
  for (const c of compared) {
    switch (c.status) {
      case 'identical':
        break;
      case 'extra':
        extra.push({ name: c.name, reason: 'in the output but not in the source' });
        break;
      case 'missing':
        wrong.push({ name: c.name, reason: 'missing from the output' });
        break;
      case 'shape-mismatch':
      case 'dtype-mismatch':
        wrong.push({ name: c.name, reason: `written as ${c.dtype[1]} [${c.shape[1]!.join(', ')}], source is ${c.dtype[0]} [${c.shape[0]!.join(', ')}]` });
        break;
      default:
        wrong.push({ name: c.name, reason: c.reason ?? c.status });
    }
  }
  return [...extra, ...wrong];
}
