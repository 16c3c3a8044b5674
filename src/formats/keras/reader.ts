import type { ByteSource } from '../../io/byte-source.js';
import type { LeftOut, TensorEntry, TensorSet } from '../../tensor/tensor-set.js';
import type { FormatReader, ParsedModel } from '../format.js';
import type { Hdf5Attribute } from '../hdf5/attributes.js';
import { hdf5Reader, type Hdf5Structure } from '../hdf5/reader.js';
import { decodeJsonBytes } from '../scan-rules.js';
import { isZip } from '../zip/index.js';
import { CONFIG_ENTRY, openKerasArchive, WEIGHTS_H5_ENTRY } from './archive.js';
import { scanKerasConfig } from './config-rules.js';
import { KerasError } from './errors.js';
import type { H5File, H5Group } from './h5-access.js';
import { openH5 } from './h5-open.js';
import { readLegacy, type KerasWeight, type LegacyKind } from './legacy-layout.js';
import { parseModelConfig, type KerasModelConfig } from './model-config.js';
import { isKeras3Weights, readKeras3 } from './v3-layout.js';
import { describeKeras } from './view.js';

/**
 * Keras models as TensorSets: a `.keras` archive (weights in `model.weights.h5` or `model.weights.npz`),
 * a Keras 3 `.weights.h5`, a legacy `.h5` (Keras 1, 2 and 3: `model.save` or `save_weights`) and Hugging
 * Face's `tf_model.h5`. The config is read as data, never evaluated. Names: legacy-layout.ts and
 * v3-layout.ts; README "### Keras". The scan rules stay as they were: a `.keras` is walked as a zip and
 * its config.json checked by config-rules.ts; an `.h5` by the HDF5 rules (reported as `hdf5`).
 */

/** How the weights are laid out: Keras 3's (in a .keras, or a .weights.h5), or one of the legacy HDF5 kinds. */
export type KerasLayout = 'keras3-h5' | 'keras3-npz' | LegacyKind;

export interface KerasStructure {
  /** A `.keras` zip archive, or an HDF5 file. */
  readonly container: 'keras' | 'hdf5';
  readonly layout: KerasLayout;
  readonly kerasVersion?: string;
  readonly backend?: string;
  readonly dateSaved?: string;
  readonly config?: KerasModelConfig;
  /** A `.keras`'s weights entry, and whether it is compressed. */
  readonly weightsEntry?: { readonly name: string; readonly compressed: boolean };
  /** Legacy files: the layers `layer_names` lists. */
  readonly layerNames?: readonly string[];
  /** Tensors named by index (`<path>/<i>`): objects whose class or variable count is not in the table. */
  readonly namedByIndex: readonly string[];
  /** An HDF5 file's root attributes, decoded: the HDF5 scan rules check them instead of parsing again. */
  readonly rootAttributes?: readonly Hdf5Attribute[];
}

/** Keys of what a loader needs, kept in the output's metadata. */
export const KERAS_VERSION_KEY = 'keras.version';
export const KERAS_LAYOUT_KEY = 'keras.layout';
export const KERAS_BACKEND_KEY = 'keras.backend';

/**
 * Detection claims an HDF5 file from bytes in its head (`layer_names`, `layers` and `vars`), which a plain
 * HDF5 file may show too (a dataset named `layers`, an attribute's text): one with no Keras layout and
 * no Keras attribute (`model_config`, `keras_version`) is read as the HDF5 reader reads it (every numeric
 * dataset by its path), as if detection had not claimed it, and that parse is the one returned.
 */
export const kerasReader: FormatReader<KerasStructure | Hdf5Structure> = {
  async open(source: ByteSource): Promise<ParsedModel<KerasStructure | Hdf5Structure>> {
    const head = await source.read(0, Math.min(source.size, 8));
    const closers: (() => Promise<void>)[] = [async () => source.close?.()];
    try {
      return isZip(head) ? await openArchive(source, closers) : await openHdf5(source, closers);
    } catch (e) {
      await closeAll(closers);
      throw e;
    }
  },

  async scan(source, ctx, parsed) {
    const { scanHdf5 } = await import('../hdf5/scan-rules.js');
    await scanHdf5(source, ctx, parsed?.structure.rootAttributes);
    return 'hdf5';
  },

  containerRules: (container) =>
    container.kind !== 'zip'
      ? undefined
      : {
          label: 'keras',
          entries: {
            matches: (entry) => entry === CONFIG_ENTRY,
            scan: (bytes, ctx, location) => scanKerasConfig(decodeJsonBytes(bytes), ctx, location),
          },
          // Keras loads the weights with h5py, which follows external links and external storage in them.
          after: async (source, ctx) => {
            const { scanKerasWeightsLinks } = await import('./weights-links.js');
            await scanKerasWeightsLinks(source, ctx);
          },
        },

  describe: (parsed) => (isKerasStructure(parsed.structure) ? describeKeras(parsed.structure) : hdf5Reader.describe!({ tensors: parsed.tensors, structure: parsed.structure })),
};

function isKerasStructure(s: KerasStructure | Hdf5Structure): s is KerasStructure {
  return 'layout' in s;
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  for (const close of closers.reverse()) await close();
  closers.length = 0;
}

async function openArchive(source: ByteSource, closers: (() => Promise<void>)[]): Promise<ParsedModel<KerasStructure>> {
  const file = source.name;
  const archive = await openKerasArchive(source);
  const config = archive.configText === undefined ? undefined : parseModelConfig(archive.configText, `${file}:${CONFIG_ENTRY}`);
  const base = {
    container: 'keras' as const,
    ...(archive.metadata.kerasVersion !== undefined ? { kerasVersion: archive.metadata.kerasVersion } : {}),
    ...(archive.metadata.dateSaved !== undefined ? { dateSaved: archive.metadata.dateSaved } : {}),
    ...(config !== undefined ? { config } : {}),
    weightsEntry: { name: archive.weights.entry, compressed: archive.weights.compressed },
  };
  if (archive.weights.kind === 'npz') {
    // Keras's NpzIOStore pickles a dict per object: the NumPy reader refuses object arrays unread (ObjectArray).
    const { numpyReader } = await import('../numpy/reader.js');
    const npz = await numpyReader.open!(archive.weights.source);
    closers.push(() => npz.tensors.close());
    const structure: KerasStructure = { ...base, layout: 'keras3-npz', namedByIndex: [] };
    const notes = [`weights from ${archive.weights.entry}: each array named by its member`, ...npz.tensors.notes];
    return { tensors: tensorSet(structure, npz.tensors.tensors, [...archive.leftOut, ...npz.tensors.leftOut], notes, closers), structure };
  }
  const h5 = await openH5(archive.weights.source);
  closers.push(() => h5.close());
  const read = await readKeras3(h5.root, `${file}:${WEIGHTS_H5_ENTRY}`, config);
  const structure: KerasStructure = { ...base, layout: 'keras3-h5', namedByIndex: read.namedByIndex };
  return { tensors: tensorSet(structure, await entries(read.weights), [...archive.leftOut, ...read.leftOut], notesOf(structure), closers), structure };
}

async function openHdf5(source: ByteSource, closers: (() => Promise<void>)[]): Promise<ParsedModel<KerasStructure | Hdf5Structure>> {
  const file = source.name;
  const h5: H5File = await openH5(source);
  closers.push(() => h5.close());
  const root = h5.root;
  const kerasVersion = await stringAttribute(root, 'keras_version') ?? (await stringAttribute(await root.group('model_weights'), 'keras_version'));
  const backend = await stringAttribute(root, 'backend');
  const configText = await stringAttribute(root, 'model_config');
  const config = configText === undefined ? undefined : parseModelConfig(configText, `${file} (model_config)`);
  const base = {
    container: 'hdf5' as const,
    rootAttributes: await h5.rootAttributes(),
    ...(kerasVersion !== undefined ? { kerasVersion } : {}),
    ...(backend !== undefined ? { backend } : {}),
    ...(config !== undefined ? { config } : {}),
  };
  const legacy = await readLegacy(root, file, kerasVersion, config?.name);
  if (legacy !== undefined) {
    const structure: KerasStructure = { ...base, layout: legacy.kind, layerNames: legacy.layerNames, namedByIndex: [] };
    return { tensors: tensorSet(structure, await entries(legacy.weights), legacy.leftOut, notesOf(structure), closers), structure };
  }
  if (await isKeras3Weights(root)) {
    const read = await readKeras3(root, file, config);
    const structure: KerasStructure = { ...base, layout: 'keras3-h5', namedByIndex: read.namedByIndex };
    return { tensors: tensorSet(structure, await entries(read.weights), read.leftOut, notesOf(structure), closers), structure };
  }
  // Nothing Keras about it: the bytes detection saw were a plain file's names. The source stays open for that parse.
  if (configText === undefined && kerasVersion === undefined) return hdf5Reader.open!(source);
  throw new KerasError('InvalidKeras', `${file}: an HDF5 file with no Keras weights: no /model_weights group, no layer_names attribute on the root, no /vars or /layers group`, { location: file });
}

async function entries(weights: readonly KerasWeight[]): Promise<TensorEntry[]> {
  const out: TensorEntry[] = [];
  for (const w of weights) out.push(await w.dataset.tensor(w.name, w.bf16 ? 'BF16' : undefined));
  return out;
}

function notesOf(s: KerasStructure): string[] {
  const notes: string[] = [];
  if (s.layout === 'keras3-h5') {
    notes.push(`Keras 3 variables named <layer>/<variable> in each layer's build order${s.config ? ', layer classes from the config' : ''}`);
    if (s.namedByIndex.length > 0) notes.push(`named by index (class or variable count not known): ${list(s.namedByIndex)}`);
  } else if (s.layout === 'hf-tf' || s.layout === 'hf-tf-shard') {
    notes.push('Hugging Face tf_model.h5: weights named as transformers names TF weights in safetensors (model name dropped, :0 kept); metadata format "tf"');
  } else {
    notes.push(`legacy Keras HDF5 (${s.layout === 'legacy-model' ? 'model.save' : 'save_weights'}): weights named by weight_names without :0${s.kerasVersion?.startsWith('3.') ? ' and without the model name' : ''}`);
  }
  return notes;
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, 10).map((n) => `\`${n}\``).join(', ');
  return names.length > 10 ? `${shown} and ${names.length - 10} more` : shown;
}

function tensorSet(s: KerasStructure, tensors: readonly TensorEntry[], leftOut: readonly LeftOut[], notes: readonly string[], closers: (() => Promise<void>)[]): TensorSet {
  const metadata: Record<string, string> = { [KERAS_LAYOUT_KEY]: s.layout };
  if (s.kerasVersion !== undefined) metadata[KERAS_VERSION_KEY] = s.kerasVersion;
  if (s.backend !== undefined) metadata[KERAS_BACKEND_KEY] = s.backend;
  // transformers reads TF weights from safetensors whose metadata says format "tf".
  if (s.layout === 'hf-tf' || s.layout === 'hf-tf-shard') metadata['format'] = 'tf';
  return { format: s.container === 'keras' ? `keras-${s.layout === 'keras3-npz' ? 'npz' : 'h5'}` : `keras-${s.layout}`, tensors, metadata, leftOut, notes, close: () => closeAll(closers) };
}

async function stringAttribute(group: H5Group | undefined, name: string): Promise<string | undefined> {
  const v = await group?.attribute(name);
  return typeof v === 'string' ? v : undefined;
}
