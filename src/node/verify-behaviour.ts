import * as path from 'node:path';
import { inFile, TensorsafeError } from '../errors.js';
import { HttpSource } from '../io/http-source.js';
import { isHttpUrl, resolveInsideUrl } from '../io/url-inside.js';
import type { RunnableModel } from '../tensor/runnable-model.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import { checkBehaviour, type BehaviourOptions, type BehaviourReport } from '../verify/behaviour.js';
import { FileSource } from './file-source.js';
import { httpOptionsFor, hubReferenceOf, openHubSibling, openHubSource } from './hub.js';
import { openInsideFolder } from './inside-folder.js';
import { findModel } from './model-files.js';
import { openModelFile } from './open-files.js';
import { openModel } from './open-model.js';
import { loadRuntime } from './runtimes.js';

export interface VerifyBehaviourOptions extends Omit<BehaviourOptions, 'given'> {
  /** An npz (or any model file tensorsafe reads) whose arrays are the inputs, by input name. */
  inputs?: string;
}

/**
 * `verify --run`: the original model (one ONNX or TF.js graph model file: local, by URL or on the Hub;
 * opened, scanned and parsed as every command does) run in its runtime as it is, and again with the
 * converted weights in place of its own; every output compared (verify/behaviour.ts). Nothing of
 * either file is run but the graph the runtime is given.
 */
export async function verifyBehaviour(original: string, converted: string, options: VerifyBehaviourOptions = {}): Promise<BehaviourReport> {
  const files = (await findModel(original, { detect: false })).files;
  if (files.length !== 1) throw new TensorsafeError('RunUnsupported', `${original} is a model of ${files.length} files: the behaviour check runs one ONNX file or one TF.js model.json`, { location: original });
  const file = files[0]!;
  const opened = await openModelFile(file);
  const closing: (() => Promise<void>)[] = [() => opened.tensors.close()];
  const models: RunnableModel[] = [];
  try {
    const reader = await opened.format.load();
    if (!reader.runner) throw new TensorsafeError('RunUnsupported', `${file} is ${opened.format.name}: the behaviour check runs ONNX models (in onnxruntime-node) and TF.js graph models (in @tensorflow/tfjs)`, { location: file });
    const runtime = await loadRuntime(reader.runner.runtime);
    const weights: TensorSet = await openModel(converted).catch((e: unknown) => Promise.reject(inFile(e, converted)));
    closing.push(() => weights.close());
    const given = options.inputs !== undefined ? await openModel(options.inputs).catch((e: unknown) => Promise.reject(inFile(e, options.inputs!))) : undefined;
    if (given) closing.push(() => given.close());
    // A URL's or Hub file's bytes (and what it references, beside it) are read as `inspect` reads them: with range requests.
    const source = isHttpUrl(file) ? await HttpSource.open(file, httpOptionsFor(file)) : hubReferenceOf(file) ? await openHubSource(file) : await FileSource.open(file);
    closing.push(async () => source.close?.());
    const openSibling = isHttpUrl(file)
      ? (relative: string) => HttpSource.open(resolveInsideUrl(file, relative), httpOptionsFor(file))
      : hubReferenceOf(file)
        ? (relative: string) => openHubSibling(file, relative)
        : (relative: string) => openInsideFolder(path.dirname(path.resolve(file)), relative);
    const base = { parsed: { tensors: opened.tensors, structure: opened.structure }, source, openSibling, runtime };
    models.push(await reader.runner.load({ ...base, label: `the original (${file})` }));
    models.push(await reader.runner.load({ ...base, weights, label: `the model with the weights of ${converted}` }));
    return await checkBehaviour({ original: file, converted }, models[0]!, models[1]!, { ...options, ...(given ? { given, givenName: options.inputs } : {}) });
  } finally {
    for (const m of models) await m.dispose();
    for (const close of closing.reverse()) await close();
  }
}
