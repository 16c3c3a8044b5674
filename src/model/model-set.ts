import { mergedEntries } from '../convert/pipeline.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import type { OpenedFile } from './open-source.js';

/**
 * The files of one model (a sharded set's shards, or one file) as the one TensorSet that verify and
 * convert take: every file's tensors in order, the first file's metadata (where converters record
 * tied weights), everything left out and every note; closing it closes every file. Shared by the
 * CLI's openModel (node/open-model.ts) and the page's worker.
 */
export function modelTensorSet(opened: readonly OpenedFile[], format = ''): TensorSet {
  const sets = opened.map((o) => o.tensors);
  return {
    format: sets[0]?.format ?? format,
    tensors: mergedEntries(sets),
    ...(sets[0]?.metadata ? { metadata: sets[0].metadata } : {}),
    leftOut: sets.flatMap((s) => s.leftOut),
    notes: [...new Set(sets.flatMap((s) => s.notes))],
    close: async () => {
      await Promise.all(sets.map((s) => s.close()));
    },
  };
}
