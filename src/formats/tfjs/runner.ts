import { TensorsafeError } from '../../errors.js';
import { dtypeOfRuntimeType, TFJS_NATIVE_DTYPES } from '../../dtype/runtime-dtypes.js';
import { typedArrayFromBytes } from '../../dtype/tensor.js';
import { convertedWeightOf, MAX_RUN_MODEL_BYTES, runtimeMessage, type RunInputSpec, type RunnableModel, type RunValue } from '../../tensor/runnable-model.js';
import { readEntry, type TensorSet } from '../../tensor/tensor-set.js';
import type { ModelRunner, RunRequest } from '../format.js';
import { decodeBase64 } from './manifest.js';
import type { TfjsStructure } from './reader.js';

/**
 * TF.js graph models in tfjs (the caller imports @tensorflow/tfjs and picks its backend), loaded through
 * an IOHandler of tensorsafe's own, never by URL: the topology is the model.json's, and the weights are
 * either its own (its shards as they are, in manifest order, with their quantization, decoded by tfjs
 * itself) or the converted ones, by name, in the original's order, as float32/int32/bool specs.
 * Layers models are not run (their topology makes the runtime build Keras layers; their weights are
 * checked by name and shape by `loadWeights`).
 */

/** What this runner uses of @tensorflow/tfjs. */
interface Tfjs {
  readonly version?: Record<string, string>;
  loadGraphModel(handler: { load(): Promise<Record<string, unknown>> }): Promise<TfGraphModel>;
  tensor(values: ArrayBufferView, shape: readonly number[], dtype: string): TfTensor;
  getBackend?(): string;
}
interface TfGraphModel {
  readonly inputs: readonly { name: string; shape?: readonly number[]; dtype?: string }[];
  readonly outputNodes: readonly string[];
  execute(inputs: Record<string, TfTensor>, outputs?: readonly string[]): TfTensor | TfTensor[];
  executeAsync(inputs: Record<string, TfTensor>, outputs?: readonly string[]): Promise<TfTensor | TfTensor[]>;
  dispose(): void;
}
interface TfTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  data(): Promise<ArrayBufferView>;
  dispose(): void;
}

const DTYPE_OF_TFJS = dtypeOfRuntimeType(TFJS_NATIVE_DTYPES);

export const tfjsRunner: ModelRunner<TfjsStructure> = {
  runtime: 'tfjs',
  async load(req: RunRequest<TfjsStructure>): Promise<RunnableModel> {
    const tf = req.runtime as Tfjs;
    const file = req.source.name;
    const json = JSON.parse(new TextDecoder().decode(await req.source.read(0, req.source.size))) as Record<string, unknown>;
    const topology = json['modelTopology'] as Record<string, unknown> | undefined;
    if (!topology || !Array.isArray(topology['node'])) {
      throw new TensorsafeError('RunUnsupported', `${file}: ${req.parsed.structure.manifest.kind === 'layers-model' ? 'a layers model' : 'no graph (modelTopology.node)'}: the behaviour check runs TF.js graph models`, { location: file });
    }
    const { weightSpecs, weightData } = req.weights ? await convertedWeights(req.parsed.tensors, req.weights, req.label) : await ownWeights(req);
    const artifacts: Record<string, unknown> = { modelTopology: topology, weightSpecs, weightData, format: json['format'], generatedBy: json['generatedBy'], convertedBy: json['convertedBy'] };
    for (const key of ['signature', 'userDefinedMetadata', 'modelInitializer'] as const) if (json[key] !== undefined) artifacts[key] = json[key];
    let model: TfGraphModel;
    try {
      model = await tf.loadGraphModel({ load: async () => artifacts });
    } catch (e) {
      throw new TensorsafeError('RuntimeFailed', `tfjs could not load ${req.label}: ${runtimeMessage(e)}`, { location: file, cause: e });
    }
    const inputs: RunInputSpec[] = model.inputs.map((i) => {
      const dtype = DTYPE_OF_TFJS.get(i.dtype ?? 'float32');
      if (!dtype) throw new TensorsafeError('RunUnsupported', `${file}: input ${JSON.stringify(i.name)} is ${i.dtype}, a type the behaviour check does not generate`, { location: file });
      return { name: i.name, dtype, shape: (i.shape ?? []).map((d) => (d >= 0 ? d : null)) };
    });
    return {
      runtime: `@tensorflow/tfjs ${tf.version?.['tfjs'] ?? tf.version?.['tfjs-core'] ?? ''} (${tf.getBackend?.() ?? 'cpu'} backend)`,
      inputs,
      outputs: [...model.outputNodes],
      async run(values: readonly RunValue[]): Promise<RunValue[]> {
        const feeds: Record<string, TfTensor> = {};
        const results: TfTensor[] = [];
        try {
          for (const v of values) feeds[v.name] = tf.tensor(typedArray(v, file), v.shape, TFJS_NATIVE_DTYPES[v.dtype]!);
          try {
            // execute() runs a graph without control flow (and executeAsync() would say so on the console); one with it throws, and runs asynchronously.
            const out = await executed(model, feeds);
            results.push(...(Array.isArray(out) ? out : [out]));
          } catch (e) {
            throw new TensorsafeError('RuntimeFailed', `tfjs could not run ${req.label}: ${runtimeMessage(e)}`, { location: file, cause: e });
          }
          const out: RunValue[] = [];
          for (const [i, t] of results.entries()) {
            const name = model.outputNodes[i]!;
            const dtype = DTYPE_OF_TFJS.get(t.dtype);
            if (!dtype) throw new TensorsafeError('RunUnsupported', `${file}: output ${JSON.stringify(name)} is ${t.dtype}, a type the behaviour check does not compare`, { location: name });
            const data = await t.data();
            out.push({ name, dtype, shape: [...t.shape], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
          }
          return out;
        } finally {
          for (const t of [...Object.values(feeds), ...results]) t.dispose();
        }
      },
      dispose: async () => model.dispose(),
    };
  },
};

async function executed(model: TfGraphModel, feeds: Record<string, TfTensor>): Promise<TfTensor | TfTensor[]> {
  try {
    return model.execute(feeds, model.outputNodes);
  } catch (e) {
    if (!/executeAsync/.test(e instanceof Error ? e.message : '')) throw e;
    return model.executeAsync(feeds, model.outputNodes);
  }
}

interface Weights {
  weightSpecs: Record<string, unknown>[];
  weightData: ArrayBuffer;
}

/** The model's own weights as tfjs-core's loader reads them: every group's shards in manifest order, one buffer, the specs as written. */
async function ownWeights(req: RunRequest<TfjsStructure>): Promise<Weights> {
  const { manifest, shards } = req.parsed.structure;
  const file = req.source.name;
  const total = shards.reduce((n, s) => n + s.size, 0);
  if (total > MAX_RUN_MODEL_BYTES) throw new TensorsafeError('RunLimit', `${file}: its shards are ${total} bytes, more than MAX_RUN_MODEL_BYTES (${MAX_RUN_MODEL_BYTES}) to run`, { location: file });
  const data = new Uint8Array(total);
  let at = 0;
  if (manifest.embedded) {
    for (const text of manifest.embedded) {
      const part = decodeBase64(text);
      data.set(part, at);
      at += part.byteLength;
    }
  }
  for (const group of manifest.groups) {
    for (const path of group.paths) {
      if (!req.openSibling) throw new TensorsafeError('RunUnsupported', `${file}: its shards cannot be read: the model has no folder`, { location: file });
      const s = await req.openSibling(path);
      try {
        data.set(await s.read(0, s.size), at);
        at += s.size;
      } finally {
        await s.close?.();
      }
    }
  }
  const weightSpecs = manifest.groups.flatMap((g) => g.weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: w.dtype, ...(w.quantization ? { quantization: { ...w.quantization } } : {}) })));
  return { weightSpecs, weightData: data.buffer };
}

/** The converted weights in the original's order (by the names the reader gives them), each checked against the original's dtype and shape. */
async function convertedWeights(original: TensorSet, weights: TensorSet, label: string): Promise<Weights> {
  const convertedWeight = convertedWeightOf(weights, label);
  const specs: Record<string, unknown>[] = [];
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const was of original.tensors) {
    const entry = convertedWeight(was);
    const dtype = TFJS_NATIVE_DTYPES[entry.dtype];
    if (!dtype) throw new TensorsafeError('RunUnsupported', `${label}: tensor ${JSON.stringify(was.name)} is ${entry.dtype}, which a TF.js weight spec cannot give`, { location: was.name });
    total += entry.byteLength;
    if (total > MAX_RUN_MODEL_BYTES) throw new TensorsafeError('RunLimit', `${label}: the weights are more than MAX_RUN_MODEL_BYTES (${MAX_RUN_MODEL_BYTES}) to run`, { location: was.name });
    specs.push({ name: was.name, shape: [...entry.shape], dtype });
    parts.push(await readEntry(entry));
  }
  // A string weight of the original (kept as metadata by the reader, not a tensor) is not put back.
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.byteLength;
  }
  return { weightSpecs: specs, weightData: data.buffer };
}

/** A value's bytes as the typed array tfjs takes (copied: aligned, and owned by the tensor). */
function typedArray(v: RunValue, file: string): ArrayBufferView {
  if (TFJS_NATIVE_DTYPES[v.dtype]) return typedArrayFromBytes(v.dtype, v.data.slice());
  throw new TensorsafeError('InputMismatch', `${file}: input ${JSON.stringify(v.name)} is ${v.dtype}, which tfjs does not take`, { location: v.name });
}
