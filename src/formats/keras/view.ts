import { VIEW_ARRAY_ITEMS, viewValue, type FormatView, type ViewRow } from '../format.js';
import type { KerasStructure } from './reader.js';

/** What each layout is, for people. */
const LAYOUTS: Readonly<Record<KerasStructure['layout'], string>> = {
  'keras3-h5': 'Keras 3 (<object path>/vars/<i>)',
  'keras3-npz': 'Keras 3 npz (model.weights.npz)',
  'legacy-model': 'legacy HDF5, model.save (/model_weights, layer_names, weight_names)',
  'legacy-weights': 'legacy HDF5, save_weights (layer groups at the root)',
  'hf-tf': 'Hugging Face tf_model.h5 (Keras 2 save_weights)',
  'hf-tf-shard': 'Hugging Face tf_model-NNNNN-of-NNNNN.h5 shard (layer_names lists datasets)',
};

/**
 * Inspect's view of a Keras file: version, backend, where the weights are and how they are laid out,
 * the model's class and name, its layers (name: class), and the Lambda layers and custom objects its
 * config names (read as data: the scan judges them).
 */
export function describeKeras(s: KerasStructure): FormatView {
  const rows: ViewRow[] = [];
  rows.push({ key: 'container', value: s.container === 'keras' ? '.keras (zip, Keras 3)' : 'HDF5' });
  if (s.kerasVersion !== undefined) rows.push({ key: 'keras_version', value: viewValue(s.kerasVersion) });
  if (s.backend !== undefined) rows.push({ key: 'backend', value: viewValue(s.backend) });
  if (s.dateSaved !== undefined) rows.push({ key: 'date_saved', value: viewValue(s.dateSaved) });
  if (s.weightsEntry !== undefined) rows.push({ key: 'weights', value: `${s.weightsEntry.name} (${s.weightsEntry.compressed ? 'deflated: read into memory' : 'stored: read in place'})` });
  rows.push({ key: 'layout', value: LAYOUTS[s.layout] });
  if (s.namedByIndex.length > 0) rows.push({ key: 'named by index', value: summary(s.namedByIndex) });
  const model: ViewRow[] = [];
  const c = s.config;
  if (c !== undefined) {
    if (c.className !== undefined) model.push({ key: 'class', value: viewValue(c.className) });
    if (c.name !== undefined) model.push({ key: 'name', value: viewValue(c.name) });
    model.push({ key: 'layers', value: `${c.layers.length}${c.layers.length > 0 ? `: ${summary(c.layers.map((l) => `${l.name}:${l.className}`))}` : ''}` });
    model.push({ key: 'Lambda layers', value: c.lambdas.length === 0 ? 'none' : summary(c.lambdas) });
    model.push({ key: 'custom objects', value: c.customObjects.length === 0 ? 'none' : summary(c.customObjects) });
  } else {
    model.push({ key: 'config', value: 'none (a weights-only file)' });
  }
  if (s.layerNames !== undefined) model.push({ key: 'layer_names', value: `${s.layerNames.length}${s.layerNames.length > 0 ? `: ${summary(s.layerNames)}` : ''}` });
  return [
    { title: 'Keras', rows },
    { title: 'model', rows: model },
  ];
}

/** The first VIEW_ARRAY_ITEMS, then how many more. */
function summary(items: readonly string[]): string {
  const shown = items.slice(0, VIEW_ARRAY_ITEMS).join(', ');
  return viewValue(items.length > VIEW_ARRAY_ITEMS ? `${shown}, … (${items.length} in all)` : shown);
}
