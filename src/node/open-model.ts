import { safetensorsTensorSet } from '../tensor/safetensors-set.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import { mergedEntries, openCheckpoints } from './checkpoints.js';
import { findModel, type ModelFiles } from './model-files.js';
import { openPath } from './open-path.js';

export interface OpenModelOptions {
  /** Path of the weights in a training checkpoint. */
  key?: string;
  skipUnknown?: boolean;
  /** Which kind a folder holding both opens as. */
  prefer?: 'safetensors' | 'pytorch';
}

/**
 * Opens any model the project reads (a safetensors file, sharded set or folder; a PyTorch checkpoint,
 * sharded set or folder) as one TensorSet. PyTorch files are scanned first and refused when dangerous;
 * nothing in them is run.
 */
export async function openModel(target: string, options: OpenModelOptions = {}): Promise<TensorSet & { model: ModelFiles }> {
  const model = findModel(target, options.prefer);
  if (model.kind === 'safetensors') {
    const handle = await openPath(model.index ?? model.files[0]!);
    return { ...safetensorsTensorSet(handle), model };
  }
  const sets = await openCheckpoints(model.files, { key: options.key, skipUnknown: options.skipUnknown });
  return {
    format: sets[0]?.format ?? 'pytorch',
    tensors: mergedEntries(sets),
    leftOut: sets.flatMap((s) => s.leftOut),
    notes: [...new Set(sets.flatMap((s) => s.notes))],
    model,
    close: async () => {
      await Promise.all(sets.map((s) => s.close()));
    },
  };
}
