import type { LeftOut } from '../../tensor/tensor-set.js';
import { claimName } from '../tensor-names.js';
import { KerasError } from './errors.js';
import type { H5Dataset, H5Group } from './h5-access.js';
import { MAX_KERAS_LAYERS, MAX_KERAS_NAME_CHARS, MAX_KERAS_WEIGHTS } from './limits.js';
import { readNamesAttribute } from './names-attribute.js';

/**
 * Legacy Keras HDF5 (keras/src/legacy/saving/legacy_h5_format.py; Keras 1 and 2's saving.py of the same
 * shape), three kinds:
 *  - `legacy-model` (`model.save('x.h5')`): `/model_weights` has `layer_names`; each layer's group has
 *    `weight_names`, each a dataset path inside that group (Keras 2: `dense/kernel:0` →
 *    `/model_weights/dense/dense/kernel:0`; Keras 3: `sequential/dense/kernel`; Keras 1: `dense_1_W`);
 *    Keras 3 adds `/model_weights/top_level_model_weights`; `/optimizer_weights` is left out;
 *  - `legacy-weights` (`save_weights('x.h5')`): the same with the layer groups at the root;
 *  - `hf-tf`: Hugging Face's `tf_model.h5` (transformers' TFPreTrainedModel.save_pretrained calls Keras 2's
 *    save_weights): a `legacy-weights` file whose every weight is `<tf_… model name>/<its layer>/…`;
 *  - `hf-tf-shard`: a shard of a sharded one (`tf_model-00001-of-00002.h5`, save_pretrained with
 *    max_shard_size): the root's `layer_names` lists datasets, each at its (already stripped) weight name.
 * Names: the weight name without its `:0`, and for Keras 3 without the model's name in front
 * (`sequential/dense/kernel` → `dense/kernel`, as a `.keras` of the same model names it); `hf-tf`: as
 * transformers names TF weights in safetensors (`strip_model_name_and_prefix`: the model's name
 * dropped, `:0` kept: `bert/embeddings/word_embeddings/weight:0`), which its TF loader reads back.
 */

export type LegacyKind = 'legacy-model' | 'legacy-weights' | 'hf-tf' | 'hf-tf-shard';

export interface KerasWeight {
  readonly name: string;
  readonly dataset: H5Dataset;
  /** Read as bfloat16 (Keras 3's 2-byte opaque datasets with a `dtype` attribute). */
  readonly bf16?: boolean;
}

export interface LayoutRead {
  readonly weights: readonly KerasWeight[];
  readonly leftOut: readonly LeftOut[];
}

export interface LegacyRead extends LayoutRead {
  readonly kind: LegacyKind;
  /** Layers listed in `layer_names`, in order. */
  readonly layerNames: readonly string[];
}

/** The root of a legacy file: is it one, and which group holds its layers. */
export async function legacyGroup(root: H5Group): Promise<{ group: H5Group; model: boolean } | undefined> {
  const mw = await root.group('model_weights');
  if (mw !== undefined) return { group: mw, model: true };
  const names = await root.attributeNames();
  if (names.some((n) => n === 'layer_names' || n === 'layer_names0')) return { group: root, model: false };
  return undefined;
}

interface Listed {
  layer: string;
  weight: string;
  dataset: H5Dataset;
}

export async function readLegacy(root: H5Group, file: string, kerasVersion: string | undefined, modelName: string | undefined): Promise<LegacyRead | undefined> {
  const found = await legacyGroup(root);
  if (found === undefined) return undefined;
  const { group, model } = found;
  const layerNames = (await readNamesAttribute(group, 'layer_names', file)) ?? [];
  if (layerNames.length > MAX_KERAS_LAYERS) {
    throw new KerasError('KerasLimit', `${file}: ${group.path} lists ${layerNames.length} layers, more than MAX_KERAS_LAYERS (${MAX_KERAS_LAYERS})`, { location: `${file}:${group.path}` });
  }
  checkUnique(layerNames, `${file}: ${group.path} attribute layer_names`, 'layer');
  const first = layerNames[0];
  if (!model && first !== undefined && (await group.group(first)) === undefined && (await group.dataset(first)) !== undefined) return readShard(group, file, layerNames);
  const listed: Listed[] = [];
  const layerGroups = [...layerNames];
  // Keras 3 keeps the model's own variables (not a layer's) in top_level_model_weights.
  if (model && (await group.group('top_level_model_weights')) !== undefined && !layerNames.includes('top_level_model_weights')) layerGroups.push('top_level_model_weights');
  for (const layer of layerGroups) {
    const lg = await group.group(layer);
    if (lg === undefined) {
      throw new KerasError('KerasLayerMissing', `${file}: layer ${JSON.stringify(layer)}, listed in ${group.path} layer_names, has no group ${join(group.path, layer)}`, { location: `${file}:${join(group.path, layer)}` });
    }
    const weightNames = (await readNamesAttribute(lg, 'weight_names', file)) ?? [];
    checkUnique(weightNames, `${file}: ${lg.path} attribute weight_names`, 'weight');
    for (const weight of weightNames) {
      if (listed.length >= MAX_KERAS_WEIGHTS) {
        throw new KerasError('KerasLimit', `${file}: more than MAX_KERAS_WEIGHTS (${MAX_KERAS_WEIGHTS}) weights listed`, { location: `${file}:${lg.path}` });
      }
      if (weight.length > MAX_KERAS_NAME_CHARS) {
        throw new KerasError('KerasLimit', `${file}: a weight name of ${weight.length} characters in ${lg.path}, more than MAX_KERAS_NAME_CHARS (${MAX_KERAS_NAME_CHARS})`, { location: `${file}:${lg.path}` });
      }
      const dataset = await lg.dataset(weight);
      if (dataset === undefined) {
        throw new KerasError('KerasWeightMissing', `${file}: weight ${JSON.stringify(weight)}, listed in ${lg.path} weight_names, has no dataset ${join(lg.path, weight)}`, { location: `${file}:${join(lg.path, weight)}` });
      }
      listed.push({ layer, weight, dataset });
    }
  }
  const kind: LegacyKind = model ? 'legacy-model' : isHuggingFace(listed) ? 'hf-tf' : 'legacy-weights';
  const keras3 = kerasVersion?.startsWith('3.') ?? false;
  const taken = new Set<string>();
  const weights = listed.map(({ weight, dataset }) => ({ name: claimName(taken, tensorName(weight, kind, keras3 ? modelName : undefined)), dataset }));
  const leftOut: LeftOut[] = [];
  const optimizer = await root.group('optimizer_weights');
  if (optimizer !== undefined) {
    const names = (await readNamesAttribute(optimizer, 'weight_names', file).catch(() => undefined)) ?? [];
    leftOut.push({ path: optimizer.path, what: `optimizer state (${names.length} weight${names.length === 1 ? '' : 's'}): not model weights` });
  }
  return { kind, layerNames, weights, leftOut };
}

/** A Hugging Face shard: every name in `layer_names` is a dataset, named as it is (transformers wrote it stripped, with `:0`). */
async function readShard(root: H5Group, file: string, names: readonly string[]): Promise<LegacyRead> {
  const weights: KerasWeight[] = [];
  for (const name of names) {
    if (weights.length >= MAX_KERAS_WEIGHTS) throw new KerasError('KerasLimit', `${file}: more than MAX_KERAS_WEIGHTS (${MAX_KERAS_WEIGHTS}) weights listed`, { location: file });
    const dataset = await root.dataset(name);
    if (dataset === undefined) {
      throw new KerasError('KerasWeightMissing', `${file}: weight ${JSON.stringify(name)}, listed in the root's layer_names (a Hugging Face shard), has no dataset /${name}`, { location: `${file}:/${name}` });
    }
    weights.push({ name, dataset });
  }
  return { kind: 'hf-tf-shard', layerNames: [], weights, leftOut: [] };
}

/** Every weight is `<tf_…>/<its layer>/…`, all under one model name: what transformers' TF models save. */
function isHuggingFace(listed: readonly Listed[]): boolean {
  if (listed.length === 0) return false;
  const prefix = listed[0]!.weight.split('/')[0]!;
  return /^tf_[a-z0-9_]+$/.test(prefix) && listed.every((l) => {
    const parts = l.weight.split('/');
    return parts.length >= 3 && parts[0] === prefix && parts[1] === l.layer;
  });
}

function tensorName(weight: string, kind: LegacyKind, modelName: string | undefined): string {
  if (kind === 'hf-tf') return weight.slice(weight.indexOf('/') + 1);
  const name = weight.endsWith(':0') ? weight.slice(0, -2) : weight;
  return modelName !== undefined && name.startsWith(`${modelName}/`) ? name.slice(modelName.length + 1) : name;
}

function checkUnique(names: readonly string[], where: string, what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new KerasError('KerasDuplicate', `${where} lists the ${what} ${JSON.stringify(n)} twice: which one a loader takes is ambiguous`, { location: where.replace(/: /, ':') });
    seen.add(n);
  }
}

function join(group: string, name: string): string {
  return group === '/' ? `/${name}` : `${group}/${name}`;
}
