import type { FormatView } from '../formats/format.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import { findModel, type ModelFiles } from './model-files.js';
import { modelTensorSet } from '../model/model-set.js';
import { openModelFiles } from './open-files.js';
import { checkShards } from '../model/shards.js';

export interface OpenModelOptions {
  /** Path of the weights in a training checkpoint. */
  key?: string;
  skipUnknown?: boolean;
  /** Which format (a registry id) a folder holding models of several formats opens as. */
  prefer?: string;
  /** Quantized tensors as their float values, as `convertModel`'s `dequantize` writes them (TFLite); other formats ignore it. */
  dequantize?: boolean;
}

/**
 * Opens any model a registered format reads (a file, a sharded set's index, or a model folder) as
 * one TensorSet. Every file goes through the format registry: its format from its bytes, parsed once
 * by its reader, scanned with that parse and refused when dangerous (open-files.ts), unless its format
 * is inert (safetensors); nothing in it is run. The files of a sharded set must hold exactly what its index says.
 */
/** A model opened by openModel: one TensorSet over its files, the files, and each file's own view. */
export interface OpenedModel extends TensorSet {
  readonly model: ModelFiles;
  /** The size of each of model.files, in order (a URL's as its server gives it). */
  readonly sizes: readonly number[];
  /** The formats' own views of the files, in order (inspect), for the files whose format has one; made from the parse already done. */
  views(): { file: string; view: FormatView }[];
}

export async function openModel(target: string, options: OpenModelOptions = {}): Promise<OpenedModel> {
  // The files' formats are found from their bytes as they are opened (each file read once).
  const model = await findModel(target, { prefer: options.prefer, detect: false });
  // Files of a format whose loaders run nothing are read without a scan first, as before the registry.
  const opened = await openModelFiles(model.files, { key: options.key, skipUnknown: options.skipUnknown, dequantize: options.dequantize, scan: (format) => !format.inert });
  try {
    if (model.weightMap) checkShards(model.index!, model.weightMap, opened);
  } catch (e) {
    await Promise.all(opened.map((o) => o.tensors.close()));
    throw e;
  }
  return {
    ...modelTensorSet(opened, model.format),
    model,
    sizes: opened.map((o) => o.size),
    views: () => opened.flatMap((o) => (o.describe ? [{ file: o.file, view: o.describe() }] : [])),
  };
}
