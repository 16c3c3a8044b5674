import { TensorsafeError } from '../errors.js';
import { listed } from '../util/strings.js';
import type { Dtype } from '../dtype/dtypes.js';
import type { Tensor } from '../dtype/tensor.js';
import { save } from '../safetensors/save.js';
import type { Metadata } from '../safetensors/layout.js';
import { namedTensors, type TensorSource } from './tensor-source.js';
import { dispose, fromTfjsTensor, TFJS_DTYPE_OF, toTfjsTensor, type TfjsDtype, type TfjsRuntime, type TfjsTensorLike } from './tfjs-tensors.js';
import { matchKeys } from './weight-names.js';

/**
 * A tfjs LayersModel's weights from and to safetensors: loadWeights is the counterpart of Python's
 * `safetensors.torch.load_model(model, file, strict=True)`, saveWeights of `save_model`. Weights are
 * matched by name as weight-names.ts says.
 */

/** What tensorsafe uses of a tfjs weight (a LayerVariable of `model.weights`). */
export interface TfjsVariableLike {
  /** The name without tfjs's `_1` suffixes: `dense/kernel`. */
  readonly originalName: string;
  readonly shape: readonly (number | null)[];
  readonly dtype: string;
  read(): TfjsTensorLike;
  write(value: never): unknown;
}

/** What tensorsafe uses of a tfjs LayersModel (or any tfjs Layer): its weights, trainable or not. */
export interface TfjsModelLike {
  readonly weights: readonly TfjsVariableLike[];
}

export interface LoadWeightsOptions {
  /**
   * Throw WeightsMismatch, and set nothing, unless every weight of the model has a tensor of its shape
   * and dtype and every tensor is used (default true). With false, the weights that fit are set, the
   * rest left as they are, and the report says which.
   */
  strict?: boolean;
  /** Let F64 tensors round to float32 (tfjs has no float64); default: a value that would change throws LossyConversion. */
  lossy?: boolean;
}

/** A tensor whose name matches a weight but whose shape or dtype does not. */
export interface WeightMismatch {
  /** The weight's name (originalName). */
  readonly weight: string;
  /** The tensor's name in the file. */
  readonly tensor: string;
  readonly expected: { readonly shape: readonly (number | null)[]; readonly dtype: string };
  readonly found: { readonly shape: readonly number[]; readonly dtype: Dtype };
}

/** What loadWeights did, or (strict) would have refused to do. */
export interface LoadWeightsReport {
  /** The weights set, by originalName. */
  readonly loaded: readonly string[];
  /** Weights of the model that no tensor matched (left as they are). */
  readonly missing: readonly string[];
  /** Tensors that matched no weight. */
  readonly unexpected: readonly string[];
  /** Tensors whose name matched a weight but whose shape or dtype does not fit it (not set). */
  readonly mismatched: readonly WeightMismatch[];
  /** Tensors matched to a weight of another name (`dense_Dense1/kernel` → `dense_Dense3/kernel`, `dense/kernel:0` → `dense/kernel`). */
  readonly renamed: readonly { readonly tensor: string; readonly weight: string }[];
  /** Tensors whose dtype tfjs does not have, converted exactly (F16 → float32, I64 → int32). */
  readonly widened: readonly { readonly tensor: string; readonly from: Dtype; readonly to: TfjsDtype }[];
}

/** A strict loadWeights that found missing, unexpected or mismatched weights: nothing was set. */
export class WeightsMismatchError extends TensorsafeError {
  constructor(readonly report: LoadWeightsReport) {
    super('WeightsMismatch', `the tensors do not fit the model's weights, so none was set: ${describe(report)}; pass { strict: false } to set those that fit`);
    this.name = 'WeightsMismatchError';
  }
}

/** Names a WeightsMismatch message lists per kind: a model of thousands of weights would make a message no one reads (the report holds them all). */
export const MAX_NAMES_IN_MESSAGE = 20;

/**
 * Sets a tfjs model's weights from tensors by name: safetensors bytes, `load`'s Map, an open file or
 * sharded set (`safeOpen`, read lazily: only the matched tensors), or any format's TensorSet. `tf` is
 * the model's tfjs namespace. Every tensor is read and converted before any weight is set: an error
 * leaves the model as it was. Strict by default (see LoadWeightsOptions).
 */
export async function loadWeights(tf: TfjsRuntime, model: TfjsModelLike, source: TensorSource, options: LoadWeightsOptions = {}): Promise<LoadWeightsReport> {
  const weights = model.weights;
  const weightKeys = matchKeys(weights.map((w) => w.originalName), 'the model', false);
  const weightByKey = new Map(weights.map((w) => [weightKeys.get(w.originalName)!, w]));
  const tensors = namedTensors(source);
  const tensorKeys = matchKeys(tensors.names, 'the tensors', true);

  const pairs: { tensor: string; weight: TfjsVariableLike }[] = [];
  const unexpected: string[] = [];
  const mismatched: WeightMismatch[] = [];
  const renamed: { tensor: string; weight: string }[] = [];
  const widened: { tensor: string; from: Dtype; to: TfjsDtype }[] = [];
  const matched = new Set<TfjsVariableLike>();
  for (const name of tensors.names) {
    const weight = weightByKey.get(tensorKeys.get(name)!);
    if (weight === undefined) {
      unexpected.push(name);
      continue;
    }
    matched.add(weight);
    const { dtype, shape } = tensors.spec(name);
    const to = Object.hasOwn(TFJS_DTYPE_OF, dtype) ? TFJS_DTYPE_OF[dtype] : undefined;
    if (to !== weight.dtype || !sameShape(shape, weight.shape)) {
      mismatched.push({ weight: weight.originalName, tensor: name, expected: { shape: [...weight.shape], dtype: weight.dtype }, found: { shape: [...shape], dtype } });
      continue;
    }
    if (name !== weight.originalName) renamed.push({ tensor: name, weight: weight.originalName });
    if (!['F32', 'I32', 'BOOL', 'C64'].includes(dtype)) widened.push({ tensor: name, from: dtype, to });
    pairs.push({ tensor: name, weight });
  }
  const missing = weights.filter((w) => !matched.has(w)).map((w) => w.originalName);
  const report = (loaded: string[]): LoadWeightsReport => ({ loaded, missing, unexpected, mismatched, renamed, widened });
  if ((options.strict ?? true) && (missing.length > 0 || unexpected.length > 0 || mismatched.length > 0)) throw new WeightsMismatchError(report([]));

  // Read and convert everything first: a tensor that cannot be converted leaves the model untouched.
  const values: TfjsTensorLike[] = [];
  try {
    for (const { tensor } of pairs) values.push(toTfjsTensor(tf, await tensors.read(tensor), { name: tensor, lossy: options.lossy ?? false }));
  } catch (e) {
    for (const v of values) dispose(v);
    throw e;
  }
  // A weight's write takes the tensor's data (tfjs counts references): the tensor made here is freed.
  pairs.forEach(({ weight }, i) => {
    weight.write(values[i] as never);
    dispose(values[i]);
  });
  return report(pairs.map((p) => p.weight.originalName));
}

/** A tfjs model's weights as tensorsafe tensors by originalName (as loadWeights matches them), ready for `save` or `saveFile`. */
export async function weightTensors(model: TfjsModelLike): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  for (const w of model.weights) {
    if (out.has(w.originalName)) throw new TensorsafeError('InvalidArgument', `the model has two weights named ${JSON.stringify(w.originalName)}: name its layers apart`, { location: `tensor ${w.originalName}` });
    out.set(w.originalName, await fromTfjsTensor(w.read(), { name: w.originalName }));
  }
  return out;
}

export interface SaveWeightsOptions {
  /** String metadata for the file's `__metadata__`. */
  metadata?: Metadata | null;
}

/** A tfjs model's weights as safetensors bytes (float32 → F32, int32 → I32, bool → BOOL, complex64 → C64). */
export async function saveWeights(model: TfjsModelLike, options: SaveWeightsOptions = {}): Promise<Uint8Array> {
  return save(await weightTensors(model), { metadata: options.metadata ?? null });
}

function sameShape(a: readonly number[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function describe(report: LoadWeightsReport): string {
  const list = (kind: string, items: readonly string[]): string[] => {
    if (items.length === 0) return [];
    return [`${kind} ${listed(items, MAX_NAMES_IN_MESSAGE)}`];
  };
  const shape = (s: readonly (number | null)[]): string => `[${s.join(', ')}]`;
  return [
    ...list('missing', report.missing.map((n) => `\`${n}\``)),
    ...list('unexpected', report.unexpected.map((n) => `\`${n}\``)),
    ...list('mismatched', report.mismatched.map((m) => `\`${m.tensor}\` (${m.found.dtype} ${shape(m.found.shape)} for a ${m.expected.dtype} ${shape(m.expected.shape)} weight${m.weight === m.tensor ? '' : ` \`${m.weight}\``})`)),
  ].join('; ');
}
