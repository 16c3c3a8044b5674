import { TensorsafeError } from '../../errors.js';
import type { Dtype } from '../../dtype/dtypes.js';
import { packSubByte } from '../../dtype/float-codecs.js';
import { dtypeOfRuntimeType, ORT_NATIVE_TYPES } from '../../dtype/runtime-dtypes.js';
import { typedArrayFromBytes } from '../../dtype/tensor.js';
import { convertedWeightOf, MAX_RUN_MODEL_BYTES, runtimeMessage, type RunInputSpec, type RunnableModel, type RunValue } from '../../tensor/runnable-model.js';
import { readEntry, type TensorEntry, type TensorSet } from '../../tensor/tensor-set.js';
import type { ModelRunner, RunRequest } from '../format.js';
import { claimName } from '../tensor-names.js';
import { ONNX_DTYPES } from './dtype.js';
import type { TensorRecord } from './model.js';
import type { OnnxStructure } from './reader.js';
import { rebuildOnnxModel, type Replacement } from './rebuild.js';

/**
 * ONNX models in onnxruntime (the caller imports onnxruntime-node and hands it over): the original as
 * its bytes are (with any external data put inline, read and checked by the reader), or rebuilt with
 * other weights (rebuild.ts), each weight matched by the name tensorsafe's reader gives it, so a
 * converted safetensors file goes back where each of its tensors came from. One thread, so that two
 * runs of one graph on one input give the same bits.
 */

/** What this runner uses of onnxruntime-node's module (onnxruntime-common's API). */
interface Ort {
  readonly InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  readonly Tensor: new (type: string, data: ArrayBufferView, dims: readonly number[]) => OrtTensor;
  readonly env?: { versions?: { node?: string; common?: string } };
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

const DTYPE_OF_ORT = dtypeOfRuntimeType(ORT_NATIVE_TYPES);

export const onnxRunner: ModelRunner<OnnxStructure> = {
  runtime: 'onnxruntime',
  async load(req: RunRequest<OnnxStructure>): Promise<RunnableModel> {
    const ort = req.runtime as Ort;
    const file = req.source.name;
    if (req.source.size > MAX_RUN_MODEL_BYTES) {
      throw new TensorsafeError('RunLimit', `${file} is ${req.source.size} bytes, more than MAX_RUN_MODEL_BYTES (${MAX_RUN_MODEL_BYTES}) to run`, { location: file });
    }
    const bytes = await req.source.read(0, req.source.size);
    const replacements = req.weights ? await onnxReplacements(req.parsed.structure.model.tensors, req.parsed.tensors, req.weights, req.label) : await externalData(req.parsed.structure.model.tensors, req.parsed.tensors);
    const model = replacements.length > 0 ? rebuildOnnxModel(bytes, replacements) : bytes;
    if (model.byteLength > MAX_RUN_MODEL_BYTES) {
      throw new TensorsafeError('RunLimit', `${req.label} is ${model.byteLength} bytes with its weights inline, more than MAX_RUN_MODEL_BYTES (${MAX_RUN_MODEL_BYTES}) to run`, { location: file });
    }
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 });
    } catch (e) {
      throw new TensorsafeError('RuntimeFailed', `onnxruntime could not load ${req.label}: ${runtimeMessage(e)}`, { location: file, cause: e });
    }
    const version = ort.env?.versions?.node ?? ort.env?.versions?.common;
    return {
      runtime: `onnxruntime-node${version ? ` ${version}` : ''}`,
      inputs: inputSpecs(session, file),
      outputs: [...session.outputNames],
      async run(inputs: readonly RunValue[]): Promise<RunValue[]> {
        const feeds: Record<string, OrtTensor> = {};
        for (const v of inputs) feeds[v.name] = new ort.Tensor(ortType(v.dtype, v.name, file), typedArray(v), v.shape);
        let results: Record<string, OrtTensor>;
        try {
          results = await session.run(feeds);
        } catch (e) {
          throw new TensorsafeError('RuntimeFailed', `onnxruntime could not run ${req.label}: ${runtimeMessage(e)}`, { location: file, cause: e });
        }
        return session.outputNames.map((name) => runValue(name, results[name]!, file));
      },
      dispose: () => session.release(),
    };
  },
};

/** The reader's tensors (those it takes), named as it names them. */
function namedRecords(records: readonly TensorRecord[]): { name: string; record: TensorRecord }[] {
  const taken = new Set<string>();
  return records.filter((t) => t.problem === undefined && t.dataType !== 8).map((record) => ({ name: claimName(taken, record.name), record }));
}

/** Every weight of the graph from `weights`, by name (or by the name a converter kept for a tied one), checked against the original's dtype and shape. */
export async function onnxReplacements(records: readonly TensorRecord[], original: TensorSet, weights: TensorSet, label: string): Promise<Replacement[]> {
  const own = new Map(original.tensors.map((e) => [e.name, e]));
  const convertedWeight = convertedWeightOf(weights, label);
  const out: Replacement[] = [];
  let total = 0;
  for (const { name, record } of namedRecords(records)) {
    const was = own.get(name);
    if (!was) continue;
    if (record.data?.kind === 'sparse' && !record.where.startsWith('sparse initializer')) {
      throw new TensorsafeError('RunUnsupported', `${label}: tensor ${JSON.stringify(name)} is the sparse value of a ${record.where}, which is not put back into a graph`, { location: name });
    }
    const entry = convertedWeight(was, record.where);
    // Counted before it is read: the weights are held in memory until the model is rebuilt.
    total += entry.byteLength;
    if (total > MAX_RUN_MODEL_BYTES) throw new TensorsafeError('RunLimit', `${label}: the converted weights are more than MAX_RUN_MODEL_BYTES (${MAX_RUN_MODEL_BYTES}) to run`, { location: name });
    out.push({ record, bytes: await onnxBytes(record, entry) });
  }
  return out;
}

/** The original's external data, read (and checksummed) by the reader, put inline: onnxruntime is given bytes, not a folder. */
async function externalData(records: readonly TensorRecord[], original: TensorSet): Promise<Replacement[]> {
  const own = new Map(original.tensors.map((e) => [e.name, e]));
  const out: Replacement[] = [];
  for (const { name, record } of namedRecords(records)) {
    const entry = own.get(name);
    if (record.data?.kind === 'external' && entry) out.push({ record, bytes: await readEntry(entry) });
  }
  return out;
}

/** A tensor's bytes as raw_data holds them: INT4/UINT4 (unpacked to a byte each by the reader) packed two to a byte again. */
async function onnxBytes(record: TensorRecord, entry: TensorEntry): Promise<Uint8Array> {
  const bytes = await readEntry(entry);
  const packed = ONNX_DTYPES.get(record.dataType)?.packed;
  return packed === 'int4' || packed === 'uint4' ? packSubByte(4, bytes) : bytes;
}

function inputSpecs(session: OrtSession, file: string): RunInputSpec[] {
  const meta = session.inputMetadata ?? [];
  return session.inputNames.map((name) => {
    const m = meta.find((x) => x.name === name);
    if (!m || !m.isTensor || m.type === undefined) throw new TensorsafeError('RunUnsupported', `${file}: input ${JSON.stringify(name)} is not a tensor (a sequence or map), which is not generated`, { location: file });
    const dtype = DTYPE_OF_ORT.get(m.type);
    if (!dtype) throw new TensorsafeError('RunUnsupported', `${file}: input ${JSON.stringify(name)} is ${m.type}, a type the behaviour check does not generate`, { location: file });
    const shape = (m.shape ?? []).map((d) => (typeof d === 'number' ? (d >= 0 ? d : null) : d === '' ? null : d));
    return { name, dtype, shape };
  });
}

function ortType(dtype: Dtype, name: string, file: string): string {
  const t = ORT_NATIVE_TYPES[dtype];
  if (!t) throw new TensorsafeError('InputMismatch', `${file}: input ${JSON.stringify(name)} is ${dtype}, which onnxruntime does not take`, { location: name });
  return t;
}

/** A value's bytes as the typed array onnxruntime takes (copied: aligned, and owned by the tensor). */
function typedArray(v: RunValue): ArrayBufferView {
  return typedArrayFromBytes(v.dtype, v.data.slice());
}

function runValue(name: string, t: OrtTensor, file: string): RunValue {
  const dtype = DTYPE_OF_ORT.get(t.type);
  const data = t.data;
  if (!dtype || !ArrayBuffer.isView(data)) throw new TensorsafeError('RunUnsupported', `${file}: output ${JSON.stringify(name)} is ${t.type}, a type the behaviour check does not compare`, { location: name });
  return { name, dtype, shape: [...t.dims], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() };
}
