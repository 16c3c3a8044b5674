import * as path from 'node:path';
import { openTorchTensorSet } from '../formats/torch/weights.js';
import { scanSource } from '../scan/scan.js';
import { safetensorsTensorSet } from '../tensor/safetensors-set.js';
import type { LeftOut, TensorEntry, TensorSet } from '../tensor/tensor-set.js';
import { UnsafeFileError } from './convert.js';
import { FileSource } from './file-source.js';
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
  const sets: TensorSet[] = [];
  try {
    for (const file of model.files) {
      const source = await FileSource.open(file);
      try {
        const report = await scanSource(source, { dir: path.dirname(path.resolve(file)) });
        if (report.verdict === 'dangerous') throw new UnsafeFileError(file, report);
        sets.push(await openTorchTensorSet(source, { key: options.key, skipUnknown: options.skipUnknown }));
      } catch (e) {
        await source.close();
        throw e;
      }
    }
  } catch (e) {
    await Promise.all(sets.map((s) => s.close()));
    throw e;
  }
  // Alias keys are per file: tied weights never span two files.
  const tensors: TensorEntry[] = sets.flatMap((set, i) => set.tensors.map((t) => ({ ...t, aliasKey: t.aliasKey === undefined ? undefined : `${i}/${t.aliasKey}`, chunks: t.chunks })));
  const leftOut: LeftOut[] = sets.flatMap((s) => s.leftOut);
  return {
    format: sets[0]?.format ?? 'pytorch',
    tensors,
    leftOut,
    notes: [...new Set(sets.flatMap((s) => s.notes))],
    model,
    close: async () => {
      await Promise.all(sets.map((s) => s.close()));
    },
  };
}
